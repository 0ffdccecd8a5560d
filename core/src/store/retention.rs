//! Retention: pruning the front of a stream while every head, proof and
//! checkpoint about what remains stays valid (docs/FORMAT.md, "Prune
//! anchor").

use super::Store;
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::merkle;
use crate::prune_anchor::PruneAnchor;
use crate::tree::files::CHUNK;

/// What an explicit retention call keeps of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// At least the last `n` events.
    KeepLast(u64),
    /// At most this many bytes of segment files, as far as whole sealed
    /// segments allow (the active segment always stays, whatever its size).
    KeepBytes(u64),
    /// Every batch recorded at or after this time (Unix milliseconds; see
    /// [`Store::seek_time`]).
    KeepNewerThan(u64),
}

impl Store {
    /// Removes the sealed segments of `stream` whose events all lie below
    /// `before`, and returns the stream's first offset afterwards.
    ///
    /// First it records, durably, a prune anchor: the new first offset
    /// `F`, the chain hash `h(F - 1)`, and the roots of the Merkle
    /// subtrees covering `[0, F)` (bringing the tree up to `F` if it was
    /// behind, which reads the events being removed once). Then it renames
    /// the segment files out of the stream and unlinks them on a thread of
    /// its own (`close` waits for it); nothing is rewritten, so the call
    /// takes the same time whatever the segments hold. A crash at any point
    /// leaves the old first offset or the new one.
    ///
    /// Once the anchor is durable the prune has happened, and this returns
    /// the new first offset even if moving a segment file out failed: that
    /// file is no part of the stream any more (no read, `verify` or backup
    /// uses it); it is unlinked in the background with the others, and
    /// where that fails too, the next writer's open removes it. An error
    /// means the prune did not take effect in this open (see
    /// `Stream::apply_prune` for an anchor whose directory fsync failed,
    /// which the next writer's open may still complete). Afterwards reads below
    /// `F` fail with [`Error::Pruned`]; `verify` starts at the anchor;
    /// proofs, checkpoints and receipts about retained events are
    /// byte-identical to what they were.
    ///
    /// With a tier, the bucket follows in the background: the uploader's
    /// next round of the stream puts the anchor up, moves the manifest's
    /// first offset to it by compare-and-swap, then deletes the objects
    /// below it (docs/TIERING.md). `sync_tier` returns once it has.
    ///
    /// The active segment is never removed, nor a segment whose removal
    /// would leave the tree's 64-leaf chunk at `F` incomplete (the last
    /// few dozen events of a stream): such a prune removes less, and a
    /// later one the rest.
    pub fn prune(&self, stream: u64, before: u64) -> Result<u64> {
        let _op = self.begin()?;
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.check_owner()?;
        let Some(stream) = self.stream(stream)? else {
            return Ok(0);
        };
        // The tree's lock keeps prunes of one stream one at a time.
        let tree = self.tree_of(&stream)?;
        let mut tree = tree.lock();
        // The tree's chunks up to the new first offset can never be
        // rebuilt once it is durable, so no leaf in them may describe an
        // event a power loss could still take: the stream is made durable
        // first.
        stream.sync()?;
        let Some(plan) = stream.plan_prune(before, CHUNK)? else {
            return stream.first_offset();
        };
        let first = plan.first.next_offset;
        let (roots, leaf) = tree.prune_roots(&stream, first)?;
        if leaf != merkle::event_leaf_hash(first - 1, &plan.first.hash) {
            return Err(Error::ChainMismatch {
                stream: stream.id,
                offset: first,
                reason: "the segment that would come first after the prune does not start from the chain hash the stream has there".into(),
            });
        }
        let anchor = PruneAnchor {
            stream: stream.id,
            first: plan.first,
            roots,
        };
        tree.make_durable()?;
        let applied = stream.apply_prune(&plan, &anchor)?;
        tree.adopt_anchor(&anchor);
        drop(tree);
        if let Some(agent) = &self.tier {
            agent.note_prune(stream.id);
        }
        let mut files = applied.renamed;
        files.extend(applied.not_moved);
        self.unlink_in_background(stream, files);
        Ok(first)
    }

    /// Frees the space of pruned files off the caller's time: the prune is
    /// complete and durable once they are renamed. `close` waits for it.
    fn unlink_in_background(
        &self,
        stream: std::sync::Arc<crate::stream::Stream>,
        files: Vec<std::path::PathBuf>,
    ) {
        if files.is_empty() {
            return;
        }
        let mut pending = self.unlinking.lock();
        pending.retain(|h| !h.is_finished());
        let spawned = std::thread::Builder::new()
            .name("stratalog-prune".into())
            .spawn({
                let files = files.clone();
                let stream = stream.clone();
                move || stream.unlink_pruned(&files)
            });
        match spawned {
            Ok(handle) => pending.push(handle),
            // No thread to be had: free them here.
            Err(_) => stream.unlink_pruned(&files),
        }
    }

    /// Prunes `stream` as `policy` says, returning its first offset
    /// afterwards. Nothing is removed but by such an explicit call.
    pub fn apply_retention(&self, stream: u64, policy: Retention) -> Result<u64> {
        let before = {
            let _op = self.begin()?;
            let Some(s) = self.stream(stream)? else {
                return Ok(0);
            };
            match policy {
                Retention::KeepLast(n) => s.chain_head()?.next_offset.saturating_sub(n),
                Retention::KeepBytes(max) => s.offset_keeping_bytes(max)?,
                Retention::KeepNewerThan(millis) => s.seek_time(millis)?,
            }
        };
        self.prune(stream, before)
    }

    /// The first offset from which every batch of `stream` was appended at
    /// or after `millis` (Unix milliseconds), by the time records a store
    /// opened with [`Options::timestamps`](crate::Options::timestamps)
    /// writes before each batch: the offset just after the last batch
    /// recorded earlier, the stream's first offset if none is, its next
    /// offset if all are. Batches written without timestamps are never
    /// taken as earlier. Reading from there is a plain read.
    pub fn seek_time(&self, stream: u64, millis: u64) -> Result<u64> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => s.seek_time(millis),
            None => Ok(0),
        }
    }

    /// The first offset `stream` still holds: 0 unless it was pruned.
    pub fn first_offset(&self, stream: u64) -> Result<u64> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => s.first_offset(),
            None => Ok(0),
        }
    }

    /// The head the events `stream` still holds continue: its first offset
    /// F and the chain hash of event F - 1, which the prune anchor keeps
    /// (the empty head unless it was pruned), once the first retained
    /// segment is seen to start from it (`ChainMismatch` otherwise). The
    /// retained events check out from it alone, as a stream's whole
    /// history does from the empty head: an export from F carries it.
    pub fn first_head(&self, stream: u64) -> Result<ChainHead> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => s.first_head(),
            None => Ok(ChainHead::EMPTY),
        }
    }
}
