//! include/stratalog.h is generated from this crate by cbindgen (with
//! ffi/cbindgen.toml) plus version macros taken from Cargo.toml. This test
//! fails when the committed header differs from what the code generates.
//!
//! Regenerate: STRATALOG_BLESS=1 cargo test -p stratalog-ffi --test header
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::CStr;
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/stratalog.h")
}

fn version_macros() -> String {
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap();
    let patch: u32 = env!("CARGO_PKG_VERSION_PATCH").parse().unwrap();
    let number = major * 1_000_000 + minor * 1_000 + patch;
    format!(
        "\n/** Version of this header; stratalog_version() is the library's. */\n\
         #define STRATALOG_VERSION_MAJOR {major}\n\
         #define STRATALOG_VERSION_MINOR {minor}\n\
         #define STRATALOG_VERSION_PATCH {patch}\n\
         /** MAJOR * 1000000 + MINOR * 1000 + PATCH, for #if comparisons. */\n\
         #define STRATALOG_VERSION_NUMBER {number}\n\
         #define STRATALOG_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    )
}

fn generate() -> String {
    let dir = crate_dir();
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn committed_header_matches_the_code() {
    let generated = generate();
    let path = header_path();
    if std::env::var_os("STRATALOG_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/stratalog.h is out of date (first difference at line {}).\n\
             Regenerate it with:\n    STRATALOG_BLESS=1 cargo test -p stratalog-ffi --test header\n\
             and commit the result.",
            first + 1
        );
    }
}

#[test]
fn header_declares_every_exported_function() {
    let generated = generate();
    for name in [
        "stratalog_open",
        "stratalog_open_in_memory",
        "stratalog_open_read_only",
        "stratalog_close",
        "stratalog_append_batch",
        "stratalog_read_from",
        "stratalog_events_get",
        "stratalog_chain_head",
        "stratalog_verify",
        "stratalog_verify_against",
        "stratalog_sync",
        "stratalog_streams",
        "stratalog_last_error",
        "stratalog_status_str",
        "stratalog_version",
        "stratalog_append_batches",
        "stratalog_get_stream_stats",
        "stratalog_compression_name",
        "stratalog_compression_parse",
        "stratalog_torn_tails",
        "stratalog_wait",
    ] {
        let declared =
            generated.contains(&format!(" {name}(")) || generated.contains(&format!("*{name}("));
        assert!(declared, "{name} is missing from the header");
    }
    for constant in [
        "STRATALOG_STATUS_OK = 0",
        "STRATALOG_STATUS_POISONED = 13",
        "STRATALOG_COMPRESSION_ZSTD = 2",
        "#define STRATALOG_FSYNC_DEFAULT 0",
        "#define STRATALOG_FSYNC_NO 1",
        "#define STRATALOG_FSYNC_YES 2",
        "const uint64_t *expected_offset",
    ] {
        assert!(generated.contains(constant), "{constant} is missing");
    }
}

fn header_macro(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} is not defined in the header"))
        .trim()
        .to_owned()
}

/// The Cargo.toml that sets the version: the workspace root's.
fn cargo_toml_version() -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
        .unwrap();
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .expect("no [workspace.package] in Cargo.toml");
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = "))
        .expect("no version in [workspace.package]")
        .trim()
        .trim_matches('"')
        .to_owned()
}

#[test]
fn version_macros_runtime_and_cargo_toml_agree() {
    let header = std::fs::read_to_string(header_path()).unwrap();
    let cargo = cargo_toml_version();
    let parts: Vec<u32> = cargo.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 3, "version {cargo} is not MAJOR.MINOR.PATCH");

    assert_eq!(
        header_macro(&header, "STRATALOG_VERSION_MAJOR"),
        parts[0].to_string()
    );
    assert_eq!(
        header_macro(&header, "STRATALOG_VERSION_MINOR"),
        parts[1].to_string()
    );
    assert_eq!(
        header_macro(&header, "STRATALOG_VERSION_PATCH"),
        parts[2].to_string()
    );
    let number = parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2];
    assert_eq!(
        header_macro(&header, "STRATALOG_VERSION_NUMBER"),
        number.to_string()
    );
    assert_eq!(
        header_macro(&header, "STRATALOG_VERSION_STRING"),
        format!("\"{cargo}\"")
    );

    let runtime = unsafe { CStr::from_ptr(stratalog::stratalog_version()) };
    assert_eq!(runtime.to_str().unwrap(), cargo);
    assert_eq!(stratalog::stratalog_version_number(), number);
}
