//! Walks the records of one segment from a byte position up to a limit.
//!
//! Records are read in windows with positioned reads, never beyond the
//! caller's limit (a sealed segment's length, or the length the stream has
//! published for the active one). Records and payloads are slices of the
//! window, not copies. The first window is small, so a random read that
//! starts at a checkpoint copies little; each refill doubles it, so a scan
//! makes few system calls.

use std::ops::Deref;

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
    /// Refills stop here while below it (a record crossing it is read
    /// whole): the end of what the file fetches at once (0: none).
    planned_end: u64,
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
            planned_end: 0,
        }
    }

    /// A reader of `[pos, limit)` that reads `[pos, planned_end)` next:
    /// the file is told so, and if it fetches that span at once (a
    /// segment in a bucket, with one request) windows do not reach past
    /// it unless a record does. A local file reads as any reader does.
    pub fn planned(segment: S, pos: u64, planned_end: u64, limit: u64) -> Self {
        let planned_end = planned_end.min(limit);
        let fetched = segment.will_read(pos..planned_end);
        RecordReader {
            planned_end: if fetched { planned_end } else { 0 },
            ..RecordReader::new(segment, pos, limit)
        }
    }

    /// Whether the file fetches a planned span at once (see `planned`).
    pub fn keeps_to_plan(&self) -> bool {
        self.planned_end > 0
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

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Moves on to `pos` (forward, within the limit) without reading what
    /// lies between: records the caller took as verified elsewhere
    /// (`walk::VerifiedRun`). False, changing nothing, if `pos` is not
    /// there.
    pub fn skip_to(&mut self, pos: u64) -> bool {
        if pos < self.pos || pos > self.limit {
            return false;
        }
        self.pos = pos;
        true
    }

    /// Moves back to `pos`, where a record this reader returned began or
    /// ended: a caller that read ahead goes on from where what it took
    /// ends (`keep::read_ahead`). The window may still hold those bytes.
    pub fn back_to(&mut self, pos: u64) {
        debug_assert!(pos <= self.pos);
        self.pos = pos.min(self.pos);
    }

    /// Makes the window hold the `len` bytes at `pos` (which the caller has
    /// checked lie below the limit) and returns where they start in it.
    /// Callers borrow what they only check and slice (a reference count)
    /// only what they hand out.
    fn window_at(&mut self, pos: u64, len: u64) -> Result<usize> {
        let end = self.start + self.window.len() as u64;
        if pos < self.start || pos + len > end {
            let mut want = len.max(self.window_len.min(self.limit - pos));
            if pos < self.planned_end {
                want = want.min(self.planned_end - pos).max(len);
            }
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
