//! stratalog_events: an owned batch of events read from a stream.

use stratalog_core::Bytes;

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::store::{self as handle, stratalog_store};

/// What data points to for an empty event: never NULL, never dangling.
static EMPTY: [u8; 1] = [0];

pub(crate) fn data_ptr(event: &Bytes) -> *const u8 {
    if event.is_empty() {
        EMPTY.as_ptr()
    } else {
        event.as_ptr()
    }
}

/// An owned batch of events returned by stratalog_read_from(). Opaque; free it
/// with stratalog_events_free(). It does not borrow the store: it stays valid
/// after the store is closed. Reading it from several threads at once is safe.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_events {
    first_offset: u64,
    events: Vec<Bytes>,
}

/// Reads events of `stream` from `offset` on, stopping before their total size
/// would pass `max_bytes`, but returning at least one event if there is one.
/// Every event is checksummed and chain-verified before it is returned.
/// Reading at the stream's end (offset == next offset) returns an empty batch.
/// On success `*out` receives a new batch owned by the caller (free with
/// stratalog_events_free()). Events are not copied out of the buffers the
/// read filled: the batch keeps those alive.
///
/// Errors: NULL_ARGUMENT, OFFSET_OUT_OF_RANGE (offset past the end),
/// CORRUPTION, CHAIN_MISMATCH, IO, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or points to writable
/// memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn stratalog_read_from(
    store: *const stratalog_store,
    stream: u64,
    offset: u64,
    max_bytes: u64,
    out: *mut *mut stratalog_events,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        let events = store.read_from(stream, offset, max_bytes)?;
        args::hand_out(
            out,
            stratalog_events {
                first_offset: offset,
                events,
            },
        );
        Ok(())
    })
}

/// Number of events in the batch (0 for NULL).
///
/// # Safety
/// `events` is NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn stratalog_events_len(events: *const stratalog_events) -> usize {
    // SAFETY: per the contract.
    guard_value(0, || {
        unsafe { args::optional_object(events) }.map_or(0, |b| b.events.len())
    })
}

/// Offset of the batch's first event (the offset passed to
/// stratalog_read_from()); event i has offset first_offset + i. 0 for NULL.
///
/// # Safety
/// `events` is NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn stratalog_events_first_offset(events: *const stratalog_events) -> u64 {
    // SAFETY: per the contract.
    guard_value(0, || {
        unsafe { args::optional_object(events) }.map_or(0, |b| b.first_offset)
    })
}

/// Event `i` of the batch: `*data` receives a pointer to its bytes and `*len`
/// their number. The bytes are owned by the batch and stay valid until
/// stratalog_events_free(); do not write to them. `*data` is never NULL, even
/// for an empty event.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (i >= stratalog_events_len()).
///
/// # Safety
/// `events` is NULL or a live batch; `data` and `len` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_events_get(
    events: *const stratalog_events,
    i: usize,
    data: *mut *const u8,
    len: *mut usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (batch, data, len) = unsafe {
            (
                args::object(events, "events")?,
                args::out(data, "data")?,
                args::out(len, "len")?,
            )
        };
        let event = batch.events.get(i).ok_or_else(|| {
            Fail::invalid(format!(
                "index {i} is out of range: the batch holds {} events",
                batch.events.len()
            ))
        })?;
        data.write(data_ptr(event));
        len.write(event.len());
        Ok(())
    })
}

/// Frees a batch and the bytes it owns. NULL is a no-op.
///
/// # Safety
/// `events` is NULL or a live batch; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_events_free(events: *mut stratalog_events) {
    // SAFETY: a live batch from stratalog_read_from, freed once.
    guard_value((), || drop(unsafe { args::take(events) }))
}
