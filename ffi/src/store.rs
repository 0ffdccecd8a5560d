//! stratalog_store: opening, syncing and closing a store.

use std::ffi::c_char;
use std::ptr;

use stratalog_core::{Options, Store};

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::options::{read_options, read_tier, read_tier_options, refuse_tier, stratalog_options};
use crate::torn::TornTails;

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
    store: Store,
    torn: TornTails,
}

/// The store behind a handle.
///
/// # Safety
/// `store` is NULL or a live handle from one of the open functions.
pub(crate) unsafe fn store<'a>(store: *const stratalog_store) -> Result<&'a Store, Fail> {
    // SAFETY: per the contract.
    Ok(&unsafe { args::object(store, "store")? }.store)
}

/// The torn tails the handle's open found.
///
/// # Safety
/// As [`store`].
pub(crate) unsafe fn torn<'a>(store: *const stratalog_store) -> Result<&'a TornTails, Fail> {
    // SAFETY: per the contract.
    Ok(&unsafe { args::object(store, "store")? }.torn)
}

/// Opens a store and hands its handle out through `out`.
///
/// # Safety
/// `out` is NULL or writable; `opts` is NULL or points to a
/// stratalog_options.
unsafe fn open_into(
    out: *mut *mut stratalog_store,
    opts: *const stratalog_options,
    open: impl FnOnce(Options) -> stratalog_core::Result<Store>,
) -> Result<(), Fail> {
    // SAFETY: per the contract.
    let out = unsafe { args::out(out, "out")? };
    // SAFETY: per the contract.
    let options = unsafe { read_options(opts)? };
    let store = open(options)?;
    let torn = TornTails::default();
    args::hand_out(out, stratalog_store { store, torn });
    Ok(())
}

/// Opens (creating it if needed) the store in directory `path` for reading and
/// writing, and takes its writer lock. A torn tail left by a crash is cut off
/// while opening; stratalog_torn_tails() says what was cut. After a clean
/// close, streams are recovered on first use instead, so opening costs the
/// same for ten streams or 100,000.
///
/// `path` is a NUL-terminated UTF-8 path, borrowed for the call. `opts` may
/// be NULL for the defaults; it is read during the call only. On success
/// `*out` receives a new handle owned by the caller, to be released with
/// stratalog_close().
///
/// Errors: NULL_ARGUMENT (path or out NULL), INVALID_ARGUMENT (path not UTF-8
/// or empty, bad options, directory not empty and not a store, the directory
/// of a tiered store opened without its tier_url), LOCKED
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
        // SAFETY: per the contract.
        let path = unsafe { args::path(path)? };
        // SAFETY: per the contract.
        let tier = unsafe { read_tier(opts)? };
        // SAFETY: per the contract.
        unsafe {
            open_into(out, opts, |options| match tier {
                Some(tier) => Store::open_tiered(path, options, tier),
                None => Store::open(path, options),
            })
        }
    })
}

/// Opens a new, empty store held in memory only; its contents go when it is
/// closed. `opts` may be NULL for the defaults. On success `*out` receives a
/// new handle owned by the caller (free with stratalog_close()).
///
/// Errors: NULL_ARGUMENT (out NULL), INVALID_ARGUMENT (bad options, or any
/// tier field set: a store in memory has no tier).
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
        // SAFETY: per the contract.
        unsafe { refuse_tier(opts)? };
        // SAFETY: per the contract.
        unsafe { open_into(out, opts, Store::open_in_memory) }
    })
}

/// Opens an existing store for reading only, with the default options. Takes
/// no lock and never writes, so it works while another process appends; it
/// sees the streams as they were when it opened: a snapshot that never shows
/// what the writer appends afterwards, except what stratalog_wait() takes
/// in (it follows the writer, stream by stream). A torn tail it finds is
/// ignored, not cut, and reported by stratalog_torn_tails().
/// Appends fail with READ_ONLY.
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
/// `path` may also be a tier's URL ("s3://bucket/prefix"): the store is
/// then read straight from the bucket, with no local store, with
/// `opts->tier_options` (the endpoint, region, ...). It holds what the
/// writer had sealed and uploaded when this opened (stratalog_sync_tier()
/// uploads everything), and verifies it as it reads.
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
        // SAFETY: per the contract.
        let path = unsafe { args::path(path)? };
        if is_url(path) {
            // SAFETY: per the contract.
            let pairs = unsafe { read_tier_options(opts)? };
            let tier = stratalog_tier::connect(path, &pairs)?;
            // SAFETY: per the contract.
            return unsafe {
                open_into(out, opts, |options| {
                    Store::open_tier_read_only(tier, options)
                })
            };
        }
        // SAFETY: per the contract.
        unsafe {
            open_into(out, opts, |options| {
                Store::open_read_only_with(path, options)
            })
        }
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
        // SAFETY: a live handle, not used elsewhere, per the contract.
        let Some(handle) = (unsafe { args::take(store) }) else {
            return Ok(());
        };
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
        let store = unsafe { self::store(store)? };
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
        let store = unsafe { self::store(store)? };
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
        let store = unsafe { self::store(store)? };
        Ok(store.sync_stream(stream)?)
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
        unsafe { args::optional_object(store) }.is_some_and(|s| s.store.is_read_only())
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
        let store = unsafe { self::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        out.write(stratalog_options::from_core(store.options()));
        Ok(())
    })
}

/// Whether an argument naming a store is a URL ("scheme://...") rather
/// than a directory.
fn is_url(path: &str) -> bool {
    path.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    })
}
