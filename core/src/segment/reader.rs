//! Walks the records of one segment from a byte position up to a limit.
//!
//! Records are read in windows with positioned reads, never beyond the
//! caller's limit (a sealed segment's length, or the length the stream has
//! published for the active one). Records and payloads are slices of the
//! window, not copies. The first window is small, so a random read that
//! starts at a checkpoint copies little; each refill doubles it, so a scan
//! makes few system calls.
//!
//! A reader may also be handed [`CheckedRecords`]: records of its segment
//! that a follower's refresh (`stream/follow.rs`) has already read and
//! CRC-checked. Standing exactly at the position of one of them, the
//! reader returns that record (the very bytes that passed the CRC, shared)
//! instead of reading and checking the same bytes again; anywhere else it
//! reads the file. Either way every record it returns passed its CRCs, lies
//! below the reader's limit, and is what the file held at its position when
//! it was checked, so callers (the chain walk) cannot tell the two apart.

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use super::Segment;
use crate::error::Result;
use crate::record::{self, Header, HeaderFault, HEADER_LEN};

/// The first window of a reader, and the largest. Measured on the bench
/// store: windows that stay in L2 while their records are hashed scan 2-3%
/// faster than 1 MiB ones, and a 16 KiB first window keeps a random read's
/// copy small.
const FIRST_WINDOW: u64 = 16 << 10;
const MAX_WINDOW: u64 = 256 << 10;

/// One record whose header and CRC checked out.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub header: Header,
    /// Byte position of the record in its segment.
    pub pos: u64,
    /// The payload as stored (maybe compressed).
    pub stored: Bytes,
}

impl RawRecord {
    /// What keeping this record in memory costs: its bytes in the file
    /// (which its payload keeps alive) and the record itself.
    pub fn kept_cost(&self) -> u64 {
        self.header.record_len() + std::mem::size_of::<RawRecord>() as u64
    }
}

/// What stopped a walk before the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The bytes left end inside a record (a torn write, or truncation).
    Short,
    Header(HeaderFault),
    /// The record's trailing CRC does not match.
    Checksum,
}

impl Fault {
    pub fn describe(self) -> String {
        match self {
            Fault::Short => "segment ends inside a record".into(),
            Fault::Header(f) => f.describe(),
            Fault::Checksum => "record checksum mismatch".into(),
        }
    }
}

/// Records of one segment that were read and CRC-checked once already, in
/// file order and contiguous (each starts where the one before it ends),
/// and all within the committed part of the segment the scan that made
/// them found (whole batches: `scan::scan_tail_keeping`).
#[derive(Debug)]
pub struct CheckedRecords {
    segment: Arc<Segment>,
    records: Vec<RawRecord>,
}

impl CheckedRecords {
    pub fn new(segment: Arc<Segment>, records: Vec<RawRecord>) -> Self {
        CheckedRecords { segment, records }
    }

    /// Whether these are records of `segment` (this very handle: segments
    /// of one stream's snapshots are shared, never made twice).
    pub fn of(&self, segment: &Segment) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.segment), segment)
    }

    /// What keeping these records costs (`RawRecord::kept_cost`).
    pub fn kept_cost(&self) -> u64 {
        self.records.iter().map(RawRecord::kept_cost).sum()
    }

    /// The index of the record at `pos`, with `hint` tried first.
    fn find(&self, pos: u64, hint: usize) -> Option<usize> {
        if self.records.get(hint).is_some_and(|r| r.pos == pos) {
            return Some(hint);
        }
        let first = self.records.first()?.pos;
        let last = self.records.last()?.pos;
        if pos < first || pos > last {
            return None;
        }
        let i = self.records.partition_point(|r| r.pos < pos);
        self.records.get(i).filter(|r| r.pos == pos).map(|_| i)
    }
}

#[derive(Debug)]
pub enum Next {
    Record(RawRecord),
    End,
    Fault { pos: u64, fault: Fault },
}

#[derive(Debug)]
pub struct RecordReader<S: Deref<Target = Segment>> {
    segment: S,
    /// Bytes of the file from `start`.
    window: Bytes,
    start: u64,
    /// How much the next refill reads (at least).
    window_len: u64,
    pos: u64,
    limit: u64,
    /// Records of this segment already checked, and the index of the one
    /// expected next.
    checked: Option<Arc<CheckedRecords>>,
    checked_next: usize,
}

impl<S: Deref<Target = Segment>> RecordReader<S> {
    /// A reader of `[pos, limit)`; `limit` must not pass the file's end.
    pub fn new(segment: S, pos: u64, limit: u64) -> Self {
        RecordReader {
            segment,
            window: Bytes::new(),
            start: pos,
            window_len: FIRST_WINDOW,
            pos,
            // An empty range when a caller's start lies past the end.
            limit: limit.max(pos),
            checked: None,
            checked_next: 0,
        }
    }

    /// Hands the reader records of its segment that were read and checked
    /// already (replacing any it had); records of another segment are
    /// ignored.
    pub fn use_checked(&mut self, checked: Option<Arc<CheckedRecords>>) {
        self.checked = checked.filter(|c| c.of(&self.segment));
        self.checked_next = 0;
    }

    /// The checked record standing at `pos`, if there is one and it ends
    /// within the limit.
    fn take_checked(&mut self, pos: u64) -> Option<RawRecord> {
        let checked = self.checked.as_ref()?;
        let i = checked.find(pos, self.checked_next)?;
        let rec = &checked.records[i];
        if rec.header.record_len() > self.limit - pos {
            return None;
        }
        self.checked_next = i + 1;
        Some(rec.clone())
    }

    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// Reads on to `limit` (never back): the segment grew, and the bytes
    /// up to the old limit, which the window may hold, never change.
    pub fn extend_limit(&mut self, limit: u64) {
        self.limit = self.limit.max(limit);
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Makes the window hold the `len` bytes at `pos` (which the caller has
    /// checked lie below the limit) and returns where they start in it.
    /// Callers borrow what they only check and slice (a reference count)
    /// only what they hand out.
    fn window_at(&mut self, pos: u64, len: u64) -> Result<usize> {
        let end = self.start + self.window.len() as u64;
        if pos < self.start || pos + len > end {
            let want = len.max(self.window_len.min(self.limit - pos));
            self.window = self.segment.read_at(pos, want as usize)?;
            self.start = pos;
            self.window_len = (self.window_len * 2).min(MAX_WINDOW);
        }
        Ok((pos - self.start) as usize)
    }

    pub fn next(&mut self) -> Result<Next> {
        let pos = self.pos;
        let remaining = self.limit - pos;
        if remaining == 0 {
            return Ok(Next::End);
        }
        if let Some(rec) = self.take_checked(pos) {
            self.pos = pos + rec.header.record_len();
            return Ok(Next::Record(rec));
        }
        if remaining < HEADER_LEN as u64 {
            return Ok(Next::Fault {
                pos,
                fault: Fault::Short,
            });
        }
        let at = self.window_at(pos, HEADER_LEN as u64)?;
        let header = match record::decode_header(&self.window[at..at + HEADER_LEN]) {
            Ok(h) => h,
            Err(f) => {
                return Ok(Next::Fault {
                    pos,
                    fault: Fault::Header(f),
                })
            }
        };
        let len = header.record_len();
        if len > remaining {
            return Ok(Next::Fault {
                pos,
                fault: Fault::Short,
            });
        }
        let at = self.window_at(pos, len)?;
        if !record::record_crc_ok(&self.window[at..at + len as usize]) {
            return Ok(Next::Fault {
                pos,
                fault: Fault::Checksum,
            });
        }
        self.pos = pos + len;
        let stored_at = at + HEADER_LEN;
        let stored = self
            .window
            .slice(stored_at..stored_at + header.stored_len as usize);
        Ok(Next::Record(RawRecord {
            header,
            pos,
            stored,
        }))
    }

    /// Whether every byte from `pos` to the limit is zero: what a file
    /// system leaves where a write was lost in a power failure.
    pub fn zeros_from(&mut self, mut pos: u64) -> Result<bool> {
        while pos < self.limit {
            let len = MAX_WINDOW.min(self.limit - pos);
            let at = self.window_at(pos, len)?;
            if self.window[at..at + len as usize].iter().any(|&b| b != 0) {
                return Ok(false);
            }
            pos += len;
        }
        Ok(true)
    }
}
