//! stratalog_append_batch() and the durability argument every append takes.

use stratalog_core::Store;

use crate::args;
use crate::error::{guard, stratalog_status, Fail};
use crate::head::stratalog_head;
use crate::slice::{self, stratalog_slice};
use crate::store::{self as handle, stratalog_store};

/// Whether an append must be durable when it returns: one of
/// STRATALOG_FSYNC_DEFAULT, STRATALOG_FSYNC_NO, STRATALOG_FSYNC_YES.
#[allow(non_camel_case_types)]
pub type stratalog_fsync = u32;

/// Durable if the store's `fsync` option says so.
pub const STRATALOG_FSYNC_DEFAULT: stratalog_fsync = 0;
/// Not durable when the call returns (a later sync or close makes it so).
pub const STRATALOG_FSYNC_NO: stratalog_fsync = 1;
/// Durable (fdatasync) when the call returns.
pub const STRATALOG_FSYNC_YES: stratalog_fsync = 2;

/// What an fsync argument means for `store`.
pub(crate) fn durable(store: &Store, fsync: stratalog_fsync) -> Result<bool, Fail> {
    match fsync {
        STRATALOG_FSYNC_DEFAULT => Ok(store.options().fsync),
        STRATALOG_FSYNC_NO => Ok(false),
        STRATALOG_FSYNC_YES => Ok(true),
        other => Err(Fail::invalid(format!(
            "fsync must be STRATALOG_FSYNC_DEFAULT, _NO or _YES, got {other}"
        ))),
    }
}

/// Appends `count` events to `stream` atomically: after any crash either all
/// of them are in the stream or none is.
///
/// `events` points to `count` slices, borrowed for the call only (count must
/// be at least 1). `expected_offset` is NULL to append at whatever the
/// stream's next offset is; otherwise the append happens only if the
/// stream's next offset equals `*expected_offset`, and fails with
/// OFFSET_MISMATCH writing nothing (stratalog_last_error_offsets() gives
/// both offsets). `fsync` says whether the batch is durable when this
/// returns (STRATALOG_FSYNC_DEFAULT: as the store's `fsync` option says).
/// On success, if `out_head` is not NULL, it receives the new chain head.
///
/// Errors: NULL_ARGUMENT (store NULL, events NULL with count > 0, an event's
/// data NULL with len > 0), INVALID_ARGUMENT (count 0, fsync not one of the
/// three values), EVENT_TOO_LARGE, OFFSET_MISMATCH, READ_ONLY, CLOSED, IO,
/// CORRUPTION (the stream's active segment is damaged), POISONED.
///
/// # Safety
/// `store` is NULL or a live handle; `events` is NULL or points to `count`
/// stratalog_slice values whose data point to `len` readable bytes (or are
/// NULL); `expected_offset` is NULL or points to a readable uint64_t;
/// `out_head` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_append_batch(
    store: *mut stratalog_store,
    stream: u64,
    events: *const stratalog_slice,
    count: usize,
    expected_offset: *const u64,
    fsync: stratalog_fsync,
    out_head: *mut stratalog_head,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let batch = unsafe { slice::events(events, count)? };
        // SAFETY: per the contract.
        let expected = unsafe { args::optional(expected_offset) };
        // SAFETY: per the contract.
        let out_head = unsafe { args::optional_out(out_head) };
        let head = store.append_batch(stream, &batch, expected, durable(store, fsync)?)?;
        if let Some(out) = out_head {
            out.write(head.into());
        }
        Ok(())
    })
}
