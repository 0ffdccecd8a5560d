//! What a stream holds, summarized without reading its records.

use super::Stream;
use crate::error::Result;

/// A stream's size and extent, as of one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Segment files (sealed ones and the active one).
    pub segments: u64,
    /// Bytes of those segment files: the full length of each sealed one,
    /// the committed length of the active one. Index files are not counted.
    pub bytes: u64,
    /// The offset of the first event the stream holds: 0, or where the
    /// last prune left it.
    pub first_offset: u64,
    /// The offset the next event will get: one past the last event.
    pub next_offset: u64,
}

impl Stream {
    /// Counts segments and bytes from the snapshot and the sealed files'
    /// lengths; no record is read.
    pub fn stats(&self) -> Result<StreamStats> {
        let snapshot = self.snapshot();
        let Some((_active, sealed)) = snapshot.segments.split_last() else {
            return Ok(StreamStats::default());
        };
        let mut bytes = snapshot.active_len;
        for segment in sealed {
            bytes += segment.sealed_len()?;
        }
        Ok(StreamStats {
            segments: snapshot.segments.len() as u64,
            bytes,
            first_offset: snapshot.first.next_offset,
            next_offset: snapshot.head.next_offset,
        })
    }
}
