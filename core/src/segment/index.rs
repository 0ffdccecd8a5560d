//! The index file of a sealed segment: where its checkpoints are, and
//! where it ends. The tail marker of an active segment (`super::tail`) uses
//! the same encoding with its own magic and one more field.
//!
//! ```text
//! 0   [8]  magic "STRATIDX"
//! 8   u32  format version (1)
//! 12  u32  entry count n
//! 16  u64  stream id
//! 24  u64  base offset
//! 32  u64  end offset (one past the segment's last event)
//! 40  [32] end hash (chain hash of the segment's last event)
//! 72  u64  segment length in bytes when sealed
//! 80  n × (u64 checkpoint offset, u64 byte position of the checkpoint record)
//! ..  u32  CRC32 of everything before it
//! ```
//! The index is a cache: nothing a reader returns comes from it. Every
//! field is checked before use (the length against the file, the end
//! against the next segment's base, the entries' shape here, each entry
//! against the record it points at when used), and an index that fails is
//! ignored and its entries rebuilt by walking the segment.

use super::header::SegmentRules;
use crate::hash::{ChainHead, Hash};

pub const MAGIC: [u8; 8] = *b"STRATIDX";
const VERSION: u32 = 1;
/// Bytes before the entries (of an index; a tail marker has `extra` more).
const FIXED_LEN: usize = 80;

/// A checkpoint: the record at `pos` starts the chain at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub offset: u64,
    pub pos: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentIndex {
    pub stream: u64,
    pub base_offset: u64,
    pub end_offset: u64,
    pub end_hash: Hash,
    pub segment_len: u64,
    pub entries: Vec<IndexEntry>,
}

impl SegmentIndex {
    /// The chain head where the segment ends (index) or where its
    /// known-good prefix ends (tail marker).
    pub fn end(&self) -> ChainHead {
        ChainHead {
            next_offset: self.end_offset,
            hash: self.end_hash,
        }
    }

    /// Whether the entries have the only shape a writer produces: strictly
    /// ascending by offset and position, every one in `[records_start,
    /// end_pos)`, and, in a segment that records its checkpoint interval
    /// (`rules`), exactly the offsets that interval puts a checkpoint
    /// before between the base and the end offset (so an index or marker
    /// cannot leave a checkpoint out unnoticed). Positions are checked only
    /// when an entry is used.
    pub fn entries_plausible(
        &self,
        rules: Option<SegmentRules>,
        records_start: u64,
        end_pos: u64,
    ) -> bool {
        let inside = self
            .entries
            .iter()
            .all(|e| e.pos >= records_start && e.pos < end_pos && e.offset >= self.base_offset);
        let ascending = self
            .entries
            .windows(2)
            .all(|w| w[0].offset < w[1].offset && w[0].pos < w[1].pos);
        let placed = match rules {
            None => true,
            Some(rules) => {
                let k = rules.checkpoint_interval;
                due_offsets(k, self.base_offset, self.end_offset).is_some_and(|(first, count)| {
                    count == self.entries.len() as u64
                        && self.entries.iter().zip(0u64..).all(|(e, i)| {
                            i.checked_mul(k).and_then(|d| first.checked_add(d)) == Some(e.offset)
                        })
                })
            }
        };
        inside && ascending && placed
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(MAGIC, &[])
    }

    /// Decodes an index file; `None` for anything but a well-formed index of
    /// this segment.
    pub fn decode(b: &[u8], stream: u64, base_offset: u64) -> Option<Self> {
        Self::decode_as(b, MAGIC, 0, stream, base_offset).map(|(index, _)| index)
    }

    /// The encoding with `magic` and the fields `extra` after the segment
    /// length (for the tail marker).
    pub(super) fn encode_as(&self, magic: [u8; 8], extra: &[u64]) -> Vec<u8> {
        let fixed = FIXED_LEN + extra.len() * 8;
        let mut b = Vec::with_capacity(fixed + self.entries.len() * 16 + 4);
        b.extend_from_slice(&magic);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.stream.to_le_bytes());
        b.extend_from_slice(&self.base_offset.to_le_bytes());
        b.extend_from_slice(&self.end_offset.to_le_bytes());
        b.extend_from_slice(&self.end_hash);
        b.extend_from_slice(&self.segment_len.to_le_bytes());
        for x in extra {
            b.extend_from_slice(&x.to_le_bytes());
        }
        for e in &self.entries {
            b.extend_from_slice(&e.offset.to_le_bytes());
            b.extend_from_slice(&e.pos.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes what `encode_as(magic, ..)` wrote with `extra` fields;
    /// `None` for anything but a well-formed file of this segment.
    pub(super) fn decode_as(
        b: &[u8],
        magic: [u8; 8],
        extra: usize,
        stream: u64,
        base_offset: u64,
    ) -> Option<(Self, Vec<u64>)> {
        let fixed = FIXED_LEN + extra * 8;
        let (body, crc) = b.split_last_chunk::<4>()?;
        if body.len() < fixed || crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return None;
        }
        let long = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
        if body[0..8] != magic || body[8..12] != VERSION.to_le_bytes() {
            return None;
        }
        let count = u32::from_le_bytes(body[12..16].try_into().ok()?) as usize;
        if body.len() != fixed + count.checked_mul(16)? {
            return None;
        }
        let extra = (0..extra)
            .map(|i| long(FIXED_LEN + i * 8))
            .collect::<Option<Vec<_>>>()?;
        let mut end_hash = [0u8; 32];
        end_hash.copy_from_slice(&body[40..72]);
        let index = SegmentIndex {
            stream: long(16)?,
            base_offset: long(24)?,
            end_offset: long(32)?,
            end_hash,
            segment_len: long(72)?,
            entries: (0..count)
                .map(|i| {
                    let at = fixed + i * 16;
                    Some(IndexEntry {
                        offset: long(at)?,
                        pos: long(at + 8)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        };
        (index.stream == stream && index.base_offset == base_offset).then_some((index, extra))
    }
}

/// The first offset in `[base, end)` before which interval `k` puts a
/// checkpoint, and how many such offsets there are (the first means nothing
/// when there are none). `None` for an interval of 0, which no header has.
fn due_offsets(k: u64, base: u64, end: u64) -> Option<(u64, u64)> {
    if k == 0 {
        return None;
    }
    let first = base.max(1).div_ceil(k).checked_mul(k)?;
    let count = if first >= end {
        0
    } else {
        (end - 1 - first) / k + 1
    };
    Some((first, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_damage() {
        let index = SegmentIndex {
            stream: 1,
            base_offset: 10,
            end_offset: 30,
            end_hash: [4; 32],
            segment_len: 999,
            entries: vec![IndexEntry {
                offset: 20,
                pos: 500,
            }],
        };
        let b = index.encode();
        assert_eq!(SegmentIndex::decode(&b, 1, 10), Some(index.clone()));
        assert_eq!(SegmentIndex::decode(&b, 2, 10), None);
        assert_eq!(SegmentIndex::decode(&b, 1, 11), None);
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 1;
            assert_eq!(SegmentIndex::decode(&bad, 1, 10), None, "byte {i}");
        }
        assert_eq!(SegmentIndex::decode(&b[..b.len() - 1], 1, 10), None);
        // With other magic and extra fields (the tail marker's encoding).
        let other = *b"STRATTAL";
        let t = index.encode_as(other, &[77]);
        assert_eq!(t.len(), b.len() + 8);
        assert_eq!(
            SegmentIndex::decode_as(&t, other, 1, 1, 10),
            Some((index.clone(), vec![77]))
        );
        assert_eq!(SegmentIndex::decode(&t, 1, 10), None);
        assert_eq!(SegmentIndex::decode_as(&t, other, 0, 1, 10), None);
        assert_eq!(SegmentIndex::decode_as(&b, other, 0, 1, 10), None);
    }

    #[test]
    fn plausible_entries_only() {
        let entry = |offset, pos| IndexEntry { offset, pos };
        let mut index = SegmentIndex {
            stream: 1,
            base_offset: 10,
            end_offset: 30,
            end_hash: [4; 32],
            segment_len: 999,
            entries: vec![entry(12, 100), entry(16, 300)],
        };
        assert!(index.entries_plausible(None, 80, 999));
        assert!(
            !index.entries_plausible(None, 120, 999),
            "before the records"
        );
        assert!(
            !index.entries_plausible(None, 80, 300),
            "at or past the end"
        );
        index.entries = vec![entry(16, 100), entry(12, 300)];
        assert!(!index.entries_plausible(None, 80, 999), "offsets descend");
        index.entries = vec![entry(12, 100), entry(16, 50)];
        assert!(!index.entries_plausible(None, 10, 999), "positions descend");
        index.entries = vec![entry(9, 100)];
        assert!(!index.entries_plausible(None, 80, 999), "before the base");

        // With an interval of 4 in [10, 30): exactly 12, 16, 20, 24, 28.
        let rules = Some(SegmentRules {
            max_event_size: 100,
            checkpoint_interval: 4,
            timed: false,
        });
        let all: Vec<IndexEntry> = [12, 16, 20, 24, 28]
            .iter()
            .zip(1u64..)
            .map(|(&o, i)| entry(o, 100 * i))
            .collect();
        index.entries = all.clone();
        assert!(index.entries_plausible(rules, 80, 999));
        index.entries = all[1..].to_vec();
        assert!(!index.entries_plausible(rules, 80, 999), "one left out");
        index.entries = vec![entry(13, 100)];
        assert!(!index.entries_plausible(rules, 80, 999), "off the interval");
        index.end_offset = 12;
        index.entries = Vec::new();
        assert!(index.entries_plausible(rules, 80, 999), "none due");
        index.base_offset = 0;
        index.end_offset = 5;
        index.entries = vec![entry(4, 100)];
        assert!(index.entries_plausible(rules, 80, 999), "none at 0");
        assert_eq!(due_offsets(4, 0, 4), Some((4, 0)));
        assert_eq!(due_offsets(4, 4, 5), Some((4, 1)));
        assert_eq!(due_offsets(0, 4, 5), None);
        assert_eq!(
            due_offsets(u64::MAX, u64::MAX - 1, u64::MAX),
            Some((u64::MAX, 0))
        );
        assert_eq!(due_offsets(2, u64::MAX, u64::MAX), None);
    }
}
