//! Reading a stream: a cursor that walks records across segments and checks
//! every event's CRC and chain link on the way.
//!
//! A cursor starts at the nearest checkpoint at or before the requested
//! offset (or the start of that offset's segment), so the cost of
//! positioning is bounded by the checkpoint interval, not by the log size.
//!
//! Invariants kept here:
//! - A cursor reads nothing past its snapshot: sealed segments to their
//!   length, the active one to the committed length the snapshot gives, and
//!   offsets up to the snapshot's head. So it never returns an event that
//!   is not committed.
//! - Every event it returns passed the record's CRCs and the chain walk
//!   (offset, link to the hash before it, placement) from a verified start.
//!   A follower's cursor takes the events its refresh step already read
//!   and verified the same way (`Snapshot::checked`, see `follow.rs`) only
//!   when its own walk stands exactly where that walk started (same
//!   segment, byte position and chain head, at a batch boundary), and then
//!   moves its walk and reader past them as if it had read them itself.
//! - Otherwise it reads a group of records ahead of itself and checks
//!   their links together (`segment::read_ahead`), which keeps only what
//!   its own walk would have returned, and stops where a follower's run
//!   starts. Where a group keeps nothing, the cursor reads those records
//!   one by one, so an error names the same record it always did.

use std::sync::Arc;

use bytes::Bytes;

use super::{Snapshot, Stream};
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::layout;
use crate::prune_anchor;
use crate::record::Kind;
use crate::segment::ChainWalk;
use crate::segment::IndexEntry;
use crate::segment::{read_ahead, Segment, SegmentHeader, VerifiedRun};
use crate::segment::{Next, RawRecord, RecordReader};

/// The events a cursor reads ahead of itself at first, and at most: groups
/// hashed together (`segment::read_ahead`). Four SHA-256 lanes want at
/// least four events at once; a first group of 8 keeps what a short read
/// reads for nothing small, and 64 (or 256 KiB) bounds what one holds.
const FIRST_READ_AHEAD: usize = 8;
const MAX_READ_AHEAD: usize = 64;

/// A position in a stream, fixed to the snapshot it was made from.
#[derive(Debug)]
pub struct Cursor {
    stream: u64,
    snapshot: Snapshot,
    damage: Option<Error>,
    seg_index: usize,
    reader: Option<RecordReader<Arc<Segment>>>,
    walk: ChainWalk,
    /// Whether the last record read closed a batch.
    at_commit: bool,
    /// A run of verified events this cursor is taking (a follower's, see
    /// `follow.rs`, or its own read ahead), and how many it has taken.
    serving: Option<(Arc<VerifiedRun>, usize)>,
    /// How many events the next read ahead takes: it starts small, so a
    /// short read reads little past what it returns, and doubles.
    ahead_group: usize,
    /// No read ahead before this offset: the last one kept nothing, and
    /// the records it stopped at are read one by one.
    ahead_after: u64,
    /// While a new cursor walks to its first offset in a file that fetches
    /// per request: no read ahead passes it, so a one-event read reads
    /// only the first group past it, within the span fetched.
    walking_to: Option<u64>,
    /// Whether every segment entered is read to its end (a verify): said
    /// to the file, which may then fetch it in large blocks, ahead.
    whole_segments: bool,
    /// Raw payload bytes returned or checked so far.
    pub bytes: u64,
    pub checkpoints: u64,
}

impl Stream {
    /// A cursor at `offset`, chain-verified from the nearest checkpoint.
    pub fn cursor(&self, offset: u64) -> Result<Cursor> {
        Cursor::seek(self.id, self.snapshot(), self.damage_error(), offset, false)
    }
}

impl Cursor {
    /// A cursor at `offset`; with `whole_segments`, one that reads each
    /// segment it enters to the end (see the field).
    pub(super) fn seek(
        stream: u64,
        snapshot: Snapshot,
        damage: Option<Error>,
        offset: u64,
        whole_segments: bool,
    ) -> Result<Cursor> {
        let end = snapshot.head.next_offset;
        if offset > end || (offset == end && damage.is_some()) {
            return Err(damage.unwrap_or(Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset: end,
            }));
        }
        let first = snapshot.first.next_offset;
        if offset < first {
            return Err(Error::Pruned {
                stream,
                offset,
                first_offset: first,
            });
        }
        let seg_index = snapshot
            .segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        let mut cursor = Cursor {
            stream,
            walk: ChainWalk::new(ChainHead::EMPTY),
            snapshot,
            damage,
            seg_index,
            reader: None,
            at_commit: true,
            serving: None,
            ahead_group: FIRST_READ_AHEAD,
            ahead_after: 0,
            walking_to: None,
            whole_segments,
            bytes: 0,
            checkpoints: 0,
        };
        if offset == end {
            cursor.walk = ChainWalk::new(cursor.snapshot.head);
            return Ok(cursor);
        }
        match cursor.move_to(offset, first) {
            Ok(()) => Ok(cursor),
            Err(e) => Err(cursor.explained(e, offset)),
        }
    }

    /// Positions a new cursor at `offset`, where the stream starts at
    /// `first`.
    fn move_to(&mut self, offset: u64, first: u64) -> Result<()> {
        // At the stream's first offset the walk starts at the segment's
        // header even where a checkpoint stands, so the first segment is
        // checked against genesis or the prune anchor.
        if offset == first || !self.start_at_checkpoint(offset)? {
            // The first segment must start the chain at genesis, or where
            // the prune anchor says the stream starts now.
            let expect = (self.seg_index == 0).then_some(self.snapshot.first);
            self.start_segment(self.seg_index, expect)?;
        }
        // A local file reads ahead as a scan does: fewer, larger groups
        // cost less there than stopping at the offset.
        let to_plan = self.reader.as_ref().is_some_and(|r| r.keeps_to_plan());
        self.walking_to = to_plan.then_some(offset);
        while self.walk.next_offset < offset {
            self.next_record()?;
        }
        self.walking_to = None;
        if to_plan {
            self.ahead_group = FIRST_READ_AHEAD;
        }
        self.bytes = 0;
        self.checkpoints = 0;
        Ok(())
    }

    /// A segment file of this cursor's snapshot that a prune has since
    /// taken away shows as a missing file: said as what it is, the events
    /// left being pruned (the anchor is durable before any file goes, also
    /// when another process's writer pruned). One that no prune accounts
    /// for was removed from outside (a file, or an object its manifest
    /// lists): damage, by the rule of docs/FORMAT.md ("Which error").
    /// Except in a tiered store's directory, whose writer deletes the local
    /// copies it evicted: there a file gone is no sign of damage.
    fn explain_missing(&self, err: Error, offset: u64) -> Error {
        let missing = matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
        let Some(first) = self.snapshot.segments.first().filter(|_| missing) else {
            return err;
        };
        match prune_anchor::read(first.dir(), self.stream) {
            Ok(Some(anchor)) if anchor.first.next_offset > offset => Error::Pruned {
                stream: self.stream,
                offset,
                first_offset: anchor.first.next_offset,
            },
            Ok(_) if layout::is_tiered_dir(first.dir()) => err,
            Ok(_) => self.removed_segment(err, offset),
            Err(_) => err,
        }
    }

    /// The error for the segment holding `offset`, found missing: the
    /// first one is `Corruption` (only a prune anchor may account for
    /// missing first segments), a later one `ChainMismatch` (a segment
    /// removed).
    fn removed_segment(&self, err: Error, offset: u64) -> Error {
        let segments = &self.snapshot.segments;
        let index = segments
            .iter()
            .rposition(|s| s.base_offset <= offset)
            .unwrap_or(0);
        let Some(segment) = segments.get(index) else {
            return err;
        };
        let reason = format!("the segment is missing, and no prune accounts for it ({err})");
        if index == 0 {
            Error::Corruption {
                stream: self.stream,
                offset: segment.base_offset,
                file: segment.display_path(),
                reason,
            }
        } else {
            Error::ChainMismatch {
                stream: self.stream,
                offset: segment.base_offset,
                reason: format!("{} ({})", reason, segment.display_path().display()),
            }
        }
    }

    /// The offset of the next event this cursor returns.
    pub fn next_offset(&self) -> u64 {
        self.walk.next_offset
    }

    /// The chain head just before `next_offset`.
    pub fn head(&self) -> ChainHead {
        self.walk.head()
    }

    /// Segments in the snapshot this cursor reads.
    pub fn segment_count(&self) -> usize {
        self.snapshot.segments.len()
    }

    /// The snapshot's head: where this cursor stops.
    pub fn end(&self) -> ChainHead {
        self.snapshot.head
    }

    /// Moves this cursor's end to `snapshot`, a later snapshot of the same
    /// stream, keeping its position and the chain state it has verified:
    /// a follower reads on from where it stopped instead of verifying again
    /// from a checkpoint. Returns false, changing nothing, when `snapshot`
    /// does not extend this cursor's (other segments, or an older head) or
    /// the cursor has no reader to go on with (it was made at the end).
    fn extend(&mut self, snapshot: Snapshot) -> Result<bool> {
        let old = &self.snapshot;
        let extends = snapshot.head.next_offset >= old.head.next_offset
            && snapshot.segments.len() >= old.segments.len()
            && old
                .segments
                .iter()
                .zip(snapshot.segments.iter())
                .all(|(a, b)| Arc::ptr_eq(a, b));
        if !extends || self.reader.is_none() {
            return Ok(false);
        }
        let was_active = self.seg_index + 1 == old.segments.len();
        self.snapshot = snapshot;
        let limit = if was_active {
            // The segment it reads was the active one: it has grown, or
            // been sealed at its full length.
            Some(self.segment_limit(self.seg_index)?)
        } else {
            None
        };
        if let (Some(reader), Some(limit)) = (self.reader.as_mut(), limit) {
            reader.extend_limit(limit);
        }
        Ok(true)
    }

    /// Where reading segment `index` stops: its length when sealed, the
    /// published length when active.
    fn segment_limit(&self, index: usize) -> Result<u64> {
        self.snapshot.segment_limit(index)
    }

    /// Opens segment `index` for reading from its header, checking that it
    /// continues the chain exactly where the previous one ended.
    fn start_segment(&mut self, index: usize, expect: Option<ChainHead>) -> Result<()> {
        let segment = self.snapshot.segments[index].clone();
        if self.whole_segments {
            // This segment from its header on, and the next one's first
            // block while this one is read.
            for (i, soon) in self
                .snapshot
                .segments
                .iter()
                .enumerate()
                .skip(index)
                .take(2)
            {
                if let Ok(limit) = self.snapshot.segment_limit(i) {
                    soon.fetch_soon(0..limit);
                }
            }
        }
        let header = segment.header()?;
        if let Some(expect) = expect {
            if index == 0 {
                check_first_segment(self.stream, &segment, &header, expect)?;
            }
            if header.base_offset != expect.next_offset {
                return Err(Error::ChainMismatch {
                    stream: self.stream,
                    offset: expect.next_offset,
                    reason: format!(
                        "{} starts at offset {}, the previous segment ends at {}",
                        segment.display_path().display(),
                        header.base_offset,
                        expect.next_offset
                    ),
                });
            }
            if header.base_hash != expect.hash {
                return Err(Error::ChainMismatch {
                    stream: self.stream,
                    offset: expect.next_offset,
                    reason: format!(
                        "{} does not link to the previous segment's last hash",
                        segment.display_path().display()
                    ),
                });
            }
        }
        let limit = self.segment_limit(index)?;
        self.walk = ChainWalk::enter(&header, header.base());
        self.seg_index = index;
        self.at_commit = true;
        let start = header.len() as u64;
        self.reader = Some(if self.whole_segments {
            RecordReader::planned(segment, start, limit, limit)
        } else {
            RecordReader::new(segment, start, limit)
        });
        Ok(())
    }

    /// Starts at the checkpoint at or before `offset` in its segment, if the
    /// segment has one and the record there is what the index says.
    fn start_at_checkpoint(&mut self, offset: u64) -> Result<bool> {
        let segment = self.snapshot.segments[self.seg_index].clone();
        let active = self.seg_index + 1 == self.snapshot.segments.len();
        let limit = self.segment_limit(self.seg_index)?;
        // A wrong entry of the active segment (from a tail marker that does
        // not match the bytes) is replaced by a walk of the segment, and the
        // lookup tried once more; a sealed segment's falls back to its start.
        for _attempt in 0..2 {
            let Some(entry) = segment.checkpoint_before(offset, || self.sealed_end())? else {
                return Ok(false);
            };
            if let Some((reader, rec)) = self.checkpoint_at(&segment, entry, limit)? {
                let header = segment.known_header()?;
                // The checkpoint's own prev_hash starts the walk; the records
                // after it must link to it.
                self.walk = ChainWalk::enter_at_checkpoint(
                    &header,
                    ChainHead {
                        next_offset: entry.offset,
                        hash: rec.header.prev_hash,
                    },
                );
                self.walk.step(&segment, rec)?;
                self.reader = Some(reader);
                self.at_commit = false;
                return Ok(true);
            }
            if !active {
                segment.forget_checkpoints();
                return Ok(false);
            }
            segment.rebuild_active_checkpoints(limit)?;
        }
        Ok(false)
    }

    /// The record at `entry`, with a reader placed after it, if it is the
    /// checkpoint the entry says.
    fn checkpoint_at(
        &self,
        segment: &Arc<Segment>,
        entry: IndexEntry,
        limit: u64,
    ) -> Result<Option<(RecordReader<Arc<Segment>>, RawRecord)>> {
        if entry.pos < segment.records_start()? || entry.pos >= limit {
            return Ok(None);
        }
        // The event sought lies before the next checkpoint, and the first
        // group read ahead of it at most FIRST_READ_AHEAD events past that
        // (their bytes estimated from the span's mean record): a segment in
        // a bucket sends all of it with one ranged GET.
        let span_end = match segment.checkpoint_after(entry) {
            Some(next) => {
                let span = next.pos.saturating_sub(entry.pos);
                let mean = span / next.offset.saturating_sub(entry.offset).max(1);
                next.pos.saturating_add(mean * FIRST_READ_AHEAD as u64)
            }
            None => limit,
        };
        let mut reader = RecordReader::planned(segment.clone(), entry.pos, span_end, limit);
        Ok(match reader.next()? {
            Next::Record(rec)
                if rec.header.kind == Kind::Checkpoint && rec.header.offset == entry.offset =>
            {
                Some((reader, rec))
            }
            _ => None,
        })
    }

    /// Where the chain stands after the current segment, if it is sealed:
    /// the next segment's base (from its header, or from a tier's manifest
    /// when only the bucket holds it). `None` when that cannot be read; the
    /// segment's index is then not trusted (and the walk that reaches the
    /// next segment reports what is wrong with it).
    fn sealed_end(&self) -> Option<ChainHead> {
        self.snapshot
            .segments
            .get(self.seg_index + 1)?
            .base_head()
            .ok()
    }

    /// The next record's payload (`None` for a checkpoint), moving to the
    /// next segment when one ends.
    fn next_record(&mut self) -> Result<Option<(u64, Bytes)>> {
        loop {
            if let Some(event) = self.next_verified()? {
                return Ok(Some(event));
            }
            let Some(reader) = self.reader.as_mut() else {
                return Err(self.ended_early());
            };
            match reader.next()? {
                Next::Record(rec) => {
                    let offset = self.walk.next_offset;
                    let segment = reader.segment();
                    let commit = rec.header.is_commit();
                    let checkpoint = rec.header.kind == Kind::Checkpoint;
                    let payload = self.walk.step(segment, rec)?;
                    self.at_commit = commit;
                    return Ok(match payload {
                        Some(p) => {
                            self.bytes += p.len() as u64;
                            Some((offset, p))
                        }
                        None => {
                            self.checkpoints += u64::from(checkpoint);
                            None
                        }
                    });
                }
                Next::Fault { pos, fault } => {
                    let segment = reader.segment();
                    return Err(segment.corruption(
                        self.walk.next_offset,
                        format!("{} (byte {pos})", fault.describe()),
                    ));
                }
                Next::End => {
                    let next = self.seg_index + 1;
                    if next >= self.snapshot.segments.len() {
                        return Err(self.ended_early());
                    }
                    if !self.at_commit {
                        let segment = reader.segment();
                        return Err(Error::ChainMismatch {
                            stream: self.stream,
                            offset: self.walk.next_offset,
                            reason: format!(
                                "sealed segment {} ends inside a batch: its last record is not the end of one",
                                segment.display_path().display()
                            ),
                        });
                    }
                    let head = self.walk.head();
                    self.start_segment(next, Some(head))?;
                }
            }
        }
    }

    /// The next event of the verified run this cursor takes, if it takes
    /// one; at the run's end, the walk and reader move past it.
    fn next_verified(&mut self) -> Result<Option<(u64, Bytes)>> {
        if self.serving.is_none() {
            let Some(run) = self.follower_run().or_else(|| self.read_ahead()) else {
                return Ok(None);
            };
            self.serving = Some((run, 0));
        }
        let (Some(reader), Some((run, taken))) = (self.reader.as_mut(), self.serving.as_mut())
        else {
            return Ok(None);
        };
        let Some((payload, hash)) = run.kept.events.get(*taken) else {
            // Not taken up with no events, nor left at its end (below).
            self.serving = None;
            return Ok(None);
        };
        *taken += 1;
        let event = (self.walk.next_offset, payload.clone());
        self.walk.take_verified(*hash);
        self.bytes += payload.len() as u64;
        if *taken < run.kept.events.len() {
            self.at_commit = false;
            return Ok(Some(event));
        }
        // The last one: the walk and reader move past the run, to where
        // the next one may be taken up. Within the limit, checked when the
        // run was taken up (limits only grow, and the reader did not move
        // since).
        if !reader.skip_to(run.kept.end_pos) {
            return Err(Error::ChainMismatch {
                stream: self.stream,
                offset: self.walk.next_offset,
                reason: format!(
                    "a verified run of {} ends at byte {}, outside what the reader may read",
                    reader.segment().display_path().display(),
                    run.kept.end_pos
                ),
            });
        }
        self.walk.end_verified(run.kept.end);
        self.checkpoints += run.kept.checkpoints;
        self.at_commit = run.kept.ends_batch;
        self.serving = None;
        Ok(Some(event))
    }

    /// The events a follower's refresh step read and verified from exactly
    /// where this cursor stands, if there are any: the same segment, byte
    /// position and chain head, at a batch boundary.
    fn follower_run(&self) -> Option<Arc<VerifiedRun>> {
        let reader = self.reader.as_ref()?;
        if !self.at_commit || !self.walk.at_batch_start() {
            return None;
        }
        let run = self.snapshot.checked_of(reader.segment())?;
        let kept = &run.kept;
        (kept.start_pos == reader.pos()
            && kept.start == self.walk.head()
            && kept.end_pos <= reader.limit())
        .then_some(run)
    }

    /// The next group of events read and walked as one run, their links
    /// hashed together, if one can be kept from here; when none can, the
    /// records are read one by one for a group's length (they report what
    /// is wrong with them exactly as they always did). A group stops where
    /// a follower's run starts, so that the cursor takes that run there.
    fn read_ahead(&mut self) -> Option<Arc<VerifiedRun>> {
        let reader = self.reader.as_ref()?;
        let left = self
            .walking_to
            .unwrap_or(self.snapshot.head.next_offset)
            .saturating_sub(self.walk.next_offset);
        let until = match self.snapshot.checked_of(reader.segment()) {
            Some(run) if run.kept.start_pos > reader.pos() => run.kept.start_pos,
            _ => reader.limit(),
        };
        if self.walk.next_offset < self.ahead_after || left == 0 || reader.pos() >= until {
            return None;
        }
        let reader = self.reader.as_mut()?;
        let Some(kept) = read_ahead(reader, self.walk, self.ahead_group, left, until) else {
            self.ahead_after = self.walk.next_offset + self.ahead_group as u64;
            return None;
        };
        self.ahead_group = (self.ahead_group * 2).min(MAX_READ_AHEAD);
        let segment = self.snapshot.segments[self.seg_index].clone();
        Some(Arc::new(VerifiedRun::new(segment, kept)))
    }

    fn ended_early(&self) -> Error {
        let segment = &self.snapshot.segments[self.seg_index];
        Error::ChainMismatch {
            stream: self.stream,
            offset: self.walk.next_offset,
            reason: format!(
                "stream data ends at offset {} in {}, before its head at {}",
                self.walk.next_offset,
                segment.display_path().display(),
                self.snapshot.head.next_offset
            ),
        }
    }

    /// The next event, or `None` at the end of the snapshot.
    pub fn next_event(&mut self) -> Result<Option<(u64, Bytes)>> {
        match self.read_next_event() {
            Err(e) => Err(self.explained(e, self.walk.next_offset)),
            read => read,
        }
    }

    /// A read's error at `offset`, said as what it is (`explain_missing`).
    /// After damage, the segment's file forgets the bytes it kept: the
    /// next read sees the file, or object, as it is then (mended, say),
    /// as a local file's page cache would.
    fn explained(&self, err: Error, offset: u64) -> Error {
        let err = self.explain_missing(err, offset);
        if matches!(err, Error::Corruption { .. } | Error::ChainMismatch { .. }) {
            if let Some(segment) = self.snapshot.segments.get(self.seg_index) {
                segment.forget_cached();
            }
        }
        err
    }

    fn read_next_event(&mut self) -> Result<Option<(u64, Bytes)>> {
        while self.walk.next_offset < self.snapshot.head.next_offset {
            if let Some(event) = self.next_record()? {
                return Ok(Some(event));
            }
        }
        if let Some(damage) = self.damage.take() {
            return Err(damage);
        }
        Ok(None)
    }
}

/// Events of a stream, lazily, from a start offset to the head at the time
/// the iterator was made (or last extended, `Store::extend_iter`). Stops
/// after the first error.
#[derive(Debug)]
pub struct EventIter {
    stream: u64,
    cursor: Option<Cursor>,
    /// The offset of the next event it returns.
    next_offset: u64,
}

impl EventIter {
    pub(crate) fn new(cursor: Cursor) -> Self {
        EventIter {
            stream: cursor.stream,
            next_offset: cursor.next_offset(),
            cursor: Some(cursor),
        }
    }

    /// The stream it reads.
    pub fn stream(&self) -> u64 {
        self.stream
    }

    /// The offset of the next event it returns (its end once exhausted).
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Goes on to `snapshot`'s head from where it stopped; false if it
    /// cannot (it failed, or see `Cursor::extend`), and the caller starts
    /// a new cursor at `next_offset` instead.
    pub(crate) fn extend(&mut self, snapshot: Snapshot) -> Result<bool> {
        match self.cursor.as_mut() {
            Some(cursor) => cursor.extend(snapshot),
            None => Ok(false),
        }
    }

    pub(crate) fn restart(&mut self, cursor: Cursor) {
        self.next_offset = cursor.next_offset();
        self.cursor = Some(cursor);
    }
}

impl Iterator for EventIter {
    type Item = Result<(u64, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        let cursor = self.cursor.as_mut()?;
        match cursor.next_event() {
            Ok(Some(event)) => {
                self.next_offset = event.0 + 1;
                Some(Ok(event))
            }
            // Kept: `Store::extend_iter` may take it further.
            Ok(None) => None,
            Err(e) => {
                self.cursor = None;
                Some(Err(e))
            }
        }
    }
}

/// Checks that a stream's first segment (its header `header`) starts where
/// the stream does, `first` (the empty head, or a prune anchor's): at its
/// offset, and from its chain hash.
pub(crate) fn check_first_segment(
    stream: u64,
    segment: &Segment,
    header: &SegmentHeader,
    first: ChainHead,
) -> Result<()> {
    if header.base_offset != first.next_offset {
        // Nothing but a prune may take the first segments away, and a
        // prune leaves an anchor naming where the stream starts. A tiered
        // store's directory read alone lacks the segments it evicted:
        // said, so it does not read as plain damage.
        let tiered = layout::is_tiered_dir(segment.dir());
        return Err(Error::Corruption {
            stream,
            offset: first.next_offset,
            file: segment.display_path(),
            reason: format!(
                "the stream's first segment starts at offset {}, but {}: the segments before it are missing{}",
                header.base_offset,
                if first.next_offset == 0 {
                    "no prune anchor accounts for the events before it".to_string()
                } else {
                    format!("its prune anchor says it starts at {}", first.next_offset)
                },
                if tiered {
                    " (this is the directory of a tiered store: if it was read without its tier, the segments it evicted are only in the bucket; open it with its tier, or verify from the bucket)"
                } else {
                    ""
                }
            ),
        });
    }
    if header.base_hash != first.hash {
        return Err(Error::ChainMismatch {
            stream,
            offset: first.next_offset,
            reason: if first.next_offset == 0 {
                format!(
                    "{} does not start from the empty chain (its base hash is not zero)",
                    segment.display_path().display()
                )
            } else {
                format!(
                    "{} does not start from the chain hash its prune anchor records",
                    segment.display_path().display()
                )
            },
        });
    }
    Ok(())
}
