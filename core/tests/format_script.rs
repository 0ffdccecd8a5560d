#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The verifier script in docs/FORMAT.md, run on stores this library wrote:
//! the document alone is enough to check a store.

mod common;

use std::path::Path;
use std::process::Command;

use stratalog_core::{Options, Store};

fn script() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/FORMAT.md"))
            .unwrap();
    let start = doc
        .find("```python\n")
        .expect("a python block in FORMAT.md")
        + "```python\n".len();
    let len = doc[start..].find("```").unwrap();
    doc[start..start + len].to_string()
}

fn run(store: &Path) -> std::process::Output {
    let file = store.parent().unwrap().join("verify.py");
    std::fs::write(&file, script()).unwrap();
    Command::new("python3")
        .arg(&file)
        .arg(store)
        .output()
        .expect("python3 is needed for this test")
}

#[test]
fn script_reproduces_every_head() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, common::small(4096, 3)).unwrap();
    let mut expected = String::new();
    for stream in [0u64, 5, 1 << 40] {
        for batch in 0..20u64 {
            let events: Vec<Vec<u8>> = (0..3)
                .map(|i| common::payload(stream, batch * 3 + i, (i as usize) * 40))
                .collect();
            store.append_batch(stream, &events, None, false).unwrap();
        }
        expected += &format!("stream {stream}: {}\n", store.chain_head(stream).unwrap());
    }
    store.close().unwrap();
    let out = run(&root);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);

    // And it fails on a flipped byte.
    let seg = common::segments(&root, 5)[1].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    let out = run(&root);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILED"));
}

#[test]
fn spec_vectors_through_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, Options::default()).unwrap();
    for e in [&b"alpha"[..], b"beta", b"gamma", b""] {
        store.append(1, e).unwrap();
    }
    drop(store);
    let out = run(&root);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stream 1: 4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc\n"
    );
}
