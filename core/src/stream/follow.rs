//! Following a writer in another process: a read-only stream brings its
//! snapshot up to what the writer has committed since (`refresh`).
//!
//! Invariants kept here:
//! - Only whole committed batches are taken: the scan stops at a COMMIT,
//!   and whatever follows (a batch being written, or a torn one a crash
//!   left for the writer's recovery to cut) is left for a later refresh.
//!   So a follower never returns an event that recovery could drop.
//! - A segment is taken as sealed only once the next one exists (a writer
//!   seals before it creates the next), and the next one is taken only if
//!   its header starts where the chain stands. Anything that does not fit
//!   stops the refresh there, without an error: `verify` is where damage
//!   is reported.
//! - Refreshes of one stream run one at a time (under the writer lock,
//!   which a read-only stream never uses otherwise).
//! - A refresh goes in steps (`refresh_step`): each scans about `STEP`
//!   bytes, stops after the first COMMIT past them, and publishes the head
//!   there, so a follower that fell behind takes in and reads a bounded
//!   run at a time, while it is still in the CPU's cache, instead of one
//!   that grows with the lag. `refresh` takes every step (all that is
//!   committed); a waiter (`wait.rs`) takes steps until the stream is past
//!   the offset it waits for, and its next wait goes on at once.
//! - One pass per record: a step's scan reads and CRC-checks each record,
//!   and also walks the committed batches it reads along the chain exactly
//!   as a cursor would (`ChainWalk::step`: offset, link to the hash before,
//!   placement, SHA-256), from the head it starts at. The events of those
//!   batches (up to `CHECKED_BUDGET` bytes, from where it started, ending at
//!   a COMMIT, and only as far as the chain holds) are published with the
//!   snapshot (`Snapshot::checked`, a `VerifiedRun` per segment). A cursor
//!   of that snapshot whose own walk stands exactly at a run's start (same
//!   segment, byte position and chain head, at a batch boundary) takes
//!   them as its next events and moves past their records without reading
//!   them again: they are what its walk would have produced, so every
//!   event served has passed the CRC and chain verification, and only
//!   whole committed batches are ever kept. Anything else (past the
//!   budget, after a link that does not hold, taken in by a step older
//!   than the cursor's snapshot, a cursor started midway) is read from the
//!   files and checked by the cursor as before, which is also where a
//!   broken link is reported.
//! - `verify` never takes verified runs: it reads every byte from the
//!   files as they are now, so a record changed after a refresh checked it
//!   is reported there.
//! - A snapshot holds the runs of the last step that grew the stream only:
//!   each one replaces them, so what they keep alive is bounded by the
//!   budget (per snapshot still in use).

use std::sync::Arc;

use super::Stream;
use crate::error::Result;
use crate::layout;
use crate::segment::{scan_tail_keeping, ScanStart, Segment, VerifiedRun};

/// How many bytes one refresh step scans before it stops at the next
/// COMMIT. Small enough that what a step read is still in the CPU's own
/// cache when the follower's cursor takes it: on the follow bench (2
/// cores), 1 MiB steps let a follower that keeps up with a writer slow
/// that writer by a quarter to a half (its copies into the page cache
/// stalled on memory the follower's larger working set kept busy), and
/// 256 KiB steps by under a tenth, with the follower itself faster too.
/// Large enough that a step's own cost (a directory listing) stays
/// negligible.
const STEP: u64 = 256 << 10;

/// How many bytes of verified events (their records' bytes, decoded
/// payloads and hashes) one step hands on to the cursors: a step plus a
/// large batch. The records of a batch beyond it are read twice rather
/// than held in memory.
const CHECKED_BUDGET: u64 = 16 << 20;

/// What a refresh step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The stream's head moved on.
    pub(crate) grew: bool,
    /// It stopped before the end of what is committed: another step
    /// takes in more at once.
    pub(crate) more: bool,
}

impl Stream {
    /// Takes in everything the writer committed since the snapshot was
    /// taken. Returns whether the stream grew. For read-only stores only.
    pub(crate) fn refresh(&self) -> Result<bool> {
        let mut grew = false;
        loop {
            let step = self.refresh_step()?;
            grew |= step.grew;
            if !step.more {
                return Ok(grew);
            }
        }
    }

    /// Takes in what the writer committed, step by step, until the stream
    /// is past `offset` or everything committed is in. Returns whether the
    /// stream grew. For read-only stores only.
    pub(crate) fn refresh_past(&self, offset: u64) -> Result<bool> {
        let mut grew = false;
        loop {
            let step = self.refresh_step()?;
            grew |= step.grew;
            if !step.more || self.shared.read().head.next_offset > offset {
                return Ok(grew);
            }
        }
    }

    /// Takes in what the writer committed since the snapshot was taken,
    /// one step of about `STEP` bytes at most (whole batches). For
    /// read-only stores only.
    pub(crate) fn refresh_step(&self) -> Result<Step> {
        let _one_at_a_time = self.writer.lock();
        let mut step = Step {
            grew: false,
            more: false,
        };
        if self.damage.is_some() {
            return Ok(step);
        }
        let before = self.snapshot();
        let mut segments: Vec<Arc<Segment>> = (*before.segments).clone();
        let mut head = before.head;
        let mut active_len = before.active_len;
        let listed = self.segment_bases()?;
        // A prune by the writer: its anchor is durable before any segment
        // goes, so once the first segment this reader holds is gone from
        // the listing, the anchor names where the stream starts now; the
        // segments below it are dropped here, and a reader that had not
        // reached it starts there.
        let mut first = before.first;
        let pruned = segments
            .first()
            .is_some_and(|s| listed.binary_search(&s.base_offset).is_err());
        if pruned || segments.is_empty() {
            if let Ok(Some(anchor)) = self.prune_anchor() {
                if anchor.first.next_offset > first.next_offset {
                    first = anchor.first;
                    segments.retain(|s| s.base_offset >= first.next_offset);
                    if segments.is_empty() {
                        head = first;
                        active_len = 0;
                    }
                }
            }
        }
        let after = segments.last().map(|s| s.base_offset);
        let mut newer: Vec<u64> = listed
            .into_iter()
            .filter(|&base| base >= first.next_offset && after.is_none_or(|a| base > a))
            .collect();
        newer.reverse();
        let mut checked: Vec<Arc<VerifiedRun>> = Vec::new();
        let mut budget = CHECKED_BUDGET;
        let mut left = STEP;
        loop {
            if let Some(active) = segments.last() {
                let header = active.header()?;
                let from = if active_len < header.len() as u64 {
                    ScanStart::first_record(&header)
                } else {
                    ScanStart {
                        pos: active_len,
                        head,
                        checkpoints: active.checkpoints_snapshot(),
                    }
                };
                let file_len = active.file_len()?;
                if file_len > from.pos {
                    let start = from.pos;
                    let scan = scan_tail_keeping(active, &header, from, file_len, budget, left)?;
                    left = left.saturating_sub(scan.committed_len.saturating_sub(start));
                    if let Some(kept) = scan.kept {
                        budget = budget.saturating_sub(kept.cost);
                        checked.push(Arc::new(VerifiedRun::new(active.clone(), kept)));
                    }
                    active.set_checkpoints(scan.checkpoints);
                    active.set_written_len(scan.committed_len);
                    head = scan.head;
                    active_len = scan.committed_len;
                    if scan.stopped {
                        // The step is done; the next one goes on here.
                        step.more = true;
                        break;
                    }
                } else if from.pos > active_len {
                    head = from.head;
                    active_len = from.pos;
                }
            }
            let Some(base) = newer.pop() else { break };
            // The next segment begins where the chain stands, or the
            // current one is not read to its end yet: stop until it is.
            if base != head.next_offset {
                break;
            }
            let next = Arc::new(Segment::existing(self.dir.clone(), self.id, base, false));
            let header = next.header()?;
            if header.base_hash != head.hash {
                break;
            }
            segments.push(next);
            active_len = 0;
        }
        if head == before.head && segments.len() == before.segments.len() && first == before.first {
            return Ok(step);
        }
        let mut shared = self.shared.write();
        shared.segments = Arc::new(segments);
        shared.head = head;
        shared.active_len = active_len;
        shared.first = first;
        shared.checked = (!checked.is_empty()).then(|| Arc::new(checked));
        step.grew = head.next_offset > before.head.next_offset;
        Ok(step)
    }

    /// Base offsets of the stream's segment files, ascending. A stream
    /// directory not there yet has none.
    fn segment_bases(&self) -> Result<Vec<u64>> {
        let rel = layout::stream_dir(self.id);
        let names = match self.dir.list(&rel) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(crate::Error::io(
                    format!("listing {}", self.dir.display(&rel).display()),
                    e,
                ))
            }
        };
        let mut bases: Vec<u64> = names
            .iter()
            .filter_map(|n| layout::parse_segment_name(n))
            .collect();
        bases.sort_unstable();
        Ok(bases)
    }
}
