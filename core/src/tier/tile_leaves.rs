//! Leaf hashes read back from the level-0 tiles a stream's tree has in the
//! bucket (`tiles.rs` puts them): the leaves of events a prune removed,
//! for a tree that has no local files of them (a reader of the bucket, or
//! a writer that continues the stream on another machine).
//!
//! Nothing read here is trusted: the tree that takes these leaves checks
//! them against the roots its prune anchor records before it serves any
//! of them (`tree::StreamTree::load`).

use std::io;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::tiles::{tile_path, TILE_WIDTH};

use super::Tier;

/// Tiles asked for at once (2 MiB of full tiles).
const GET_BATCH: usize = 256;

/// Hands `each` the leaf hashes of `stream`'s first `end` events in order,
/// a batch of tiles at a time (so memory stays bounded however many). The
/// last tile may be partial: if its full tile is not up, the widest
/// partial tile that reaches `end` serves. A missing tile is `Io`
/// (`NotFound`); one too short for what it must hold is `Corruption`.
pub(crate) fn leaf_hashes(
    tier: &dyn Tier,
    stream: u64,
    end: u64,
    each: &mut dyn FnMut(Hash) -> Result<()>,
) -> Result<()> {
    let tiles = end.div_ceil(TILE_WIDTH);
    let mut n = 0;
    while n < tiles {
        let batch: Vec<u64> = (n..tiles.min(n + GET_BATCH as u64)).collect();
        let keys = batch.iter().map(|&t| key(stream, t, TILE_WIDTH)).collect();
        for (&t, got) in batch.iter().zip(tier.get_all(keys)) {
            let wanted = (end - t * TILE_WIDTH).min(TILE_WIDTH);
            let got = match got {
                Ok(Some(object)) => Ok(object.bytes),
                Ok(None) if wanted < TILE_WIDTH => partial(tier, stream, t, wanted),
                Ok(None) => Err(missing(stream, t, wanted)),
                Err(e) => Err(e),
            };
            let bytes = got.map_err(|e| {
                Error::io(
                    format!(
                        "reading level-0 tile {t} of stream {stream} from {}",
                        tier.url()
                    ),
                    e,
                )
            })?;
            let hashes = take_hashes(&bytes, wanted).map_err(|reason| Error::Corruption {
                stream,
                offset: t * TILE_WIDTH,
                file: format!("{}/{}", tier.url(), key(stream, t, TILE_WIDTH)).into(),
                reason,
            })?;
            for hash in hashes {
                each(hash)?;
            }
        }
        n += batch.len() as u64;
    }
    Ok(())
}

fn key(stream: u64, n: u64, width: u64) -> String {
    format!("streams/{stream:020}/{}", tile_path(Some(0), n, width))
}

/// The bytes of the widest partial tile `n` holding at least `wanted`
/// leaves.
fn partial(tier: &dyn Tier, stream: u64, n: u64, wanted: u64) -> io::Result<Vec<u8>> {
    let full = key(stream, n, TILE_WIDTH);
    let widths = tier.list_objects(&format!("{full}.p"))?;
    let widest = widths
        .iter()
        .filter_map(|w| w.parse::<u64>().ok())
        .filter(|&w| w >= wanted && w < TILE_WIDTH)
        .max();
    let Some(width) = widest else {
        return Err(missing(stream, n, wanted));
    };
    match tier.get(&key(stream, n, width))? {
        Some(object) => Ok(object.bytes),
        None => Err(missing(stream, n, wanted)),
    }
}

/// The first `wanted` hashes of a tile's bytes.
fn take_hashes(bytes: &[u8], wanted: u64) -> std::result::Result<Vec<Hash>, String> {
    let need = usize::try_from(wanted).map_err(|e| e.to_string())? * 32;
    if !bytes.len().is_multiple_of(32) || bytes.len() < need {
        return Err(format!(
            "a level-0 tile of {} bytes where {wanted} hashes were wanted",
            bytes.len()
        ));
    }
    Ok(bytes[..need]
        .chunks_exact(32)
        .map(|hash| {
            let mut leaf = [0u8; 32];
            leaf.copy_from_slice(hash);
            leaf
        })
        .collect())
}

fn missing(stream: u64, n: u64, wanted: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "the bucket has no level-0 tile {n} of stream {stream} with {wanted} leaves (its tiles may not have caught up yet)"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tier::memory::MemoryTier;

    fn tile(first: u8, width: u64) -> Vec<u8> {
        (0..width)
            .flat_map(|i| [first.wrapping_add(i as u8); 32])
            .collect()
    }

    fn all(tier: &MemoryTier, stream: u64, end: u64) -> Result<Vec<Hash>> {
        let mut leaves = Vec::new();
        leaf_hashes(tier, stream, end, &mut |leaf| {
            leaves.push(leaf);
            Ok(())
        })?;
        Ok(leaves)
    }

    #[test]
    fn full_tiles_then_the_widest_partial_tile_that_reaches_the_end() {
        let tier = MemoryTier::new();
        tier.put(&key(3, 0, 256), tile(0, 256)).unwrap();
        tier.put(&key(3, 1, 10), tile(100, 10)).unwrap();
        tier.put(&key(3, 1, 40), tile(100, 40)).unwrap();
        tier.put(&key(3, 1, 90), tile(100, 90)).unwrap();
        let leaves = all(&tier, 3, 256 + 30).unwrap();
        assert_eq!(leaves.len(), 286);
        assert_eq!(leaves[255], [255u8; 32]);
        assert_eq!(leaves[256 + 29], [129u8; 32]);
        // Nothing wide enough, or no tile at all: NotFound, naming it.
        let not_found = |r: Result<Vec<Hash>>| match r {
            Err(Error::Io { source, context }) => {
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
                context
            }
            other => panic!("{other:?}"),
        };
        assert!(not_found(all(&tier, 3, 256 + 91)).contains("tile 1 of stream 3"));
        not_found(all(&tier, 4, 5));
        // A tile too short for what it should hold is damage.
        tier.put(&key(5, 0, 256), tile(0, 3)).unwrap();
        assert!(matches!(
            all(&tier, 5, 100),
            Err(Error::Corruption { stream: 5, .. })
        ));
    }
}
