//! A stream's manifest: the one object that says which sealed segments the
//! bucket holds for it, in order. Only the writer holding the lease moves
//! it, by compare-and-swap.
//!
//! ```text
//! 0   [8]  magic "STRATMAN"
//! 8   u32  format version (1)
//! 12  u32  entry count n
//! 16  u64  stream id
//! 24  u64  epoch of the writer that wrote it
//! 32  u64  sequence number (+1 at every write)
//! 40  u64  first offset (where the first entry starts; 0 unless pruned)
//! 48  [32] chain hash before the first offset
//! 80  n × entry (136 bytes):
//!       u64 base offset, [32] base hash, u64 end offset, [32] end hash,
//!       u64 segment length, u64 index length, u64 epoch in the object
//!       names, [32] SHA-256 of the segment object
//! ..  u32  CRC32 of everything before it
//! ```
//! Invariants checked by every decode: the entries are contiguous (each
//! starts where the one before ends, offset and hash) from the first
//! offset, none is empty. The manifest is not trusted for content:
//! everything read through it is checked against the segments' bytes and
//! the chain, and the CRC only catches a torn or garbled object.

use crate::hash::{ChainHead, Hash};

pub const MAGIC: [u8; 8] = *b"STRATMAN";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 80;
const ENTRY_LEN: usize = 136;

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub stream: u64,
    pub epoch: u64,
    pub seq: u64,
    pub first: ChainHead,
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn empty(stream: u64) -> Self {
        Manifest {
            stream,
            epoch: 0,
            seq: 0,
            first: ChainHead::EMPTY,
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

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(FIXED_LEN + self.entries.len() * ENTRY_LEN + 4);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for x in [self.stream, self.epoch, self.seq, self.first.next_offset] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(&self.first.hash);
        for e in &self.entries {
            b.extend_from_slice(&e.base.next_offset.to_le_bytes());
            b.extend_from_slice(&e.base.hash);
            b.extend_from_slice(&e.end.next_offset.to_le_bytes());
            b.extend_from_slice(&e.end.hash);
            for x in [e.segment_len, e.index_len, e.epoch] {
                b.extend_from_slice(&x.to_le_bytes());
            }
            b.extend_from_slice(&e.segment_sha256);
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the manifest of `stream`, saying what is wrong with one
    /// that is not well formed.
    pub fn decode(b: &[u8], stream: u64) -> Result<Self, String> {
        let (body, crc) = b.split_last_chunk::<4>().ok_or("shorter than a manifest")?;
        if body.len() < FIXED_LEN || body[..8] != MAGIC {
            return Err("not a stratalog manifest".into());
        }
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err("checksum mismatch".into());
        }
        let mut r = Fields(body, 8);
        let version = r.u32();
        if version != VERSION {
            return Err(format!(
                "manifest format version {version} is not supported"
            ));
        }
        let n = r.u32() as usize;
        if n.checked_mul(ENTRY_LEN)
            .and_then(|e| e.checked_add(FIXED_LEN))
            != Some(body.len())
        {
            return Err(format!("length does not fit {n} entries"));
        }
        let found = r.u64();
        if found != stream {
            return Err(format!("manifest of stream {found}, not {stream}"));
        }
        let (epoch, seq) = (r.u64(), r.u64());
        let first = r.head();
        let mut entries: Vec<ManifestEntry> = Vec::with_capacity(n);
        for i in 0..n {
            let base = r.head();
            let end = r.head();
            let (segment_len, index_len, object_epoch) = (r.u64(), r.u64(), r.u64());
            let segment_sha256 = r.hash();
            let expected = entries.last().map_or(first, |e| e.end);
            if base != expected {
                return Err(format!(
                    "entry {i} starts at offset {} but the one before ends at {}",
                    base.next_offset, expected.next_offset
                ));
            }
            if end.next_offset <= base.next_offset {
                return Err(format!("entry {i} holds no events"));
            }
            entries.push(ManifestEntry {
                base,
                end,
                segment_len,
                index_len,
                epoch: object_epoch,
                segment_sha256,
            });
        }
        Ok(Manifest {
            stream,
            epoch,
            seq,
            first,
            entries,
        })
    }
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

    fn sample() -> Manifest {
        Manifest {
            stream: 7,
            epoch: 3,
            seq: 12,
            first: ChainHead::EMPTY,
            entries: vec![
                ManifestEntry {
                    base: ChainHead::EMPTY,
                    end: head(10, 1),
                    segment_len: 4096,
                    index_len: 100,
                    epoch: 2,
                    segment_sha256: [9; 32],
                },
                ManifestEntry {
                    base: head(10, 1),
                    end: head(25, 2),
                    segment_len: 5000,
                    index_len: 116,
                    epoch: 3,
                    segment_sha256: [8; 32],
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_finds_entries() {
        let m = sample();
        let bytes = m.encode();
        assert_eq!(bytes.len(), FIXED_LEN + 2 * ENTRY_LEN + 4);
        let back = Manifest::decode(&bytes, 7).expect("decodes");
        assert_eq!(back, m);
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
}
