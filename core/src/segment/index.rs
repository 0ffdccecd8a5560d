//! The index file of a sealed segment, and the tail marker of an active
//! one: where a segment's checkpoints are, and a point where it is known
//! to end a committed batch.
//!
//! ```text
//! 0   [8]  magic "STRATIDX" (index) or "STRATTAL" (tail marker)
//! 8   u32  format version (1)
//! 12  u32  entry count n
//! 16  u64  stream id
//! 24  u64  base offset
//! 32  u64  end offset (one past the segment's last event)
//! 40  [32] end hash (chain hash of the segment's last event)
//! 72  u64  segment length in bytes when sealed (index), or the length of
//!          its committed, fsynced prefix (tail marker)
//! 80  n × (u64 checkpoint offset, u64 byte position of the checkpoint record)
//! ..  u32  CRC32 of everything before it
//! ```
//! Both are caches: nothing a reader returns comes from them. Every field
//! is checked before use (the end against the segment that follows or the
//! record that ends there; entries against the record they point at), and
//! a file that fails is ignored and its contents rebuilt from the segment.

use crate::hash::{ChainHead, Hash};

/// Which of the two files an encoding is; they differ only in their magic,
/// so that neither is ever taken for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `<base>.idx`: the index of a sealed segment.
    Sealed,
    /// `TAIL`: the tail marker of a stream's active segment.
    Tail,
}

impl Role {
    fn magic(self) -> [u8; 8] {
        match self {
            Role::Sealed => *b"STRATIDX",
            Role::Tail => *b"STRATTAL",
        }
    }
}

const VERSION: u32 = 1;
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

    /// Whether the entries are strictly ascending, by offset and position,
    /// and every one stands in `[records_start, end_pos)`: the only shape a
    /// writer produces.
    pub fn entries_plausible(&self, records_start: u64, end_pos: u64) -> bool {
        let inside = self
            .entries
            .iter()
            .all(|e| e.pos >= records_start && e.pos < end_pos && e.offset >= self.base_offset);
        let ascending = self
            .entries
            .windows(2)
            .all(|w| w[0].offset < w[1].offset && w[0].pos < w[1].pos);
        inside && ascending
    }

    pub fn encode(&self, role: Role) -> Vec<u8> {
        let mut b = Vec::with_capacity(FIXED_LEN + self.entries.len() * 16 + 4);
        b.extend_from_slice(&role.magic());
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.stream.to_le_bytes());
        b.extend_from_slice(&self.base_offset.to_le_bytes());
        b.extend_from_slice(&self.end_offset.to_le_bytes());
        b.extend_from_slice(&self.end_hash);
        b.extend_from_slice(&self.segment_len.to_le_bytes());
        for e in &self.entries {
            b.extend_from_slice(&e.offset.to_le_bytes());
            b.extend_from_slice(&e.pos.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes an index file or tail marker; `None` for anything but a
    /// well-formed file of that role for this segment.
    pub fn decode(b: &[u8], role: Role, stream: u64, base_offset: u64) -> Option<Self> {
        let (body, crc) = b.split_last_chunk::<4>()?;
        if body.len() < FIXED_LEN || crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return None;
        }
        let long = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
        if body[0..8] != role.magic() || body[8..12] != VERSION.to_le_bytes() {
            return None;
        }
        let count = u32::from_le_bytes(body[12..16].try_into().ok()?) as usize;
        if body.len() != FIXED_LEN + count.checked_mul(16)? {
            return None;
        }
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
                    let at = FIXED_LEN + i * 16;
                    Some(IndexEntry {
                        offset: long(at)?,
                        pos: long(at + 8)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        };
        (index.stream == stream && index.base_offset == base_offset).then_some(index)
    }
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
        for role in [Role::Sealed, Role::Tail] {
            let other = if role == Role::Sealed {
                Role::Tail
            } else {
                Role::Sealed
            };
            let b = index.encode(role);
            assert_eq!(SegmentIndex::decode(&b, role, 1, 10), Some(index.clone()));
            assert_eq!(SegmentIndex::decode(&b, other, 1, 10), None);
            assert_eq!(SegmentIndex::decode(&b, role, 2, 10), None);
            assert_eq!(SegmentIndex::decode(&b, role, 1, 11), None);
            for i in 0..b.len() {
                let mut bad = b.clone();
                bad[i] ^= 1;
                assert_eq!(SegmentIndex::decode(&bad, role, 1, 10), None, "byte {i}");
            }
            assert_eq!(SegmentIndex::decode(&b[..b.len() - 1], role, 1, 10), None);
        }
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
        assert!(index.entries_plausible(80, 999));
        assert!(!index.entries_plausible(120, 999), "before the records");
        assert!(!index.entries_plausible(80, 300), "at or past the end");
        index.entries = vec![entry(16, 100), entry(12, 300)];
        assert!(!index.entries_plausible(80, 999), "offsets descend");
        index.entries = vec![entry(12, 300), entry(16, 100)];
        assert!(!index.entries_plausible(80, 999), "positions descend");
        index.entries = vec![entry(9, 100)];
        assert!(!index.entries_plausible(80, 999), "before the base");
    }
}
