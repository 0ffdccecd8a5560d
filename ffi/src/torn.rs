//! stratalog_torn_tail: the unfinished batches an open found at the end of
//! streams (cut off by a writer, ignored by a reader), so a caller can
//! tell that recovery happened.

use std::ffi::{c_char, CString};

use stratalog_core::Store;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// An unfinished batch found at the end of a stream when the store opened:
/// what a crash in the middle of an append leaves. A writable open cut it
/// off; a read-only open ignores it (a writer's open will cut it).
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

/// The torn tails of one open, fixed when the store opened.
#[derive(Debug)]
pub(crate) struct TornTails {
    items: Vec<stratalog_torn_tail>,
    /// What `items[i].segment` points into; never changed after `of`.
    _paths: Vec<CString>,
}

// SAFETY: the raw pointers in `items` point into `_paths`, owned alongside
// and never mutated, so sharing or moving them between threads is safe.
unsafe impl Send for TornTails {}
// SAFETY: as above.
unsafe impl Sync for TornTails {}

impl TornTails {
    pub(crate) fn of(store: &Store) -> Self {
        let paths: Vec<CString> = store
            .torn_tails()
            .iter()
            .map(|t| {
                let text = t.segment.to_string_lossy().replace('\0', "?");
                CString::new(text).unwrap_or_default()
            })
            .collect();
        let items = store
            .torn_tails()
            .iter()
            .zip(&paths)
            .map(|(t, path)| stratalog_torn_tail {
                stream: t.stream,
                segment: path.as_ptr(),
                kept_len: t.kept_len,
                dropped_bytes: t.dropped_bytes,
            })
            .collect();
        TornTails {
            items,
            _paths: paths,
        }
    }
}

/// The unfinished batches this store's open found at the ends of streams
/// (none after a clean shutdown). `*out` receives an array of `*count`
/// entries owned by the store, valid until stratalog_close(); `*out` is
/// NULL when `*count` is 0. Check it after opening to tell whether recovery
/// cut (or, read-only, ignored) anything.
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
        let torn = unsafe { handle::torn(store)? };
        // SAFETY: per the contract.
        let (out, count) = unsafe { (args::out(out, "out")?, args::out(count, "count")?) };
        out.write(if torn.items.is_empty() {
            std::ptr::null()
        } else {
            torn.items.as_ptr()
        });
        count.write(torn.items.len());
        Ok(())
    })
}
