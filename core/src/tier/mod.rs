//! The object-storage tier: sealed segments copied to a bucket, a stream
//! read or verified straight from it, and a second writer fenced off.
//!
//! The engine stays synchronous and knows nothing of HTTP: it talks to the
//! bucket through [`Tier`], a small blocking interface that the
//! `stratalog-tier` crate implements over the `object_store` crate (S3,
//! GCS, Azure, ...) and [`memory::MemoryTier`] implements in memory.
//!
//! Keys under the tier's prefix (docs/design/tiering.md, docs/FORMAT.md):
//! ```text
//! STRATALOG                                   store marker, copied once
//! WRITER                                      the writer's lease (lease.rs)
//! streams/<id:020>/MANIFEST                   the stream's sealed segments (manifest.rs)
//! streams/<id:020>/<base:020>-<end:020>-<epoch:08x>.part
//!                                             a part of it: the entries from base to end
//! streams/<id:020>/<base:020>-<epoch:08x>.seg a sealed segment, byte for byte
//! streams/<id:020>/<base:020>-<epoch:08x>.idx its index file
//! streams/<id:020>/tile/...                   the stream's tree as tlog-tiles (tiles.rs)
//! ```
//! Invariants kept across this module:
//! - Objects are written once (`put_create`) and never changed; only
//!   `WRITER` and the manifests change, each by compare-and-swap.
//! - A manifest lists an object only after the object is complete, so a
//!   manifest never points at a missing object; a crash leaves at most
//!   objects no manifest lists, which the next upload of the same segment
//!   adopts when their bytes match.
//! - The epoch in an object's name is its writer's lease epoch, so objects
//!   a fenced writer left behind never take a key its successor needs.
//! - Nothing served from the bucket is trusted: reads check CRCs and the
//!   chain exactly as for local files.

use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::sync::Arc;

mod agent;
mod catalog;
mod lease;
pub mod manifest;
mod manifest_read;
pub mod memory;
mod object_dir;
mod remote_file;
mod stats;
pub(crate) mod tile_leaves;
mod tiles;
mod uploader;

pub(crate) use agent::{SyncTarget, TierAgent};
pub(crate) use object_dir::TieredDir;
pub use stats::TierStats;

/// One object read whole, with the version tag a conditional write
/// compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

/// What a `HEAD` tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub etag: Option<String>,
    /// When the bucket last wrote it, by the bucket's clock.
    pub modified_unix_ms: u64,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Written; the new version tag, if the bucket gives one.
    Done(Option<String>),
    /// The condition failed: the object exists (create) or changed
    /// (update). A retried request that in fact succeeded also lands here,
    /// so a caller reads the object back before believing it.
    Conflict,
}

/// A bucket (or a prefix of one), reached synchronously. Keys are relative
/// to the prefix, with `/` between components. Every call may block on the
/// network and returns in bounded time (its implementation retries a
/// little, then fails).
pub trait Tier: Send + Sync + Debug {
    /// The URL it was opened with, for messages.
    fn url(&self) -> &str;
    /// The whole object, or `None` if there is none.
    fn get(&self, key: &str) -> io::Result<Option<Object>>;
    /// `get` of each key, several at once where the bucket is reached over
    /// a network; the outcomes in the same order.
    fn get_all(&self, keys: Vec<String>) -> Vec<io::Result<Option<Object>>> {
        keys.iter().map(|key| self.get(key)).collect()
    }
    /// Bytes `range` of an object; a range past its end is
    /// `UnexpectedEof`, a missing object `NotFound`.
    fn get_range(&self, key: &str, range: Range<u64>) -> io::Result<Vec<u8>>;
    /// Its size, version and time, or `None` if there is none.
    fn head(&self, key: &str) -> io::Result<Option<ObjectInfo>>;
    /// Writes the object only if no object has the key.
    fn put_create(&self, key: &str, bytes: Vec<u8>) -> io::Result<Put>;
    /// `put_create` of each object, several at once where the bucket is
    /// reached over a network; the outcomes in the same order. (Small
    /// objects, such as tiles, cost a round trip each: one after another,
    /// that latency, not the bandwidth, would bound the upload.)
    fn put_create_all(&self, objects: Vec<(String, Vec<u8>)>) -> Vec<io::Result<Put>> {
        objects
            .into_iter()
            .map(|(key, bytes)| self.put_create(&key, bytes))
            .collect()
    }
    /// Replaces the object only if its version is still `etag`.
    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> io::Result<Put>;
    /// `put_update` of each `(key, bytes, etag)`, several at once where
    /// the bucket is reached over a network; the outcomes in the same
    /// order. (A writer taking over stamps every stream's manifest: one
    /// after another, thousands of streams would cost thousands of round
    /// trips before it could append.)
    fn put_update_all(&self, objects: Vec<(String, Vec<u8>, String)>) -> Vec<io::Result<Put>> {
        objects
            .into_iter()
            .map(|(key, bytes, etag)| self.put_update(&key, bytes, &etag))
            .collect()
    }
    /// Writes the object whatever is there.
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()>;
    /// The names directly under `dir` that are themselves prefixes of
    /// objects ("sub-directories"), sorted.
    fn list_dirs(&self, dir: &str) -> io::Result<Vec<String>>;
    /// The names of the objects directly under `dir` (not in its
    /// sub-directories), sorted.
    fn list_objects(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Removes an object; a missing one is fine.
    fn delete(&self, key: &str) -> io::Result<()>;
}

/// How a writable store uses a tier.
#[derive(Debug, Clone)]
pub struct TierConfig {
    pub tier: Arc<dyn Tier>,
    /// Local bytes of sealed segments kept once they are in the bucket;
    /// beyond it the least recently sealed are deleted locally and read
    /// from the bucket. `None`: keep them all.
    pub local_cache_bytes: Option<u64>,
    /// Take the lease over from another writer once it has expired.
    pub takeover: bool,
    /// How long a lease lasts without renewal; the holder renews it every
    /// third of that.
    pub lease_ttl: std::time::Duration,
    /// Entries per write-once manifest part: a manifest move rewrites at
    /// most this many entries plus one reference per part.
    pub manifest_part_entries: usize,
}

impl TierConfig {
    /// The default lease: 30 s.
    pub const DEFAULT_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

    pub fn new(tier: Arc<dyn Tier>) -> Self {
        TierConfig {
            tier,
            local_cache_bytes: None,
            takeover: false,
            lease_ttl: Self::DEFAULT_LEASE_TTL,
            manifest_part_entries: manifest::DEFAULT_PART_ENTRIES,
        }
    }
}

/// The directory a read-only store runs on to read what `tier` holds, with
/// no local store: the manifests are read now (a snapshot, as a read-only
/// open of a local store is).
pub(crate) fn read_only_dir(tier: Arc<dyn Tier>) -> crate::Result<Arc<dyn crate::io::StorageDir>> {
    let mut etags = uploader::Etags::new();
    let catalog = manifest_read::load_catalog(tier.as_ref(), &mut etags)?;
    Ok(Arc::new(TieredDir::reader(tier, Arc::new(catalog))))
}

/// The key of a stream's manifest.
pub(crate) fn manifest_key(stream: u64) -> String {
    format!("streams/{stream:020}/MANIFEST")
}

/// The key of a manifest part of `stream`.
pub(crate) fn part_key(stream: u64, part: &manifest::PartRef) -> String {
    format!(
        "streams/{stream:020}/{:020}-{:020}-{:08x}.part",
        part.base.next_offset, part.end.next_offset, part.epoch
    )
}

/// The key of a segment's object (`ext` "seg" or "idx") uploaded by the
/// writer of `epoch`.
pub(crate) fn object_key(stream: u64, base: u64, epoch: u64, ext: &str) -> String {
    format!("streams/{stream:020}/{base:020}-{epoch:08x}.{ext}")
}
