//! The calling thread's last failure: message, status and detail.

use std::ffi::c_char;

use crate::args;
use crate::error::{
    guard_value, stratalog_error_detail, stratalog_status, with_last_error, NO_ERROR,
};

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
        // SAFETY: per the contract.
        let Some(out) = (unsafe { args::optional_out(out) }) else {
            return false;
        };
        match with_last_error(|d, _| *d) {
            Some(detail) => {
                out.write(detail);
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
        let (expected, actual) =
            unsafe { (args::optional_out(expected), args::optional_out(actual)) };
        if let Some(out) = expected {
            out.write(detail.expected_offset);
        }
        if let Some(out) = actual {
            out.write(detail.actual_offset);
        }
        true
    })
}
