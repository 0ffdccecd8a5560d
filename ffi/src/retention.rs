//! stratalog_prune(), stratalog_prune_keep_last(),
//! stratalog_prune_keep_bytes(), stratalog_first_offset() and
//! stratalog_backup(): retention and online backups.

use std::ffi::c_char;

use stratalog_core::Retention;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// Removes the sealed segments of `stream` whose events all lie below
/// `before` and writes the stream's first offset afterwards to
/// `*first_offset`. A prune anchor (the new first offset, the chain hash
/// before it and the Merkle subtree roots over what goes) is made durable
/// before any file is unlinked, so a crash leaves the old first offset or
/// the new one. Reads below it then fail with PRUNED; stratalog_verify()
/// starts at the anchor; heads, proofs and checkpoints about retained
/// events stay valid and byte-identical. The active segment is never
/// removed, so the first offset may stay below `before`. A stream that does
/// not exist has first offset 0.
///
/// Errors: NULL_ARGUMENT, READ_ONLY, CLOSED, FORKED, IO, CORRUPTION,
/// CHAIN_MISMATCH, POISONED.
///
/// # Safety
/// `store` is NULL or a live handle; `first_offset` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_prune(
    store: *const stratalog_store,
    stream: u64,
    before: u64,
    first_offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe {
            (
                handle::store(store)?,
                args::out(first_offset, "first_offset")?,
            )
        };
        out.write(store.prune(stream, before)?);
        Ok(())
    })
}

/// Prunes `stream` so that it keeps at least its last `count` events (as
/// far as whole sealed segments allow), like stratalog_prune().
///
/// # Safety
/// As stratalog_prune().
#[no_mangle]
pub unsafe extern "C" fn stratalog_prune_keep_last(
    store: *const stratalog_store,
    stream: u64,
    count: u64,
    first_offset: *mut u64,
) -> stratalog_status {
    // SAFETY: per the contract.
    unsafe { apply_retention(store, stream, Retention::KeepLast(count), first_offset) }
}

/// Prunes `stream` so that its segment files hold at most `bytes` bytes
/// (the active segment always stays, whatever its size), like
/// stratalog_prune().
///
/// # Safety
/// As stratalog_prune().
#[no_mangle]
pub unsafe extern "C" fn stratalog_prune_keep_bytes(
    store: *const stratalog_store,
    stream: u64,
    bytes: u64,
    first_offset: *mut u64,
) -> stratalog_status {
    // SAFETY: per the contract.
    unsafe { apply_retention(store, stream, Retention::KeepBytes(bytes), first_offset) }
}

/// Prunes `stream` so that it keeps every batch recorded at or after
/// `unix_ms` (Unix milliseconds), by the time records of a store opened
/// with `timestamps` (see stratalog_seek_time()), like stratalog_prune().
///
/// # Safety
/// As stratalog_prune().
#[no_mangle]
pub unsafe extern "C" fn stratalog_prune_keep_newer(
    store: *const stratalog_store,
    stream: u64,
    unix_ms: u64,
    first_offset: *mut u64,
) -> stratalog_status {
    // SAFETY: per the contract.
    unsafe {
        apply_retention(
            store,
            stream,
            Retention::KeepNewerThan(unix_ms),
            first_offset,
        )
    }
}

/// Writes to `*offset` the first offset of `stream` from which every batch
/// was appended at or after `unix_ms` (Unix milliseconds), by the time
/// records a store opened with `timestamps` writes before each batch: the
/// offset just after the last batch recorded earlier, the stream's first
/// offset if none is, its next offset if all are. Batches written without
/// timestamps are never taken as earlier. Read from there with
/// stratalog_read_from() or stratalog_iter_new().
///
/// Errors: NULL_ARGUMENT, CLOSED, IO, CORRUPTION.
///
/// # Safety
/// `store` is NULL or a live handle; `offset` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_seek_time(
    store: *const stratalog_store,
    stream: u64,
    unix_ms: u64,
    offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(offset, "offset")?) };
        out.write(store.seek_time(stream, unix_ms)?);
        Ok(())
    })
}

/// Writes to `*out` the first offset `stream` still holds: 0 unless it was
/// pruned.
///
/// Errors: NULL_ARGUMENT, CLOSED, IO, CORRUPTION.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_first_offset(
    store: *const stratalog_store,
    stream: u64,
    out: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        out.write(store.first_offset(stream)?);
        Ok(())
    })
}

/// Backs the store up into directory `dest_path` while writers keep
/// appending: each stream is synced and snapshotted, sealed segments are
/// hard-linked where the file system allows (copied otherwise), active
/// segments are copied up to their committed length, prune anchors,
/// Merkle tree files, cursors and signed-checkpoint records come along,
/// everything is fsynced, and a manifest `BACKUP` listing each stream's
/// first offset and head is written last. The backup is itself a store:
/// open it (read-only) and verify it against the manifest's heads. A
/// second backup into the same directory copies only what is new. Works on
/// a read-only handle too (beside a writer in another process).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (`dest_path` holds something
/// that is not a backup, or holds the store), LOCKED (another process
/// writes or backs up into it), IO, CORRUPTION, CLOSED, FORKED.
///
/// # Safety
/// `store` is NULL or a live handle; `dest_path` is NULL or a
/// NUL-terminated UTF-8 string.
#[no_mangle]
pub unsafe extern "C" fn stratalog_backup(
    store: *const stratalog_store,
    dest_path: *const c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, dest) = unsafe { (handle::store(store)?, args::path(dest_path)?) };
        store.backup(dest)?;
        Ok(())
    })
}

/// The body of the stratalog_prune_keep_* calls.
///
/// # Safety
/// As stratalog_prune().
unsafe fn apply_retention(
    store: *const stratalog_store,
    stream: u64,
    policy: Retention,
    first_offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe {
            (
                handle::store(store)?,
                args::out(first_offset, "first_offset")?,
            )
        };
        out.write(store.apply_retention(stream, policy)?);
        Ok(())
    })
}
