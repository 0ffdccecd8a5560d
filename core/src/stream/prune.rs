//! Pruning: removing whole sealed segments from the front of a stream.
//!
//! Invariants kept here:
//! - Only sealed segments go, never the active one, never part of one.
//! - The anchor naming the new first offset is durable before the first
//!   segment file is removed, and the snapshot readers copy moves to it
//!   at the same moment, under the writer lock (so an append's rotation
//!   never publishes a list that still holds a removed segment). A crash
//!   anywhere leaves the old anchor and every segment, or the new anchor
//!   and segments below it that the next writer to open removes.

use std::sync::Arc;

use super::Stream;
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::layout;
use crate::prune_anchor::{self, PruneAnchor};

/// What a prune will remove and where the stream will start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunePlan {
    /// The new first offset and the chain hash before it, from the header
    /// of the segment that will come first (checked against the tree
    /// before it is trusted).
    pub first: ChainHead,
    /// Base offsets of the segments to remove, ascending.
    pub removed: Vec<u64>,
}

impl Stream {
    /// The stream's prune anchor as its file holds it.
    pub(crate) fn prune_anchor(&self) -> Result<Option<PruneAnchor>> {
        prune_anchor::read(self.dir.as_ref(), self.id)
    }

    /// The segments a prune to `before` removes: every sealed segment whose
    /// events all lie below `before`. The segment that comes first after
    /// it must start where a whole chunk of `tree_chunk` leaves of the
    /// Merkle tree is complete, so the tree can always be loaded without
    /// the removed events; a segment too close to the head for that waits
    /// for a later prune. `None` when nothing would go.
    pub(crate) fn plan_prune(&self, before: u64, tree_chunk: u64) -> Result<Option<PrunePlan>> {
        if let Some(err) = self.damage_error().or_else(|| self.poison_error()) {
            return Err(err);
        }
        let snapshot = self.snapshot();
        let end = snapshot.head.next_offset;
        let mut keep_from = 0;
        for (i, segment) in snapshot.segments.iter().enumerate().skip(1) {
            let base = segment.base_offset;
            if base > before {
                break;
            }
            if base.div_ceil(tree_chunk) * tree_chunk <= end {
                keep_from = i;
            }
        }
        if keep_from == 0 {
            return Ok(None);
        }
        let header = snapshot.segments[keep_from].header()?;
        Ok(Some(PrunePlan {
            first: header.base(),
            removed: snapshot.segments[..keep_from]
                .iter()
                .map(|s| s.base_offset)
                .collect(),
        }))
    }

    /// Carries out `plan`: records `anchor` durably, moves the snapshot to
    /// it, then renames the segment files (and their indexes) out of the
    /// stream (`<name>.pruned`).
    ///
    /// An error means the stream is as it was in this open: its snapshot
    /// was not moved and no file was renamed. The anchor is not in force
    /// then, but it may be on disk: the anchor is written to a temp file,
    /// fsynced, renamed over the old one, and the directory fsynced, so a
    /// failure of that last fsync (or of anything after the rename) comes
    /// back as an error with the new anchor already in place, and a crash
    /// may keep it or not. Where it stays, the next writer's open finishes
    /// the prune (removes the segments below it) and a read-only follower
    /// takes it once a segment below it is gone; where it does not, the
    /// old anchor holds. Either way nothing retained is lost.
    ///
    /// Once the anchor is durable the prune has happened and this returns
    /// `Ok`: a file whose rename failed stays in the stream's directory
    /// under its own name, outside the stream (nothing of this open reads
    /// it), listed in [`AppliedPrune::not_moved`] for the caller to remove,
    /// and removed by the next writer's open otherwise.
    pub(crate) fn apply_prune(
        &self,
        plan: &PrunePlan,
        anchor: &PruneAnchor,
    ) -> Result<AppliedPrune> {
        let _writer = self.writer.lock();
        let still_there = {
            let shared = self.shared.read();
            shared.segments.len() > plan.removed.len()
                && shared
                    .segments
                    .iter()
                    .zip(&plan.removed)
                    .all(|(s, &base)| s.base_offset == base)
        };
        if !still_there {
            return Err(Error::invalid(format!(
                "stream {} changed while it was being pruned; nothing was removed",
                self.id
            )));
        }
        prune_anchor::write(self.dir.as_ref(), anchor)?;
        {
            let mut shared = self.shared.write();
            let kept = shared.segments[plan.removed.len()..].to_vec();
            shared.segments = Arc::new(kept);
            shared.first = anchor.first;
        }
        let mut applied = AppliedPrune::default();
        for &base in &plan.removed {
            for rel in [
                layout::index_path(self.id, base),
                layout::segment_path(self.id, base),
            ] {
                let to = layout::pruned_path(&rel);
                match self.dir.rename(&rel, &to) {
                    Ok(()) => applied.renamed.push(to),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(_) => applied.not_moved.push(rel),
                }
            }
        }
        Ok(applied)
    }

    /// Unlinks files [`Stream::apply_prune`] renamed. A failure leaves a
    /// file the next writer's open removes.
    pub(crate) fn unlink_pruned(&self, files: &[std::path::PathBuf]) {
        for file in files {
            let _ = self.dir.remove(file);
        }
    }
}

/// A prune whose anchor is durable and in force.
#[derive(Default)]
pub(crate) struct AppliedPrune {
    /// Files moved out of the stream, for the caller to unlink: renaming
    /// costs the same whatever a file holds, while a file system takes
    /// time in proportion to a file's size to free it.
    pub renamed: Vec<std::path::PathBuf>,
    /// Files below the anchor whose rename failed: still under their own
    /// names in the stream's directory, outside the stream. The caller
    /// unlinks them as it does the renamed ones; any left are removed by
    /// the next writer's open.
    pub not_moved: Vec<std::path::PathBuf>,
}

impl Stream {
    /// The base offset of the earliest segment from which the stream's
    /// segment files hold at most `max` bytes (the active segment always
    /// counts as kept): where a prune must start to keep that many.
    pub(crate) fn offset_keeping_bytes(&self, max: u64) -> Result<u64> {
        let snapshot = self.snapshot();
        let Some((active, sealed)) = snapshot.segments.split_last() else {
            return Ok(snapshot.first.next_offset);
        };
        let mut total = snapshot.active_len;
        let mut from = active.base_offset;
        for segment in sealed.iter().rev() {
            total = total.saturating_add(segment.sealed_len()?);
            if total > max {
                break;
            }
            from = segment.base_offset;
        }
        Ok(from)
    }
}
