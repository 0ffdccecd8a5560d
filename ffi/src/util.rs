//! Version, error reporting and the text form of chain heads.

use std::ffi::{c_char, CStr};

use stratalog_core::ChainHead;

use crate::error::{
    guard, guard_value, stratalog_error_detail, stratalog_status, with_last_error, Fail, NO_ERROR,
};
use crate::types::{stratalog_head, STRATALOG_HEAD_TEXT_SIZE};

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

/// The library's version as a static string, e.g. "0.1.0". Compare with
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

/// A message describing the last failure of a stratalog call on the calling
/// thread ("" if there was none). Successful calls do not change it, so look
/// at it only after a call failed. The string is NUL-terminated UTF-8, owned
/// by the library, and valid until the next failing call on the same thread.
/// Never NULL.
#[no_mangle]
pub extern "C" fn stratalog_last_error() -> *const c_char {
    guard_value(NO_ERROR, || {
        with_last_error(|_, message| message.as_ptr()).unwrap_or(NO_ERROR)
    })
}

/// The status of the last failure on the calling thread, or
/// STRATALOG_STATUS_OK if there was none.
#[no_mangle]
pub extern "C" fn stratalog_last_error_status() -> stratalog_status {
    guard_value(stratalog_status::Panic, || {
        with_last_error(|d, _| d.status).unwrap_or(stratalog_status::Ok)
    })
}

/// Copies the structured detail of the last failure on the calling thread into
/// `*out` and returns true; returns false and writes nothing if there was no
/// failure on this thread or `out` is NULL. Does not change the last error.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_last_error_detail(out: *mut stratalog_error_detail) -> bool {
    guard_value(false, || {
        if out.is_null() {
            return false;
        }
        match with_last_error(|d, _| *d) {
            Some(detail) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { out.write(detail) };
                true
            }
            None => false,
        }
    })
}

/// If the last failure on the calling thread was STRATALOG_STATUS_OFFSET_MISMATCH,
/// writes the offset the caller expected to `*expected` and the stream's
/// actual next offset to `*actual` (either may be NULL) and returns true;
/// otherwise returns false and writes nothing.
///
/// # Safety
/// `expected` and `actual` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_last_error_offsets(
    expected: *mut u64,
    actual: *mut u64,
) -> bool {
    guard_value(false, || {
        let Some(detail) = with_last_error(|d, _| *d) else {
            return false;
        };
        if detail.status != stratalog_status::OffsetMismatch {
            return false;
        }
        // SAFETY: each is NULL or writable per the contract.
        unsafe {
            if !expected.is_null() {
                expected.write(detail.expected_offset);
            }
            if !actual.is_null() {
                actual.write(detail.actual_offset);
            }
        }
        true
    })
}

/// Writes the text form of a head, "<next_offset>:<64 lowercase hex digits>"
/// and a NUL, into `buf` of `buf_len` bytes. STRATALOG_HEAD_TEXT_SIZE bytes
/// are always enough.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (buffer too small; nothing written).
///
/// # Safety
/// `head` is NULL or points to a stratalog_head; `buf` is NULL or points to
/// `buf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_head_to_hex(
    head: *const stratalog_head,
    buf: *mut c_char,
    buf_len: usize,
) -> stratalog_status {
    guard(|| {
        if head.is_null() {
            return Err(Fail::null("head"));
        }
        if buf.is_null() {
            return Err(Fail::null("buf"));
        }
        // SAFETY: non-NULL and readable; every bit pattern is a valid head.
        let head: ChainHead = unsafe { head.read() }.into();
        let text = head.to_string();
        debug_assert!(text.len() < STRATALOG_HEAD_TEXT_SIZE);
        if text.len() + 1 > buf_len {
            return Err(Fail::invalid(format!(
                "buffer of {buf_len} bytes is too small for the {} bytes of {text}",
                text.len() + 1
            )));
        }
        // SAFETY: `buf` holds at least text.len() + 1 writable bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            buf.add(text.len()).write(0);
        }
        Ok(())
    })
}

/// Parses the text form of a head ("<next_offset>:<64 hex digits>", either
/// case, surrounding whitespace ignored) into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (not a head; an empty stream's head
/// must have the zero hash).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_head_parse(
    text: *const c_char,
    out: *mut stratalog_head,
) -> stratalog_status {
    guard(|| {
        if text.is_null() {
            return Err(Fail::null("text"));
        }
        crate::args::out(out, "out")?;
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let text = unsafe { CStr::from_ptr(text) }
            .to_str()
            .map_err(|_| Fail::invalid("head text is not valid UTF-8"))?;
        let head: ChainHead = text.parse()?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(head.into()) };
        Ok(())
    })
}
