//! The library's version and the names of statuses.

use std::ffi::{c_char, CStr};

use crate::error::{guard_value, stratalog_status, NO_ERROR};

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the package version contains a NUL byte"),
    };

const fn parse_u32(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "version part is not a number");
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// MAJOR * 1000000 + MINOR * 1000 + PATCH, like STRATALOG_VERSION_NUMBER.
const VERSION_NUMBER: u32 = parse_u32(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
    + parse_u32(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
    + parse_u32(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version as a static string, e.g. "0.2.0". Compare with
/// STRATALOG_VERSION_STRING to detect a header/library mismatch.
#[no_mangle]
pub extern "C" fn stratalog_version() -> *const c_char {
    guard_value(NO_ERROR, || VERSION.as_ptr())
}

/// The library's version as MAJOR * 1000000 + MINOR * 1000 + PATCH, the same
/// encoding as STRATALOG_VERSION_NUMBER.
#[no_mangle]
pub extern "C" fn stratalog_version_number() -> u32 {
    guard_value(0, || VERSION_NUMBER)
}

/// The static name of a status, e.g. "STRATALOG_STATUS_OFFSET_MISMATCH";
/// "STRATALOG_STATUS_UNKNOWN" for a number that is not a status. Never NULL;
/// never freed.
#[no_mangle]
pub extern "C" fn stratalog_status_str(status: i32) -> *const c_char {
    guard_value(c"STRATALOG_STATUS_UNKNOWN".as_ptr(), || {
        stratalog_status::ALL
            .iter()
            .find(|s| **s as i32 == status)
            .map_or(c"STRATALOG_STATUS_UNKNOWN".as_ptr(), |s| s.name().as_ptr())
    })
}
