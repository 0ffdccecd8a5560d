//! A stream's tree as a static C2SP tlog-tiles directory:
//!
//! ```text
//! checkpoint                   the signed checkpoint
//! tile/<L>/<N>[.p/<W>]         256 hashes per full tile, level L
//! tile/entries/<N>[.p/<W>]     bundles of big-endian u16 length-prefixed entries
//! ```
//!
//! The entries are the 40-byte leaf data `u64_le(n) || h(n)`. The
//! directory is written outside the store, with plain file writes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use crate::hash::Hash;
use crate::merkle::{self, proof::Subtrees};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
const TILE_HEIGHT: u32 = 8;

/// `<N>` as tlog-tiles spells it: 3-digit groups, all but the last with `x`.
pub fn tile_index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The path of tile `n` at `level` (`None`: the entry bundle) of width `width`.
pub fn tile_path(level: Option<u32>, n: u64, width: u64) -> String {
    let level = level.map_or_else(|| "entries".to_owned(), |l| l.to_string());
    let mut path = format!("tile/{level}/{}", tile_index_path(n));
    if width < TILE_WIDTH {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

fn write(dest: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path: PathBuf = dest.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
    }
    fs::write(&path, bytes).context(|| format!("writing {}", path.display()))
}

/// Writes the signed checkpoint as `<dest>/checkpoint`.
pub fn write_checkpoint(dest: &Path, note: &str) -> Result<()> {
    write(dest, "checkpoint", note.as_bytes())
}

/// Writes the tiles of a tree of `size` leaves as its entries arrive.
#[derive(Debug)]
pub struct TileWriter {
    dest: PathBuf,
    size: u64,
    added: u64,
    bundle: Vec<u8>,
    leaves: Vec<u8>,
}

impl TileWriter {
    pub fn new(dest: &Path, size: u64) -> Result<TileWriter> {
        fs::create_dir_all(dest).context(|| format!("creating {}", dest.display()))?;
        Ok(TileWriter {
            dest: dest.to_owned(),
            size,
            added: 0,
            bundle: Vec::new(),
            leaves: Vec::new(),
        })
    }

    /// Adds the next entry (its leaf data).
    pub fn add_entry(&mut self, entry: &[u8]) -> Result<()> {
        self.bundle
            .extend_from_slice(&(entry.len() as u16).to_be_bytes());
        self.bundle.extend_from_slice(entry);
        self.leaves.extend_from_slice(&merkle::leaf_hash(entry));
        self.added += 1;
        if self.added.is_multiple_of(TILE_WIDTH) || self.added == self.size {
            let n = (self.added - 1) / TILE_WIDTH;
            let width = self.added - n * TILE_WIDTH;
            write(&self.dest, &tile_path(None, n, width), &self.bundle)?;
            write(&self.dest, &tile_path(Some(0), n, width), &self.leaves)?;
            self.bundle.clear();
            self.leaves.clear();
        }
        Ok(())
    }

    /// Writes the tiles above level 0 from the tree's subtree hashes.
    pub fn finish(&mut self, src: &mut dyn Subtrees) -> Result<()> {
        for level in 1..64u32 {
            let Some(count) = self
                .size
                .checked_shr(TILE_HEIGHT * level)
                .filter(|c| *c > 0)
            else {
                break;
            };
            for n in 0..count.div_ceil(TILE_WIDTH) {
                let first = n * TILE_WIDTH;
                let last = (first + TILE_WIDTH).min(count);
                let mut hashes = Vec::with_capacity(((last - first) * 32) as usize);
                for i in first..last {
                    let hash: Hash = src.subtree(TILE_HEIGHT * level, i)?;
                    hashes.extend_from_slice(&hash);
                }
                write(
                    &self.dest,
                    &tile_path(Some(level), n, last - first),
                    &hashes,
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_the_spec_spells_them() {
        assert_eq!(tile_index_path(1234067), "x001/x234/067");
        assert_eq!(tile_index_path(0), "000");
        assert_eq!(tile_index_path(1000), "x001/000");
        assert_eq!(tile_path(Some(0), 5, 256), "tile/0/005");
        assert_eq!(tile_path(Some(2), 1234067, 17), "tile/2/x001/x234/067.p/17");
        assert_eq!(tile_path(None, 0, 112), "tile/entries/000.p/112");
    }
}
