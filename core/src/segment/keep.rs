//! Runs of events walked along the chain ahead of the cursor that hands
//! them out, their links checked many at a time.
//!
//! Two readers make runs:
//! - a follower's refresh step (`scan::scan_tail_keeping`) keeps the
//!   committed batches it scans, for its cursors to take (`VerifiedRun`);
//! - a cursor reads a group of records ahead of itself ([`read_ahead`]),
//!   so that their events are hashed together (`hash::chain_steps`, four
//!   lanes where the CPU has SHA-NI) instead of one by one.
//!
//! Invariants kept here:
//! - A run holds exactly what a record-by-record walk (`ChainWalk::step`)
//!   from the same state returns: each record's offset and placement are
//!   checked as it comes, and its link against the hash before it when the
//!   run is settled, before anything is kept.
//! - A run ends where it was last settled, with the walk's whole state
//!   there. Whatever failed after that is dropped, so the reader that goes
//!   on from the run's end meets the failure itself and reports it exactly
//!   as it would have without the run.

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use super::reader::{Next, RawRecord, RecordReader};
use super::walk::ChainWalk;
use super::Segment;
use crate::hash::{chain_steps, ChainHead, Hash, Link};
use crate::record::{Codec, Kind};

/// Events of one segment read, CRC-checked and walked along the chain
/// already (offset, link, placement, SHA-256, as `ChainWalk::step`) from a
/// known position and chain state. A cursor whose own walk stands exactly
/// at the start takes them as its next events instead of reading and
/// checking the same records again: they are what its walk would have
/// produced from there.
#[derive(Debug)]
pub struct VerifiedRun {
    segment: Arc<Segment>,
    pub(crate) kept: Kept,
}

impl VerifiedRun {
    pub fn new(segment: Arc<Segment>, kept: Kept) -> Self {
        VerifiedRun { segment, kept }
    }

    /// Whether these are events of `segment` (this very handle: segments
    /// of one stream's snapshots are shared, never made twice).
    pub fn of(&self, segment: &Segment) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.segment), segment)
    }
}

/// What a run kept of the records it walked.
#[derive(Debug)]
pub struct Kept {
    /// Where the run starts, and the chain head there.
    pub start_pos: u64,
    pub start: ChainHead,
    /// Where its last record ends.
    pub end_pos: u64,
    /// The walk after the last record: the chain head, placement and last
    /// time record there.
    pub end: ChainWalk,
    /// Whether the last record is a COMMIT.
    pub ends_batch: bool,
    /// Each event's payload and the chain hash after it; the offsets run
    /// on from `start.next_offset`.
    pub events: Vec<(Bytes, Hash)>,
    /// Checkpoint records among them.
    pub checkpoints: u64,
    /// What keeping them costs in memory (roughly).
    pub cost: u64,
}

/// Where a run stood when it was last settled.
#[derive(Debug, Clone, Copy)]
struct Settled {
    events: usize,
    checkpoints: u64,
    pos: u64,
    walk: ChainWalk,
    ends_batch: bool,
    cost: u64,
}

/// A run being walked: records are pushed as they are read, and settled
/// (their links checked, all at once) where the run may end.
pub struct Keep {
    /// Whether records are still taken: the budget has not run out and
    /// the chain has held so far.
    open: bool,
    budget: u64,
    start_pos: u64,
    start: ChainHead,
    /// Its hash is the chain's where the run was last settled; the rest
    /// of its state is the last pushed record's.
    walk: ChainWalk,
    /// Each event's payload and the chain hash after it (after the last
    /// settle: the hash its record links to until it is settled).
    events: Vec<(Bytes, Hash)>,
    /// The records pushed since the last settle, in order: the hash each
    /// links to, and whether it is an event.
    links: Vec<(Hash, bool)>,
    hashes: Vec<Hash>,
    checkpoints: u64,
    cost: u64,
    settled: Settled,
}

impl Keep {
    /// A run starting at byte `pos`, where the chain walk stands at
    /// `walk`, keeping at most `budget` bytes.
    pub fn new(walk: ChainWalk, pos: u64, budget: u64) -> Self {
        Keep {
            open: budget > 0,
            budget,
            start_pos: pos,
            start: walk.head(),
            walk,
            events: Vec::new(),
            links: Vec::new(),
            hashes: Vec::new(),
            checkpoints: 0,
            cost: 0,
            settled: Settled {
                events: 0,
                checkpoints: 0,
                pos,
                walk,
                ends_batch: false,
                cost: 0,
            },
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Events pushed so far, settled or not.
    pub fn events(&self) -> usize {
        self.events.len()
    }

    /// What the records pushed so far cost in memory.
    pub fn cost(&self) -> u64 {
        self.cost
    }

    /// Walks `rec`, the next record, and keeps its event.
    pub fn push(&mut self, segment: &Segment, rec: RawRecord) {
        if !self.open {
            return;
        }
        let kind = rec.header.kind;
        let mut cost = rec.header.record_len() + std::mem::size_of::<(Bytes, Hash)>() as u64;
        if rec.header.codec != Codec::Raw {
            // Decoded into a buffer of its own.
            cost += u64::from(rec.header.stored_len);
        }
        if cost > self.budget {
            return self.close();
        }
        match self.walk.step_unlinked(segment, rec) {
            Ok((link, Some(payload))) => {
                self.links.push((link, true));
                self.events.push((payload, link));
            }
            Ok((link, None)) => {
                self.links.push((link, false));
                self.checkpoints += u64::from(kind == Kind::Checkpoint);
            }
            // The chain does not hold here: the cursor that reads this
            // record reports it.
            Err(_) => return self.close(),
        }
        self.budget -= cost;
        self.cost += cost;
    }

    /// The run may end after the record just pushed, which ends at `pos`
    /// (and is a COMMIT if `ends_batch`): checks the links of every record
    /// pushed since the last settle, and keeps them if they hold.
    pub fn settle(&mut self, pos: u64, ends_batch: bool) {
        if !self.open {
            return;
        }
        if !self.check_links() {
            // The chain does not hold here: the cursor that reads these
            // records reports where.
            return self.close();
        }
        self.settled = Settled {
            events: self.events.len(),
            checkpoints: self.checkpoints,
            pos,
            walk: self.walk,
            ends_batch,
            cost: self.cost,
        };
    }

    /// Hashes the events pushed since the last settle and checks every
    /// record's link; moves the walk's hash to the last if they hold.
    fn check_links(&mut self) -> bool {
        let first = self.settled.events;
        let start_offset = self.start.next_offset + first as u64;
        let links: Vec<Link<'_>> = self.events[first..]
            .iter()
            .enumerate()
            .map(|(i, (payload, link))| Link {
                prev: link,
                offset: start_offset + i as u64,
                payload,
            })
            .collect();
        chain_steps(&links, &mut self.hashes);
        let mut hash = self.walk.hash;
        let mut computed = self.hashes.iter();
        for &(link, event) in &self.links {
            if link != hash {
                return false;
            }
            if event {
                match computed.next() {
                    Some(&h) => hash = h,
                    None => return false,
                }
            }
        }
        for ((_, after), &h) in self.events[first..].iter_mut().zip(&self.hashes) {
            *after = h;
        }
        self.links.clear();
        self.walk.hash = hash;
        true
    }

    /// Keeps what was settled and no more.
    pub fn close(&mut self) {
        self.open = false;
        self.events.truncate(self.settled.events);
        self.links.clear();
    }

    /// The settled run, if it holds any event.
    pub fn into_kept(mut self) -> Option<Kept> {
        self.events.truncate(self.settled.events);
        let settled = self.settled;
        (!self.events.is_empty()).then_some(Kept {
            start_pos: self.start_pos,
            start: self.start,
            end_pos: settled.pos,
            end: settled.walk,
            ends_batch: settled.ends_batch,
            events: self.events,
            checkpoints: settled.checkpoints,
            cost: settled.cost,
        })
    }
}

/// How much one group read ahead keeps: it ends after the event that
/// reaches this, a bound on memory and on what a read that stops early (a
/// bounded or random read) reads for nothing.
const READ_AHEAD_BYTES: u64 = 256 << 10;
/// No group holds more: an event this large is read on its own.
const READ_AHEAD_MAX_BYTES: u64 = 4 * READ_AHEAD_BYTES;

/// Reads up to `group` events (and never more than `max_events`, nor a
/// record starting at or past byte `until`) ahead of a cursor standing at
/// `walk`, with `reader` at its position, and walks them along the chain
/// as one run. Settles after every COMMIT and at the
/// group's end (its count of events, or of bytes). Leaves `reader` at the end of the run it returns, or where
/// it was when it returns none (nothing could be kept: the next record is
/// damaged, out of place, or larger than a group may hold).
pub fn read_ahead<S: Deref<Target = Segment>>(
    reader: &mut RecordReader<S>,
    walk: ChainWalk,
    group: usize,
    max_events: u64,
    until: u64,
) -> Option<Kept> {
    let start_pos = reader.pos();
    let mut keep = Keep::new(walk, start_pos, READ_AHEAD_MAX_BYTES);
    let group = (group as u64).min(max_events) as usize;
    while keep.events() < group && keep.cost() < READ_AHEAD_BYTES && reader.pos() < until {
        let rec = match reader.next() {
            Ok(Next::Record(rec)) => rec,
            // Whatever stops the read is the cursor's to report, reading
            // on from the run's end.
            Ok(Next::End | Next::Fault { .. }) | Err(_) => break,
        };
        let event = rec.header.kind == Kind::Event;
        let ends_batch = event && rec.header.is_commit();
        keep.push(reader.segment(), rec);
        if !keep.is_open() {
            break;
        }
        let full = keep.events() >= group || keep.cost() >= READ_AHEAD_BYTES;
        if ends_batch || (event && full) {
            keep.settle(reader.pos(), ends_batch);
        }
    }
    let kept = keep.into_kept();
    reader.back_to(kept.as_ref().map_or(start_pos, |k| k.end_pos));
    kept
}
