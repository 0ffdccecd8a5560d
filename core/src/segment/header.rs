//! The fixed header at the start of every segment file.
//!
//! Version 2 (written by this library), 80 bytes:
//! ```text
//! 0   [8]  magic "STRATSEG"
//! 8   u32  format version (2)
//! 12  u32  max event size: no raw payload in this segment is larger
//! 16  u64  stream id
//! 24  u64  base offset: offset of the first event in this segment
//! 32  [32] base hash: chain hash before the base offset
//! 64  u64  checkpoint interval: a checkpoint precedes exactly the events
//!          whose offset is a non-zero multiple of it
//! 72  u32  flags: bit 0 = TIMED, every batch begins with a time record;
//!          other bits 0
//! 76  u32  CRC32 of bytes 0..76
//! ```
//! Version 1 (stratalog 0.1), 68 bytes: the same up to the base hash, with
//! byte 12 reserved (0) and the CRC32 of bytes 0..64 at 64. It records
//! neither rule, so readers bound its payloads by the format's maximum and
//! check its checkpoints against the chain only.
//!
//! The base hash lets the head be recovered from the last segment alone; the
//! rules let any reader check a segment without being told how it was
//! written.

use crate::hash::{ChainHead, Hash};
use crate::options::{Options, MAX_EVENT_SIZE_LIMIT};

pub const MAGIC: [u8; 8] = *b"STRATSEG";
/// The version this library writes.
pub const FORMAT_VERSION: u32 = 2;
/// Header length of the version this library writes.
pub const LEN: usize = 80;
/// Header length of a version-1 segment.
pub const LEN_V1: usize = 68;

/// How the records of a segment were written, recorded in its header so a
/// reader needs nothing else to check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRules {
    /// No raw payload in the segment is larger (at most
    /// [`MAX_EVENT_SIZE_LIMIT`], so it fits the header's u32).
    pub max_event_size: u32,
    /// A checkpoint record precedes exactly the events whose offset is a
    /// non-zero multiple of this, and no checkpoint appears anywhere else.
    pub checkpoint_interval: u64,
    /// Every batch begins with a time record, and none stands elsewhere.
    pub timed: bool,
}

/// Header flag: every batch begins with a time record.
const FLAG_TIMED: u32 = 1;

impl SegmentRules {
    /// The rules a writer with `options` follows.
    pub fn of(options: &Options) -> Self {
        SegmentRules {
            // Options::validate bounds it by MAX_EVENT_SIZE_LIMIT < u32::MAX.
            max_event_size: u32::try_from(options.max_event_size).unwrap_or(u32::MAX),
            checkpoint_interval: options.checkpoint_interval,
            timed: options.timestamps,
        }
    }

    /// The rules from a version-2 header's fields (also copied into a
    /// tier's manifest entries), or what is wrong with them.
    pub fn from_header_fields(
        max_event_size: u32,
        checkpoint_interval: u64,
        flags: u32,
    ) -> Result<Self, String> {
        if flags & !FLAG_TIMED != 0 {
            return Err("flags hold an unknown bit".into());
        }
        if max_event_size == 0 || u64::from(max_event_size) > MAX_EVENT_SIZE_LIMIT {
            return Err(format!(
                "records an invalid maximum event size {max_event_size}"
            ));
        }
        if checkpoint_interval == 0 {
            return Err("records a checkpoint interval of 0".into());
        }
        Ok(SegmentRules {
            max_event_size,
            checkpoint_interval,
            timed: flags & FLAG_TIMED != 0,
        })
    }

    /// The header's flags word for these rules.
    pub fn header_flags(&self) -> u32 {
        if self.timed {
            FLAG_TIMED
        } else {
            0
        }
    }

    /// Whether the writer puts a checkpoint record right before event
    /// `offset`.
    pub fn checkpoint_before(&self, offset: u64) -> bool {
        offset > 0 && offset.is_multiple_of(self.checkpoint_interval)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub stream: u64,
    pub base_offset: u64,
    pub base_hash: Hash,
    /// `None` for a version-1 segment, which did not record them.
    pub rules: Option<SegmentRules>,
}

impl SegmentHeader {
    /// Where the chain stands at the segment's start.
    pub fn base(&self) -> ChainHead {
        ChainHead {
            next_offset: self.base_offset,
            hash: self.base_hash,
        }
    }

    /// Bytes before the first record.
    pub fn len(&self) -> usize {
        if self.rules.is_some() {
            LEN
        } else {
            LEN_V1
        }
    }

    /// The largest raw payload a reader accepts from this segment: the
    /// recorded limit, or the format's maximum for a version-1 segment.
    pub fn event_limit(&self) -> u64 {
        self.rules
            .map_or(MAX_EVENT_SIZE_LIMIT, |r| u64::from(r.max_event_size))
    }

    /// Encodes the header: version 2 when it carries rules (everything this
    /// library creates), version 1 when it does not (tests of 0.1 stores).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.len()];
        b[0..8].copy_from_slice(&MAGIC);
        b[16..24].copy_from_slice(&self.stream.to_le_bytes());
        b[24..32].copy_from_slice(&self.base_offset.to_le_bytes());
        b[32..64].copy_from_slice(&self.base_hash);
        match self.rules {
            Some(rules) => {
                b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
                b[12..16].copy_from_slice(&rules.max_event_size.to_le_bytes());
                b[64..72].copy_from_slice(&rules.checkpoint_interval.to_le_bytes());
                b[72..76].copy_from_slice(&rules.header_flags().to_le_bytes());
            }
            None => b[8..12].copy_from_slice(&1u32.to_le_bytes()),
        }
        let body = b.len() - 4;
        let crc = crc32fast::hash(&b[..body]);
        b[body..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header of either version from the start of `b`
    /// (which may hold more), expecting the given stream and base.
    pub fn decode(b: &[u8], stream: u64, base_offset: u64) -> Result<Self, String> {
        if b.len() < LEN_V1 {
            return Err(format!("segment shorter than its {LEN_V1}-byte header"));
        }
        if b[0..8] != MAGIC {
            return Err("not a segment file (bad magic)".into());
        }
        let word = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let long = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        // The version is read before the CRC is known to be good because it
        // says where the CRC is; a damaged version fails both CRCs below.
        let version = word(8);
        let len = match version {
            1 => LEN_V1,
            2 => LEN,
            _ if crc32fast::hash(&b[..64]) == word(64)
                || (b.len() >= LEN && crc32fast::hash(&b[..76]) == word(76)) =>
            {
                return Err(format!("unsupported segment format version {version}"));
            }
            _ => return Err("segment header checksum mismatch".into()),
        };
        if b.len() < len {
            return Err(format!("segment shorter than its {len}-byte header"));
        }
        if crc32fast::hash(&b[..len - 4]) != word(len - 4) {
            return Err("segment header checksum mismatch".into());
        }
        let rules = if version == 1 {
            if word(12) != 0 {
                return Err("segment header reserved field is not zero".into());
            }
            None
        } else {
            let rules = SegmentRules::from_header_fields(word(12), long(64), word(72))
                .map_err(|e| format!("segment header {e}"))?;
            Some(rules)
        };
        let mut base_hash = [0u8; 32];
        base_hash.copy_from_slice(&b[32..64]);
        let header = SegmentHeader {
            stream: long(16),
            base_offset: long(24),
            base_hash,
            rules,
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

    fn sample() -> SegmentHeader {
        SegmentHeader {
            stream: 3,
            base_offset: 100,
            base_hash: [9; 32],
            rules: Some(SegmentRules {
                max_event_size: 64 << 20,
                checkpoint_interval: 256,
                timed: false,
            }),
        }
    }

    #[test]
    fn round_trip_and_checks() {
        let h = sample();
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b, 3, 100).unwrap(), h);
        assert_eq!(h.len(), LEN);
        assert_eq!(h.event_limit(), 64 << 20);
        assert!(SegmentHeader::decode(&b, 4, 100).is_err());
        assert!(SegmentHeader::decode(&b, 3, 101).is_err());
        assert!(SegmentHeader::decode(&b[..LEN - 1], 3, 100).is_err());
        for i in 0..LEN {
            let mut bad = b.clone();
            bad[i] ^= 0x10;
            assert!(SegmentHeader::decode(&bad, 3, 100).is_err(), "byte {i}");
        }
    }

    #[test]
    fn version_one_headers_still_read() {
        let v1 = SegmentHeader {
            rules: None,
            ..sample()
        };
        let b = v1.encode();
        assert_eq!(b.len(), LEN_V1);
        let h = SegmentHeader::decode(&b, 3, 100).unwrap();
        assert_eq!(h, v1);
        assert_eq!(h.len(), LEN_V1);
        assert_eq!(h.event_limit(), MAX_EVENT_SIZE_LIMIT);
        for i in 0..LEN_V1 {
            let mut bad = b.clone();
            bad[i] ^= 0x10;
            assert!(SegmentHeader::decode(&bad, 3, 100).is_err(), "byte {i}");
        }
    }

    #[test]
    fn recorded_rules_must_be_valid() {
        for (max, interval) in [(0u32, 256u64), (u32::MAX, 256), (1024, 0)] {
            let mut b = sample().encode();
            b[12..16].copy_from_slice(&max.to_le_bytes());
            b[64..72].copy_from_slice(&interval.to_le_bytes());
            let crc = crc32fast::hash(&b[..76]);
            b[76..80].copy_from_slice(&crc.to_le_bytes());
            assert!(
                SegmentHeader::decode(&b, 3, 100).is_err(),
                "{max} {interval}"
            );
        }
    }

    #[test]
    fn the_timed_flag_round_trips_and_unknown_flags_are_refused() {
        let timed = SegmentHeader {
            rules: sample().rules.map(|r| SegmentRules { timed: true, ..r }),
            ..sample()
        };
        let b = timed.encode();
        assert_eq!(&b[72..76], &1u32.to_le_bytes());
        assert_eq!(SegmentHeader::decode(&b, 3, 100).unwrap(), timed);
        let mut bad = b.clone();
        bad[72] = 2;
        let crc = crc32fast::hash(&bad[..76]);
        bad[76..80].copy_from_slice(&crc.to_le_bytes());
        assert!(SegmentHeader::decode(&bad, 3, 100).is_err());
    }

    #[test]
    fn checkpoint_positions_follow_the_interval() {
        let rules = SegmentRules {
            max_event_size: 1,
            checkpoint_interval: 4,
            timed: false,
        };
        let at: Vec<u64> = (0..13).filter(|&o| rules.checkpoint_before(o)).collect();
        assert_eq!(at, [4, 8, 12]);
    }
}
