//! Ordered groups of batches sharing one fsync: stratalog_append_batches()
//! and the per-batch messages it leaves behind.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use stratalog_core::Batch;

use crate::append::{durable, stratalog_fsync};
use crate::args;
use crate::error::{guard, guard_value, stratalog_error_detail, stratalog_status, Fail, NO_ERROR};
use crate::head::stratalog_head;
use crate::slice::{self, stratalog_slice};
use crate::store::{self as handle, stratalog_store};

/// One batch of stratalog_append_batches(): `count` events at `events`
/// (borrowed for the call), the next offset the stream must be at (NULL
/// for none), and whether the batch must be durable when the call returns.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct stratalog_batch {
    /// The batch's events (NULL allowed when count is 0).
    pub events: *const stratalog_slice,
    /// Number of events; a batch of 0 fails alone with INVALID_ARGUMENT.
    pub count: usize,
    /// NULL, or the stream's next offset this batch requires (read during
    /// the call only).
    pub expected_offset: *const u64,
    /// STRATALOG_FSYNC_DEFAULT, _NO or _YES.
    pub fsync: stratalog_fsync,
}

/// What became of one batch of stratalog_append_batches(). On
/// STRATALOG_STATUS_OK, `head` is the chain head just after the batch. On
/// any other status, `detail` says why, as stratalog_last_error_detail()
/// would for a single append, and stratalog_batch_error() gives the message.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct stratalog_batch_outcome {
    /// STRATALOG_STATUS_OK, or why this batch failed.
    pub status: stratalog_status,
    /// On OK: the chain head just after the batch (zero otherwise).
    pub head: stratalog_head,
    /// On failure: the structured detail (its status equals `status`).
    pub detail: stratalog_error_detail,
}

thread_local! {
    /// The messages of the batches of the last group that ran on this
    /// thread: empty for a batch that succeeded.
    static BATCH_ERRORS: RefCell<Vec<CString>> = const { RefCell::new(Vec::new()) };
}

/// Appends `count` batches to `stream` in their order, each atomically and
/// with its own outcome, sharing one fsync: the rule of a queue of appends
/// (Node's binding keeps one per stream).
///
/// A batch that fails (OFFSET_MISMATCH, EVENT_TOO_LARGE, INVALID_ARGUMENT for
/// an empty batch, ...) fails alone; the batches after it still run. One
/// fsync, after the last batch, covers every durable batch that was written;
/// if it fails, every durable batch fails with IO and the stream is
/// poisoned, while batches that did not ask for durability keep their heads.
///
/// The returned status is for the call as a whole. STRATALOG_STATUS_OK means
/// the group ran and `outcomes[i]` holds the outcome of batch i (check each:
/// a group that ran may hold failed batches). Any other status means no batch
/// ran and `outcomes` is untouched: NULL_ARGUMENT (store, batches or outcomes
/// NULL with count > 0, or a batch's events or event data NULL with a
/// non-zero length), INVALID_ARGUMENT (count too large, or a batch's fsync
/// not one of the three values), READ_ONLY, CLOSED.
/// `count` 0 is a group with nothing to do.
///
/// # Safety
/// `store` is NULL or a live handle; `batches` is NULL or points to `count`
/// stratalog_batch values whose events satisfy stratalog_append_batch()'s
/// contract; `outcomes` is NULL or points to `count` writable outcomes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_append_batches(
    store: *mut stratalog_store,
    stream: u64,
    batches: *const stratalog_batch,
    count: usize,
    outcomes: *mut stratalog_batch_outcome,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract; every bit pattern of a batch is a value.
        let batches = unsafe { args::array(batches, count, "batches")? };
        // SAFETY: per the contract.
        let outcomes = unsafe { args::out_array(outcomes, count, "outcomes")? };
        if count == 0 {
            return Ok(());
        }
        let mut inputs = Vec::with_capacity(count);
        for (i, b) in batches.iter().enumerate() {
            let in_batch = |fail: Fail| fail.within(&format!("batches[{i}]"));
            // SAFETY: each batch's events and expected offset satisfy the
            // contract.
            let events = unsafe { slice::events(b.events, b.count) }.map_err(in_batch)?;
            // SAFETY: as above.
            let expected_offset = unsafe { args::optional(b.expected_offset) };
            let fsync = durable(store, b.fsync).map_err(in_batch)?;
            inputs.push((events, expected_offset, fsync));
        }
        let group: Vec<Batch<'_, &[u8]>> = inputs
            .iter()
            .map(|(events, expected_offset, fsync)| Batch {
                events,
                expected_offset: *expected_offset,
                fsync: *fsync,
            })
            .collect();
        let results = store.append_batches(stream, &group)?;
        let mut messages = Vec::with_capacity(count);
        for (i, result) in results.into_iter().enumerate() {
            let outcome = match result.map_err(Fail::from) {
                Ok(head) => {
                    messages.push(CString::default());
                    stratalog_batch_outcome {
                        status: stratalog_status::Ok,
                        head: head.into(),
                        detail: stratalog_error_detail::new(stratalog_status::Ok),
                    }
                }
                Err(fail) => {
                    messages.push(fail.message_cstring());
                    stratalog_batch_outcome {
                        status: fail.status(),
                        head: stratalog_head::EMPTY,
                        detail: fail.detail,
                    }
                }
            };
            outcomes.write(i, outcome);
        }
        // During thread teardown the slot may be gone; nobody is left to ask.
        let _ = BATCH_ERRORS.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = messages;
            }
        });
        Ok(())
    })
}

/// The message of batch `index` of the last stratalog_append_batches() call
/// on this thread that returned STRATALOG_STATUS_OK: why that batch failed,
/// or "" if it succeeded or there is no such batch. Owned by the library,
/// valid until the next stratalog_append_batches() on this thread. Never
/// NULL.
#[no_mangle]
pub extern "C" fn stratalog_batch_error(index: usize) -> *const c_char {
    guard_value(NO_ERROR, || {
        BATCH_ERRORS
            .try_with(|slot| {
                let slot = slot.try_borrow().ok()?;
                // The CString lives in the thread-local until the next
                // group replaces it, which the contract allows for.
                slot.get(index).map(|m| m.as_ptr())
            })
            .ok()
            .flatten()
            .unwrap_or(NO_ERROR)
    })
}
