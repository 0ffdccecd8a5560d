//! stratalog_wait(): sleeping until a stream grows.

use std::time::Duration;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// Waits until `stream`'s next offset is greater than `offset`, then writes
/// it to `*next_offset` (if not NULL) and returns OK: at once if it already
/// is, otherwise as soon as an append takes it there. `timeout_ms` bounds
/// the wait; UINT64_MAX waits forever. stratalog_shutdown() from another
/// thread ends the wait with CLOSED.
///
/// On a writable handle the appends are its own (any thread); the calling
/// thread sleeps until one is published. A read-only handle follows the
/// writer in another process: the wait takes in what the writer committed
/// to the stream since the handle last looked (whole batches only, across
/// segment rotations; a stream that does not exist yet is waited for too),
/// and sleeps until the kernel reports a change in the stream's directory
/// (inotify), checking at least every second. Reads through the handle see
/// what a wait took in. A reader of a bucket never grows (it reads the
/// manifests as they were at open): past its end it fails at once.
///
/// Errors: NULL_ARGUMENT (store), TIMEOUT (the offset waited past and the
/// stream are in stratalog_last_error_detail()), CLOSED, CORRUPTION or
/// CHAIN_MISMATCH (the stream is damaged), INVALID_ARGUMENT (past the end
/// of a reader of a bucket).
///
/// # Safety
/// `store` is NULL or a live handle; `next_offset` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_wait(
    store: *const stratalog_store,
    stream: u64,
    offset: u64,
    timeout_ms: u64,
    next_offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::optional_out(next_offset) };
        let timeout = (timeout_ms != u64::MAX).then(|| Duration::from_millis(timeout_ms));
        let next = store.wait(stream, offset, timeout)?;
        if let Some(out) = out {
            out.write(next);
        }
        Ok(())
    })
}
