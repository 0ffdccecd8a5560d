//! stratalog_torn_tail: the unfinished batches recovery found at the end of
//! streams (cut off by a writer, ignored by a reader), so a caller can
//! tell that recovery happened.

use std::ffi::{c_char, CString};
use std::sync::Mutex;

use stratalog_core::{Store, TornTail};

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// An unfinished batch recovery found at the end of a stream: what a crash
/// in the middle of an append leaves. A writable handle cut it off; a
/// read-only one ignores it (a writer will cut it).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct stratalog_torn_tail {
    /// The stream.
    pub stream: u64,
    /// The segment file's path (NUL-terminated UTF-8, owned by the store).
    pub segment: *const c_char,
    /// Length of the segment after the cut: the end of its last whole batch.
    pub kept_len: u64,
    /// Bytes cut off (read-only: ignored).
    pub dropped_bytes: u64,
}

/// One list of torn tails as handed out: the entries and the paths they
/// point into, never changed once built.
#[derive(Debug)]
struct TornList {
    items: Vec<stratalog_torn_tail>,
    _paths: Vec<CString>,
}

// SAFETY: the raw pointers in `items` point into `_paths`, owned alongside
// and never mutated, so sharing or moving them between threads is safe.
unsafe impl Send for TornList {}
// SAFETY: as above.
unsafe impl Sync for TornList {}

impl TornList {
    fn of(tails: &[TornTail]) -> Self {
        let paths: Vec<CString> = tails
            .iter()
            .map(|t| {
                let text = t.segment.to_string_lossy().replace('\0', "?");
                CString::new(text).unwrap_or_default()
            })
            .collect();
        let items = tails
            .iter()
            .zip(&paths)
            .map(|(t, path)| stratalog_torn_tail {
                stream: t.stream,
                segment: path.as_ptr(),
                kept_len: t.kept_len,
                dropped_bytes: t.dropped_bytes,
            })
            .collect();
        TornList {
            items,
            _paths: paths,
        }
    }
}

/// Every list a handle handed out. Recovery only adds torn tails, so a
/// longer list replaces the last one; the older ones stay until the
/// handle is closed, as their arrays were promised to live that long.
/// (What callers point into is each list's heap buffers, which stay put
/// when the outer vector grows.)
#[derive(Debug, Default)]
pub(crate) struct TornTails {
    lists: Mutex<Vec<TornList>>,
}

impl TornTails {
    /// The torn tails recovery has found so far, as an array owned by the
    /// handle: (pointer, length).
    fn current(&self, store: &Store) -> (*const stratalog_torn_tail, usize) {
        let tails = store.torn_tails();
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if lists.last().is_none_or(|l| l.items.len() != tails.len()) {
            lists.push(TornList::of(&tails));
        }
        match lists.last() {
            Some(list) if !list.items.is_empty() => (list.items.as_ptr(), list.items.len()),
            _ => (std::ptr::null(), 0),
        }
    }
}

/// The unfinished batches recovery found at the ends of streams so far
/// (none after a clean shutdown). `*out` receives an array of `*count`
/// entries owned by the store, valid until stratalog_close(); `*out` is
/// NULL when `*count` is 0. Check it after opening to tell whether recovery
/// cut (or, read-only, ignored) anything: a read-only handle, and a writer
/// opening a store whose last writer did not close, recover every stream
/// during the open, so the list is complete then. After a clean close a
/// writer recovers each stream on its first use instead, and a torn tail
/// found then (only damage from outside leaves one) is added to the list
/// at that point.
///
/// Errors: NULL_ARGUMENT.
///
/// # Safety
/// `store` is NULL or a live handle; `out` and `count` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_torn_tails(
    store: *const stratalog_store,
    out: *mut *const stratalog_torn_tail,
    count: *mut usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (torn, core) = unsafe { (handle::torn(store)?, handle::store(store)?) };
        // SAFETY: per the contract.
        let (out, count) = unsafe { (args::out(out, "out")?, args::out(count, "count")?) };
        let (items, len) = torn.current(core);
        out.write(items);
        count.write(len);
        Ok(())
    })
}
