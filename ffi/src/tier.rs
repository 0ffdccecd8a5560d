//! The tier of a store opened with options.tier_url: forcing an upload and
//! reading what the uploader is doing.

use std::ffi::c_char;

use stratalog_core::TierStats;

use crate::args;
use crate::error::{guard, stratalog_status, Fail};
use crate::signing_key::hand_out_text;
use crate::store::{self as handle, stratalog_store};

/// What a tiered store's uploader is doing, filled by
/// stratalog_get_tier_stats().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_tier_stats {
    /// Sealed segments not yet listed in their stream's manifest, and
    /// their bytes.
    pub pending_segments: u64,
    pub pending_bytes: u64,
    /// Segments this open uploaded, and their bytes.
    pub uploaded_segments: u64,
    pub uploaded_bytes: u64,
    /// Local copies deleted because the bucket holds them.
    pub evicted_segments: u64,
    /// Segments read from the bucket and copied back into the local
    /// directory (within local_cache_bytes), so later reads are local.
    pub copied_back_segments: u64,
    /// The writer lease's epoch.
    pub epoch: u64,
    /// Another writer took the tier over: nothing more is uploaded and
    /// appends fail with LOCKED.
    pub fenced: bool,
    /// The last upload failed: stratalog_tier_last_error() says why.
    pub has_error: bool,
}

impl From<&TierStats> for stratalog_tier_stats {
    fn from(s: &TierStats) -> Self {
        stratalog_tier_stats {
            pending_segments: s.pending_segments,
            pending_bytes: s.pending_bytes,
            uploaded_segments: s.uploaded_segments,
            uploaded_bytes: s.uploaded_bytes,
            evicted_segments: s.evicted_segments,
            copied_back_segments: s.copied_back_segments,
            epoch: s.epoch,
            fenced: s.fenced,
            has_error: s.last_error.is_some(),
        }
    }
}

fn stats_of(store: &stratalog_core::Store) -> Result<TierStats, Fail> {
    store
        .tier_stats()
        .ok_or_else(|| Fail::invalid("this store has no tier (options.tier_url)"))
}

/// Seals the active segment of every stream holding unsealed events and
/// waits until the tier's bucket holds everything appended before the
/// call. Uploads otherwise run in the background and never hold up an
/// append; a machine lost before they finish loses what was not uploaded.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no tier), LOCKED (another
/// writer took the tier over), IO (an upload failed meanwhile; they go on
/// in the background, with backoff), POISONED, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn stratalog_sync_tier(store: *mut stratalog_store) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        Ok(store.sync_tier()?)
    })
}

/// Fills `*out` with what the tier's uploader is doing now.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no tier).
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_get_tier_stats(
    store: *const stratalog_store,
    out: *mut stratalog_tier_stats,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        out.write((&stats_of(store)?).into());
        Ok(())
    })
}

/// The tier's last upload error into `*out` (a new string; free with
/// stratalog_string_free()), or NULL when the last round succeeded.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no tier).
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_tier_last_error(
    store: *const stratalog_store,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        match stats_of(store)?.last_error {
            Some(text) => hand_out_text(out, &text),
            None => {
                out.write(std::ptr::null_mut());
                Ok(())
            }
        }
    })
}
