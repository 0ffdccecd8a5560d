//! A stream's Merkle tree in the bucket, as C2SP tlog-tiles under the
//! stream's prefix (`streams/<id:020>/tile/<L>/<N>[.p/<W>]` and
//! `streams/<id:020>/tile/entries/<N>[.p/<W>]`, the same bytes
//! `Store::export_tiles` writes), built from the chain hashes of the
//! segments a manifest lists.
//!
//! Invariants kept here:
//! - Tiles go up only for events a manifest already lists, after its
//!   compare-and-swap: their bytes follow from the listed chain alone, so
//!   every writer that ever puts a tile puts the same bytes, a fenced
//!   writer's leftovers never clash with its successor's, and a tile that
//!   exists with other bytes is damage.
//! - For every size `S` the tiles have reached, the bucket holds the whole
//!   tree of size `S`: the full tiles go up (a batch at a time, several at
//!   once within a batch), then the partial tiles of `S` (`.p/<W>`), last.
//!   So finding every partial tile of a size proves everything below it is
//!   there, and a restart resumes from them (`TileBuilder::resume`) with a
//!   handful of GETs. A full tile alone proves nothing (its batch may have
//!   been cut short below it), so a resume never starts from one.
//! - Partial tiles are deleted only once their full tile is up and the
//!   round that put it has put its own partial tiles: the latest size a
//!   round reached keeps every partial tile a resume needs. The builder
//!   knows which partial tiles it put, so it deletes those by name; only
//!   tiles from before a resume (other widths it never saw) are listed.
//! - The tiles of a pruned stream go on from where they stood (in this
//!   process, or resumed from the bucket): full tiles are never deleted,
//!   so the bucket keeps the whole tree, as the local tree files do. A
//!   stream whose tiles stand below its first offset (pruned before it
//!   was tiered, or before its tiles reached the prune) takes the leaf
//!   hashes below it from the local tree files, which a prune keeps; they
//!   go up only once the tree they make is checked against the prune
//!   anchor's roots. Their events' chain hashes are gone, so the entry
//!   bundles of the level-0 tiles those leaves are in never go up; every
//!   hash tile does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::io::StorageDir;
use crate::merkle;
use crate::prune_anchor::PruneAnchor;
use crate::segment::{Next, RecordReader, Segment};
use crate::tiles::{tile_path, TILE_WIDTH};
use crate::tree::files::{TreeFiles, CHUNK};

use super::manifest::{Manifest, ManifestEntry};
use super::uploader::{put_each_once, RoundError};
use super::Tier;

/// How many earlier sizes a restart looks for tiles at (the ends of the
/// manifest's last entries) before it rebuilds them from the start: one
/// round lists at most 16 segments, so a crash between a manifest write
/// and its tiles leaves at most that many behind.
const RESUME_PROBES: usize = 32;

/// Tiles put at once, at most, while a segment is walked.
const PUT_BATCH: usize = 256;

/// Brings the tiles of `manifest`'s stream up to the manifest's end, from
/// `builder` (where this process left them) or else from what the bucket
/// holds, reading the listed segments through `dir` (local copies, or the
/// bucket's). Returns where the tiles stand; `None` for a stream that
/// gets none. The partial tiles its full tiles made stale go to
/// `superseded`, to be deleted ([`drop_partials`]).
///
/// `anchor` reads the stream's prune anchor; where the manifest starts
/// there, the leaves below it come from the tree files in `dir`.
pub(crate) fn catch_up(
    tier: &dyn Tier,
    dir: &Arc<dyn StorageDir>,
    manifest: &Manifest,
    anchor: &dyn Fn() -> Result<Option<PruneAnchor>, RoundError>,
    builder: Option<TileBuilder>,
    superseded: &mut Vec<StalePartials>,
) -> Result<Option<TileBuilder>, RoundError> {
    let end = manifest.end().next_offset;
    let first = manifest.first.next_offset;
    let mut builder = match builder.filter(|b| b.size() <= end) {
        Some(b) => b,
        None => resume_from_bucket(tier, manifest)?,
    };
    let stream = manifest.stream;
    // Out of the builder while it works: the tiles it completes are put as
    // they pile up.
    let mut up = std::mem::take(&mut builder.up);
    let below_first = builder.size() < first;
    if below_first {
        // The leaves below the first offset are in no segment any more.
        let Some(anchor) = anchor()?.filter(|a| a.first == manifest.first) else {
            return Ok(None);
        };
        let mut leaves = PrunedLeaves::new(dir, stream, &anchor);
        // Checked whole before a tile of them goes up: tiles are
        // written once.
        let mut trial = builder.clone();
        leaves.feed(&mut trial, &mut |out| {
            out.clear();
            Ok(())
        })?;
        leaves.check(&trial)?;
        leaves.feed(&mut builder, &mut |out| put_all(tier, out, &mut up))?;
    }
    if builder.size() == end && !below_first {
        builder.up = up;
        return Ok(Some(builder));
    }
    let mut full = Vec::new();
    for entry in &manifest.entries {
        if entry.end.next_offset <= builder.size() {
            continue;
        }
        walk_segment(
            dir,
            stream,
            entry,
            &mut builder,
            &mut |out_now| put_all(tier, out_now, &mut up),
            &mut full,
        )?;
    }
    put_all(tier, &mut full, &mut up)?;
    // A partial tile already up is the same tile (its key names its
    // width): put again, it would cost a conflict and a GET to compare.
    let mut partials: Vec<TileObject> = builder
        .partials(stream)
        .into_iter()
        .filter(|(key, _)| !up.is_known(key))
        .collect();
    put_all(tier, &mut partials, &mut up)?;
    // Stale only now that the partial tiles of this size are up.
    superseded.append(&mut up.stale);
    builder.up = up;
    Ok(Some(builder))
}

/// The leaf hashes of a pruned stream's events below its first offset,
/// from the local tree files (a prune keeps them: docs/FORMAT.md).
struct PrunedLeaves<'a> {
    files: TreeFiles,
    anchor: &'a PruneAnchor,
}

impl<'a> PrunedLeaves<'a> {
    fn new(dir: &Arc<dyn StorageDir>, stream: u64, anchor: &'a PruneAnchor) -> Self {
        PrunedLeaves {
            files: TreeFiles::new(stream, dir.clone()),
            anchor,
        }
    }

    fn failed(&self, why: impl std::fmt::Display) -> RoundError {
        RoundError::failed(format!(
            "building the tiles of stream {} below its first offset {} from the local tree files: {why}",
            self.anchor.stream, self.anchor.first.next_offset
        ))
    }

    /// Adds the leaves from the builder's size up to the first offset,
    /// handing the tiles they complete to `flush` as they pile up. The
    /// last leaf must be the one of the chain hash the anchor keeps.
    fn feed(
        &mut self,
        builder: &mut TileBuilder,
        flush: &mut dyn FnMut(&mut Vec<TileObject>) -> Result<(), RoundError>,
    ) -> Result<(), RoundError> {
        let (stream, first) = (self.anchor.stream, self.anchor.first.next_offset);
        let mut out = Vec::new();
        while builder.size() < first {
            let at = builder.size();
            let block = self
                .files
                .read_block(at / CHUNK)
                .map_err(|e| self.failed(e))?
                .ok_or_else(|| {
                    self.failed(format!(
                        "the leaves from {} are missing or damaged (restore trees/ from a backup)",
                        at / CHUNK * CHUNK
                    ))
                })?;
            let upto = (at / CHUNK * CHUNK + CHUNK).min(first);
            for offset in at..upto {
                let leaf = block[(offset % CHUNK) as usize];
                if offset + 1 == first
                    && leaf != merkle::event_leaf_hash(offset, &self.anchor.first.hash)
                {
                    return Err(self.failed(format!(
                        "the leaf of event {offset} is not the one of the chain hash the prune anchor keeps (restore trees/ from a backup)"
                    )));
                }
                builder.push_leaf_hash(stream, leaf, &mut out);
            }
            if out.len() >= PUT_BATCH {
                flush(&mut out)?;
            }
        }
        flush(&mut out)
    }

    /// Whether the tree `builder` holds at the first offset is the one the
    /// prune anchor records.
    fn check(&self, builder: &TileBuilder) -> Result<(), RoundError> {
        let first = self.anchor.first.next_offset;
        if builder.size() != first || builder.perfect_roots() != self.anchor.roots {
            return Err(self.failed(
                "the tree they make is not the one the prune anchor records (restore trees/ from a backup)",
            ));
        }
        Ok(())
    }
}

/// Puts `tiles`, several at once, each write-once; notes the partial
/// tiles put, and the ones each full tile put makes stale.
fn put_all(
    tier: &dyn Tier,
    tiles: &mut Vec<TileObject>,
    up: &mut PartialsUp,
) -> Result<(), RoundError> {
    let batch = std::mem::take(tiles)
        .into_iter()
        .map(|(key, bytes)| {
            let sha256: Hash = Sha256::digest(&bytes).into();
            (key, bytes, sha256)
        })
        .collect();
    let mut first_error = None;
    for (key, settled) in put_each_once(tier, batch) {
        match settled {
            Ok(()) => up.note_put(&key),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Partial tiles a full tile made stale: tlog-tiles lets a log delete
/// them once the full tile is up (a client holding a checkpoint of an
/// earlier size falls back to the full tile), and without it every size a
/// round ends at would leave objects behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StalePartials {
    /// Those this builder put (or found when it resumed).
    keys: Vec<String>,
    /// The full tile's `.p` directory, when other widths this builder
    /// never saw may be there: listed, and all of it deleted.
    list: Option<String>,
}

/// The partial tiles a builder knows are in the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PartialsUp {
    /// By the key of their full tile.
    known: BTreeMap<String, Vec<String>>,
    /// Full tiles whose `.p` directory may hold widths never seen here
    /// (the tiles being filled when the builder resumed), or every full
    /// tile (`unseen_all`: it started over on a bucket that has tiles).
    unseen: BTreeSet<String>,
    unseen_all: bool,
    /// Made stale by the full tiles put since the last round's end.
    stale: Vec<StalePartials>,
}

impl PartialsUp {
    /// Whether the partial tile `key` is known to be in the bucket.
    fn is_known(&self, key: &str) -> bool {
        key.split_once(".p/").is_some_and(|(full, _)| {
            self.known
                .get(full)
                .is_some_and(|keys| keys.iter().any(|k| k == key))
        })
    }

    fn note_put(&mut self, key: &str) {
        if let Some((full, _)) = key.split_once(".p/") {
            let known = self.known.entry(full.to_owned()).or_default();
            if !known.iter().any(|k| k == key) {
                known.push(key.to_owned());
            }
            return;
        }
        let keys = self.known.remove(key).unwrap_or_default();
        let list = (self.unseen.remove(key) || self.unseen_all).then(|| format!("{key}.p"));
        if !keys.is_empty() || list.is_some() {
            self.stale.push(StalePartials { keys, list });
        }
    }
}

/// Deletes each of `stale`'s partial tiles. Those whose deletes fail stay
/// in `stale`, to be tried again; the tiles go on meanwhile (a bucket that
/// refuses deletes holds the tree all the same).
pub(crate) fn drop_partials(tier: &dyn Tier, stale: &mut Vec<StalePartials>) -> Result<(), String> {
    let mut first_error = None;
    stale.retain(|partials| {
        let listed = match &partials.list {
            Some(dir) => tier.list_objects(dir).map(|widths| {
                widths
                    .iter()
                    .map(|width| format!("{dir}/{width}"))
                    .collect::<Vec<_>>()
            }),
            None => Ok(Vec::new()),
        };
        let dropped = listed.and_then(|listed| {
            partials
                .keys
                .iter()
                .chain(&listed)
                .try_for_each(|key| tier.delete(key))
        });
        match dropped {
            Ok(()) => false,
            Err(e) => {
                first_error.get_or_insert_with(|| {
                    let what = partials.list.as_deref().or(partials.keys.first().map(String::as_str));
                    format!(
                        "deleting the partial tiles {}/{}, now that the full tile is up (tried again at the next round): {e}",
                        tier.url(),
                        what.unwrap_or_default()
                    )
                });
                true
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// The state of the tiles at the latest size the bucket holds them for:
/// the manifest's end, or one of its last entries' ends, or else none.
/// A bucket with no tiles of the stream (its first upload) costs one
/// listing, not a GET per size probed.
fn resume_from_bucket(tier: &dyn Tier, manifest: &Manifest) -> Result<TileBuilder, RoundError> {
    let dir = format!("streams/{:020}/tile", manifest.stream);
    let tiles_there = !tier
        .list_dirs(&dir)
        .map_err(|e| RoundError::failed(format!("listing {}/{dir}: {e}", tier.url())))?
        .is_empty();
    let sizes = std::iter::once(manifest.end().next_offset)
        .chain(manifest.entries.iter().rev().map(|e| e.base.next_offset))
        .take(RESUME_PROBES)
        .filter(|&size| size > 0 && tiles_there);
    for size in sizes {
        let first = manifest.first.next_offset;
        let found = TileBuilder::resume(tier, manifest.stream, size, first).map_err(|e| {
            RoundError::failed(format!(
                "reading the tiles of stream {} from {}: {e}",
                manifest.stream,
                tier.url()
            ))
        })?;
        if let Some(builder) = found {
            return Ok(builder);
        }
    }
    // Starting over: if the bucket has tiles already, any full tile may
    // have partial tiles of widths this builder never sees.
    let mut builder = TileBuilder::default();
    builder.up.unseen_all = tiles_there;
    Ok(builder)
}

/// Adds the leaves of the segment `entry` lists past the builder's size,
/// handing full tiles to `flush` as they pile up. Each event's chain hash
/// is the `prev_hash` of the record after it (every record carries the
/// head it follows), and the last one's is the entry's end hash.
fn walk_segment(
    dir: &Arc<dyn StorageDir>,
    stream: u64,
    entry: &ManifestEntry,
    builder: &mut TileBuilder,
    flush: &mut dyn FnMut(&mut Vec<TileObject>) -> Result<(), RoundError>,
    out: &mut Vec<TileObject>,
) -> Result<(), RoundError> {
    let base = entry.base.next_offset;
    let segment = Segment::existing(dir.clone(), stream, base, false);
    let shown = || {
        dir.display(&crate::layout::segment_path(stream, base))
            .display()
            .to_string()
    };
    let failed =
        |why: String| RoundError::failed(format!("building the tiles from {}: {why}", shown()));
    let start = segment.records_start().map_err(|e| failed(e.to_string()))?;
    let mut reader = RecordReader::new(&segment, start, entry.segment_len);
    let mut last_event: Option<u64> = None;
    loop {
        let rec = match reader.next().map_err(|e| failed(e.to_string()))? {
            Next::Record(rec) => rec,
            Next::End => break,
            Next::Fault { pos, fault } => {
                return Err(failed(format!("at byte {pos}: {}", fault.describe())))
            }
        };
        if let Some(event) = last_event.take() {
            if rec.header.offset != event + 1 {
                return Err(failed(format!(
                    "the record after event {event} carries offset {}",
                    rec.header.offset
                )));
            }
            if event == builder.size() {
                builder.push(stream, event, &rec.header.prev_hash, out);
            }
        }
        if rec.header.kind == crate::record::Kind::Event {
            last_event = Some(rec.header.offset);
        }
        if out.len() >= PUT_BATCH {
            flush(out)?;
        }
    }
    if let Some(event) = last_event {
        if event == builder.size() {
            builder.push(stream, event, &entry.end.hash, out);
        }
    }
    if builder.size() != entry.end.next_offset {
        return Err(failed(format!(
            "its events end at offset {}, and its manifest entry says {}",
            builder.size(),
            entry.end.next_offset
        )));
    }
    Ok(())
}

/// Hashes in a tile of one level cover 256 of the level below.
const TILE_HEIGHT: u32 = 8;

/// The tree's state at `size` leaves: for each level, the hashes of the
/// tile being filled (fewer than 256), and the entry bundle of the level-0
/// tile being filled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TileBuilder {
    size: u64,
    levels: Vec<Vec<Hash>>,
    bundle: Vec<u8>,
    /// The level-0 tile being filled has leaves whose entries are gone (a
    /// prune's, added by their hash alone): it gets no entry bundle.
    bundle_gap: bool,
    up: PartialsUp,
}

/// A tile to put: its key under the tier's prefix and its bytes.
pub(crate) type TileObject = (String, Vec<u8>);

fn tile_key(stream: u64, level: Option<u32>, n: u64, width: u64) -> String {
    format!("streams/{stream:020}/{}", tile_path(level, n, width))
}

fn bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) {
    bundle.extend_from_slice(&(entry.len() as u16).to_be_bytes());
    bundle.extend_from_slice(entry);
}

impl TileBuilder {
    /// How many leaves the tree has.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// How many complete nodes the tree has at `level`.
    fn nodes_at(&self, level: u32) -> u64 {
        self.size.checked_shr(TILE_HEIGHT * level).unwrap_or(0)
    }

    /// Adds leaf `size` (event `offset == size`, whose chain hash is
    /// `chain_hash`) and appends the tiles it completes to `out`.
    pub(crate) fn push(
        &mut self,
        stream: u64,
        offset: u64,
        chain_hash: &Hash,
        out: &mut Vec<TileObject>,
    ) {
        debug_assert_eq!(offset, self.size);
        let entry = merkle::leaf_data(offset, chain_hash);
        bundle_entry(&mut self.bundle, &entry);
        self.size += 1;
        self.add(stream, 0, merkle::leaf_hash(&entry), out);
    }

    /// Adds leaf `size` by its hash alone (its event was pruned): its
    /// level-0 tile gets no entry bundle.
    pub(crate) fn push_leaf_hash(&mut self, stream: u64, leaf: Hash, out: &mut Vec<TileObject>) {
        self.bundle.clear();
        self.bundle_gap = true;
        self.size += 1;
        self.add(stream, 0, leaf, out);
    }

    /// The roots of the perfect subtrees covering the tree, largest first
    /// (one per set bit of its size), as a prune anchor records them.
    fn perfect_roots(&self) -> Vec<Hash> {
        let mut roots = Vec::new();
        for hashes in self.levels.iter().rev() {
            let mut rest = &hashes[..];
            while !rest.is_empty() {
                let take = 1usize << rest.len().ilog2();
                roots.push(merkle::root_of(&rest[..take]));
                rest = &rest[take..];
            }
        }
        roots
    }

    fn add(&mut self, stream: u64, level: u32, hash: Hash, out: &mut Vec<TileObject>) {
        let at = level as usize;
        if self.levels.len() <= at {
            self.levels.resize_with(at + 1, Vec::new);
        }
        self.levels[at].push(hash);
        if self.levels[at].len() as u64 != TILE_WIDTH {
            return;
        }
        // The tile's number: how many full tiles of this level come before.
        let n = (self.nodes_at(level) / TILE_WIDTH).saturating_sub(1);
        let hashes = std::mem::take(&mut self.levels[at]);
        if level == 0 {
            let bundle = std::mem::take(&mut self.bundle);
            if !std::mem::take(&mut self.bundle_gap) {
                out.push((tile_key(stream, None, n, TILE_WIDTH), bundle));
            }
        }
        let root = merkle::root_of(&hashes);
        out.push((
            tile_key(stream, Some(level), n, TILE_WIDTH),
            hashes.concat(),
        ));
        self.add(stream, level + 1, root, out);
    }

    /// The partial tiles of the tree at its size: for each level whose
    /// tile is being filled, its hashes so far (and the entry bundle).
    pub(crate) fn partials(&self, stream: u64) -> Vec<TileObject> {
        let mut out = Vec::new();
        for (level, hashes) in self.levels.iter().enumerate() {
            if hashes.is_empty() {
                continue;
            }
            let level = level as u32;
            let n = self.nodes_at(level) / TILE_WIDTH;
            let width = hashes.len() as u64;
            if level == 0 && !self.bundle_gap {
                out.push((tile_key(stream, None, n, width), self.bundle.clone()));
            }
            out.push((tile_key(stream, Some(level), n, width), hashes.concat()));
        }
        out
    }

    /// The state at `size` leaves from the partial tiles the bucket holds
    /// for that size; `None` if any is missing or malformed (the tiles
    /// never reached `size`). The entry bundle of a level-0 tile that
    /// starts below `first` (the stream's first offset) may be missing:
    /// its pruned entries are gone.
    pub(crate) fn resume(
        tier: &dyn Tier,
        stream: u64,
        size: u64,
        first: u64,
    ) -> std::io::Result<Option<TileBuilder>> {
        let mut builder = TileBuilder {
            size,
            ..TileBuilder::default()
        };
        for level in 0..64u32 {
            let count = size.checked_shr(TILE_HEIGHT * level).unwrap_or(0);
            if count == 0 {
                break;
            }
            let (n, width) = (count / TILE_WIDTH, count % TILE_WIDTH);
            let mut hashes = Vec::new();
            if width > 0 {
                let Some(tile) = builder.resume_partial(tier, stream, Some(level), n, width, 32)?
                else {
                    return Ok(None);
                };
                hashes = tile
                    .chunks_exact(32)
                    .map(|c| {
                        let mut h = [0u8; 32];
                        h.copy_from_slice(c);
                        h
                    })
                    .collect();
                if level == 0 {
                    let stride = 2 + merkle::LEAF_DATA_LEN as u64;
                    match builder.resume_partial(tier, stream, None, n, width, stride)? {
                        Some(bundle) if bundle_matches(&bundle, n * TILE_WIDTH, &hashes) => {
                            builder.bundle = bundle;
                        }
                        None if n * TILE_WIDTH < first => builder.bundle_gap = true,
                        _ => return Ok(None),
                    }
                }
            }
            builder.levels.push(hashes);
        }
        Ok(Some(builder))
    }

    /// The partial tile of `width` entries (`stride` bytes each) of tile
    /// `n` at `level` (`None`: the entry bundle), noted as known; `None` if
    /// it is not there with the size it must have. Never the start of the
    /// full tile: that alone does not prove the tiles below it are up.
    fn resume_partial(
        &mut self,
        tier: &dyn Tier,
        stream: u64,
        level: Option<u32>,
        n: u64,
        width: u64,
        stride: u64,
    ) -> std::io::Result<Option<Vec<u8>>> {
        let key = tile_key(stream, level, n, width);
        let Some(partial) = tier.get(&key)? else {
            return Ok(None);
        };
        if partial.bytes.len() as u64 != width * stride {
            return Ok(None);
        }
        let full = tile_key(stream, level, n, TILE_WIDTH);
        self.up.known.insert(full.clone(), vec![key]);
        // Earlier sizes' partial tiles of the same tile may be there too.
        self.up.unseen.insert(full);
        Ok(Some(partial.bytes))
    }
}

/// Whether `bundle` holds one 40-byte entry per leaf hash, for the leaves
/// from `first` on, each hashing to its leaf.
fn bundle_matches(bundle: &[u8], first: u64, leaves: &[Hash]) -> bool {
    let stride = 2 + merkle::LEAF_DATA_LEN;
    if bundle.len() != leaves.len() * stride {
        return false;
    }
    bundle
        .chunks_exact(stride)
        .zip(leaves)
        .enumerate()
        .all(|(i, (chunk, leaf))| {
            let entry = &chunk[2..];
            chunk[..2] == (merkle::LEAF_DATA_LEN as u16).to_be_bytes()
                && entry[..8] == (first + i as u64).to_le_bytes()
                && merkle::leaf_hash(entry) == *leaf
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tier::memory::MemoryTier;

    fn chain_hash(n: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        h
    }

    /// What the store's own exporter writes for a tree of `size` leaves.
    fn exported(stream: u64, size: u64) -> std::collections::BTreeMap<String, Vec<u8>> {
        struct Leaves(Vec<Hash>);
        impl merkle::proof::Subtrees for Leaves {
            fn subtree(&mut self, level: u32, index: u64) -> crate::Result<Hash> {
                let width = 1usize << level;
                let start = index as usize * width;
                Ok(merkle::root_of(&self.0[start..start + width]))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut writer = crate::tiles::TileWriter::new(dir.path(), size).unwrap();
        let mut leaves = Vec::new();
        for n in 0..size {
            let entry = merkle::leaf_data(n, &chain_hash(n));
            writer.add_entry(&entry).unwrap();
            leaves.push(merkle::leaf_hash(&entry));
        }
        writer.finish(&mut Leaves(leaves)).unwrap();
        let mut files = std::collections::BTreeMap::new();
        let mut todo = vec![dir.path().to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    todo.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(dir.path()).unwrap().to_owned();
                    let key = format!("streams/{stream:020}/{}", rel.display());
                    files.insert(key, std::fs::read(e.path()).unwrap());
                }
            }
        }
        files
    }

    /// Full tiles as they complete plus the partial tiles at the end are
    /// exactly the exporter's directory, at sizes around every boundary of
    /// the first two levels (and past 65,536 leaves, a third).
    #[test]
    fn the_tiles_are_the_exporters_byte_for_byte() {
        for size in [1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000] {
            let mut builder = TileBuilder::default();
            let mut put = std::collections::BTreeMap::new();
            let mut out = Vec::new();
            for n in 0..size {
                builder.push(7, n, &chain_hash(n), &mut out);
            }
            out.extend(builder.partials(7));
            for (key, bytes) in out {
                assert!(put.insert(key.clone(), bytes).is_none(), "{key} twice");
            }
            assert_eq!(put, exported(7, size), "size {size}");
        }
    }

    /// A builder resumed from a size's partial tiles goes on exactly as
    /// one that never stopped; a size whose tiles are missing or wrong
    /// does not resume.
    #[test]
    fn a_resumed_builder_goes_on_as_if_it_never_stopped() {
        let tier = MemoryTier::new();
        let mut builder = TileBuilder::default();
        let mut out = Vec::new();
        for n in 0..300 {
            builder.push(3, n, &chain_hash(n), &mut out);
        }
        out.extend(builder.partials(3));
        for (key, bytes) in out {
            tier.put(&key, bytes).unwrap();
        }
        let mut resumed = TileBuilder::resume(&tier, 3, 300, 0).unwrap().unwrap();
        let state = |b: &TileBuilder| (b.size, b.levels.clone(), b.bundle.clone());
        assert_eq!(state(&resumed), state(&builder));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for n in 300..600 {
            builder.push(3, n, &chain_hash(n), &mut a);
            resumed.push(3, n, &chain_hash(n), &mut b);
        }
        assert_eq!(a, b);
        assert_eq!(TileBuilder::resume(&tier, 3, 301, 0).unwrap(), None);
        assert_eq!(
            TileBuilder::resume(&tier, 3, 0, 0).unwrap(),
            Some(TileBuilder::default())
        );
        // A bundle whose entry no longer hashes to its leaf.
        let key = tile_key(3, None, 1, 44);
        let mut bundle = tier.get(&key).unwrap().unwrap().bytes;
        bundle[30] ^= 1;
        tier.put(&key, bundle).unwrap();
        assert_eq!(TileBuilder::resume(&tier, 3, 300, 0).unwrap(), None);
    }
}
