//! Proofs (RFC 9162 §2.1.3 and §2.1.4) built from the hashes of perfect
//! subtrees, whatever stores them.
//!
//! Every range the RFC's recursions name starts at a multiple of a power of
//! two at least its length, so it splits into a few aligned perfect
//! subtrees (one per set bit of its length): the only hashes a source must
//! give.

use super::{largest_power_of_two_below, node_hash};
use crate::error::Result;
use crate::hash::Hash;

/// A source of perfect-subtree hashes of one tree.
pub trait Subtrees {
    /// The hash of the perfect subtree at `level` number `index`: the root
    /// over leaves `[index << level, (index + 1) << level)`, all of which
    /// the source holds.
    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash>;

    /// The hash of an imperfect range `[start, end)` remembered earlier:
    /// the ranges along a tree's right edge recur in every proof against
    /// that size.
    fn remembered(&mut self, _start: u64, _end: u64) -> Option<Hash> {
        None
    }

    /// Offers the hash of the imperfect range `[start, end)` to remember.
    fn remember(&mut self, _start: u64, _end: u64, _hash: Hash) {}
}

/// The Merkle Tree Hash of leaves `[start, end)`, a range whose start is a
/// multiple of the smallest power of two at least `end - start` (every
/// range the proofs name); `start < end`.
pub fn range_hash(src: &mut dyn Subtrees, start: u64, end: u64) -> Result<Hash> {
    debug_assert!(start < end);
    // Perfect subtrees left to right, largest first; then fold from the right.
    let mut parts: [(u32, u64); 64] = [(0, 0); 64];
    let mut count = 0;
    let mut at = start;
    let mut left = end - start;
    while left > 0 {
        let level = 63 - left.leading_zeros();
        parts[count] = (level, at >> level);
        count += 1;
        at += 1u64 << level;
        left -= 1u64 << level;
    }
    if count > 1 {
        if let Some(hash) = src.remembered(start, end) {
            return Ok(hash);
        }
    }
    let (level, index) = parts[count - 1];
    let mut root = src.subtree(level, index)?;
    for &(level, index) in parts[..count - 1].iter().rev() {
        root = node_hash(&src.subtree(level, index)?, &root);
    }
    if count > 1 {
        src.remember(start, end, root);
    }
    Ok(root)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves,
/// from the leaf's sibling up to the root's child; `index < size`.
pub fn inclusion(src: &mut dyn Subtrees, index: u64, size: u64) -> Result<Vec<Hash>> {
    debug_assert!(index < size);
    // Walk down, remembering the sibling range at each split; the proof
    // lists them from the bottom up.
    let mut siblings = Vec::with_capacity(64);
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let k = largest_power_of_two_below(end - start);
        if index < start + k {
            siblings.push((start + k, end));
            end = start + k;
        } else {
            siblings.push((start, start + k));
            start += k;
        }
    }
    siblings
        .iter()
        .rev()
        .map(|&(s, e)| range_hash(src, s, e))
        .collect()
}

/// The consistency proof from the tree of the first `old_size` leaves to
/// the tree of the first `size`; empty when `old_size` is 0 or `size`.
pub fn consistency(src: &mut dyn Subtrees, old_size: u64, size: u64) -> Result<Vec<Hash>> {
    debug_assert!(old_size <= size);
    if old_size == 0 || old_size == size {
        return Ok(Vec::new());
    }
    // RFC 6962 SUBPROOF(m, D[start:end], b), unrolled: each step records
    // one range whose hash the proof carries, bottom-most last.
    let mut ranges = Vec::with_capacity(64);
    let (mut m, mut start, mut end, mut whole) = (old_size, 0u64, size, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                ranges.push((start, end));
            }
            break;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            ranges.push((start + k, end));
            end = start + k;
        } else {
            ranges.push((start, start + k));
            m -= k;
            start += k;
            whole = false;
        }
    }
    ranges
        .iter()
        .rev()
        .map(|&(s, e)| range_hash(src, s, e))
        .collect()
}

/// A source over leaf hashes held in memory, for tests and small trees.
#[derive(Debug)]
pub struct InMemory<'a>(pub &'a [Hash]);

impl Subtrees for InMemory<'_> {
    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash> {
        let start = (index << level) as usize;
        Ok(super::root_of(&self.0[start..start + (1usize << level)]))
    }
}
