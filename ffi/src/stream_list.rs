//! stratalog_stream_list: the ids of a store's streams.

use std::ptr;

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::store::{self as handle, stratalog_store};

/// An owned list of stream ids returned by stratalog_streams(). Opaque; free
/// it with stratalog_stream_list_free().
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_stream_list {
    ids: Vec<u64>,
}

/// The ids of the streams that hold at least one event, in increasing order.
/// On success `*out` receives a new list owned by the caller (free with
/// stratalog_stream_list_free()).
///
/// Errors: NULL_ARGUMENT, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_streams(
    store: *const stratalog_store,
    out: *mut *mut stratalog_stream_list,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        args::hand_out(
            out,
            stratalog_stream_list {
                ids: store.streams()?,
            },
        );
        Ok(())
    })
}

/// Number of ids in the list (0 for NULL).
///
/// # Safety
/// `list` is NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn stratalog_stream_list_len(list: *const stratalog_stream_list) -> usize {
    // SAFETY: per the contract.
    guard_value(0, || {
        unsafe { args::optional_object(list) }.map_or(0, |l| l.ids.len())
    })
}

/// Id `i` of the list into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (i >= stratalog_stream_list_len()).
///
/// # Safety
/// `list` is NULL or a live list; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_stream_list_get(
    list: *const stratalog_stream_list,
    i: usize,
    out: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (list, out) = unsafe { (args::object(list, "list")?, args::out(out, "out")?) };
        let id = list.ids.get(i).ok_or_else(|| {
            Fail::invalid(format!(
                "index {i} is out of range: the list holds {} streams",
                list.ids.len()
            ))
        })?;
        out.write(*id);
        Ok(())
    })
}

/// All ids of the list as an array of stratalog_stream_list_len() values,
/// owned by the list (valid until stratalog_stream_list_free()). NULL for a
/// NULL or empty list.
///
/// # Safety
/// `list` is NULL or a live list.
#[no_mangle]
pub unsafe extern "C" fn stratalog_stream_list_data(
    list: *const stratalog_stream_list,
) -> *const u64 {
    guard_value(ptr::null(), || {
        // SAFETY: per the contract.
        match unsafe { args::optional_object(list) } {
            Some(l) if !l.ids.is_empty() => l.ids.as_ptr(),
            _ => ptr::null(),
        }
    })
}

/// Frees a list. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live list; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_stream_list_free(list: *mut stratalog_stream_list) {
    // SAFETY: a live list from stratalog_streams, freed once.
    guard_value((), || drop(unsafe { args::take(list) }))
}
