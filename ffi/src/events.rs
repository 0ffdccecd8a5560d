//! Reading: owned event batches, the stream list, and the lazy iterator.

use std::ptr;

use stratalog_core::{Bytes, EventIter};

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::stratalog_store;

/// What data points to for an empty event: never NULL, never dangling.
static EMPTY: [u8; 1] = [0];

fn data_ptr(event: &Bytes) -> *const u8 {
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
        let store = unsafe { args::store(store)? };
        args::out(out, "out")?;
        let events = store.read_from(stream, offset, max_bytes)?;
        let batch = Box::into_raw(Box::new(stratalog_events {
            first_offset: offset,
            events,
        }));
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(batch) };
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
        unsafe { events.as_ref() }.map_or(0, |b| b.events.len())
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
        unsafe { events.as_ref() }.map_or(0, |b| b.first_offset)
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
        let batch = unsafe { events.as_ref() }.ok_or_else(|| Fail::null("events"))?;
        args::out(data, "data")?;
        args::out(len, "len")?;
        let event = batch.events.get(i).ok_or_else(|| {
            Fail::invalid(format!(
                "index {i} is out of range: the batch holds {} events",
                batch.events.len()
            ))
        })?;
        // SAFETY: both non-NULL and writable per the contract.
        unsafe {
            data.write(data_ptr(event));
            len.write(event.len());
        }
        Ok(())
    })
}

/// Frees a batch and the bytes it owns. NULL is a no-op.
///
/// # Safety
/// `events` is NULL or a live batch; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_events_free(events: *mut stratalog_events) {
    guard_value((), || {
        if !events.is_null() {
            // SAFETY: a live batch from stratalog_read_from, freed once.
            drop(unsafe { Box::from_raw(events) });
        }
    })
}

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
        let store = unsafe { args::store(store)? };
        args::out(out, "out")?;
        let ids = store.streams()?;
        let list = Box::into_raw(Box::new(stratalog_stream_list { ids }));
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(list) };
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
    guard_value(0, || unsafe { list.as_ref() }.map_or(0, |l| l.ids.len()))
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
        let list = unsafe { list.as_ref() }.ok_or_else(|| Fail::null("list"))?;
        args::out(out, "out")?;
        let id = list.ids.get(i).ok_or_else(|| {
            Fail::invalid(format!(
                "index {i} is out of range: the list holds {} streams",
                list.ids.len()
            ))
        })?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(*id) };
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
        match unsafe { list.as_ref() } {
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
    guard_value((), || {
        if !list.is_null() {
            // SAFETY: a live list from stratalog_streams, freed once.
            drop(unsafe { Box::from_raw(list) });
        }
    })
}

/// A lazy iterator over the events of one stream, from a start offset to the
/// stream's head as it was when the iterator was made. It reads a bounded
/// window at a time, so it walks streams of any size in constant memory.
/// Opaque; free it with stratalog_iter_free(). It does not borrow the store
/// (it stays valid after the store is closed), but one iterator must not be
/// used by two threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_iter {
    iter: EventIter,
    current: Option<Bytes>,
}

/// Makes an iterator over `stream` from offset `start`. Errors about the
/// stream (an offset past the end, damage) are reported by the first
/// stratalog_iter_next(). On success `*out` receives a new iterator owned by
/// the caller (free with stratalog_iter_free()).
///
/// Errors: NULL_ARGUMENT, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_new(
    store: *const stratalog_store,
    stream: u64,
    start: u64,
    out: *mut *mut stratalog_iter,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        args::out(out, "out")?;
        // `streams` fails only when the store is closed: report that now.
        store.streams()?;
        let iter = Box::into_raw(Box::new(stratalog_iter {
            iter: store.iter(stream, start),
            current: None,
        }));
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(iter) };
        Ok(())
    })
}

/// Advances the iterator. On success `*has_event` says whether there was an
/// event; if so `*offset`, `*data` and `*len` describe it. The bytes belong to
/// the iterator and stay valid until the next stratalog_iter_next() or
/// stratalog_iter_free() on it; `*data` is never NULL. After the last event,
/// or after a failure, every call returns OK with `*has_event` false.
///
/// Errors: NULL_ARGUMENT, OFFSET_OUT_OF_RANGE, CORRUPTION, CHAIN_MISMATCH, IO.
///
/// # Safety
/// `iter` is NULL or a live iterator used by this thread only; the outputs
/// are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_next(
    iter: *mut stratalog_iter,
    has_event: *mut bool,
    offset: *mut u64,
    data: *mut *const u8,
    len: *mut usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let it = unsafe { iter.as_mut() }.ok_or_else(|| Fail::null("iter"))?;
        args::out(has_event, "has_event")?;
        args::out(offset, "offset")?;
        args::out(data, "data")?;
        args::out(len, "len")?;
        it.current = None;
        match it.iter.next() {
            None => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { has_event.write(false) };
                Ok(())
            }
            Some(Err(e)) => Err(e.into()),
            Some(Ok((at, event))) => {
                // SAFETY: all non-NULL and writable per the contract.
                unsafe {
                    has_event.write(true);
                    offset.write(at);
                    data.write(data_ptr(&event));
                    len.write(event.len());
                }
                it.current = Some(event);
                Ok(())
            }
        }
    })
}

/// Frees an iterator. NULL is a no-op.
///
/// # Safety
/// `iter` is NULL or a live iterator; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_free(iter: *mut stratalog_iter) {
    guard_value((), || {
        if !iter.is_null() {
            // SAFETY: a live iterator from stratalog_iter_new, freed once.
            drop(unsafe { Box::from_raw(iter) });
        }
    })
}
