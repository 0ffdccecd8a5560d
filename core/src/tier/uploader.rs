//! Moving sealed segments into the bucket: one round per stream uploads
//! every local sealed segment past the manifest's end, then moves the
//! manifest by compare-and-swap.
//!
//! Invariants kept here:
//! - No queue is persisted: what is pending is derived from the files
//!   (local sealed segments at or past the manifest's end), so a crash
//!   anywhere loses no work and a restart resumes it.
//! - Objects go first, the manifest last, so a manifest never lists a
//!   missing object. An object already there (a previous attempt that
//!   died before its manifest write) is adopted only if its bytes are the
//!   ones this round would write.
//! - A segment is listed only if it starts exactly where the manifest
//!   ends, offset and chain hash, so the manifests describe one unbroken
//!   chain; a local segment that does not fit stops the stream's uploads
//!   with an error.
//! - A sealed segment's index is a cache (docs/FORMAT.md), so one that is
//!   missing or unreadable is rebuilt from the segment's records, as a
//!   reader rebuilds its entries, written back, and uploaded; one that
//!   reads well but names another length is damage and stops the uploads.
//! - A manifest written by a later epoch fences this writer for good.
//!   Every manifest is stamped with the epoch of the writer that holds the
//!   lease when it opens (`stamp`), so from then on no older writer's
//!   compare-and-swap of it can succeed: a takeover fences the old writer
//!   at once, even on a stream the new one never writes.
//! - Only objects no manifest will list are deleted: below the first
//!   offset, or put by an earlier epoch and not listed (`sweep`).
//! - A round reads its stream's manifest unless this writer knows it: from
//!   its own last read or write, or that there is none (`known_absent`:
//!   none when it opened and none tried since; only the lease holder makes
//!   one, and one a fenced writer makes meanwhile makes this writer's
//!   create conflict, as after a read).

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::catalog::Catalog;
use super::manifest::{decode_part, Manifest, ManifestEntry, PartRef};
use super::manifest_read::fetch_manifest;
use super::{manifest_key, object_key, part_key, Put, Tier};
use crate::error::Error;
use crate::hash::Hash;
use crate::io::{ByteFile, StorageDir};
use crate::layout;
use crate::prune_anchor::PruneAnchor;
use crate::segment::{scan_tail, ScanStart, Segment, SegmentHeader, SegmentIndex, TailEnd};

/// Segments listed per manifest write at most, so a long backlog shows
/// progress (and frees cache) as it drains.
const ENTRIES_PER_ROUND: usize = 16;

/// The segment bytes a round holds in memory to put at once, at most,
/// unless one segment alone is larger (it then goes up alone).
const UPLOAD_GROUP_BYTES: u64 = 16 << 20;
/// Segments put at once, at most (two objects each).
const SEGMENTS_AT_ONCE: usize = 8;

/// Staged segments and indexes of a round, put together.
#[derive(Default)]
struct UploadGroup {
    objects: Vec<(String, Vec<u8>, Hash)>,
    segments: usize,
    bytes: u64,
}

impl UploadGroup {
    /// Whether a segment of `len` bytes may join the group.
    fn has_room_for(&self, len: u64) -> bool {
        self.segments == 0
            || (self.segments < SEGMENTS_AT_ONCE
                && self.bytes.saturating_add(len) <= UPLOAD_GROUP_BYTES)
    }
}

/// Why a round stopped.
#[derive(Debug)]
pub(crate) enum RoundError {
    /// A later writer owns the stream now.
    Fenced(String),
    /// Anything else; the round is tried again later.
    Failed(String),
}

impl RoundError {
    pub(crate) fn failed(what: impl Into<String>) -> Self {
        RoundError::Failed(what.into())
    }
}

/// One segment uploaded and listed by a round.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uploaded {
    pub stream: u64,
    pub base: u64,
    pub bytes: u64,
}

/// The manifest etags this writer last saw, by stream (`None`: the
/// manifest does not exist).
pub(crate) type Etags = std::collections::HashMap<u64, Option<String>>;

pub(crate) struct Round<'a> {
    pub tier: &'a dyn Tier,
    pub local: &'a Arc<dyn StorageDir>,
    pub catalog: &'a Catalog,
    pub etags: &'a mut Etags,
    /// Streams with no object left that no manifest lists (see `sweep`).
    pub swept: &'a mut std::collections::BTreeSet<u64>,
    pub epoch: u64,
    /// Entries per manifest part.
    pub part_entries: usize,
    /// The bucket has no manifest of the stream (there was none when this
    /// writer opened, and it has tried to write none since): not read
    /// before the write that creates it.
    pub known_absent: bool,
    /// Set when this round tried to write the stream's manifest, and when
    /// it created it (nothing was there).
    pub tried_manifest: bool,
    pub created_manifest: bool,
}

/// A stream's local segments: every base but the last is sealed.
pub(crate) fn local_bases(local: &dyn StorageDir, stream: u64) -> Result<Vec<u64>, String> {
    let rel = layout::stream_dir(stream);
    let mut bases: Vec<u64> = match local.list(&rel) {
        Ok(names) => names
            .iter()
            .filter_map(|n| layout::parse_segment_name(n))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("listing {}: {e}", local.display(&rel).display())),
    };
    bases.sort_unstable();
    Ok(bases)
}

/// What an object's name within its stream's directory says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamObject {
    /// A segment or index object (`object_key`).
    Segment { base: u64, epoch: u64 },
    /// A manifest part (`part_key`).
    Part { end: u64, epoch: u64 },
    /// A prune anchor (`anchor_key`).
    Anchor { first: u64 },
}

impl StreamObject {
    /// Parses a name as `object_key`, `part_key` and `anchor_key` write
    /// them; `None` for any other name (the manifest, a stranger's object).
    fn parse(name: &str) -> Option<Self> {
        let offset = |field: &str| {
            (field.len() == 20 && field.bytes().all(|b| b.is_ascii_digit()))
                .then(|| field.parse::<u64>().ok())?
        };
        let epoch = |field: &str| {
            (field.len() >= 8 && field.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(field, 16).ok())?
        };
        if let Some(first) = name.strip_prefix("ANCHOR-") {
            return Some(StreamObject::Anchor {
                first: offset(first)?,
            });
        }
        let (stem, ext) = name.rsplit_once('.')?;
        let fields: Vec<&str> = stem.split('-').collect();
        match (ext, fields.as_slice()) {
            (layout::SEGMENT_EXT | layout::INDEX_EXT, [base, e]) => Some(StreamObject::Segment {
                base: offset(base)?,
                epoch: epoch(e)?,
            }),
            ("part", [base, end, e]) => {
                offset(base)?;
                Some(StreamObject::Part {
                    end: offset(end)?,
                    epoch: epoch(e)?,
                })
            }
            _ => None,
        }
    }
}

/// The key of the prune anchor a manifest starting at `first` needs.
pub(crate) fn anchor_key(stream: u64, first: u64) -> String {
    format!("streams/{stream:020}/ANCHOR-{first:020}")
}

impl Round<'_> {
    /// Uploads what is pending for `stream` (a batch of it, at most);
    /// returns what it listed.
    pub(crate) fn run(&mut self, stream: u64) -> Result<Vec<Uploaded>, RoundError> {
        let current = match self.catalog.get(stream) {
            Some(m) if self.etags.contains_key(&stream) => (*m).clone(),
            None if self.known_absent => {
                self.etags.insert(stream, None);
                Manifest::empty(stream)
            }
            _ => {
                let (m, etag) = fetch_manifest(self.tier, stream)
                    .map_err(|e| RoundError::Failed(e.to_string()))?;
                self.etags.insert(stream, etag);
                self.catalog.set(m.clone());
                m
            }
        };
        if current.epoch > self.epoch {
            return Err(RoundError::Fenced(format!(
                "stream {stream}'s manifest was written by epoch {}, after this writer's {}",
                current.epoch, self.epoch
            )));
        }
        let current = self.follow_prune(stream, current)?;
        let bases = local_bases(self.local.as_ref(), stream).map_err(RoundError::Failed)?;
        if self.pruned_past(stream, &current)? {
            // A prune since `follow_prune` may have taken segments from
            // this listing that the manifest has yet to drop; its own
            // round (`TierAgent::note_prune`) moves the manifest first.
            return Ok(Vec::new());
        }
        let end = current.end().next_offset;
        let sealed = &bases[..bases.len().saturating_sub(1)];
        // What the bucket holds must be what this writer holds: a local
        // sealed segment inside the bucket's history that the manifest
        // does not list is a fork, never skipped.
        if let Some(stray) = sealed
            .iter()
            .find(|&&b| b < end && b >= current.first.next_offset && current.entry(b).is_none())
        {
            return Err(RoundError::failed(format!(
                "the local copy of stream {stream} has diverged from {}: its sealed segment at offset {stray} is not one the bucket holds",
                self.tier.url()
            )));
        }
        let pending: Vec<u64> = sealed.iter().copied().filter(|&b| b >= end).collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        // The objects of several segments go up at once (a round trip
        // each would bound the upload of small segments by the bucket's
        // latency), as many as fit in UPLOAD_GROUP_BYTES, or one segment.
        // Their entries join `next` as they are staged: a put that fails
        // fails the round, and `next` with it.
        let mut next = current.clone();
        let mut done = Vec::new();
        let mut group = UploadGroup::default();
        for &base in pending.iter().take(ENTRIES_PER_ROUND) {
            let (file, len) = self.open_sealed(stream, base)?;
            if !group.has_room_for(len) {
                self.put_group(std::mem::take(&mut group))?;
            }
            let entry = self.stage_segment(stream, base, &*file, len, &next, &mut group)?;
            done.push(Uploaded {
                stream,
                base,
                bytes: entry.segment_len,
            });
            next.entries.push(entry);
        }
        self.put_group(group)?;
        next.epoch = self.epoch;
        next.seq = current.seq + 1;
        self.swap_manifest(&mut next)?;
        Ok(done)
    }

    /// Moves the bucket's copy of `stream` to where the local prune anchor
    /// says the stream starts, if that is past the manifest's first
    /// offset: the anchor goes up first, then the manifest drops the
    /// entries below it by compare-and-swap, then their objects (and the
    /// anchor the manifest named before) are deleted. Returns the manifest
    /// now in force.
    ///
    /// The segment the anchor names must be where the bucket's chain
    /// passes (an entry starts there with the anchor's hash, or the
    /// manifest ends there), or the local copy has diverged and nothing
    /// moves. A bucket that ends before the anchor starts over from it,
    /// and the uploads go on from there (`upload_segment` checks each
    /// continues the chain).
    ///
    /// This is also how a stream pruned before it was tiered starts in
    /// the bucket: its first manifest names the anchor and no entries.
    ///
    /// A delete that fails leaves an object no manifest names: never read
    /// again, and deleted (or reported) by the sweep that ends the round.
    fn follow_prune(&mut self, stream: u64, current: Manifest) -> Result<Manifest, RoundError> {
        let Some(anchor) = self.local_anchor(stream)? else {
            return Ok(current);
        };
        let first = anchor.first;
        if first.next_offset <= current.first.next_offset {
            return Ok(current);
        }
        let end = current.end();
        let passes = if end.next_offset > first.next_offset {
            current
                .entry(first.next_offset)
                .is_some_and(|e| e.base == first)
        } else {
            end.next_offset < first.next_offset || end == first
        };
        if !passes {
            return Err(RoundError::failed(format!(
                "stream {stream} was pruned to offset {} locally, where the chain {} holds does not pass; the local copy has diverged",
                first.next_offset,
                self.tier.url()
            )));
        }
        let mut next = current.clone();
        let (dropped, dropped_parts) = next.prune_to(first);
        self.put_anchor(&anchor)?;
        next.epoch = self.epoch;
        next.seq = current.seq + 1;
        self.swap_manifest(&mut next)?;
        let mut garbage: Vec<String> = dropped
            .iter()
            .flat_map(|e| {
                let base = e.base.next_offset;
                [layout::SEGMENT_EXT, layout::INDEX_EXT]
                    .map(|ext| object_key(stream, base, e.epoch, ext))
            })
            .chain(dropped_parts.iter().map(|p| part_key(stream, p)))
            .collect();
        if current.first.next_offset > 0 {
            garbage.push(anchor_key(stream, current.first.next_offset));
        }
        // A delete that fails is left to `sweep`, which tries again and
        // reports it; the manifest has moved, so the round goes on.
        if !garbage.iter().all(|key| self.tier.delete(key).is_ok()) {
            self.swept.remove(&stream);
        }
        Ok(next)
    }

    /// Deletes the objects of `stream` that no manifest will list again,
    /// or ever: those of any epoch below the manifest's first offset that
    /// a prune's round left behind (its deletes failed, or the writer died
    /// between the manifest's move and them), and those an earlier epoch
    /// put but never listed (a writer fenced, or killed, between its puts
    /// and its manifest write). Segment and index objects whose base lies
    /// below the first offset, manifest parts that end at or below it, and
    /// anchors of an earlier first offset, are never read again: the first
    /// offset only grows. An object of an earlier epoch that the manifest
    /// does not list never will be: this writer stamped every manifest
    /// with its epoch before it opened, so no earlier writer's
    /// compare-and-swap can list anything again, and this writer lists only
    /// objects of its own epoch. Objects of this epoch or later, and
    /// anchors (whose names carry no epoch), are left to the writer that
    /// may be about to list them.
    ///
    /// Does its work once per stream after the writer opens (when the
    /// stream is pruned, or an earlier epoch wrote to the bucket), and
    /// after a prune whose deletes failed; called after each round that
    /// worked, going by the manifest that round left, so a bucket that
    /// refuses deletes delays no upload. Returns why a delete failed.
    pub(crate) fn sweep(&mut self, stream: u64) -> Result<(), String> {
        let Some(manifest) = self.catalog.get(stream) else {
            return Ok(());
        };
        let first = manifest.first.next_offset;
        // Epoch 1 is the bucket's first writer (leases start above every
        // epoch a manifest carries): nothing older can have left anything.
        if self.swept.contains(&stream) || (first == 0 && self.epoch <= 1) {
            return Ok(());
        }
        let dir = format!("streams/{stream:020}");
        let names = self
            .tier
            .list_objects(&dir)
            .map_err(|e| format!("listing {}/{dir}: {e}", self.tier.url()))?;
        let listed_parts: std::collections::BTreeSet<String> =
            manifest.parts.iter().map(|p| part_key(stream, p)).collect();
        for name in names {
            let key = format!("{dir}/{name}");
            let unread = match StreamObject::parse(&name) {
                Some(StreamObject::Anchor { first: at }) => at < first,
                Some(StreamObject::Part { end, epoch }) => {
                    end <= first || (epoch < self.epoch && !listed_parts.contains(&key))
                }
                Some(StreamObject::Segment { base, epoch }) => {
                    base < first
                        || (epoch < self.epoch
                            && manifest.entry(base).is_none_or(|e| e.epoch != epoch))
                }
                None => false,
            };
            if unread {
                self.tier.delete(&key).map_err(|e| {
                    format!(
                        "deleting {}/{key}, which no manifest of stream {stream} will list again (it stays, unread, until a later round deletes it): {e}",
                        self.tier.url()
                    )
                })?;
            }
        }
        self.swept.insert(stream);
        Ok(())
    }

    /// Whether the local prune anchor of `stream` is past `manifest`'s
    /// first offset.
    fn pruned_past(&self, stream: u64, manifest: &Manifest) -> Result<bool, RoundError> {
        let anchor = self.local_anchor(stream)?;
        Ok(anchor.is_some_and(|a| a.first.next_offset > manifest.first.next_offset))
    }

    /// The prune anchor of `stream` in the local directory, if any.
    fn local_anchor(&self, stream: u64) -> Result<Option<PruneAnchor>, RoundError> {
        crate::prune_anchor::read(self.local.as_ref(), stream)
            .map_err(|e| RoundError::Failed(e.to_string()))
    }

    /// Puts `anchor` in the bucket, write-once, before a manifest names
    /// it: a reader of the bucket needs it, as a reader of the directory
    /// does. Its bytes are the file's (`PruneAnchor::decode` takes only
    /// the one encoding).
    fn put_anchor(&self, anchor: &PruneAnchor) -> Result<(), RoundError> {
        let bytes = anchor.encode();
        let sha256: Hash = Sha256::digest(&bytes).into();
        self.put_once(
            &anchor_key(anchor.stream, anchor.first.next_offset),
            bytes,
            &sha256,
        )
    }

    /// Sealed segment `base` of `stream`, opened, and its length.
    fn open_sealed(&self, stream: u64, base: u64) -> Result<(Arc<dyn ByteFile>, u64), RoundError> {
        let seg_rel = layout::segment_path(stream, base);
        let shown = || self.local.display(&seg_rel).display().to_string();
        let file = self
            .local
            .open(&seg_rel, false)
            .map_err(|e| RoundError::failed(format!("opening {}: {e}", shown())))?;
        let len = file
            .len()
            .map_err(|e| RoundError::failed(format!("reading {}: {e}", shown())))?;
        Ok((file, len))
    }

    /// Reads sealed segment `base` (`file`, `len` bytes) and its index
    /// into `group`, after checking that it continues `manifest`; returns
    /// the segment's manifest entry.
    fn stage_segment(
        &self,
        stream: u64,
        base: u64,
        file: &dyn ByteFile,
        len: u64,
        manifest: &Manifest,
        group: &mut UploadGroup,
    ) -> Result<ManifestEntry, RoundError> {
        let seg_rel = layout::segment_path(stream, base);
        let idx_rel = layout::index_path(stream, base);
        let shown = |rel: &std::path::Path| self.local.display(rel).display().to_string();
        let read_index = match self.local.read(&idx_rel) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(RoundError::failed(format!(
                    "reading {}: {e}",
                    shown(&idx_rel)
                )))
            }
        };
        let decoded =
            read_index.and_then(|bytes| Some((SegmentIndex::decode(&bytes, stream, base)?, bytes)));
        let (index, index_bytes) = match decoded {
            Some(found) => found,
            None => self.rebuild_index(stream, base, len)?,
        };
        if len != index.segment_len {
            return Err(RoundError::failed(format!(
                "{} holds {len} bytes but its index says {}",
                shown(&seg_rel),
                index.segment_len
            )));
        }
        let bytes = usize::try_from(len)
            .map_err(|_| RoundError::failed("segment too large for memory"))
            .and_then(|len| {
                file.read_vec_at(len, 0)
                    .map_err(|e| RoundError::failed(format!("reading {}: {e}", shown(&seg_rel))))
            })?;
        let header = SegmentHeader::decode(&bytes, stream, base)
            .map_err(|e| RoundError::failed(format!("{}: {e}", shown(&seg_rel))))?;
        let expected = manifest.end();
        if base != expected.next_offset || header.base_hash != expected.hash {
            return Err(RoundError::failed(format!(
                "{} does not continue the chain the bucket holds for stream {stream}, which ends at offset {}; the local copy has diverged from {}",
                shown(&seg_rel),
                expected.next_offset,
                self.tier.url()
            )));
        }
        let entry = ManifestEntry {
            base: expected,
            end: index.end(),
            segment_len: len,
            index_len: index_bytes.len() as u64,
            epoch: self.epoch,
            segment_sha256: Sha256::digest(&bytes).into(),
            rules: header.rules,
        };
        if entry.end.next_offset <= base {
            return Err(RoundError::failed(format!(
                "{} is sealed but holds no events",
                shown(&seg_rel)
            )));
        }
        let index_sha256: Hash = Sha256::digest(&index_bytes).into();
        let seg_key = object_key(stream, base, self.epoch, layout::SEGMENT_EXT);
        let idx_key = object_key(stream, base, self.epoch, layout::INDEX_EXT);
        group.segments += 1;
        group.bytes += len;
        group.objects.push((seg_key, bytes, entry.segment_sha256));
        group.objects.push((idx_key, index_bytes, index_sha256));
        Ok(entry)
    }

    /// Puts the objects of `group`, all at once, each write-once.
    fn put_group(&self, group: UploadGroup) -> Result<(), RoundError> {
        for (_, settled) in put_each_once(self.tier, group.objects) {
            settled?;
        }
        Ok(())
    }

    /// The index of sealed segment `base` (`len` bytes) as its seal wrote
    /// it, from the segment's records: every record's CRCs and offsets are
    /// checked (the links are checked by whoever reads the segment, as for
    /// any segment uploaded), and the file must end exactly after a
    /// committed batch. Written back locally, then returned with its bytes.
    fn rebuild_index(
        &self,
        stream: u64,
        base: u64,
        len: u64,
    ) -> Result<(SegmentIndex, Vec<u8>), RoundError> {
        let failed = |e: Error| RoundError::failed(e.to_string());
        let segment = Segment::existing(self.local.clone(), stream, base, false);
        let header = segment.header().map_err(failed)?;
        let scan =
            scan_tail(&segment, &header, ScanStart::first_record(&header), len).map_err(failed)?;
        let shown = self.local.display(&layout::segment_path(stream, base));
        match scan.end {
            TailEnd::Clean if scan.committed_len == len => {}
            TailEnd::Damaged { reason, .. } => {
                return Err(RoundError::failed(format!(
                    "{} has no index, and rebuilding it met damage: {reason}",
                    shown.display()
                )))
            }
            _ => {
                return Err(RoundError::failed(format!(
                    "{} has no index, and does not end with a committed batch",
                    shown.display()
                )))
            }
        }
        segment.set_checkpoints(scan.checkpoints);
        segment
            .write_index(scan.head.next_offset, scan.head.hash, len)
            .map_err(failed)?;
        let idx_rel = layout::index_path(stream, base);
        let bytes = self.local.read(&idx_rel).map_err(|e| {
            RoundError::failed(format!(
                "reading {}: {e}",
                self.local.display(&idx_rel).display()
            ))
        })?;
        let index = SegmentIndex::decode(&bytes, stream, base).ok_or_else(|| {
            RoundError::failed(format!(
                "{} does not read back as written",
                self.local.display(&idx_rel).display()
            ))
        })?;
        Ok((index, bytes))
    }

    fn put_once(&self, key: &str, bytes: Vec<u8>, sha256: &Hash) -> Result<(), RoundError> {
        put_once(self.tier, key, bytes, sha256)
    }

    /// Replaces the part object at `key` when it lists the same segments
    /// as `part` does, in an older part version: one this writer's epoch
    /// put and never listed (killed between its puts and its manifest
    /// write, then restarted by a build that writes parts with rules). No
    /// manifest lists it (a fold makes only parts the manifest lacks) and
    /// none will (its name carries this writer's epoch), so nothing reads
    /// it. Returns whether it did; anything else under the key stays.
    fn replaced_older_part(
        &self,
        stream: u64,
        key: &str,
        part: &PartRef,
        bytes: Vec<u8>,
    ) -> Result<bool, RoundError> {
        let Ok(Some(found)) = self.tier.get(key) else {
            return Ok(false);
        };
        let as_found = PartRef {
            sha256: Sha256::digest(&found.bytes).into(),
            ..part.clone()
        };
        if as_found.sha256 == part.sha256 {
            // The same bytes: the put failed for another reason.
            return Ok(false);
        }
        let without_rules = |entries: &[ManifestEntry]| -> Vec<ManifestEntry> {
            entries
                .iter()
                .map(|e| ManifestEntry {
                    rules: None,
                    ..e.clone()
                })
                .collect()
        };
        match (
            decode_part(&found.bytes, stream, &as_found),
            decode_part(&bytes, stream, part),
        ) {
            (Ok(old), Ok(new)) if without_rules(&old) == without_rules(&new) => {}
            _ => return Ok(false),
        }
        self.tier.delete(key).map_err(|e| {
            RoundError::failed(format!(
                "deleting {}/{key}, an unlisted part of an older version: {e}",
                self.tier.url()
            ))
        })?;
        self.put_once(key, bytes, &part.sha256)?;
        Ok(true)
    }

    /// Moves the manifest to `next` by compare-and-swap, folding its
    /// oldest unfolded entries into parts first (put before the manifest
    /// that names them). On an error `next` may name parts the bucket
    /// lacks: the caller drops it.
    fn swap_manifest(&mut self, next: &mut Manifest) -> Result<(), RoundError> {
        let key = manifest_key(next.stream);
        let url = self.tier.url();
        let io = |e: std::io::Error| RoundError::failed(format!("writing {url}/{key}: {e}"));
        let made = next.fold(self.part_entries, self.epoch);
        let objects = made
            .iter()
            .map(|(part, bytes)| (part_key(next.stream, part), bytes.clone(), part.sha256))
            .collect();
        for ((part, bytes), (key, settled)) in
            made.into_iter().zip(put_each_once(self.tier, objects))
        {
            if let Err(e) = settled {
                if !self.replaced_older_part(next.stream, &key, &part, bytes)? {
                    return Err(e);
                }
            }
        }
        let bytes = next.encode();
        let known_etag = self.etags.get(&next.stream).cloned().flatten();
        self.tried_manifest = true;
        let put = match &known_etag {
            Some(etag) => self.tier.put_update(&key, bytes, etag),
            None => self.tier.put_create(&key, bytes),
        }
        .map_err(io)?;
        if known_etag.is_none() && matches!(put, Put::Done(_)) {
            self.created_manifest = true;
        }
        let etag = match put {
            Put::Done(Some(etag)) => Some(etag),
            Put::Done(None) => self.tier.head(&key).map_err(io)?.and_then(|i| i.etag),
            Put::Conflict => {
                // Someone moved it, or our own retried write landed.
                let (found, etag) = fetch_manifest(self.tier, next.stream)
                    .map_err(|e| RoundError::Failed(e.to_string()))?;
                if found == *next {
                    etag
                } else if found.epoch > self.epoch {
                    self.etags.insert(next.stream, etag);
                    self.catalog.set(found.clone());
                    return Err(RoundError::Fenced(format!(
                        "stream {}'s manifest was moved by epoch {}, after this writer's {}",
                        next.stream, found.epoch, self.epoch
                    )));
                } else if found.epoch == self.epoch {
                    // A write of ours whose answer was lost: go on from it.
                    self.etags.insert(next.stream, etag);
                    self.catalog.set(found);
                    return Err(RoundError::failed(format!(
                        "{url}/{key} was moved by an earlier write of this writer; going on from it"
                    )));
                } else {
                    // Every manifest carries this writer's epoch from its
                    // open on (TierAgent::start), so an older writer cannot
                    // have moved it since: someone else wrote it.
                    return Err(RoundError::failed(format!(
                        "{url}/{key} was rewritten by epoch {} after this writer (epoch {}) took it; refusing to write over it",
                        found.epoch, self.epoch
                    )));
                }
            }
        };
        self.etags.insert(next.stream, etag);
        self.catalog.set(next.clone());
        Ok(())
    }
}

/// Writes an object that must never change: a create, or adopting the
/// same bytes (by their SHA-256) a previous attempt left.
pub(crate) fn put_once(
    tier: &dyn Tier,
    key: &str,
    bytes: Vec<u8>,
    sha256: &Hash,
) -> Result<(), RoundError> {
    let put = tier
        .put_create(key, bytes)
        .map_err(|e| RoundError::failed(format!("writing {}/{key}: {e}", tier.url())))?;
    settle_put_once(tier, key, put, sha256)
}

/// Puts each object (key, bytes, their SHA-256) write-once, several at
/// once where the bucket is reached over a network, each outcome settled
/// as `put_once` settles it, in order. An object the tier gave no outcome
/// for is an error, never taken as written.
pub(crate) fn put_each_once(
    tier: &dyn Tier,
    objects: Vec<(String, Vec<u8>, Hash)>,
) -> Vec<(String, Result<(), RoundError>)> {
    if objects.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<(String, Hash)> = Vec::with_capacity(objects.len());
    let mut puts: Vec<(String, Vec<u8>)> = Vec::with_capacity(objects.len());
    for (key, bytes, sha256) in objects {
        keys.push((key.clone(), sha256));
        puts.push((key, bytes));
    }
    let mut outcomes = tier.put_create_all(puts).into_iter();
    keys.into_iter()
        .map(|(key, sha256)| {
            let settled = match outcomes.next() {
                Some(Ok(put)) => settle_put_once(tier, &key, put, &sha256),
                Some(Err(e)) => Err(RoundError::failed(format!(
                    "writing {}/{key}: {e}",
                    tier.url()
                ))),
                None => Err(RoundError::failed(format!(
                    "writing {}/{key}: the bucket gave no outcome for it",
                    tier.url()
                ))),
            };
            (key, settled)
        })
        .collect()
}

/// The outcome of a write-once put of `key` (bytes whose SHA-256 is
/// `sha256`): done, or a conflict that holds the same bytes (a previous
/// attempt's), read back to be sure.
pub(crate) fn settle_put_once(
    tier: &dyn Tier,
    key: &str,
    put: Put,
    sha256: &Hash,
) -> Result<(), RoundError> {
    let url = tier.url();
    let io = |e: std::io::Error| RoundError::failed(format!("writing {url}/{key}: {e}"));
    match put {
        Put::Done(_) => Ok(()),
        Put::Conflict => match tier.get(key).map_err(io)? {
            Some(obj) if Sha256::digest(&obj.bytes)[..] == sha256[..] => Ok(()),
            Some(_) => Err(RoundError::failed(format!(
                "{url}/{key} already exists with other contents"
            ))),
            // S3 answers a concurrent conditional write with a
            // conflict, and nothing may be there yet: try later.
            None => Err(RoundError::failed(format!(
                "{url}/{key}: the write conflicted with another"
            ))),
        },
    }
}

/// `stamp` of each of `manifests` not stamped with `epoch` yet, the
/// writes several at once; one that conflicts is read again and stamped
/// alone. Returns the manifests as stamped, in the same order.
pub(crate) fn stamp_all(
    tier: &dyn Tier,
    epoch: u64,
    etags: &mut Etags,
    manifests: Vec<Manifest>,
) -> crate::Result<Vec<Manifest>> {
    let mut writes = Vec::new();
    let mut stamped = Vec::with_capacity(manifests.len());
    for manifest in manifests {
        let etag = etags.get(&manifest.stream).cloned().flatten();
        match etag {
            Some(etag) if manifest.epoch < epoch => {
                let next = Manifest {
                    epoch,
                    seq: manifest.seq + 1,
                    ..manifest.clone()
                };
                let key = manifest_key(manifest.stream);
                writes.push((stamped.len(), key, next.encode(), etag));
                stamped.push(next);
            }
            // Ours already, none in the bucket, or a later writer's
            // (`stamp` refuses it).
            _ if manifest.epoch > epoch => {
                stamped.push(stamp(tier, manifest.stream, epoch, etags, manifest)?)
            }
            _ => stamped.push(manifest),
        }
    }
    let count = writes.len();
    let (places, puts): (Vec<usize>, Vec<_>) = writes
        .into_iter()
        .map(|(at, key, bytes, etag)| (at, (key, bytes, etag)))
        .unzip();
    let outcomes = tier.put_update_all(puts);
    if outcomes.len() != count {
        return Err(Error::io(
            format!("stamping the manifests in {}", tier.url()),
            std::io::Error::other("the bucket gave no outcome for some of them"),
        ));
    }
    for (at, outcome) in places.into_iter().zip(outcomes) {
        let stream = stamped[at].stream;
        let key = manifest_key(stream);
        match outcome.map_err(|e| Error::io(format!("writing {}/{key}", tier.url()), e))? {
            Put::Done(new) => {
                etags.insert(stream, new);
            }
            Put::Conflict => {
                let (found, etag) = fetch_manifest(tier, stream)?;
                etags.insert(stream, etag);
                if found != stamped[at] {
                    stamped[at] = stamp(tier, stream, epoch, etags, found)?;
                }
            }
        }
    }
    Ok(stamped)
}

/// Writes `manifest` again under this writer's `epoch` (sequence + 1), so
/// that no older writer's compare-and-swap of it can succeed from now on.
/// On a conflict it reads the manifest again and stamps that. Returns the
/// manifest as stamped.
pub(crate) fn stamp(
    tier: &dyn Tier,
    stream: u64,
    epoch: u64,
    etags: &mut Etags,
    mut manifest: Manifest,
) -> crate::Result<Manifest> {
    let key = manifest_key(stream);
    for _ in 0..8 {
        if manifest.epoch > epoch {
            return Err(Error::Locked(
                format!(
                    "{} (stream {stream} was written by epoch {}, after this writer's {epoch})",
                    tier.url(),
                    manifest.epoch
                )
                .into(),
            ));
        }
        let Some(Some(etag)) = etags.get(&stream).cloned() else {
            return Ok(manifest);
        };
        let stamped = Manifest {
            epoch,
            seq: manifest.seq + 1,
            ..manifest.clone()
        };
        match tier
            .put_update(&key, stamped.encode(), &etag)
            .map_err(|e| Error::io(format!("writing {}/{key}", tier.url()), e))?
        {
            Put::Done(new) => {
                etags.insert(stream, new);
                return Ok(stamped);
            }
            Put::Conflict => {
                let (found, etag) = fetch_manifest(tier, stream)?;
                if found == stamped {
                    etags.insert(stream, etag);
                    return Ok(stamped);
                }
                etags.insert(stream, etag);
                manifest = found;
            }
        }
    }
    Err(Error::Locked(
        format!("{} (stream {stream}'s manifest keeps changing)", tier.url()).into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name of `key` within its stream's directory.
    fn name_of(key: &str) -> &str {
        key.rsplit_once('/').map_or(key, |(_, n)| n)
    }

    /// The sweep goes by names: exactly those `object_key`, `part_key` and
    /// `anchor_key` give parse, and back to what made them.
    #[test]
    fn stream_object_names_parse_back_to_what_made_them() {
        use crate::hash::ChainHead;
        for (base, epoch) in [(0u64, 1u64), (4096, 0xffff_ffff), (u64::MAX, 1 << 40)] {
            for ext in [layout::SEGMENT_EXT, layout::INDEX_EXT] {
                let key = object_key(7, base, epoch, ext);
                let parsed = StreamObject::parse(name_of(&key));
                assert_eq!(parsed, Some(StreamObject::Segment { base, epoch }), "{key}");
            }
        }
        for (base, end, epoch) in [(0u64, 16u64, 1u64), (16, u64::MAX, 1 << 40)] {
            let head = |next_offset, byte| ChainHead {
                next_offset,
                hash: [byte; 32],
            };
            let part = super::super::manifest::PartRef {
                base: head(base, 1),
                end: head(end, 2),
                count: 4,
                epoch,
                sha256: [3; 32],
            };
            let key = part_key(7, &part);
            let parsed = StreamObject::parse(name_of(&key));
            assert_eq!(parsed, Some(StreamObject::Part { end, epoch }), "{key}");
        }
        for first in [1u64, u64::MAX] {
            let key = anchor_key(7, first);
            let parsed = StreamObject::parse(name_of(&key));
            assert_eq!(parsed, Some(StreamObject::Anchor { first }), "{key}");
        }
        for other in [
            "MANIFEST",
            "ANCHOR-16",
            "ANCHOR-0000000000000000001x",
            "00000000000000000016-00000001.tmp",
            "16-00000001.seg",
            "00000000000000000016-0001.seg",
            "00000000000000000016-0000000g.seg",
            "00000000000000000016.seg",
            "00000000000000000016-00000001-2.seg",
            "00000000000000000000-00000000000000000016.part",
            "00000000000000000000-00000000000000000016-0001.part",
            "00000000000000000000-00000000000000000016-00000001-2.part",
            "00000000000000000000-16-00000001.part",
            "0000000000000000000a-00000000000000000016-00000001.part",
            "99999999999999999999-00000001.seg",
        ] {
            assert_eq!(StreamObject::parse(other), None, "{other}");
        }
    }

    /// A taking-over writer stamps every older manifest with its epoch;
    /// one moved since it was read is read again and stamped as it is
    /// now; its own are left alone; a later writer's locks it out.
    #[test]
    fn stamp_all_stamps_what_is_older_and_rereads_what_moved() {
        use super::super::manifest_read::fetch_manifests;
        use super::super::memory::MemoryTier;
        let bucket = MemoryTier::new();
        for (stream, epoch) in [(1u64, 1u64), (2, 2), (3, 1), (4, 3)] {
            let manifest = Manifest {
                epoch,
                seq: 5,
                ..Manifest::empty(stream)
            };
            bucket
                .put(&manifest_key(stream), manifest.encode())
                .unwrap();
        }
        let read = |streams: &[u64], etags: &mut Etags| -> Vec<Manifest> {
            fetch_manifests(&bucket, streams)
                .unwrap()
                .into_iter()
                .map(|(m, etag)| {
                    etags.insert(m.stream, etag);
                    m
                })
                .collect()
        };
        let mut etags = Etags::new();
        let found = read(&[1, 2, 3], &mut etags);
        // Stream 3 moves after the read, by a writer of epoch 1.
        let moved = Manifest {
            epoch: 1,
            seq: 6,
            ..Manifest::empty(3)
        };
        bucket.overwrite(&manifest_key(3), moved.encode());
        let own = etags[&2].clone();
        let stamped = stamp_all(&bucket, 2, &mut etags, found).unwrap();
        let now = read(&[1, 2, 3], &mut Etags::new());
        assert_eq!(stamped, now);
        let epochs_and_seqs: Vec<(u64, u64)> = now.iter().map(|m| (m.epoch, m.seq)).collect();
        assert_eq!(epochs_and_seqs, [(2, 6), (2, 5), (2, 7)]);
        assert_eq!(etags[&2], own, "its own manifest is not written again");
        for stream in [1, 3] {
            assert_eq!(
                etags[&stream],
                bucket.head(&manifest_key(stream)).unwrap().unwrap().etag
            );
        }

        let mut etags = Etags::new();
        let found = read(&[1, 4], &mut etags);
        match stamp_all(&bucket, 2, &mut etags, found) {
            Err(Error::Locked(what)) => {
                assert!(what.to_string_lossy().contains("epoch 3"), "{what:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// A tier that answers every batch call with no outcomes at all, as a
    /// faulty `Tier` implementation might.
    #[derive(Debug)]
    struct Mute(super::super::memory::MemoryTier);

    impl Tier for Mute {
        fn url(&self) -> &str {
            "mute://"
        }
        fn get(&self, key: &str) -> std::io::Result<Option<super::super::Object>> {
            self.0.get(key)
        }
        fn get_all(&self, _: Vec<String>) -> Vec<std::io::Result<Option<super::super::Object>>> {
            Vec::new()
        }
        fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> std::io::Result<Vec<u8>> {
            self.0.get_range(key, range)
        }
        fn head(&self, key: &str) -> std::io::Result<Option<super::super::ObjectInfo>> {
            self.0.head(key)
        }
        fn put_create(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<Put> {
            self.0.put_create(key, bytes)
        }
        fn put_create_all(&self, _: Vec<(String, Vec<u8>)>) -> Vec<std::io::Result<Put>> {
            Vec::new()
        }
        fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> std::io::Result<Put> {
            self.0.put_update(key, bytes, etag)
        }
        fn put_update_all(&self, _: Vec<(String, Vec<u8>, String)>) -> Vec<std::io::Result<Put>> {
            Vec::new()
        }
        fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
            self.0.put(key, bytes)
        }
        fn list_dirs(&self, dir: &str) -> std::io::Result<Vec<String>> {
            self.0.list_dirs(dir)
        }
        fn list_objects(&self, dir: &str) -> std::io::Result<Vec<String>> {
            self.0.list_objects(dir)
        }
        fn delete(&self, key: &str) -> std::io::Result<()> {
            self.0.delete(key)
        }
    }

    /// Objects a tier gives no outcome for are never taken as written, and
    /// parts it gives nothing for never make a manifest.
    #[test]
    fn missing_outcomes_are_errors() {
        let bucket = super::super::memory::MemoryTier::new();
        let mute = Mute(bucket.clone());
        let objects = vec![
            (
                "a".to_owned(),
                b"one".to_vec(),
                Sha256::digest(b"one").into(),
            ),
            (
                "b".to_owned(),
                b"two".to_vec(),
                Sha256::digest(b"two").into(),
            ),
        ];
        let settled = put_each_once(&mute, objects);
        assert_eq!(settled.len(), 2);
        for (key, outcome) in settled {
            match outcome {
                Err(RoundError::Failed(e)) => assert!(e.contains("no outcome"), "{key}: {e}"),
                other => panic!("{key}: {other:?}"),
            }
        }

        // A manifest with a part, whose part the mute tier will not give.
        let manifest = super::super::manifest_read::tests::put_manifest(&bucket, 3, 2);
        assert_eq!(fetch_manifest(&bucket, 3).unwrap().0, manifest);
        match fetch_manifest(&mute, 3) {
            Err(Error::Io { context, .. }) => assert!(context.contains("parts"), "{context}"),
            other => panic!("{other:?}"),
        }

        // Nor do manifests it gives nothing for, read in a batch.
        use super::super::manifest_read::fetch_manifests;
        match fetch_manifests(&mute, &[3]) {
            Err(Error::Io { context, .. }) => {
                assert!(context.contains("reading the manifests"), "{context}")
            }
            other => panic!("{other:?}"),
        }

        // A stamp it gives no outcome for is not taken as written: the
        // writer's etag stays the one it read, and the bucket keeps the
        // older epoch.
        let mut etags = Etags::new();
        let (found, etag) = fetch_manifest(&bucket, 3).unwrap();
        etags.insert(3, etag.clone());
        match stamp_all(&mute, 2, &mut etags, vec![found]) {
            Err(Error::Io { context, source }) => {
                assert!(context.contains("stamping the manifests"), "{context}");
                assert!(source.to_string().contains("no outcome"), "{source}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(etags[&3], etag);
        assert_eq!(fetch_manifest(&bucket, 3).unwrap().0.epoch, manifest.epoch);
    }
}
