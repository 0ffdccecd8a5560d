//! stratalog_backup_manifest: what a backup holds, stream by stream, as its
//! manifest lists it.

use std::ptr;

use stratalog_core::BackedUpStream;

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::head::stratalog_head;
use crate::store::{self as handle, stratalog_store};

/// The manifest of a backup (its `BACKUP` file). Opaque; free it with
/// stratalog_backup_manifest_free().
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_backup_manifest {
    streams: Vec<BackedUpStream>,
}

/// One stream of a backup, as its manifest lists it.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy)]
pub struct stratalog_backed_up_stream {
    pub stream: u64,
    /// The first offset it held (0 unless pruned).
    pub first_offset: u64,
    /// Its head when the backup was taken: what the backup holds.
    pub head: stratalog_head,
}

/// The manifest of the backup that `store` (opened on the backup's
/// directory, usually read-only) is. On success `*out` receives a new
/// manifest owned by the caller (free with stratalog_backup_manifest_free()),
/// or NULL when the directory holds no manifest: it is not a backup.
///
/// Verify a backup against it: each stream it lists against its head
/// (stratalog_verify_against()). A stream it does not list is not part of
/// the backup (a backup cut short may have copied it), and the manifest of
/// a first backup cut short lists no stream at all.
///
/// Errors: NULL_ARGUMENT, CLOSED, CORRUPTION (the manifest fails its
/// checks), IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_backup_manifest_read(
    store: *const stratalog_store,
    out: *mut *mut stratalog_backup_manifest,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        match store.backup_manifest()? {
            Some(manifest) => args::hand_out(
                out,
                stratalog_backup_manifest {
                    streams: manifest.streams,
                },
            ),
            None => out.write(ptr::null_mut()),
        }
        Ok(())
    })
}

/// Number of streams the manifest lists (0 for NULL).
///
/// # Safety
/// `manifest` is NULL or a live manifest.
#[no_mangle]
pub unsafe extern "C" fn stratalog_backup_manifest_len(
    manifest: *const stratalog_backup_manifest,
) -> usize {
    // SAFETY: per the contract.
    guard_value(0, || {
        unsafe { args::optional_object(manifest) }.map_or(0, |m| m.streams.len())
    })
}

/// Stream `i` of the manifest (in increasing order of stream id) into
/// `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (i >= stratalog_backup_manifest_len()).
///
/// # Safety
/// `manifest` is NULL or a live manifest; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_backup_manifest_get(
    manifest: *const stratalog_backup_manifest,
    i: usize,
    out: *mut stratalog_backed_up_stream,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (manifest, out) =
            unsafe { (args::object(manifest, "manifest")?, args::out(out, "out")?) };
        let entry = manifest.streams.get(i).ok_or_else(|| {
            Fail::invalid(format!(
                "index {i} is past the manifest's {} streams",
                manifest.streams.len()
            ))
        })?;
        out.write(stratalog_backed_up_stream {
            stream: entry.stream,
            first_offset: entry.first_offset,
            head: entry.head.into(),
        });
        Ok(())
    })
}

/// Frees a manifest. NULL is a no-op.
///
/// # Safety
/// `manifest` is NULL or a live manifest, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_backup_manifest_free(manifest: *mut stratalog_backup_manifest) {
    // SAFETY: a live manifest from stratalog_backup_manifest_read, freed
    // once.
    guard_value((), || drop(unsafe { args::take(manifest) }))
}
