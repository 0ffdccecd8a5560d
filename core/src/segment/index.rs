//! The index file of a sealed segment: where its checkpoints are.
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
//! The index is a cache: it is rebuilt from the segment whenever it is
//! missing, damaged or disagrees with the segment, and an entry is used only
//! after the record it points at is checked.

use crate::hash::Hash;

pub const MAGIC: [u8; 8] = *b"STRATIDX";
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
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(FIXED_LEN + self.entries.len() * 16 + 4);
        b.extend_from_slice(&MAGIC);
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

    /// Decodes an index file; `None` for anything but a well-formed index of
    /// this segment.
    pub fn decode(b: &[u8], stream: u64, base_offset: u64) -> Option<Self> {
        let (body, crc) = b.split_last_chunk::<4>()?;
        if body.len() < FIXED_LEN || crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return None;
        }
        let long = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
        if body[0..8] != MAGIC || body[8..12] != VERSION.to_le_bytes() {
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
        let b = index.encode();
        assert_eq!(SegmentIndex::decode(&b, 1, 10), Some(index));
        assert_eq!(SegmentIndex::decode(&b, 2, 10), None);
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 1;
            assert_eq!(SegmentIndex::decode(&bad, 1, 10), None, "byte {i}");
        }
        assert_eq!(SegmentIndex::decode(&b[..b.len() - 1], 1, 10), None);
    }
}
