//! Reads by append time: the time records TIMED segments put before every
//! batch (docs/FORMAT.md, "Time record").
//!
//! Times never go backwards within a stream as one writer writes it (each
//! batch's is at least the one before), so the segments are searched from
//! the newest back and only the one holding the answer is read through.
//! Time records are read with their CRCs checked, not chain-verified: they
//! only say where to start, and the reads that follow verify.

use std::sync::Arc;

use super::Stream;
use crate::error::Result;
use crate::record::{time_of, Kind};
use crate::segment::{Next, RecordReader, Segment};

impl Stream {
    /// The first offset from which every recorded batch time is at least
    /// `millis` (Unix milliseconds): the offset just after the last batch
    /// recorded earlier than `millis`, or the stream's first offset if none
    /// is. Batches without a time record (written with timestamps off) are
    /// never taken as earlier, so they are kept by `KeepNewerThan` unless a
    /// later batch is earlier. The stream's next offset if every batch is
    /// earlier.
    pub fn seek_time(&self, millis: u64) -> Result<u64> {
        if let Some(err) = self.damage_error() {
            return Err(err);
        }
        let snapshot = self.snapshot();
        let segments = &snapshot.segments;
        for i in (0..segments.len()).rev() {
            let limit = snapshot.segment_limit(i)?;
            let end = match segments.get(i + 1) {
                Some(next) => next.base_offset,
                None => snapshot.head.next_offset,
            };
            match first_time(&segments[i], limit)? {
                Some(first) if first < millis => {
                    return after_last_earlier(&segments[i], limit, millis, end);
                }
                _ => continue,
            }
        }
        Ok(snapshot.first.next_offset)
    }
}

impl Stream {
    /// The time of the stream's last recorded batch: the last time record
    /// of the newest segment that has any (read once, by the first timed
    /// append after an open that did not meet one).
    pub(super) fn last_recorded_time(&self, snapshot: &super::Snapshot) -> Result<Option<u64>> {
        let segments = &snapshot.segments;
        for i in (0..segments.len()).rev() {
            let limit = snapshot.segment_limit(i)?;
            let header = segments[i].header()?;
            if !header.rules.is_some_and(|r| r.timed) {
                continue;
            }
            let mut reader = RecordReader::new(segments[i].clone(), header.len() as u64, limit);
            let mut last = None;
            while let Next::Record(rec) = reader.next()? {
                if rec.header.kind == Kind::Time {
                    last = Some(time_of(&rec.stored));
                }
            }
            if last.is_some() {
                return Ok(last);
            }
        }
        Ok(None)
    }
}

/// The time of a segment's first batch, if it records one.
fn first_time(segment: &Arc<Segment>, limit: u64) -> Result<Option<u64>> {
    let header = segment.header()?;
    if !header.rules.is_some_and(|r| r.timed) {
        return Ok(None);
    }
    let mut reader = RecordReader::new(segment.clone(), header.len() as u64, limit);
    Ok(match reader.next()? {
        Next::Record(rec) if rec.header.kind == Kind::Time => Some(time_of(&rec.stored)),
        _ => None,
    })
}

/// In a segment whose first batch is earlier than `millis`: the offset of
/// the first batch after its last earlier one, or `end` if that is its
/// last.
fn after_last_earlier(segment: &Arc<Segment>, limit: u64, millis: u64, end: u64) -> Result<u64> {
    let start = segment.records_start()?;
    let mut reader = RecordReader::new(segment.clone(), start, limit);
    let mut answer = None;
    loop {
        match reader.next()? {
            Next::Record(rec) if rec.header.kind == Kind::Time => {
                if time_of(&rec.stored) < millis {
                    answer = None;
                } else if answer.is_none() {
                    answer = Some(rec.header.offset);
                }
            }
            Next::Record(_) => {}
            Next::End => break,
            Next::Fault { pos, fault } => {
                return Err(segment.corruption(
                    answer.unwrap_or(segment.base_offset),
                    format!("{} (byte {pos})", fault.describe()),
                ));
            }
        }
    }
    Ok(answer.unwrap_or(end))
}
