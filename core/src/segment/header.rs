//! The fixed header at the start of every segment file.
//!
//! ```text
//! 0   [8]  magic "STRATSEG"
//! 8   u32  format version (1)
//! 12  u32  reserved, 0
//! 16  u64  stream id
//! 24  u64  base offset: offset of the first event in this segment
//! 32  [32] base hash: chain hash before the base offset
//! 64  u32  CRC32 of bytes 0..64
//! ```
//! The base hash lets the head be recovered from the last segment alone.

use crate::hash::Hash;

pub const MAGIC: [u8; 8] = *b"STRATSEG";
pub const FORMAT_VERSION: u32 = 1;
pub const LEN: usize = 68;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub stream: u64,
    pub base_offset: u64,
    pub base_hash: Hash,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[16..24].copy_from_slice(&self.stream.to_le_bytes());
        b[24..32].copy_from_slice(&self.base_offset.to_le_bytes());
        b[32..64].copy_from_slice(&self.base_hash);
        let crc = crc32fast::hash(&b[..64]);
        b[64..68].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header, expecting the given stream and base.
    pub fn decode(b: &[u8], stream: u64, base_offset: u64) -> Result<Self, String> {
        if b.len() < LEN {
            return Err(format!("segment shorter than its {LEN}-byte header"));
        }
        if b[0..8] != MAGIC {
            return Err("not a segment file (bad magic)".into());
        }
        let word = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        if crc32fast::hash(&b[..64]) != word(64) {
            return Err("segment header checksum mismatch".into());
        }
        let version = word(8);
        if version != FORMAT_VERSION {
            return Err(format!("unsupported segment format version {version}"));
        }
        if word(12) != 0 {
            return Err("segment header reserved field is not zero".into());
        }
        let long = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let mut base_hash = [0u8; 32];
        base_hash.copy_from_slice(&b[32..64]);
        let header = SegmentHeader {
            stream: long(16),
            base_offset: long(24),
            base_hash,
        };
        if header.stream != stream {
            return Err(format!("segment belongs to stream {}", header.stream));
        }
        if header.base_offset != base_offset {
            return Err(format!(
                "segment header says base offset {}, its name says {base_offset}",
                header.base_offset
            ));
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let h = SegmentHeader {
            stream: 3,
            base_offset: 100,
            base_hash: [9; 32],
        };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b, 3, 100).unwrap(), h);
        assert!(SegmentHeader::decode(&b, 4, 100).is_err());
        assert!(SegmentHeader::decode(&b, 3, 101).is_err());
        assert!(SegmentHeader::decode(&b[..60], 3, 100).is_err());
        for i in 0..LEN {
            let mut bad = b;
            bad[i] ^= 0x10;
            assert!(SegmentHeader::decode(&bad, 3, 100).is_err(), "byte {i}");
        }
    }
}
