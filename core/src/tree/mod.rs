//! A stream's Merkle tree, kept as derived data beside its segments.
//!
//! Invariants kept here:
//! - The tree covers a prefix `[0, size)` of the stream: whole chunks of
//!   64 leaves in the files (`files.rs`), the rest (fewer than 64 leaf
//!   hashes) in memory. Memory is O(log n): the pending leaves, the roots
//!   of the perfect subtrees that cover the stored chunks, and a few
//!   expanded chunks.
//! - Nothing is trusted over the segments. Leaves are computed from the
//!   chain as a verified read returns it. At load, the stored prefix must
//!   end with the leaf of the chain hash the stream has at that offset
//!   (else, after a power loss took events the files still describe, the
//!   tree starts over). An entry failing its CRC, or a chunk whose leaves
//!   do not hash to the root the node file holds, cuts the tree back to
//!   that chunk and rebuilds it from the segments.
//! - The writer never waits for the tree: it is brought up to date when a
//!   root or proof needs it, under its own lock.
//! - Once a prune removed the events below `F`, the chunks that cover
//!   `[0, F)` can no longer be rebuilt: they are never cut, they must
//!   hash to the roots the prune anchor records, and damage to them is
//!   `Corruption` (restore `trees/` from a backup), never a silent
//!   restart.

pub mod files;

use std::sync::Arc;

use files::{stored_count, stored_index, TreeFiles, CHUNK};

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::io::StorageDir;
use crate::merkle::{self, node_hash, proof, proof::Subtrees};
use crate::prune_anchor::{self, PruneAnchor};
use crate::stream::Stream;

const CHUNK_LEVEL: u32 = CHUNK.trailing_zeros();
/// Hashes of a chunk with every level inside it: 64 + 32 + ... + 1.
const EXPANDED: usize = 2 * CHUNK as usize - 1;
const CACHED_CHUNKS: usize = 8;

/// Where level `level`'s hashes start in an expanded chunk.
fn level_start(level: u32) -> usize {
    2 * CHUNK as usize - ((2 * CHUNK as usize) >> level)
}

fn expand(leaves: &[Hash]) -> Box<[Hash; EXPANDED]> {
    let mut all = Box::new([[0u8; 32]; EXPANDED]);
    all[..CHUNK as usize].copy_from_slice(leaves);
    for level in 1..=CHUNK_LEVEL {
        let (below, at) = (level_start(level - 1), level_start(level));
        let (children, parents) = all.split_at_mut(at);
        merkle::node_hashes(&children[below..], &mut parents[..CHUNK as usize >> level]);
    }
    all
}

/// Gives the hashes of a stream's first `n` leaves, in order, to a sink
/// (see `StreamTree::load`).
pub type PrunedLeaves<'a> = dyn Fn(u64, &mut dyn FnMut(Hash) -> Result<()>) -> Result<()> + 'a;

/// A chunk the files hold that is not what they say.
#[derive(Debug)]
struct Damaged(u64);

#[derive(Debug)]
pub struct StreamTree {
    stream: u64,
    files: TreeFiles,
    /// Whole chunks in the files.
    chunks: u64,
    /// Roots of the perfect subtrees covering the stored chunks, largest
    /// first (one per set bit of `chunks`).
    frontier: Vec<Hash>,
    /// Leaf hashes after the stored chunks.
    pending: Vec<Hash>,
    /// Recently expanded chunks, most recent last.
    cache: Vec<(u64, Box<[Hash; EXPANDED]>)>,
    /// Set when a lookup found damage.
    damaged: Option<Damaged>,
    /// Hashes of imperfect ranges (the right edges of the sizes asked
    /// for), at most `REMEMBERED_RANGES`.
    ranges: std::collections::HashMap<(u64, u64), Hash>,
    /// The stream's prune anchor, if it was pruned.
    anchor: Option<PruneAnchor>,
    /// Chunks known to be durable in the files.
    durable_chunks: u64,
}

const REMEMBERED_RANGES: usize = 1024;

impl StreamTree {
    /// The tree of `stream` as its files hold it, checked against the
    /// stream (see the invariants). Where the files lack leaves of events
    /// a prune removed, `pruned_leaves` (if any) gives the hashes of the
    /// first `n` leaves from elsewhere (the bucket's tiles); they are held
    /// to the prune anchor's roots exactly as the files would be, and
    /// never kept if they fail that.
    pub fn load(
        stream: &Stream,
        dir: Arc<dyn StorageDir>,
        pruned_leaves: Option<&PrunedLeaves<'_>>,
    ) -> Result<StreamTree> {
        let mut tree = StreamTree {
            stream: stream.id,
            files: TreeFiles::new(stream.id, dir),
            chunks: 0,
            frontier: Vec::new(),
            pending: Vec::new(),
            cache: Vec::new(),
            damaged: None,
            ranges: std::collections::HashMap::new(),
            anchor: stream.prune_anchor()?,
            durable_chunks: 0,
        };
        let mut filled = false;
        match tree.check_loaded(stream, pruned_leaves, &mut filled) {
            Ok(()) => Ok(tree),
            Err(e) => {
                if filled {
                    // The next load fetches them again, the source mended
                    // or not: never a file that lies for good.
                    let _ = tree.files.truncate(0);
                }
                Err(e)
            }
        }
    }

    fn check_loaded(
        &mut self,
        stream: &Stream,
        pruned_leaves: Option<&PrunedLeaves<'_>>,
        filled: &mut bool,
    ) -> Result<()> {
        let tree = self;
        let floor = tree.floor();
        let next_offset = stream.chain_head()?.next_offset;
        let mut chunks = tree.files.stored_chunks()?.min(next_offset / CHUNK);
        if chunks < floor {
            let Some(pruned_leaves) = pruned_leaves else {
                return Err(
                    tree.unrebuildable("the tree files do not reach the events a prune removed")
                );
            };
            *filled = true;
            tree.fill_pruned(stream, pruned_leaves)?;
            chunks = tree.chunks;
            if chunks < floor {
                return Err(tree.unrebuildable(
                    "the stream ends before the tree's last chunk of the pruned range",
                ));
            }
        }
        if chunks > 0 && !tree.last_leaf_matches(stream, chunks)? {
            chunks = floor;
        }
        tree.files.truncate(chunks)?;
        tree.chunks = chunks;
        if tree.rebuild_frontier().is_err()
            || tree.damaged.take().is_some()
            || !tree.matches_anchor()?
        {
            if floor > 0 {
                return Err(tree.unrebuildable(
                    "the tree files of the pruned range (or the bucket's tiles of it) are damaged or do not hash to the roots its prune anchor records",
                ));
            }
            tree.files.truncate(0)?;
            tree.chunks = 0;
            tree.frontier.clear();
        }
        Ok(())
    }

    /// Writes the chunks that cover the pruned range anew: the leaves
    /// below the first offset from `pruned_leaves`, the rest of the last
    /// such chunk from the events after it. `load` then checks them as it
    /// checks the files.
    fn fill_pruned(&mut self, stream: &Stream, pruned_leaves: &PrunedLeaves<'_>) -> Result<()> {
        let Some(first) = self.anchor.as_ref().map(|a| a.first.next_offset) else {
            return Ok(());
        };
        self.files.truncate(0)?;
        self.chunks = 0;
        self.frontier.clear();
        self.pending.clear();
        pruned_leaves(first, &mut |leaf| self.push_leaf(leaf))?;
        if self.size() != first {
            return Err(Error::invalid(format!(
                "{} leaf hashes of stream {} where {first} were asked for",
                self.size(),
                self.stream
            )));
        }
        let mut cursor = stream.cursor(first)?;
        while self.chunks < self.floor() {
            let Some((offset, _)) = cursor.next_event()? else {
                break;
            };
            self.push_leaf(merkle::event_leaf_hash(offset, &cursor.head().hash))?;
        }
        self.pending.clear();
        Ok(())
    }

    fn push_leaf(&mut self, leaf: Hash) -> Result<()> {
        self.pending.push(leaf);
        if self.pending.len() == CHUNK as usize {
            self.store_chunk()?;
        }
        Ok(())
    }

    /// Chunks that cover events a prune removed: never cut, never rebuilt.
    fn floor(&self) -> u64 {
        self.anchor
            .as_ref()
            .map_or(0, |a| a.first.next_offset.div_ceil(CHUNK))
    }

    fn unrebuildable(&self, what: &str) -> Error {
        Error::Corruption {
            stream: self.stream,
            offset: 0,
            file: crate::layout::tree_dir(self.stream),
            reason: format!(
                "{what}, and those events are gone, so it cannot be rebuilt: restore {} from a backup",
                crate::layout::tree_dir(self.stream).display()
            ),
        }
    }

    /// Whether the stored tree hashes to the roots the prune anchor
    /// records over the pruned range (true when there is none).
    fn matches_anchor(&mut self) -> Result<bool> {
        let Some(anchor) = self.anchor.clone() else {
            return Ok(true);
        };
        let ranges = prune_anchor::covering_ranges(anchor.first.next_offset);
        for ((start, end), root) in ranges.into_iter().zip(&anchor.roots) {
            match proof::range_hash(self, start, end) {
                Ok(hash) if hash == *root && self.damaged.is_none() => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The roots of the perfect subtrees covering `[0, first)` and the
    /// leaf hash of event `first - 1`, for the anchor of a prune to
    /// `first` (which the tree must cover whole chunks past).
    pub fn prune_roots(&mut self, stream: &Stream, first: u64) -> Result<(Vec<Hash>, Hash)> {
        let need = first.div_ceil(CHUNK) * CHUNK;
        let ranges = prune_anchor::covering_ranges(first);
        let (roots, leaf) = self.with(stream, need, |src| {
            let roots = ranges
                .iter()
                .map(|&(start, end)| proof::range_hash(src, start, end))
                .collect::<Result<Vec<_>>>()?;
            Ok((roots, proof::range_hash(src, first - 1, first)?))
        })?;
        if self.chunks * CHUNK < need {
            return Err(Error::invalid(format!(
                "the Merkle tree of stream {} is not {need} leaves long",
                self.stream
            )));
        }
        Ok((roots, leaf))
    }

    /// The leaf hash of event `offset` as the tree's files hold it, within
    /// the complete chunks (which a prune keeps for the events it removes);
    /// `None` beyond them or where a block fails its CRC.
    pub fn stored_leaf(&mut self, offset: u64) -> Result<Option<Hash>> {
        if offset >= self.chunks * CHUNK {
            return Ok(None);
        }
        let block = self.files.read_block(offset / CHUNK)?;
        Ok(block.map(|leaves| leaves[(offset % CHUNK) as usize]))
    }

    /// Makes the stored chunks durable: a prune anchor about to be
    /// written will vouch for them, and they can never be rebuilt.
    pub fn make_durable(&mut self) -> Result<()> {
        self.files.sync(self.durable_chunks, self.chunks)?;
        self.durable_chunks = self.chunks;
        Ok(())
    }

    /// Holds the tree to `anchor` from now on: called once the anchor is
    /// durable in the stream, never before (a prune that fails before that
    /// leaves the tree as it was).
    pub fn adopt_anchor(&mut self, anchor: &PruneAnchor) {
        self.anchor = Some(anchor.clone());
    }

    /// Whether chunk `chunks - 1` ends with the leaf of the chain hash the
    /// stream has there.
    fn last_leaf_matches(&mut self, stream: &Stream, chunks: u64) -> Result<bool> {
        let last = chunks * CHUNK - 1;
        let Some(block) = self.files.read_block(chunks - 1)? else {
            return Ok(false);
        };
        let chain_hash = match &self.anchor {
            // The event is gone; its anchor keeps its chain hash.
            Some(a) if last + 1 == a.first.next_offset => a.first.hash,
            _ => {
                let mut cursor = stream.cursor(last)?;
                if cursor.next_event()?.is_none() {
                    return Ok(false);
                }
                cursor.head().hash
            }
        };
        Ok(block[CHUNK as usize - 1] == merkle::event_leaf_hash(last, &chain_hash))
    }

    fn rebuild_frontier(&mut self) -> Result<()> {
        self.frontier.clear();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if self.chunks & (1 << level) != 0 {
                let hash = self.node(level, start >> level)?;
                self.frontier.push(hash);
                start += 1 << level;
            }
        }
        Ok(())
    }

    /// The leaves the tree covers.
    pub fn size(&self) -> u64 {
        self.chunks * CHUNK + self.pending.len() as u64
    }

    fn damage(&mut self, chunk: u64) -> Error {
        self.damaged = Some(Damaged(chunk));
        Error::Corruption {
            stream: self.stream,
            offset: chunk * CHUNK,
            file: crate::layout::tree_dir(self.stream),
            reason: "damaged Merkle tree cache".into(),
        }
    }

    /// Node entry at chunk level `level`, number `n`.
    fn node(&mut self, level: u32, n: u64) -> Result<Hash> {
        match self.files.read_node(stored_index(level, n))? {
            Some(hash) => Ok(hash),
            None => Err(self.damage(n << level)),
        }
    }

    fn expanded(&mut self, chunk: u64) -> Result<&[Hash; EXPANDED]> {
        if let Some(i) = self.cache.iter().position(|(c, _)| *c == chunk) {
            let entry = self.cache.remove(i);
            self.cache.push(entry);
        } else {
            let Some(leaves) = self.files.read_block(chunk)? else {
                return Err(self.damage(chunk));
            };
            let all = expand(&leaves);
            if self.node(0, chunk)? != all[EXPANDED - 1] {
                return Err(self.damage(chunk));
            }
            if self.cache.len() == CACHED_CHUNKS {
                self.cache.remove(0);
            }
            self.cache.push((chunk, all));
        }
        match self.cache.last() {
            Some((_, all)) => Ok(all),
            None => Err(Error::invalid("tree cache is empty")),
        }
    }

    /// Cuts the tree back to its first `chunks` chunks.
    fn cut(&mut self, chunks: u64) -> Result<()> {
        self.files.truncate(chunks)?;
        self.chunks = chunks;
        self.durable_chunks = self.durable_chunks.min(chunks);
        self.pending.clear();
        self.cache.retain(|(c, _)| *c < chunks);
        self.ranges.clear();
        self.rebuild_frontier()
    }

    /// Brings the tree up to at least `size` leaves (and on to the stream's
    /// head as it is now), reading the new events through a verified
    /// cursor.
    pub fn catch_up(&mut self, stream: &Stream, size: u64) -> Result<()> {
        if self.size() >= size {
            return Ok(());
        }
        let mut cursor = stream.cursor(self.size())?;
        let end = cursor.end().next_offset;
        if end < size {
            return Err(Error::OffsetOutOfRange {
                stream: self.stream,
                offset: size,
                next_offset: end,
            });
        }
        while cursor.next_offset() < end {
            let Some((offset, _)) = cursor.next_event()? else {
                break;
            };
            self.push_leaf(merkle::event_leaf_hash(offset, &cursor.head().hash))?;
        }
        Ok(())
    }

    fn store_chunk(&mut self) -> Result<()> {
        let chunk = self.chunks;
        self.files.write_block(chunk, &self.pending)?;
        let all = expand(&self.pending);
        let mut root = all[EXPANDED - 1];
        let mut nodes = vec![root];
        let mut x = chunk;
        while x & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .ok_or_else(|| Error::invalid("tree frontier is short"))?;
            root = node_hash(&left, &root);
            nodes.push(root);
            x >>= 1;
        }
        self.files.write_nodes(stored_count(chunk), &nodes)?;
        self.frontier.push(root);
        self.chunks += 1;
        self.pending.clear();
        if self.cache.len() == CACHED_CHUNKS {
            self.cache.remove(0);
        }
        self.cache.push((chunk, all));
        Ok(())
    }

    /// Runs `op` over the tree caught up to `size`; damage found on the
    /// way cuts the tree back and rebuilds it from the segments, then `op`
    /// runs again.
    pub fn with<T>(
        &mut self,
        stream: &Stream,
        size: u64,
        mut op: impl FnMut(&mut dyn Subtrees) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..3 {
            self.catch_up(stream, size)?;
            let result = op(self);
            match self.damaged.take() {
                Some(Damaged(at)) => {
                    let chunk = (at / CHUNK).min(self.chunks);
                    let floor = self.floor();
                    if chunk < floor {
                        return Err(
                            self.unrebuildable("the tree files of the pruned range are damaged")
                        );
                    }
                    // A damaged entry below the frontier may break the cut
                    // too: start over then (from what a prune left).
                    if self.cut(chunk).is_err() || self.damaged.take().is_some() {
                        self.damaged = None;
                        if self.cut(floor).is_err() || self.damaged.take().is_some() {
                            return Err(self
                                .unrebuildable("the tree files of the pruned range are damaged"));
                        }
                    }
                }
                None => return result,
            }
        }
        Err(Error::Corruption {
            stream: self.stream,
            offset: 0,
            file: crate::layout::tree_dir(self.stream),
            reason: "the Merkle tree files keep failing their checks after rebuilds".into(),
        })
    }
}

impl Subtrees for StreamTree {
    fn remembered(&mut self, start: u64, end: u64) -> Option<Hash> {
        self.ranges.get(&(start, end)).copied()
    }

    fn remember(&mut self, start: u64, end: u64, hash: Hash) {
        // Only what the files hold: a hash read wrong from them is caught
        // (a CRC) before it gets here, and a cut forgets them all.
        if self.damaged.is_some() || end > self.chunks * CHUNK {
            return;
        }
        if self.ranges.len() >= REMEMBERED_RANGES {
            self.ranges.clear();
        }
        self.ranges.insert((start, end), hash);
    }

    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash> {
        if level >= CHUNK_LEVEL {
            return self.node(level - CHUNK_LEVEL, index);
        }
        let first = index << level;
        let chunk = first / CHUNK;
        if chunk < self.chunks {
            let all = self.expanded(chunk)?;
            let at = level_start(level) + ((first % CHUNK) >> level) as usize;
            return Ok(all[at]);
        }
        let start = (first - self.chunks * CHUNK) as usize;
        match self.pending.get(start..start + (1usize << level)) {
            Some(leaves) => Ok(merkle::root_of(leaves)),
            None => Err(Error::invalid(format!(
                "leaf {first} is beyond the tree's {} leaves",
                self.size()
            ))),
        }
    }
}
