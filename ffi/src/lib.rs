//! # stratalog-ffi
//!
//! The C ABI of stratalog: `libstratalog.so`, `libstratalog.a` and the
//! generated header `include/stratalog.h`. The Python and Node bindings link
//! this crate as an rlib and call the same `extern "C"` functions.
//!
//! Conventions, for every function:
//! - Fallible functions return a [`stratalog_status`]; `STRATALOG_STATUS_OK`
//!   is 0. On failure, [`stratalog_last_error`] and
//!   [`stratalog_last_error_detail`] describe it (thread-local).
//! - Outputs are written only on success, except the verify report, which is
//!   also written on CORRUPTION and CHAIN_MISMATCH.
//! - Input pointers are borrowed for the call only.
//! - No function unwinds into C: a panic becomes `STRATALOG_STATUS_PANIC`.
//!
//! To regenerate the header after changing this crate:
//! `STRATALOG_BLESS=1 cargo test -p stratalog-ffi --test header`.

mod args;
mod error;
mod events;
mod group;
mod types;
mod util;

use std::ffi::c_char;
use std::ptr;

use stratalog_core::{Error, Options, Store};

pub use error::{stratalog_error_detail, stratalog_status};
pub use events::{
    stratalog_events, stratalog_events_first_offset, stratalog_events_free, stratalog_events_get,
    stratalog_events_len, stratalog_iter, stratalog_iter_free, stratalog_iter_new,
    stratalog_iter_next, stratalog_read_from, stratalog_stream_list, stratalog_stream_list_data,
    stratalog_stream_list_free, stratalog_stream_list_get, stratalog_stream_list_len,
    stratalog_streams,
};
pub use group::{
    stratalog_append_batches, stratalog_batch, stratalog_batch_error, stratalog_batch_outcome,
};
pub use types::{
    stratalog_compression, stratalog_head, stratalog_options, stratalog_slice,
    stratalog_verify_report, STRATALOG_ANY_OFFSET, STRATALOG_HEAD_TEXT_SIZE, STRATALOG_NO_OFFSET,
};
pub use util::{
    stratalog_head_parse, stratalog_head_to_hex, stratalog_last_error, stratalog_last_error_detail,
    stratalog_last_error_offsets, stratalog_last_error_status, stratalog_status_str,
    stratalog_version, stratalog_version_number,
};

use crate::error::{guard, guard_value, Fail};
use crate::types::read_options;

/// An open store. Opaque: create it with stratalog_open(),
/// stratalog_open_in_memory() or stratalog_open_read_only(), free it with
/// stratalog_close().
///
/// Thread safety: one handle may be used by any number of threads at once
/// (appends to one stream are serialized, everything else runs in parallel),
/// except stratalog_close(), which must be the last call on the handle.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_store {
    pub(crate) store: Store,
}

fn hand_out(store: Store, out: *mut *mut stratalog_store) {
    let handle = Box::into_raw(Box::new(stratalog_store { store }));
    // SAFETY: the callers checked `out` is non-NULL; it points to writable
    // memory for one pointer per the function contracts.
    unsafe { out.write(handle) };
}

/// Fills `opts` with the defaults: 64 MiB segments, a checkpoint every 256
/// events, no compression, 16 MiB maximum event size, fsync false.
///
/// Returns STRATALOG_STATUS_NULL_ARGUMENT if `opts` is NULL.
///
/// # Safety
/// `opts` is NULL or points to writable memory for one stratalog_options.
#[no_mangle]
pub unsafe extern "C" fn stratalog_options_default(
    opts: *mut stratalog_options,
) -> stratalog_status {
    guard(|| {
        args::out(opts, "opts")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { opts.write(stratalog_options::from_core(&Options::default())) };
        Ok(())
    })
}

/// Opens (creating it if needed) the store in directory `path` for reading and
/// writing, and takes its writer lock. A torn tail left by a crash is cut off
/// while opening.
///
/// `path` is a NUL-terminated UTF-8 path, borrowed for the call. `opts` may
/// be NULL for the defaults; it is read during the call only. On success
/// `*out` receives a new handle owned by the caller, to be released with
/// stratalog_close().
///
/// Errors: NULL_ARGUMENT (path or out NULL), INVALID_ARGUMENT (path not UTF-8
/// or empty, bad options, directory not empty and not a store), LOCKED
/// (another process or another open handle writes the store: the lock is per
/// open, so a second stratalog_open() of the same directory in the same
/// process is LOCKED too), IO, CORRUPTION.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `opts` is NULL or points to a
/// stratalog_options; `out` is NULL or points to writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn stratalog_open(
    path: *const c_char,
    opts: *const stratalog_options,
    out: *mut *mut stratalog_store,
) -> stratalog_status {
    guard(|| {
        args::out(out, "out")?;
        // SAFETY: per the contract.
        let path = unsafe { args::path(path)? };
        // SAFETY: per the contract.
        let options = unsafe { read_options(opts)? };
        hand_out(Store::open(path, options)?, out);
        Ok(())
    })
}

/// Opens a new, empty store held in memory only; its contents go when it is
/// closed. `opts` may be NULL for the defaults. On success `*out` receives a
/// new handle owned by the caller (free with stratalog_close()).
///
/// Errors: NULL_ARGUMENT (out NULL), INVALID_ARGUMENT (bad options).
///
/// # Safety
/// `opts` is NULL or points to a stratalog_options; `out` is NULL or points to
/// writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn stratalog_open_in_memory(
    opts: *const stratalog_options,
    out: *mut *mut stratalog_store,
) -> stratalog_status {
    guard(|| {
        args::out(out, "out")?;
        // SAFETY: per the contract.
        let options = unsafe { read_options(opts)? };
        hand_out(Store::open_in_memory(options)?, out);
        Ok(())
    })
}

/// Opens an existing store for reading only, with the default options. Takes
/// no lock and never writes, so it works while another process appends; it
/// sees the streams as they were when it opened. Appends fail with READ_ONLY.
/// On success `*out` receives a new handle owned by the caller (free with
/// stratalog_close()).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (path not UTF-8, not a store), IO
/// (no such directory: os_error ENOENT), CORRUPTION.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or points to
/// writable memory for a pointer.
#[no_mangle]
pub unsafe extern "C" fn stratalog_open_read_only(
    path: *const c_char,
    out: *mut *mut stratalog_store,
) -> stratalog_status {
    // SAFETY: same contract.
    unsafe { stratalog_open_read_only_with(path, ptr::null(), out) }
}

/// stratalog_open_read_only() with options (NULL for the defaults). A reader
/// needs none of them: every segment records the limits it was written
/// under, and reads follow those. Accepted so one set of options can serve
/// both kinds of open.
///
/// # Safety
/// As stratalog_open_read_only(); `opts` is NULL or points to a
/// stratalog_options.
#[no_mangle]
pub unsafe extern "C" fn stratalog_open_read_only_with(
    path: *const c_char,
    opts: *const stratalog_options,
    out: *mut *mut stratalog_store,
) -> stratalog_status {
    guard(|| {
        args::out(out, "out")?;
        // SAFETY: per the contract.
        let path = unsafe { args::path(path)? };
        // SAFETY: per the contract.
        let options = unsafe { read_options(opts)? };
        hand_out(Store::open_read_only_with(path, options)?, out);
        Ok(())
    })
}

/// Closes the store (if stratalog_shutdown() did not already) and frees the
/// handle. NULL is a no-op. The handle is invalid afterwards, and no other
/// thread may be using it during or after this call. Batches, stream lists
/// and iterators obtained from the store stay valid until freed.
///
/// Closing syncs every stream, but a failure cannot be returned here: it is
/// only recorded as the thread's last error. When durability matters, call
/// stratalog_sync() (or stratalog_shutdown()) first and check its status.
///
/// # Safety
/// `store` is NULL or a live handle not used by any other thread.
#[no_mangle]
pub unsafe extern "C" fn stratalog_close(store: *mut stratalog_store) {
    let status = guard(|| {
        if store.is_null() {
            return Ok(());
        }
        // SAFETY: a live handle from hand_out, not used elsewhere.
        let handle = unsafe { Box::from_raw(store) };
        let result = handle.store.close();
        drop(handle);
        result.map_err(Fail::from)
    });
    // The failure, if any, is already the thread's last error.
    let _ = status;
}

/// Syncs and closes the store without freeing the handle: the writer lock is
/// released, and every later call on the handle fails with
/// STRATALOG_STATUS_CLOSED. Safe to call while other threads use the handle:
/// it waits for their calls in flight to finish, and their later calls fail
/// with CLOSED. Calling it more than once is fine (later calls return OK).
/// The handle must still be freed with stratalog_close().
///
/// Errors: NULL_ARGUMENT, IO (a sync failed: appends made without fsync may
/// not be durable), POISONED (a stream had already failed an fsync; the
/// store is closed all the same).
///
/// # Safety
/// `store` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn stratalog_shutdown(store: *mut stratalog_store) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        Ok(store.close()?)
    })
}

/// Makes every append so far durable (fdatasync of every stream's active
/// segment).
///
/// Errors: NULL_ARGUMENT, IO, POISONED, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn stratalog_sync(store: *mut stratalog_store) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        Ok(store.sync()?)
    })
}

/// Makes every append so far to `stream` durable (fdatasync of its active
/// segment), leaving the other streams as they are. A stream with no events
/// has nothing to sync.
///
/// Errors: NULL_ARGUMENT, IO, POISONED, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn stratalog_sync_stream(
    store: *mut stratalog_store,
    stream: u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        Ok(store.sync_stream(stream)?)
    })
}

/// Appends `count` events to `stream` atomically: after any crash either all
/// of them are in the stream or none is.
///
/// `events` points to `count` slices, borrowed for the call only (count must
/// be at least 1). With `expected_offset` other than STRATALOG_ANY_OFFSET the
/// append happens only if the stream's next offset equals it; otherwise it
/// fails with OFFSET_MISMATCH and writes nothing (stratalog_last_error_offsets()
/// gives both offsets). With `fsync` the batch is durable when this returns.
/// On success, if `out_head` is not NULL, it receives the new chain head.
///
/// Errors: NULL_ARGUMENT (store NULL, events NULL with count > 0, an event's
/// data NULL with len > 0), INVALID_ARGUMENT (count 0), EVENT_TOO_LARGE,
/// OFFSET_MISMATCH, READ_ONLY, CLOSED, IO, CORRUPTION (the stream's active
/// segment is damaged), POISONED.
///
/// # Safety
/// `store` is NULL or a live handle; `events` is NULL or points to `count`
/// stratalog_slice values whose data point to `len` readable bytes (or are
/// NULL); `out_head` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_append_batch(
    store: *mut stratalog_store,
    stream: u64,
    events: *const stratalog_slice,
    count: usize,
    expected_offset: u64,
    fsync: bool,
    out_head: *mut stratalog_head,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        // SAFETY: per the contract.
        let batch = unsafe { args::events(events, count)? };
        let expected = (expected_offset != STRATALOG_ANY_OFFSET).then_some(expected_offset);
        let head = store.append_batch(stream, &batch, expected, fsync)?;
        if !out_head.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out_head.write(head.into()) };
        }
        Ok(())
    })
}

/// The chain head of `stream`, from memory (no I/O). A stream that does not
/// exist has the empty head (0 and 32 zero bytes).
///
/// Errors: NULL_ARGUMENT, CLOSED, CORRUPTION (the stream's active segment is
/// damaged).
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_chain_head(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_head,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        args::out(out, "out")?;
        let head = store.chain_head(stream)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(head.into()) };
        Ok(())
    })
}

fn write_verify(
    result: Result<stratalog_core::VerifyReport, Error>,
    out: *mut stratalog_verify_report,
) -> Result<(), Fail> {
    let (report, failure) = match result {
        Ok(report) => (Some(report.into()), None),
        Err(e) => {
            let report = match &e {
                Error::Corruption { offset, .. } | Error::ChainMismatch { offset, .. } => {
                    Some(stratalog_verify_report::failed_at(*offset))
                }
                _ => None,
            };
            (report, Some(Fail::from(e)))
        }
    };
    if let (Some(report), false) = (report, out.is_null()) {
        // SAFETY: non-NULL and writable per the callers' contracts.
        unsafe { out.write(report) };
    }
    failure.map_or(Ok(()), Err)
}

/// Verifies `stream` from its first event: every checksum, offset, chain link,
/// checkpoint and segment boundary, and that the chain ends at the head the
/// store holds. A stream that does not exist verifies as empty.
///
/// `out` may be NULL. On success it receives the report (failed_offset is
/// STRATALOG_NO_OFFSET). On CORRUPTION (bytes fail a checksum or the structure
/// is broken) or CHAIN_MISMATCH (intact records do not form the chain) it is
/// written too, with failed_offset set to the offset of the first failure and
/// every other field 0. On any other status it is not written.
///
/// Errors: NULL_ARGUMENT, CORRUPTION, CHAIN_MISMATCH, IO, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_verify_report,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        write_verify(store.verify(stream), out)
    })
}

/// stratalog_verify(), and also proves that the stream still holds, unchanged,
/// the history `head` summarizes: that it has at least head->next_offset
/// events and that the chain hash after them equals head->hash. This detects
/// truncation, rollback and rewriting relative to a head kept elsewhere
/// (CHAIN_MISMATCH, with failed_offset set). `head` is borrowed for the call;
/// `out` behaves as in stratalog_verify().
///
/// Errors: NULL_ARGUMENT (store or head NULL), CORRUPTION, CHAIN_MISMATCH, IO,
/// CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `head` is NULL or points to a
/// stratalog_head; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_against(
    store: *const stratalog_store,
    stream: u64,
    head: *const stratalog_head,
    out: *mut stratalog_verify_report,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        if head.is_null() {
            return Err(Fail::null("head"));
        }
        // SAFETY: non-NULL and readable; every bit pattern is a valid head.
        let head = unsafe { head.read() };
        write_verify(store.verify_against(stream, &head.into()), out)
    })
}

/// Whether the store was opened read-only. False for NULL.
///
/// # Safety
/// `store` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn stratalog_is_read_only(store: *const stratalog_store) -> bool {
    guard_value(false, || {
        // SAFETY: per the contract.
        unsafe { store.as_ref() }.is_some_and(|s| s.store.is_read_only())
    })
}

/// Copies the options the store was opened with into `out` (for a read-only
/// store: the defaults, or what stratalog_open_read_only_with() was given).
///
/// Errors: NULL_ARGUMENT.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_store_options(
    store: *const stratalog_store,
    out: *mut stratalog_options,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { args::store(store)? };
        args::out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(stratalog_options::from_core(store.options())) };
        Ok(())
    })
}
