//! A stream's manifest: the one object that says which sealed segments the
//! bucket holds for it, in order. Only the writer holding the lease moves
//! it, by compare-and-swap.
//!
//! A long stream's entries are folded into write-once manifest parts of a
//! fixed number of entries each, so a manifest move rewrites the newest
//! entries and one short reference per part, not the stream's history:
//!
//! ```text
//! 0   [8]  magic "STRATMAN"
//! 8   u32  format version: 3 (this library writes), 2 and 1 (read)
//! 12  u32  entry count n (the entries after the parts)
//! 16  u64  stream id
//! 24  u64  epoch of the writer that wrote it
//! 32  u64  sequence number (+1 at every write)
//! 40  u64  first offset (where the first entry starts; 0 unless pruned)
//! 48  [32] chain hash before the first offset
//!     versions 2 and 3 (version 1 has no parts):
//! 80  u32  part count p
//! 84  p × part reference (124 bytes):
//!       u64 base offset, [32] base hash, u64 end offset, [32] end hash,
//!       u32 entry count, u64 epoch in the part's object name,
//!       [32] SHA-256 of the part object
//! ..  n × entry (152 bytes; 136 in versions 1 and 2, without the rules):
//!       u64 base offset, [32] base hash, u64 end offset, [32] end hash,
//!       u64 segment length, u64 index length, u64 epoch in the object
//!       names, [32] SHA-256 of the segment object,
//!       the rules of the segment's header: u32 max event size, u64
//!       checkpoint interval, u32 flags (all 0: a version-1 header, which
//!       records none)
//! ..  u32  CRC32 of everything before it
//! ```
//!
//! With the rules, an entry holds everything the segment's header does,
//! so a read from a checkpoint of a segment only the bucket holds fetches
//! the walk alone, not the header first.
//!
//! A part object (`<base:020>-<end:020>-<epoch:08x>.part`):
//!
//! ```text
//! 0   [8]  magic "STRATMPT"
//! 8   u32  format version: 2 (152-byte entries), 1 (136, read)
//! 12  u32  entry count
//! 16  u64  stream id
//! 24  entries as above
//! ..  u32  CRC32 of everything before it
//! ```
//!
//! Invariants checked by every decode: the parts and then the entries are
//! contiguous (each starts where the one before ends, offset and hash),
//! none is empty, and the entries from the first offset on start exactly
//! there. A prune drops the parts that end at or below the first offset; a
//! part it cuts through stays whole, and its entries below the first
//! offset are not the manifest's. The manifest is not trusted for content:
//! everything read through it is checked against the segments' bytes and
//! the chain (a segment's header, whenever it is read, against the
//! entry's copy), and the CRC only catches a torn or garbled object.

use sha2::{Digest, Sha256};

use crate::hash::{ChainHead, Hash};
use crate::segment::{SegmentHeader, SegmentRules};

pub const MAGIC: [u8; 8] = *b"STRATMAN";
pub const PART_MAGIC: [u8; 8] = *b"STRATMPT";
/// Without parts or rules (read only).
const VERSION_PLAIN: u32 = 1;
/// With parts, without rules (read only).
const VERSION_WITH_PARTS: u32 = 2;
/// With parts and rules: what this library writes.
const VERSION: u32 = 3;
const PART_VERSION_PLAIN: u32 = 1;
const PART_VERSION: u32 = 2;
const FIXED_LEN: usize = 80;
/// An entry of a version-3 manifest or a version-2 part.
const ENTRY_LEN: usize = ENTRY_LEN_PLAIN + RULES_LEN;
/// An entry without rules (older versions).
const ENTRY_LEN_PLAIN: usize = 136;
const RULES_LEN: usize = 16;
const PART_REF_LEN: usize = 124;
const PART_FIXED_LEN: usize = 24;

/// Entries per manifest part unless the tier is told otherwise: a part of
/// 152 KiB, and a manifest of at most as many entries plus 124 bytes per
/// part (1 M segments: 124 KiB).
pub const DEFAULT_PART_ENTRIES: usize = 1024;

/// Entries per part at most (a part of 152 MiB).
const MAX_PART_ENTRIES: usize = 1 << 20;

/// One sealed segment in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub base: ChainHead,
    pub end: ChainHead,
    pub segment_len: u64,
    pub index_len: u64,
    /// The epoch in the names of its objects.
    pub epoch: u64,
    pub segment_sha256: Hash,
    /// The rules its header records; `None` for a version-1 header and
    /// for an entry of a manifest written before entries carried them.
    pub rules: Option<SegmentRules>,
}

impl ManifestEntry {
    /// The header of the segment of `stream` this entry lists, when the
    /// entry records its rules.
    pub fn header(&self, stream: u64) -> Option<SegmentHeader> {
        Some(SegmentHeader {
            stream,
            base_offset: self.base.next_offset,
            base_hash: self.base.hash,
            rules: Some(self.rules?),
        })
    }
}

/// A write-once manifest part: the entries from `base` to `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRef {
    pub base: ChainHead,
    pub end: ChainHead,
    pub count: u32,
    /// The epoch in the part's object name.
    pub epoch: u64,
    pub sha256: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub stream: u64,
    pub epoch: u64,
    pub seq: u64,
    pub first: ChainHead,
    /// The parts the oldest entries are folded into; the first may start
    /// below `first` (a prune cut through it).
    pub parts: Vec<PartRef>,
    /// Every segment from `first` on, folded or not.
    pub entries: Vec<ManifestEntry>,
}

/// A manifest object as it reads, before its parts are fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestObject {
    pub stream: u64,
    pub epoch: u64,
    pub seq: u64,
    pub first: ChainHead,
    pub parts: Vec<PartRef>,
    /// The entries after the parts.
    pub tail: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn empty(stream: u64) -> Self {
        Manifest {
            stream,
            epoch: 0,
            seq: 0,
            first: ChainHead::EMPTY,
            parts: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Where the bucket's copy of the stream ends.
    pub fn end(&self) -> ChainHead {
        self.entries.last().map_or(self.first, |e| e.end)
    }

    /// The entry of the segment based at `base`.
    pub fn entry(&self, base: u64) -> Option<&ManifestEntry> {
        self.entries
            .binary_search_by_key(&base, |e| e.base.next_offset)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// How many of `entries` the parts hold.
    fn folded(&self) -> usize {
        match self.parts.last() {
            None => 0,
            Some(last) => self
                .entries
                .partition_point(|e| e.base.next_offset < last.end.next_offset),
        }
    }

    /// Folds the unfolded entries into new parts of `per_part` entries
    /// each (`epoch` in their names) while that many are unfolded; returns
    /// each new part with its object's bytes, to be put before a manifest
    /// naming it is.
    pub fn fold(&mut self, per_part: usize, epoch: u64) -> Vec<(PartRef, Vec<u8>)> {
        let per_part = per_part.clamp(1, MAX_PART_ENTRIES);
        let mut made = Vec::new();
        loop {
            let from = self.folded();
            let Some(run) = self.entries.get(from..from + per_part) else {
                return made;
            };
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                return made;
            };
            let bytes = encode_part(self.stream, run);
            let part = PartRef {
                base: first.base,
                end: last.end,
                count: run.len() as u32,
                epoch,
                sha256: Sha256::digest(&bytes).into(),
            };
            self.parts.push(part.clone());
            made.push((part, bytes));
        }
    }

    /// Drops what lies below `first`: the entries, and the parts that end
    /// at or below it. Returns the parts dropped.
    pub fn prune_to(&mut self, first: ChainHead) -> (Vec<ManifestEntry>, Vec<PartRef>) {
        let at = first.next_offset;
        let (dropped, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.base.next_offset < at);
        self.entries = kept;
        let (gone, parts) = std::mem::take(&mut self.parts)
            .into_iter()
            .partition(|p| p.end.next_offset <= at);
        self.parts = parts;
        self.first = first;
        (dropped, gone)
    }

    pub fn encode(&self) -> Vec<u8> {
        let tail = &self.entries[self.folded()..];
        let mut b = Vec::with_capacity(
            FIXED_LEN + 4 + self.parts.len() * PART_REF_LEN + tail.len() * ENTRY_LEN + 4,
        );
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(tail.len() as u32).to_le_bytes());
        for x in [self.stream, self.epoch, self.seq, self.first.next_offset] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&self.first.hash);
        b.extend_from_slice(&(self.parts.len() as u32).to_le_bytes());
        for p in &self.parts {
            put_head(&mut b, &p.base);
            put_head(&mut b, &p.end);
            b.extend_from_slice(&p.count.to_le_bytes());
            b.extend_from_slice(&p.epoch.to_le_bytes());
            b.extend_from_slice(&p.sha256);
        }
        for e in tail {
            put_entry(&mut b, e);
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a manifest that names no parts (tests and tools; a reader
    /// of the bucket goes through [`ManifestObject`]).
    pub fn decode(b: &[u8], stream: u64) -> Result<Self, String> {
        ManifestObject::decode(b, stream)?.assemble(Vec::new())
    }
}

impl ManifestObject {
    /// Decodes the manifest object of `stream`, saying what is wrong with
    /// one that is not well formed.
    pub fn decode(b: &[u8], stream: u64) -> Result<Self, String> {
        let body = checked_body(b, &MAGIC, "manifest")?;
        if body.len() < FIXED_LEN {
            return Err("shorter than a manifest".into());
        }
        let mut r = Fields(body, 8);
        let version = r.u32();
        let with_rules = match version {
            VERSION_PLAIN | VERSION_WITH_PARTS => false,
            VERSION => true,
            _ => {
                return Err(format!(
                    "manifest format version {version} is not supported"
                ))
            }
        };
        let entry_len = if with_rules {
            ENTRY_LEN
        } else {
            ENTRY_LEN_PLAIN
        };
        let n = r.u32() as usize;
        let found = r.u64();
        let (epoch, seq) = (r.u64(), r.u64());
        let first = r.head();
        let mut fixed = FIXED_LEN;
        let mut part_count = 0usize;
        if version != VERSION_PLAIN {
            if body.len() < FIXED_LEN + 4 {
                return Err("shorter than a manifest with parts".into());
            }
            part_count = r.u32() as usize;
            fixed = part_count
                .checked_mul(PART_REF_LEN)
                .and_then(|p| p.checked_add(FIXED_LEN + 4))
                .ok_or("part count out of range")?;
        }
        if n.checked_mul(entry_len).and_then(|e| e.checked_add(fixed)) != Some(body.len()) {
            return Err(format!(
                "length does not fit {part_count} parts and {n} entries"
            ));
        }
        if found != stream {
            return Err(format!("manifest of stream {found}, not {stream}"));
        }
        let mut parts: Vec<PartRef> = Vec::with_capacity(part_count);
        for i in 0..part_count {
            let part = PartRef {
                base: r.head(),
                end: r.head(),
                count: r.u32(),
                epoch: r.u64(),
                sha256: r.hash(),
            };
            if part.count == 0 || part.end.next_offset <= part.base.next_offset {
                return Err(format!("part {i} holds no events"));
            }
            if let Some(before) = parts.last() {
                if part.base != before.end {
                    return Err(format!(
                        "part {i} starts at offset {} but the one before ends at {}",
                        part.base.next_offset, before.end.next_offset
                    ));
                }
            }
            parts.push(part);
        }
        if let Some(oldest) = parts.first() {
            let at = first.next_offset;
            if at < oldest.base.next_offset || at >= oldest.end.next_offset {
                return Err(format!(
                    "the first offset {at} is not inside the first part, {}..{}",
                    oldest.base.next_offset, oldest.end.next_offset
                ));
            }
        }
        let tail = (0..n)
            .map(|i| r.entry(with_rules).map_err(|e| format!("entry {i} {e}")))
            .collect::<Result<_, _>>()?;
        Ok(ManifestObject {
            stream,
            epoch,
            seq,
            first,
            parts,
            tail,
        })
    }

    /// The manifest, given the entries of each of its parts in order
    /// (checked against them by `decode_part`): every entry from the first
    /// offset on, contiguous.
    pub fn assemble(self, parts: Vec<Vec<ManifestEntry>>) -> Result<Manifest, String> {
        if parts.len() != self.parts.len() {
            return Err(format!(
                "{} parts given for a manifest of {}",
                parts.len(),
                self.parts.len()
            ));
        }
        let at = self.first.next_offset;
        let mut entries: Vec<ManifestEntry> = parts
            .into_iter()
            .flatten()
            .filter(|e| e.base.next_offset >= at)
            .collect();
        if let Some(last) = self.parts.last() {
            if self.tail.first().is_some_and(|e| e.base != last.end) {
                return Err(format!(
                    "the entries after the parts do not start where the last part ends, at offset {}",
                    last.end.next_offset
                ));
            }
        }
        entries.extend(self.tail);
        check_chain(self.first, &entries)?;
        Ok(Manifest {
            stream: self.stream,
            epoch: self.epoch,
            seq: self.seq,
            first: self.first,
            parts: self.parts,
            entries,
        })
    }
}

/// The entries of the part `part` of `stream`, from its object's bytes.
pub fn decode_part(b: &[u8], stream: u64, part: &PartRef) -> Result<Vec<ManifestEntry>, String> {
    if Sha256::digest(b)[..] != part.sha256[..] {
        return Err("its SHA-256 is not the one the manifest names".into());
    }
    let body = checked_body(b, &PART_MAGIC, "manifest part")?;
    let mut r = Fields(body, 8);
    let version = r.u32();
    let with_rules = match version {
        PART_VERSION_PLAIN => false,
        PART_VERSION => true,
        _ => {
            return Err(format!(
                "manifest part format version {version} is not supported"
            ))
        }
    };
    let entry_len = if with_rules {
        ENTRY_LEN
    } else {
        ENTRY_LEN_PLAIN
    };
    let n = r.u32() as usize;
    if n.checked_mul(entry_len)
        .and_then(|e| e.checked_add(PART_FIXED_LEN))
        != Some(body.len())
    {
        return Err(format!("length does not fit {n} entries"));
    }
    let found = r.u64();
    if found != stream {
        return Err(format!("manifest part of stream {found}, not {stream}"));
    }
    let entries: Vec<ManifestEntry> = (0..n)
        .map(|i| r.entry(with_rules).map_err(|e| format!("entry {i} {e}")))
        .collect::<Result<_, _>>()?;
    check_chain(part.base, &entries)?;
    if n != part.count as usize || entries.last().map(|e| e.end) != Some(part.end) {
        return Err(format!(
            "it holds {n} entries up to another end than the {} up to offset {} the manifest names",
            part.count, part.end.next_offset
        ));
    }
    Ok(entries)
}

fn encode_part(stream: u64, entries: &[ManifestEntry]) -> Vec<u8> {
    let mut b = Vec::with_capacity(PART_FIXED_LEN + entries.len() * ENTRY_LEN + 4);
    b.extend_from_slice(&PART_MAGIC);
    b.extend_from_slice(&PART_VERSION.to_le_bytes());
    b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    b.extend_from_slice(&stream.to_le_bytes());
    for e in entries {
        put_entry(&mut b, e);
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// The bytes before the CRC, once magic and CRC are checked.
fn checked_body<'a>(b: &'a [u8], magic: &[u8; 8], what: &str) -> Result<&'a [u8], String> {
    let (body, crc) = b
        .split_last_chunk::<4>()
        .ok_or_else(|| format!("shorter than a {what}"))?;
    if body.len() < 24 || body[..8] != magic[..] {
        return Err(format!("not a stratalog {what}"));
    }
    if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

/// Entries contiguous from `from`, offset and hash, none empty.
fn check_chain(from: ChainHead, entries: &[ManifestEntry]) -> Result<(), String> {
    let mut expected = from;
    for (i, e) in entries.iter().enumerate() {
        if e.base != expected {
            return Err(format!(
                "entry {i} starts at offset {} but the one before ends at {}",
                e.base.next_offset, expected.next_offset
            ));
        }
        if e.end.next_offset <= e.base.next_offset {
            return Err(format!("entry {i} holds no events"));
        }
        expected = e.end;
    }
    Ok(())
}

fn put_head(b: &mut Vec<u8>, head: &ChainHead) {
    b.extend_from_slice(&head.next_offset.to_le_bytes());
    b.extend_from_slice(&head.hash);
}

fn put_entry(b: &mut Vec<u8>, e: &ManifestEntry) {
    put_head(b, &e.base);
    put_head(b, &e.end);
    for x in [e.segment_len, e.index_len, e.epoch] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.extend_from_slice(&e.segment_sha256);
    let (max_event_size, interval, flags) = match e.rules {
        Some(rules) => (
            rules.max_event_size,
            rules.checkpoint_interval,
            rules.header_flags(),
        ),
        None => (0, 0, 0),
    };
    b.extend_from_slice(&max_event_size.to_le_bytes());
    b.extend_from_slice(&interval.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
}

/// Little-endian fields read in order from a buffer whose length the
/// caller checked.
struct Fields<'a>(&'a [u8], usize);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.0[self.1..self.1 + N]);
        self.1 += N;
        out
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn hash(&mut self) -> Hash {
        self.take()
    }
    fn head(&mut self) -> ChainHead {
        let next_offset = self.u64();
        ChainHead {
            next_offset,
            hash: self.hash(),
        }
    }
    /// An entry; `with_rules` when its version records them.
    fn entry(&mut self, with_rules: bool) -> Result<ManifestEntry, String> {
        let mut entry = ManifestEntry {
            base: self.head(),
            end: self.head(),
            segment_len: self.u64(),
            index_len: self.u64(),
            epoch: self.u64(),
            segment_sha256: self.hash(),
            rules: None,
        };
        if with_rules {
            let (max_event_size, interval, flags) = (self.u32(), self.u64(), self.u32());
            if (max_event_size, interval, flags) != (0, 0, 0) {
                entry.rules = Some(
                    SegmentRules::from_header_fields(max_event_size, interval, flags)
                        .map_err(|e| format!("records rules no segment header has: {e}"))?,
                );
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(n: u64, byte: u8) -> ChainHead {
        ChainHead {
            next_offset: n,
            hash: [byte; 32],
        }
    }

    fn rules(checkpoint_interval: u64, timed: bool) -> Option<SegmentRules> {
        Some(SegmentRules {
            max_event_size: 1 << 20,
            checkpoint_interval,
            timed,
        })
    }

    fn sample() -> Manifest {
        Manifest {
            stream: 7,
            epoch: 3,
            seq: 12,
            first: ChainHead::EMPTY,
            parts: Vec::new(),
            entries: vec![
                ManifestEntry {
                    base: ChainHead::EMPTY,
                    end: head(10, 1),
                    segment_len: 4096,
                    index_len: 100,
                    epoch: 2,
                    segment_sha256: [9; 32],
                    rules: rules(256, true),
                },
                ManifestEntry {
                    base: head(10, 1),
                    end: head(25, 2),
                    segment_len: 5000,
                    index_len: 116,
                    epoch: 3,
                    segment_sha256: [8; 32],
                    // A version-1 segment's header records none.
                    rules: None,
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_finds_entries() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(bytes[8..12], VERSION.to_le_bytes());
        assert_eq!(bytes.len(), FIXED_LEN + 4 + 2 * ENTRY_LEN + 4);
        let back = Manifest::decode(&bytes, 7).expect("decodes");
        assert_eq!(back, m);
        let header = back.entries[0].header(7).expect("rules recorded");
        assert_eq!(header.base(), ChainHead::EMPTY);
        assert_eq!(header.rules, rules(256, true));
        assert_eq!(back.entries[1].header(7), None);
        assert_eq!(back.end(), head(25, 2));
        assert_eq!(back.entry(10).map(|e| e.epoch), Some(3));
        assert!(back.entry(11).is_none());
        assert_eq!(Manifest::empty(7).end(), ChainHead::EMPTY);
    }

    #[test]
    fn rejects_damage_a_gap_and_another_stream() {
        let bytes = sample().encode();
        assert!(Manifest::decode(&bytes, 8)
            .unwrap_err()
            .contains("stream 7"));
        for i in [0, 9, 20, 100, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(Manifest::decode(&bad, 7).is_err(), "flip at {i} accepted");
        }
        assert!(Manifest::decode(&bytes[..bytes.len() - 1], 7).is_err());
        let mut gap = sample();
        gap.entries[1].base = head(11, 1);
        assert!(Manifest::decode(&gap.encode(), 7)
            .unwrap_err()
            .contains("entry 1 starts at offset 11"));
        let mut forked = sample();
        forked.entries[1].base = head(10, 7);
        assert!(Manifest::decode(&forked.encode(), 7).is_err());
        let mut empty_entry = sample();
        empty_entry.entries[1].end = head(10, 1);
        assert!(Manifest::decode(&empty_entry.encode(), 7).is_err());
    }

    /// A manifest of `n` one-event-per-offset-range entries from offset 0.
    fn long(n: u64) -> Manifest {
        let mut m = Manifest::empty(7);
        let mut at = ChainHead::EMPTY;
        for i in 0..n {
            let end = head(at.next_offset + 3, (i % 250) as u8 + 1);
            m.entries.push(ManifestEntry {
                base: at,
                end,
                segment_len: 1000 + i,
                index_len: 50,
                epoch: 1,
                segment_sha256: [(i % 200) as u8; 32],
                rules: rules(64 + i, i % 2 == 0),
            });
            at = end;
        }
        m
    }

    /// The manifest back from its object and its parts' objects.
    fn read_back(bytes: &[u8], parts: &[(PartRef, Vec<u8>)]) -> Result<Manifest, String> {
        let object = ManifestObject::decode(bytes, 7)?;
        let entries = object
            .parts
            .iter()
            .map(|r| {
                let (_, b) = parts.iter().find(|(p, _)| p == r).ok_or("part missing")?;
                decode_part(b, 7, r)
            })
            .collect::<Result<Vec<_>, String>>()?;
        object.assemble(entries)
    }

    #[test]
    fn parts_fold_the_oldest_entries_and_read_back() {
        let mut m = long(10);
        let made = m.fold(4, 5);
        assert_eq!(made.len(), 2, "8 of 10 entries folded, 2 left over");
        assert_eq!(made[0].0.base, ChainHead::EMPTY);
        assert_eq!(made[0].0.end, m.entries[3].end);
        assert_eq!(made[1].0.base, m.entries[4].base);
        assert!(made.iter().all(|(p, _)| p.count == 4 && p.epoch == 5));
        assert_eq!(made[0].1.len(), PART_FIXED_LEN + 4 * ENTRY_LEN + 4);
        let bytes = m.encode();
        assert_eq!(bytes[8..12], VERSION.to_le_bytes());
        assert_eq!(
            bytes.len(),
            FIXED_LEN + 4 + 2 * PART_REF_LEN + 2 * ENTRY_LEN + 4
        );
        assert_eq!(read_back(&bytes, &made), Ok(m.clone()));
        // Nothing more to fold until another whole part is unfolded.
        assert!(m.clone().fold(4, 6).is_empty());
        m.entries.extend(long(12).entries.split_off(10));
        let more = m.fold(4, 6);
        assert_eq!(more.len(), 1);
        let all: Vec<_> = made.into_iter().chain(more).collect();
        assert_eq!(read_back(&m.encode(), &all), Ok(m));
        // Without parts: a part count of 0.
        assert_eq!(long(3).encode().len(), FIXED_LEN + 4 + 3 * ENTRY_LEN + 4);
    }

    #[test]
    fn a_prune_drops_whole_parts_and_cuts_through_one() {
        let mut m = long(10);
        let made = m.fold(4, 5);
        let at = m.entries[5].base;
        let (dropped, gone) = m.prune_to(at);
        assert_eq!(dropped.len(), 5);
        assert_eq!(gone, vec![made[0].0.clone()]);
        assert_eq!(m.parts, vec![made[1].0.clone()]);
        assert_eq!(m.entries.len(), 5);
        assert_eq!(read_back(&m.encode(), &made), Ok(m.clone()));
        // Folding goes on after the part the prune cut through.
        m.entries.extend(long(14).entries.split_off(10));
        let more = m.fold(4, 6);
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].0.base, m.entries[3].base);
        let all: Vec<_> = made.into_iter().chain(more).collect();
        assert_eq!(read_back(&m.encode(), &all), Ok(m.clone()));
        // A prune to a part's end drops it; to the manifest's end, all.
        let end = m.end();
        let (_, gone) = m.prune_to(end);
        assert_eq!(gone.len(), 2);
        assert!(m.parts.is_empty() && m.entries.is_empty());
        assert_eq!(read_back(&m.encode(), &[]), Ok(m));
    }

    #[test]
    fn damaged_or_mismatched_parts_are_refused() {
        let mut m = long(9);
        let made = m.fold(4, 5);
        let bytes = m.encode();
        let (part, part_bytes) = &made[0];
        // Any flipped bit: the SHA-256 differs.
        let mut bad = part_bytes.clone();
        bad[30] ^= 1;
        assert!(decode_part(&bad, 7, part).unwrap_err().contains("SHA-256"));
        // Another part's bytes under this reference.
        assert!(decode_part(&made[1].1, 7, part).is_err());
        // A reference whose count or end is not the object's.
        let mut wrong = part.clone();
        wrong.count = 3;
        assert!(decode_part(part_bytes, 7, &wrong).is_err());
        // A part of another stream.
        assert!(decode_part(part_bytes, 8, part)
            .unwrap_err()
            .contains("stream 7"));
        // Entries given for a manifest that are not its parts'.
        let object = ManifestObject::decode(&bytes, 7).unwrap();
        let swapped = vec![
            decode_part(&made[1].1, 7, &made[1].0).unwrap(),
            decode_part(&made[0].1, 7, &made[0].0).unwrap(),
        ];
        assert!(object.clone().assemble(swapped).is_err());
        assert!(object.assemble(Vec::new()).is_err());
        // Every flipped bit of the manifest object itself is refused.
        for i in [8, 12, 80, 84, 100, 84 + PART_REF_LEN, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(read_back(&bad, &made).is_err(), "flip at {i} accepted");
        }
        // Parts out of order, and a first offset outside the first part,
        // even with a good CRC.
        let mut reordered = m.clone();
        reordered.parts.swap(0, 1);
        assert!(ManifestObject::decode(&reordered.encode(), 7).is_err());
        let mut outside = m.clone();
        outside.first = m.entries[4].base;
        outside.entries.drain(..4);
        assert!(ManifestObject::decode(&outside.encode(), 7)
            .unwrap_err()
            .contains("not inside the first part"));
        // A manifest too short for its fields.
        let mut short = bytes[..FIXED_LEN - 8].to_vec();
        let crc = crc32fast::hash(&short);
        short.extend_from_slice(&crc.to_le_bytes());
        assert!(ManifestObject::decode(&short, 7).is_err());
    }

    /// `m` as a manifest of version 1 (no parts) or 2 wrote it, with the
    /// parts `m.fold` made as version-1 parts: entries without rules.
    fn encode_plain(m: &Manifest, version: u32, parts: &[PartRef]) -> Vec<u8> {
        let mut b = m.encode();
        b.truncate(FIXED_LEN);
        b[8..12].copy_from_slice(&version.to_le_bytes());
        if version == VERSION_WITH_PARTS {
            b.extend_from_slice(&(parts.len() as u32).to_le_bytes());
            for p in parts {
                put_head(&mut b, &p.base);
                put_head(&mut b, &p.end);
                b.extend_from_slice(&p.count.to_le_bytes());
                b.extend_from_slice(&p.epoch.to_le_bytes());
                b.extend_from_slice(&p.sha256);
            }
        }
        put_plain_entries(&mut b, &m.entries[m.folded()..]);
        sealed(b)
    }

    /// Entries as versions before rules wrote them.
    fn put_plain_entries(b: &mut Vec<u8>, entries: &[ManifestEntry]) {
        for e in entries {
            let at = b.len();
            put_entry(b, e);
            b.truncate(at + ENTRY_LEN_PLAIN);
        }
    }

    /// `b` followed by its CRC32.
    fn sealed(mut b: Vec<u8>) -> Vec<u8> {
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn manifests_and_parts_written_before_rules_read_without_them() {
        let plain = |m: &Manifest| {
            let mut m = m.clone();
            m.entries.iter_mut().for_each(|e| e.rules = None);
            m
        };
        let m = sample();
        let bytes = encode_plain(&m, VERSION_PLAIN, &[]);
        assert_eq!(bytes.len(), FIXED_LEN + 2 * ENTRY_LEN_PLAIN + 4);
        assert_eq!(Manifest::decode(&bytes, 7), Ok(plain(&m)));

        // Version 2 naming version-1 parts: the parts' objects rebuilt as
        // they were written then.
        let mut m = long(10);
        m.fold(4, 5);
        let mut old = plain(&m);
        old.parts.clear();
        let mut parts = Vec::new();
        for chunk in old.entries[..8].chunks(4) {
            let mut b = PART_MAGIC.to_vec();
            b.extend_from_slice(&PART_VERSION_PLAIN.to_le_bytes());
            b.extend_from_slice(&4u32.to_le_bytes());
            b.extend_from_slice(&7u64.to_le_bytes());
            put_plain_entries(&mut b, chunk);
            let b = sealed(b);
            let part = PartRef {
                base: chunk[0].base,
                end: chunk[3].end,
                count: 4,
                epoch: 5,
                sha256: Sha256::digest(&b).into(),
            };
            parts.push((part, b));
        }
        old.parts = parts.iter().map(|(p, _)| p.clone()).collect();
        let bytes = encode_plain(&old, VERSION_WITH_PARTS, &old.parts);
        assert_eq!(read_back(&bytes, &parts), Ok(old.clone()));

        // A new writer goes on from it: its new entries carry rules, the
        // old parts stay as they are.
        let mut next = old.clone();
        next.entries.extend(long(14).entries.split_off(10));
        let made = next.fold(4, 6);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].1[8..12], PART_VERSION.to_le_bytes());
        let all: Vec<_> = parts.into_iter().chain(made).collect();
        let back = read_back(&next.encode(), &all).expect("reads");
        assert_eq!(back, next);
        assert!(back.entries[..10].iter().all(|e| e.rules.is_none()));
        assert!(back.entries[10..].iter().all(|e| e.rules.is_some()));
    }

    #[test]
    fn rules_no_segment_header_could_hold_are_refused() {
        let mut m = sample();
        m.entries[0].rules = Some(SegmentRules {
            max_event_size: 0,
            checkpoint_interval: 5,
            timed: false,
        });
        assert!(Manifest::decode(&m.encode(), 7)
            .unwrap_err()
            .contains("entry 0 records rules no segment header has"));
        // An unknown flag bit, with a good CRC.
        let mut bytes = sample().encode();
        let flags_at = FIXED_LEN + 4 + ENTRY_LEN - 4;
        bytes[flags_at] |= 2;
        bytes.truncate(bytes.len() - 4);
        assert!(Manifest::decode(&sealed(bytes), 7)
            .unwrap_err()
            .contains("flags hold an unknown bit"));
    }
}
