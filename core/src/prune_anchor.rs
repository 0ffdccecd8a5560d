//! The prune anchor: what a stream keeps of the events a prune removed.
//!
//! One small file per pruned stream, `streams/<stream:020>/ANCHOR`
//! (docs/FORMAT.md, "Prune anchor"), replaced atomically and durably
//! before any segment goes. It holds the new first offset `F`, the chain
//! hash `h(F - 1)` the first retained segment must start from, and the
//! roots of the perfect Merkle subtrees that cover `[0, F)`, which is all
//! the tree needs of the pruned range to keep every proof about a retained
//! event what it was.
//!
//! Invariants kept here:
//! - A file that fails any check is `Corruption`, never "not pruned": a
//!   stream whose first segment does not start at 0 needs an anchor that
//!   accounts for the gap.
//! - The roots are exactly one per set bit of `F`, largest subtree first.

use crate::error::{Error, IoContext, Result};
use crate::hash::{ChainHead, Hash};
use crate::io::StorageDir;
use crate::layout;

const MAGIC: &[u8; 8] = b"STRATANC";
const VERSION: u32 = 1;
/// magic, version, root count, stream, first offset, hash before it.
const FIXED_LEN: usize = 8 + 4 + 4 + 8 + 8 + 32;

/// Where a pruned stream now starts, and the Merkle subtree roots covering
/// what was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneAnchor {
    pub stream: u64,
    /// `(F, h(F - 1))`: the first retained offset and the chain hash
    /// before it.
    pub first: ChainHead,
    /// RFC 6962 hashes of the perfect subtrees covering `[0, F)`, largest
    /// first: one per set bit of `F`.
    pub roots: Vec<Hash>,
}

/// The leaf ranges `[start, end)` the roots of an anchor at `first` cover,
/// largest first.
pub fn covering_ranges(first: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::with_capacity(first.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let size = 1u64 << level;
        if first & size != 0 {
            ranges.push((start, start + size));
            start += size;
        }
    }
    ranges
}

impl PruneAnchor {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + 32 * self.roots.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.roots.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.stream.to_le_bytes());
        out.extend_from_slice(&self.first.next_offset.to_le_bytes());
        out.extend_from_slice(&self.first.hash);
        for root in &self.roots {
            out.extend_from_slice(root);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The anchor a file holds, after checking every field against what
    /// the file of `stream` must be.
    pub fn decode(bytes: &[u8], stream: u64) -> std::result::Result<PruneAnchor, String> {
        if bytes.len() < FIXED_LEN + 4 {
            return Err(format!("{} bytes, shorter than any anchor", bytes.len()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&body[at..at + 4]);
            u32::from_le_bytes(b)
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut want_crc = [0u8; 4];
        want_crc.copy_from_slice(crc);
        if crc32fast::hash(body) != u32::from_le_bytes(want_crc) {
            return Err("CRC mismatch".into());
        }
        if &body[..8] != MAGIC {
            return Err("bad magic".into());
        }
        let version = u32_at(8);
        if version != VERSION {
            return Err(format!("anchor version {version} is not supported"));
        }
        let count = u32_at(12) as usize;
        if u64_at(16) != stream {
            return Err(format!("belongs to stream {}", u64_at(16)));
        }
        let first = u64_at(24);
        if first == 0 {
            return Err("names first offset 0, which nothing was pruned before".into());
        }
        if count != first.count_ones() as usize {
            return Err(format!(
                "holds {count} subtree roots, but first offset {first} needs {}",
                first.count_ones()
            ));
        }
        if body.len() != FIXED_LEN + 32 * count {
            return Err(format!(
                "{} bytes, expected {}",
                bytes.len(),
                FIXED_LEN + 32 * count + 4
            ));
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&body[32..64]);
        let roots = body[FIXED_LEN..]
            .chunks_exact(32)
            .map(|c| {
                let mut root = [0u8; 32];
                root.copy_from_slice(c);
                root
            })
            .collect();
        Ok(PruneAnchor {
            stream,
            first: ChainHead {
                next_offset: first,
                hash,
            },
            roots,
        })
    }
}

/// The anchor of `stream`, `None` if it was never pruned.
pub fn read(dir: &dyn StorageDir, stream: u64) -> Result<Option<PruneAnchor>> {
    let rel = layout::anchor_path(stream);
    match dir.read(&rel) {
        Ok(bytes) => PruneAnchor::decode(&bytes, stream)
            .map(Some)
            .map_err(|reason| Error::Corruption {
                stream,
                offset: 0,
                file: dir.display(&rel),
                reason: format!("prune anchor: {reason}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("reading {}", dir.display(&rel).display()),
            e,
        )),
    }
}

/// Replaces the anchor of its stream, atomically and durably.
pub fn write(dir: &dyn StorageDir, anchor: &PruneAnchor) -> Result<()> {
    let rel = layout::anchor_path(anchor.stream);
    dir.write_atomic(&rel, &anchor.encode())
        .context(|| format!("writing {}", dir.display(&rel).display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_every_check() {
        let anchor = PruneAnchor {
            stream: 7,
            first: ChainHead {
                next_offset: 0b1011,
                hash: [9; 32],
            },
            roots: vec![[1; 32], [2; 32], [3; 32]],
        };
        let bytes = anchor.encode();
        assert_eq!(bytes.len(), FIXED_LEN + 3 * 32 + 4);
        assert_eq!(PruneAnchor::decode(&bytes, 7).unwrap(), anchor);
        assert!(PruneAnchor::decode(&bytes, 8).is_err());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(PruneAnchor::decode(&bad, 7).is_err(), "byte {i}");
        }
        assert!(PruneAnchor::decode(&bytes[..bytes.len() - 1], 7).is_err());
        let short = PruneAnchor {
            roots: vec![[1; 32]],
            ..anchor
        };
        assert!(PruneAnchor::decode(&short.encode(), 7).is_err());
    }

    #[test]
    fn ranges_cover_the_prefix_largest_first() {
        assert_eq!(covering_ranges(0), vec![]);
        assert_eq!(covering_ranges(1), vec![(0, 1)]);
        assert_eq!(covering_ranges(6), vec![(0, 4), (4, 6)]);
        assert_eq!(covering_ranges(11), vec![(0, 8), (8, 10), (10, 11)]);
    }
}
