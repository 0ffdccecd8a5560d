//! Names and text forms the library defines: version, status names, codec
//! names, heads as text.

use std::ffi::{c_char, CStr, CString};

use stratalog::{stratalog_compression, stratalog_head, STRATALOG_HEAD_TEXT_SIZE};

use crate::error::{check, Error, Result};
use crate::EMPTY_HEAD;

/// A static string of the library's.
///
/// # Safety
/// `text` is NULL or NUL-terminated and lives for the whole program.
unsafe fn static_text(text: *const c_char) -> Option<&'static str> {
    if text.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(text) }.to_str().ok()
}

/// The library's version, e.g. "0.2.0".
pub fn version() -> &'static str {
    // SAFETY: a static NUL-terminated string.
    unsafe { static_text(stratalog::stratalog_version()) }.unwrap_or("unknown")
}

/// The name of a status number, "STRATALOG_STATUS_UNKNOWN" for another.
pub fn status_name(status: i32) -> &'static str {
    // SAFETY: a static NUL-terminated string.
    unsafe { static_text(stratalog::stratalog_status_str(status)) }
        .unwrap_or("STRATALOG_STATUS_UNKNOWN")
}

/// A codec's name: "none", "lz4" or "zstd".
pub fn compression_name(compression: stratalog_compression) -> &'static str {
    // SAFETY: a static NUL-terminated string (or NULL, impossible for a
    // value of the enum).
    unsafe { static_text(stratalog::stratalog_compression_name(compression as u32)) }
        .unwrap_or("unknown")
}

/// `text` as a C string; `what` names it when it holds a NUL.
pub(crate) fn c_text(what: &str, text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error::invalid(format!("{what} contains a NUL character")))
}

/// A codec by name, in any case.
pub fn parse_compression(name: &str) -> Result<stratalog_compression> {
    let name = c_text("compression", name)?;
    let mut out = stratalog_compression::None;
    // SAFETY: NUL-terminated input; `out` writable.
    check(unsafe { stratalog::stratalog_compression_parse(name.as_ptr(), &mut out) })?;
    Ok(out)
}

/// "<next_offset>:<64 lowercase hex digits>".
pub fn head_text(head: &stratalog_head) -> String {
    let mut buf = [0u8; STRATALOG_HEAD_TEXT_SIZE];
    // SAFETY: `head` readable, `buf` of the size the library says suffices.
    let status =
        unsafe { stratalog::stratalog_head_to_hex(head, buf.as_mut_ptr().cast(), buf.len()) };
    match check(status) {
        Ok(()) => CStr::from_bytes_until_nul(&buf)
            .ok()
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        Err(_) => String::new(),
    }
}

/// A head from its text form (either case, whitespace around ignored).
pub fn parse_head(text: &str) -> Result<stratalog_head> {
    let text = c_text("head text", text)?;
    let mut head = EMPTY_HEAD;
    // SAFETY: NUL-terminated input; `head` writable.
    check(unsafe { stratalog::stratalog_head_parse(text.as_ptr(), &mut head) })?;
    Ok(head)
}
