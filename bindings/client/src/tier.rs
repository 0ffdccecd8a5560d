//! Stores with a tier: opening one, forcing an upload, reading the
//! uploader's state.

use std::ffi::{c_char, CString};
use std::ptr;

use stratalog::{stratalog_options, stratalog_tier_stats};

use crate::error::{check, Result};
use crate::store::Store;
use crate::text::c_text;

/// Where and how a store tiers its sealed segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tier {
    /// "s3://bucket/prefix"; `None` for a store with no tier, which the
    /// library opens only if every other field is left at its default.
    pub url: Option<String>,
    /// object_store's options for the scheme ("endpoint", "region", ...).
    pub options: Vec<(String, String)>,
    /// Local bytes of uploaded sealed segments kept; `None` keeps all.
    pub local_cache_bytes: Option<u64>,
    /// Take over from a writer whose lease expired.
    pub takeover: bool,
    /// The lease's length in milliseconds; `None` for the library's.
    pub lease_ms: Option<u64>,
}

/// What a tiered store's uploader is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStats {
    pub pending_segments: u64,
    pub pending_bytes: u64,
    pub uploaded_segments: u64,
    pub uploaded_bytes: u64,
    pub evicted_segments: u64,
    pub copied_back_segments: u64,
    pub epoch: u64,
    pub fenced: bool,
    pub last_error: Option<String>,
}

/// The C strings `options.tier_*` point at, kept alive for one call.
struct CTierOptions {
    _url: Option<CString>,
    _strings: Vec<CString>,
    _pointers: Vec<*const c_char>,
}

/// Points `options`' tier fields at C copies of `url` (if any) and
/// `pairs`, which the returned value keeps alive.
fn fill(
    options: &mut stratalog_options,
    url: Option<&str>,
    pairs: &[(String, String)],
) -> Result<CTierOptions> {
    let url = url.map(|u| c_text("the tier URL", u)).transpose()?;
    let mut strings = Vec::with_capacity(pairs.len() * 2);
    for (key, value) in pairs {
        strings.push(c_text("a tier option key", key)?);
        strings.push(c_text("a tier option value", value)?);
    }
    let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    options.tier_url = url.as_ref().map_or(ptr::null(), |u| u.as_ptr());
    options.tier_options = if pointers.is_empty() {
        ptr::null()
    } else {
        pointers.as_ptr()
    };
    options.tier_option_count = pairs.len();
    Ok(CTierOptions {
        _url: url,
        _strings: strings,
        _pointers: pointers,
    })
}

/// Options with the tier fields cleared, as a store keeps them (the
/// pointers are only valid during the open).
fn cleared(mut options: stratalog_options) -> stratalog_options {
    options.tier_url = ptr::null();
    options.tier_options = ptr::null();
    options.tier_option_count = 0;
    options
}

/// Calls `open` with `options` carrying every setting of `tier`.
fn with_tier(
    options: &stratalog_options,
    tier: &Tier,
    open: impl FnOnce(&stratalog_options) -> Result<Store>,
) -> Result<Store> {
    let mut options = cleared(*options);
    let _alive = fill(&mut options, tier.url.as_deref(), &tier.options)?;
    if let Some(bytes) = tier.local_cache_bytes {
        options.local_cache_bytes = bytes;
    }
    options.tier_takeover = tier.takeover;
    if let Some(ms) = tier.lease_ms {
        options.tier_lease_ms = ms;
    }
    open(&options)
}

impl Store {
    /// Opens (creating it if needed) the store at `path` for writing, with
    /// its sealed segments tiered to `tier` (or none: `tier.url` `None`).
    /// Every tier setting goes down to the library, which refuses them
    /// without a tier: the bindings do not decide that.
    pub fn open_tiered(path: &str, options: &stratalog_options, tier: &Tier) -> Result<Store> {
        with_tier(options, tier, |options| Store::open(path, options))
    }

    /// A new store in memory only. It can have no tier: the library
    /// refuses any `tier` setting, as it does without a tier URL.
    pub fn open_in_memory_with(options: &stratalog_options, tier: &Tier) -> Result<Store> {
        with_tier(options, tier, Store::open_in_memory)
    }

    /// Opens for reading only the store a tier's bucket holds
    /// (`url` = "s3://bucket/prefix"), with no local store.
    pub fn open_tier_read_only(
        url: &str,
        options: &stratalog_options,
        tier_options: &[(String, String)],
    ) -> Result<Store> {
        let mut options = cleared(*options);
        let _alive = fill(&mut options, None, tier_options)?;
        Store::open_read_only(url, &options)
    }

    /// Seals every stream's unsealed events and waits until the bucket
    /// holds everything appended before the call.
    pub fn sync_tier(&self) -> Result<()> {
        // SAFETY: a live handle.
        check(unsafe { stratalog::stratalog_sync_tier(self.raw()) })
    }

    /// What the uploader is doing now.
    pub fn tier_stats(&self) -> Result<TierStats> {
        let mut raw = stratalog_tier_stats {
            pending_segments: 0,
            pending_bytes: 0,
            uploaded_segments: 0,
            uploaded_bytes: 0,
            evicted_segments: 0,
            copied_back_segments: 0,
            epoch: 0,
            fenced: false,
            has_error: false,
        };
        // SAFETY: a live handle; `raw` writable.
        check(unsafe { stratalog::stratalog_get_tier_stats(self.raw(), &mut raw) })?;
        let mut text: *mut c_char = ptr::null_mut();
        // SAFETY: a live handle; `text` writable.
        check(unsafe { stratalog::stratalog_tier_last_error(self.raw(), &mut text) })?;
        // SAFETY: a string the library handed out (or NULL), taken once.
        let last_error = (!text.is_null()).then(|| unsafe { crate::proofs::take_text(text) });
        Ok(TierStats {
            pending_segments: raw.pending_segments,
            pending_bytes: raw.pending_bytes,
            uploaded_segments: raw.uploaded_segments,
            uploaded_bytes: raw.uploaded_bytes,
            evicted_segments: raw.evicted_segments,
            copied_back_segments: raw.copied_back_segments,
            epoch: raw.epoch,
            fenced: raw.fenced,
            last_error,
        })
    }
}
