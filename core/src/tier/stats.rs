//! What a store's tier is doing, for `Store::tier_stats`.

/// A snapshot of a tiered store's uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Sealed segments not yet listed in their stream's manifest.
    pub pending_segments: u64,
    pub pending_bytes: u64,
    /// Segments this open uploaded and listed.
    pub uploaded_segments: u64,
    pub uploaded_bytes: u64,
    /// Local copies deleted because the bucket holds them.
    pub evicted_segments: u64,
    /// Segments read from the bucket and copied back into the local
    /// directory (within the cache size), so later reads are local.
    pub copied_back_segments: u64,
    /// The last failure, until an upload round succeeds.
    pub last_error: Option<String>,
    /// Set once another writer took the lease: this store uploads nothing
    /// more and refuses appends.
    pub fenced: bool,
    /// The lease epoch this writer holds.
    pub epoch: u64,
}
