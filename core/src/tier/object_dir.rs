//! The directory a tiered store runs on: its local directory, with the
//! sealed segments the bucket holds filled in where the local copy is gone
//! (evicted, or never here: a standby, or a reader with no local store).
//!
//! Everything is written locally; only reads fall through to the bucket,
//! and only for the files a manifest lists (a segment and its index) and
//! the store marker. Listing a stream shows the local files and every file
//! the manifest lists, so the engine above sees one store.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::catalog::Catalog;
use super::remote_file::RemoteFile;
use super::uploader::anchor_key;
use super::{object_key, Tier};
use crate::io::{watch, ByteFile, KnownHeader, StorageDir};
use crate::layout;

/// Called with a stream's id when one of its segments may have sealed
/// (its index or the next segment was written).
pub(crate) type OnSeal = Box<dyn Fn(u64) + Send + Sync>;

/// Called with a stream's id and a segment's base when that segment is
/// opened from the bucket because it has no local copy.
pub(crate) type OnRemoteOpen = Box<dyn Fn(u64, u64) + Send + Sync>;

pub(crate) struct TieredDir {
    local: Arc<dyn StorageDir>,
    tier: Arc<dyn Tier>,
    catalog: Arc<Catalog>,
    /// A reader's: its manifests are the bucket's as of some moment, so an
    /// object found gone (a writer pruned since) makes it read its
    /// stream's manifest again, and the prune anchor then read names the
    /// new first offset (a read of the pruned events is `Pruned`). A
    /// writer's manifests are the ones it writes: never read again.
    reread_when_missing: bool,
    on_seal: OnceLock<OnSeal>,
    on_remote_open: OnceLock<OnRemoteOpen>,
}

impl std::fmt::Debug for TieredDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredDir")
            .field("local", &self.local)
            .field("tier", &self.tier.url())
            .finish()
    }
}

/// What a path inside the store names, as far as the bucket is concerned.
enum Remote {
    Segment { stream: u64, base: u64 },
    Index { stream: u64, base: u64 },
    Anchor { stream: u64 },
    Marker,
}

/// The largest index object read whole: an index holds 16 bytes per
/// checkpoint, so even a 4 GiB segment with a checkpoint every event
/// stays far below it. A manifest claiming more is not believed.
const MAX_INDEX_BYTES: u64 = 1 << 30;

fn classify(rel: &Path) -> Option<Remote> {
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        [layout::STORE_MARKER] => Some(Remote::Marker),
        [layout::STREAMS_DIR, dir, layout::ANCHOR_FILE] => Some(Remote::Anchor {
            stream: layout::parse_stream_dir(dir)?,
        }),
        [layout::STREAMS_DIR, dir, name] => {
            let stream = layout::parse_stream_dir(dir)?;
            if let Some(base) = layout::parse_segment_name(name) {
                Some(Remote::Segment { stream, base })
            } else {
                layout::parse_index_name(name).map(|base| Remote::Index { stream, base })
            }
        }
        _ => None,
    }
}

impl TieredDir {
    pub(crate) fn new(
        local: Arc<dyn StorageDir>,
        tier: Arc<dyn Tier>,
        catalog: Arc<Catalog>,
    ) -> Self {
        TieredDir {
            local,
            tier,
            catalog,
            reread_when_missing: false,
            on_seal: OnceLock::new(),
            on_remote_open: OnceLock::new(),
        }
    }

    /// A reader's directory (see `reread_when_missing`).
    pub(crate) fn reader(tier: Arc<dyn Tier>, catalog: Arc<Catalog>) -> Self {
        let local = Arc::new(crate::io::memory::MemoryDir::new());
        TieredDir {
            reread_when_missing: true,
            ..TieredDir::new(local, tier, catalog)
        }
    }

    pub(crate) fn set_on_seal(&self, on_seal: OnSeal) {
        let _ = self.on_seal.set(on_seal);
    }

    pub(crate) fn set_on_remote_open(&self, on_remote_open: OnRemoteOpen) {
        let _ = self.on_remote_open.set(on_remote_open);
    }

    fn remote_file(&self, rel: &Path) -> Option<RemoteFile> {
        let (stream, base, ext) = match classify(rel)? {
            Remote::Segment { stream, base } => (stream, base, layout::SEGMENT_EXT),
            Remote::Index { stream, base } => (stream, base, layout::INDEX_EXT),
            Remote::Marker | Remote::Anchor { .. } => return None,
        };
        let entry = self.catalog.entry(stream, base)?;
        let len = if ext == layout::SEGMENT_EXT {
            entry.segment_len
        } else {
            entry.index_len
        };
        let file = RemoteFile::new(
            self.tier.clone(),
            object_key(stream, base, entry.epoch, ext),
            len,
        );
        if !self.reread_when_missing {
            return Some(file);
        }
        let (tier, catalog) = (self.tier.clone(), self.catalog.clone());
        Some(file.with_on_missing(Arc::new(move || {
            reread_manifest(tier.as_ref(), &catalog, stream)
        })))
    }

    /// The names the manifests add to directory `rel`.
    fn remote_names(&self, rel: &Path) -> Option<Vec<String>> {
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            [layout::STREAMS_DIR] => Some(
                self.catalog
                    .streams()
                    .into_iter()
                    .filter(|s| self.catalog.get(*s).is_some_and(|m| !m.entries.is_empty()))
                    .map(|s| format!("{s:020}"))
                    .collect(),
            ),
            [layout::STREAMS_DIR, dir] => {
                let manifest = self.catalog.get(layout::parse_stream_dir(dir)?)?;
                if manifest.entries.is_empty() {
                    return None;
                }
                let mut names = Vec::with_capacity(manifest.entries.len() * 2 + 1);
                if manifest.first.next_offset > 0 {
                    names.push(layout::ANCHOR_FILE.to_owned());
                }
                for e in &manifest.entries {
                    let base = e.base.next_offset;
                    names.push(format!("{base:020}.{}", layout::SEGMENT_EXT));
                    names.push(format!("{base:020}.{}", layout::INDEX_EXT));
                }
                Some(names)
            }
            _ => None,
        }
    }
}

/// Takes the bucket's manifest of `stream` into `catalog` if it is newer
/// than the one there. A manifest that cannot be read changes nothing,
/// and says so: the object found gone is then not known to be pruned, nor
/// to be missing for good.
fn reread_manifest(tier: &dyn Tier, catalog: &Catalog, stream: u64) -> io::Result<()> {
    let (found, _) = super::manifest_read::fetch_manifest(tier, stream)
        .map_err(|e| io::Error::other(e.to_string()))?;
    if catalog
        .get(stream)
        .is_none_or(|known| found.seq > known.seq)
    {
        catalog.set(found);
    }
    Ok(())
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

impl StorageDir for TieredDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.local.create_dir(rel)
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        let remote = self.remote_names(rel);
        let local = match self.local.list(rel) {
            Ok(names) => names,
            Err(e) if is_not_found(&e) && remote.is_some() => Vec::new(),
            Err(e) => return Err(e),
        };
        let Some(remote) = remote else {
            return Ok(local);
        };
        let all: BTreeSet<String> = local.into_iter().chain(remote).collect();
        Ok(all.into_iter().collect())
    }

    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        match self.local.open(rel, writable) {
            Err(e) if is_not_found(&e) => match self.remote_file(rel) {
                Some(remote) => {
                    if let (Some(Remote::Segment { stream, base }), Some(on_remote_open)) =
                        (classify(rel), self.on_remote_open.get())
                    {
                        on_remote_open(stream, base);
                    }
                    Ok(Arc::new(remote))
                }
                None => Err(e),
            },
            other => other,
        }
    }

    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.local.write_atomic(rel, contents)?;
        // A seal writes the index, then creates the next segment (also an
        // atomic write); the uploader takes a segment once it is no longer
        // the last, so either may be the moment it becomes uploadable.
        if let Some(Remote::Index { stream, .. } | Remote::Segment { stream, .. }) = classify(rel) {
            if let Some(on_seal) = self.on_seal.get() {
                on_seal(stream);
            }
        }
        Ok(())
    }

    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.local.write_cache(rel, contents)
    }

    fn sync_all_files(&self) -> io::Result<bool> {
        self.local.sync_all_files()
    }

    fn watch_dir(&self, rel: &Path, wake: watch::Wake) -> io::Result<bool> {
        self.local.watch_dir(rel, wake)
    }

    fn lock_file(&self, rel: &Path) -> io::Result<Option<std::fs::File>> {
        self.local.lock_file(rel)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.local.rename(from, to)
    }

    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.local.sync_dir(rel)
    }

    fn local_path(&self, rel: &Path) -> Option<PathBuf> {
        // An evicted segment is not a local file: a backup copies it
        // (reading it from the bucket) instead of linking it.
        self.local.local_path(rel).filter(|path| path.exists())
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        match self.local.read(rel) {
            Err(e) if is_not_found(&e) => match classify(rel) {
                Some(Remote::Marker) => self
                    .tier
                    .get(layout::STORE_MARKER)?
                    .map(|o| o.bytes)
                    .ok_or(e),
                Some(Remote::Anchor { stream }) => {
                    match self.catalog.get(stream).map(|m| m.first.next_offset) {
                        Some(first) if first > 0 => self
                            .tier
                            .get(&anchor_key(stream, first))?
                            .map(|o| o.bytes)
                            .ok_or(e),
                        _ => Err(e),
                    }
                }
                Some(_) => match self.remote_file(rel) {
                    Some(remote) => {
                        let len = remote.len()?;
                        if len > MAX_INDEX_BYTES {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "the manifest gives {} a size of {len} bytes",
                                    rel.display()
                                ),
                            ));
                        }
                        remote.read_vec_at(len as usize, 0)
                    }
                    None => Err(e),
                },
                None => Err(e),
            },
            other => other,
        }
    }

    fn known_segment_header(&self, rel: &Path) -> Option<KnownHeader> {
        let Some(Remote::Segment { stream, base }) = classify(rel) else {
            return None;
        };
        // A local copy's header costs a read of the disk: it is the truth
        // the walk checks anyway.
        if self.local.local_path(rel).is_some_and(|path| path.exists()) {
            return None;
        }
        let entry = self.catalog.entry(stream, base)?;
        Some(KnownHeader {
            base: entry.base,
            bytes: entry.header(stream).map(|header| header.encode()),
        })
    }

    fn remove(&self, rel: &Path) -> io::Result<()> {
        self.local.remove(rel)
    }

    fn display(&self, rel: &Path) -> PathBuf {
        match self.local.open(rel, false) {
            Err(e) if is_not_found(&e) => match self.remote_file(rel) {
                Some(remote) => PathBuf::from(format!("{}/{}", self.tier.url(), remote.key())),
                None => self.local.display(rel),
            },
            _ => self.local.display(rel),
        }
    }
}
