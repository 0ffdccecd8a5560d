//! Full verification of a stream from genesis, or from its prune anchor.

use super::cursor::Cursor;
use super::{Snapshot, Stream};
use crate::error::{Error, Result};
use crate::hash::ChainHead;

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked (CRC, offset, chain link).
    pub events: u64,
    /// Raw payload bytes hashed.
    pub bytes: u64,
    /// Checkpoint records checked against the chain.
    pub checkpoints: u64,
    /// Segment files read.
    pub segments: u64,
    /// The head the stored chain leads to.
    pub head: ChainHead,
}

impl Stream {
    /// Walks every record from the stream's first offset (0, or its prune
    /// anchor), read from the files: CRCs, dense offsets, every chain
    /// link, every checkpoint and segment boundary, and that the chain ends
    /// at the head held in memory. `probe`, when given, is the offset whose
    /// chain hash the caller also wants (`verify_against`).
    pub fn verify(&self, probe: Option<u64>) -> Result<(VerifyReport, Option<ChainHead>)> {
        if let Some(err) = self.damage_error() {
            return Err(err);
        }
        // Every byte from the files as they are now: not the records a
        // follower's refresh read and checked earlier (`Snapshot::checked`),
        // which may no longer be what the files hold.
        let snapshot = Snapshot {
            checked: None,
            ..self.snapshot()
        };
        let first = snapshot.first;
        if let Some(offset) = probe.filter(|&p| p < first.next_offset) {
            return Err(Error::Pruned {
                stream: self.id,
                offset,
                first_offset: first.next_offset,
            });
        }
        let mut cursor = Cursor::seek(self.id, snapshot, None, first.next_offset, true)?;
        let end = cursor.end();
        let mut probed = (probe == Some(first.next_offset)).then_some(first);
        let mut events = 0u64;
        while cursor.next_event()?.is_some() {
            events += 1;
            if probe == Some(cursor.next_offset()) {
                probed = Some(cursor.head());
            }
        }
        let reached = cursor.head();
        if reached != end {
            return Err(Error::ChainMismatch {
                stream: self.id,
                offset: reached.next_offset,
                reason: format!(
                    "the stored chain ends at {reached}, but the stream's head is {end}: \
                     the files changed after the store was opened"
                ),
            });
        }
        let report = VerifyReport {
            events,
            bytes: cursor.bytes,
            checkpoints: cursor.checkpoints,
            segments: cursor.segment_count() as u64,
            head: end,
        };
        Ok((report, probed))
    }
}
