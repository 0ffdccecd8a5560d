//! stratalog_iter: a lazy iterator over one stream's events.

use stratalog_core::{Bytes, EventIter};

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::events::data_ptr;
use crate::store::{self as handle, stratalog_store};

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
    /// The events the last call handed out, alive until the next call.
    held: Vec<Bytes>,
    /// A failure a batch met after its first event: the batch returns
    /// the events before it, the next call reports it.
    failed: Option<stratalog_core::Error>,
}

/// Makes an iterator over `stream` from offset `start`, positioned and
/// chain-verified up to `start` before it returns. A stream that does not
/// exist iterates as empty. On success `*out` receives a new iterator owned
/// by the caller (free with stratalog_iter_free()); later failures come from
/// stratalog_iter_next().
///
/// Errors: NULL_ARGUMENT, OFFSET_OUT_OF_RANGE (start past the end),
/// CORRUPTION, CHAIN_MISMATCH, IO, CLOSED.
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
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        let iter = store.iter(stream, start)?;
        args::hand_out(
            out,
            stratalog_iter {
                iter,
                held: Vec::new(),
                failed: None,
            },
        );
        Ok(())
    })
}

/// Advances the iterator. On success `*has_event` says whether there was an
/// event; if so `*offset`, `*data` and `*len` describe it. The bytes belong
/// to the iterator and stay valid until the next stratalog_iter_next(),
/// stratalog_iter_next_batch() or stratalog_iter_free() on it; `*data` is
/// never NULL. After the last event, or after a failure, every call returns
/// OK with `*has_event` false.
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
        let (it, has_event, offset, data, len) = unsafe {
            (
                args::object_mut(iter, "iter")?,
                args::out(has_event, "has_event")?,
                args::out(offset, "offset")?,
                args::out(data, "data")?,
                args::out(len, "len")?,
            )
        };
        it.held.clear();
        if let Some(e) = it.failed.take() {
            return Err(e.into());
        }
        match it.iter.next() {
            None => {
                has_event.write(false);
                Ok(())
            }
            Some(Err(e)) => Err(e.into()),
            Some(Ok((at, event))) => {
                has_event.write(true);
                offset.write(at);
                data.write(data_ptr(&event));
                len.write(event.len());
                it.held.push(event);
                Ok(())
            }
        }
    })
}

/// Advances the iterator by up to `max_events` events in one call, for
/// callers that pay for each call (a language binding that lets go of its
/// interpreter's lock around every one). On success `*count` events were
/// read, 0 after the last one: event i has offset `*first_offset + i` (a
/// stream's offsets have no gaps) and its bytes are at `data[i]`, `lens[i]`
/// long, never NULL. The bytes belong to the iterator and stay valid until
/// the next stratalog_iter_next(), stratalog_iter_next_batch() or
/// stratalog_iter_free() on it. The batch also ends after the event that
/// brings its bytes to `max_bytes` or more (it holds at least one event),
/// so it keeps little memory whatever the events' sizes. At the end
/// `*first_offset` is the offset the next event will have (after
/// stratalog_iter_extend()).
///
/// A failure met after the batch's first event ends the batch there: the
/// call returns the events before it, and the next call reports it. So the
/// events and the error are exactly those stratalog_iter_next() gives one
/// at a time. After a failure every call returns OK with `*count` 0.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (`max_events` 0),
/// OFFSET_OUT_OF_RANGE, CORRUPTION, CHAIN_MISMATCH, IO.
///
/// # Safety
/// `iter` is NULL or a live iterator used by this thread only; `count` and
/// `first_offset` are NULL or writable; `data` and `lens` are NULL or point
/// to `max_events` writable elements each.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_next_batch(
    iter: *mut stratalog_iter,
    max_events: usize,
    max_bytes: u64,
    count: *mut usize,
    first_offset: *mut u64,
    data: *mut *const u8,
    lens: *mut usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (it, count, first_offset, data, lens) = unsafe {
            (
                args::object_mut(iter, "iter")?,
                args::out(count, "count")?,
                args::out(first_offset, "first_offset")?,
                args::out_array(data, max_events, "data")?,
                args::out_array(lens, max_events, "lens")?,
            )
        };
        if max_events == 0 {
            return Err(Fail::invalid("max_events must be at least 1"));
        }
        it.held.clear();
        if let Some(e) = it.failed.take() {
            return Err(e.into());
        }
        let mut first = None;
        let mut bytes = 0u64;
        while it.held.len() < max_events {
            match it.iter.next() {
                None => break,
                Some(Ok((at, event))) => {
                    first.get_or_insert(at);
                    bytes = bytes.saturating_add(event.len() as u64);
                    it.held.push(event);
                    if bytes >= max_bytes {
                        break;
                    }
                }
                Some(Err(e)) if it.held.is_empty() => return Err(e.into()),
                Some(Err(e)) => {
                    it.failed = Some(e);
                    break;
                }
            }
        }
        for (i, event) in it.held.iter().enumerate() {
            data.write(i, data_ptr(event));
            lens.write(i, event.len());
        }
        count.write(it.held.len());
        first_offset.write(first.unwrap_or_else(|| it.iter.next_offset()));
        Ok(())
    })
}

/// Takes `iter` on to its stream's head as it is now, from where it
/// stopped: what a follower calls after stratalog_wait() says the stream
/// grew, instead of making a new iterator. It goes on verifying the chain
/// from its own position (a new iterator starts again from the nearest
/// checkpoint); an iterator that cannot (it failed, or was made at the
/// stream's end) starts afresh at its next offset. The bytes it handed out
/// last stay valid until its next stratalog_iter_next() or
/// stratalog_iter_next_batch().
///
/// Errors: NULL_ARGUMENT, CORRUPTION, CHAIN_MISMATCH, IO, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle (the one `iter` was made from);
/// `iter` is NULL or a live iterator used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_extend(
    store: *const stratalog_store,
    iter: *mut stratalog_iter,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, it) = unsafe { (handle::store(store)?, args::object_mut(iter, "iter")?) };
        // A failure a batch held back comes first, as it would have one
        // event at a time; extending now would start the failed iterator
        // afresh and meet the same damage a second time.
        if it.failed.is_none() {
            store.extend_iter(&mut it.iter)?;
        }
        Ok(())
    })
}

/// Frees an iterator. NULL is a no-op.
///
/// # Safety
/// `iter` is NULL or a live iterator; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_iter_free(iter: *mut stratalog_iter) {
    // SAFETY: a live iterator from stratalog_iter_new, freed once.
    guard_value((), || drop(unsafe { args::take(iter) }))
}
