//! stratalog_cursor_get() and stratalog_cursor_commit(): named consumer
//! cursors, where a consumer of a stream has processed up to.

use std::ffi::c_char;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// Writes to `*offset` where consumer `name` of `stream` committed it had
/// processed up to (stratalog_cursor_commit()): the offset to resume
/// reading from. 0 if it never committed; never past the stream's end as
/// this handle knows it (if the events it covered were lost, the end).
/// `name`: 1 to 128 ASCII letters, digits, '.', '_' or '-', not starting
/// with '.' nor ending with ".tmp".
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (a bad name, or a reader of a
/// bucket, which has no directory to keep cursors in), CORRUPTION (the
/// cursor's file fails its checks), IO, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `name` is NULL or a NUL-terminated
/// string; `offset` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_cursor_get(
    store: *const stratalog_store,
    stream: u64,
    name: *const c_char,
    offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, name, out) = unsafe {
            (
                handle::store(store)?,
                args::text(name, "name")?,
                args::out(offset, "offset")?,
            )
        };
        out.write(store.cursor(stream, name)?);
        Ok(())
    })
}

/// Records, atomically and durably, that consumer `name` of `stream` has
/// processed every event before `offset`, so stratalog_cursor_get() returns
/// it after a restart, a crash (kill -9) or a power loss. The events before
/// `offset` are made durable first, so a cursor is never ahead of the data.
/// Works on a read-only handle, without the writer lock: a consumer in
/// another process commits its own cursor. Cursors are not events and never
/// touch the chain. One consumer process per cursor name.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (a bad name),
/// OFFSET_OUT_OF_RANGE (past the stream's end; the detail has it), IO,
/// CLOSED, FORKED (a writable handle in a forked child).
///
/// # Safety
/// `store` is NULL or a live handle; `name` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn stratalog_cursor_commit(
    store: *mut stratalog_store,
    stream: u64,
    name: *const c_char,
    offset: u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, name) = unsafe { (handle::store(store)?, args::text(name, "name")?) };
        store.commit_cursor(stream, name, offset)?;
        Ok(())
    })
}
