//! Checking raw arguments from C before anything is done with them.

use std::ffi::{c_char, CStr};
use std::mem::size_of;
use std::slice;

use stratalog_core::Store;

use crate::error::Fail;
use crate::stratalog_store;
use crate::types::stratalog_slice;

/// The store behind a handle.
///
/// # Safety
/// `store` is NULL or a live handle from one of the open functions.
pub(crate) unsafe fn store<'a>(store: *const stratalog_store) -> Result<&'a Store, Fail> {
    // SAFETY: guaranteed by the caller.
    match unsafe { store.as_ref() } {
        Some(s) => Ok(&s.store),
        None => Err(Fail::null("store")),
    }
}

/// Fails with NULL_ARGUMENT when an output pointer is NULL.
pub(crate) fn out<T>(ptr: *mut T, name: &str) -> Result<(), Fail> {
    if ptr.is_null() {
        Err(Fail::null(name))
    } else {
        Ok(())
    }
}

/// A NUL-terminated UTF-8 path.
///
/// # Safety
/// `path` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn path<'a>(path: *const c_char) -> Result<&'a str, Fail> {
    if path.is_null() {
        return Err(Fail::null("path"));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let bytes = unsafe { CStr::from_ptr(path) };
    let text = bytes
        .to_str()
        .map_err(|_| Fail::invalid("path is not valid UTF-8"))?;
    if text.is_empty() {
        return Err(Fail::invalid("path is empty"));
    }
    Ok(text)
}

/// `len` bytes at `data`; NULL is accepted for an empty string only.
///
/// # Safety
/// When `len > 0`, `data` is NULL or points to `len` readable bytes that stay
/// unchanged for `'a`.
/// `what` names the argument in an error; it is formatted only on failure
/// (this runs once per appended event).
pub(crate) unsafe fn bytes<'a>(
    data: *const u8,
    len: usize,
    what: impl std::fmt::Display,
) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Fail::null(&what.to_string()));
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("{what}: length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller, len <= isize::MAX.
    Ok(unsafe { slice::from_raw_parts(data, len) })
}

/// The batch of an append as byte slices.
///
/// # Safety
/// When `count > 0`, `events` is NULL or points to `count` readable slices,
/// each of which satisfies [`bytes`].
pub(crate) unsafe fn events<'a>(
    events: *const stratalog_slice,
    count: usize,
) -> Result<Vec<&'a [u8]>, Fail> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if events.is_null() {
        return Err(Fail::null("events (with count > 0)"));
    }
    if count > isize::MAX as usize / size_of::<stratalog_slice>() {
        return Err(Fail::invalid(format!("count {count} is too large")));
    }
    // SAFETY: non-NULL, `count` readable slices per the caller; every bit
    // pattern of a stratalog_slice is a valid value.
    let slices = unsafe { slice::from_raw_parts(events, count) };
    slices
        .iter()
        .enumerate()
        // SAFETY: each slice satisfies `bytes` per the caller.
        .map(|(i, s)| unsafe { bytes(s.data, s.len, EventData(i)) })
        .collect()
}

/// The name of `events[i].data`, for an error message.
struct EventData(usize);

impl std::fmt::Display for EventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "events[{}].data", self.0)
    }
}
