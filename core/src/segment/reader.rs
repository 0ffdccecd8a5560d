//! Walks the records of one segment from a byte position up to a limit.
//!
//! Sealed segments are sliced out of their memory map (no copies); the
//! active segment is read in windows with positioned reads, never beyond the
//! length the stream has published.

use std::ops::Deref;

use bytes::Bytes;

use super::Segment;
use crate::error::Result;
use crate::record::{self, Header, HeaderFault, HEADER_LEN};

/// Positioned reads of the active segment fetch this much at a time.
const WINDOW: u64 = 256 << 10;

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
enum Source {
    Mapped(Bytes),
    Window { start: u64, bytes: Bytes },
}

#[derive(Debug)]
pub struct RecordReader<S: Deref<Target = Segment>> {
    segment: S,
    source: Source,
    pos: u64,
    limit: u64,
}

impl<S: Deref<Target = Segment>> RecordReader<S> {
    /// A reader of `[pos, limit)`. `mapped` reads through the segment's map
    /// (sealed segments only); the limit is clamped to the map's length.
    pub fn new(segment: S, pos: u64, limit: u64, mapped: bool) -> Result<Self> {
        let (source, limit) = if mapped {
            let map = segment.mapped()?;
            let limit = limit.min(map.len() as u64);
            (Source::Mapped(map), limit)
        } else {
            (
                Source::Window {
                    start: pos,
                    bytes: Bytes::new(),
                },
                limit,
            )
        };
        // An empty range when a caller's start lies past the end.
        let limit = limit.max(pos);
        Ok(RecordReader {
            segment,
            source,
            pos,
            limit,
        })
    }

    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// `len` bytes at `pos`, which the caller has checked lie below the limit.
    fn fetch(&mut self, pos: u64, len: u64) -> Result<Bytes> {
        match &mut self.source {
            Source::Mapped(map) => Ok(map.slice(pos as usize..(pos + len) as usize)),
            Source::Window { start, bytes } => {
                let end = *start + bytes.len() as u64;
                if pos < *start || pos + len > end {
                    let want = len.max(WINDOW.min(self.limit - pos));
                    *bytes = self.segment.read_at(pos, want as usize)?;
                    *start = pos;
                }
                let at = (pos - *start) as usize;
                Ok(bytes.slice(at..at + len as usize))
            }
        }
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
        let header_bytes = self.fetch(pos, HEADER_LEN as u64)?;
        let header = match record::decode_header(&header_bytes) {
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
        let bytes = self.fetch(pos, len)?;
        if !record::record_crc_ok(&bytes) {
            return Ok(Next::Fault {
                pos,
                fault: Fault::Checksum,
            });
        }
        self.pos = pos + len;
        let stored = bytes.slice(HEADER_LEN..HEADER_LEN + header.stored_len as usize);
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
            let len = WINDOW.min(self.limit - pos);
            let chunk = self.fetch(pos, len)?;
            if chunk.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            pos += len;
        }
        Ok(true)
    }
}
