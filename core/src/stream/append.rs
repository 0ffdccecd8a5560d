//! Appending a batch: encode, pick the segment, write, publish, fsync.

use std::sync::Arc;

use super::{Snapshot, Stream};
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::record::{self, Kind, FLAG_COMMIT};
use crate::segment::IndexEntry;
use crate::segment::Segment;
use crate::segment::{SegmentHeader, SegmentRules};

impl Stream {
    pub fn append_batch<E: AsRef<[u8]>>(
        &self,
        events: &[E],
        expected_offset: Option<u64>,
        fsync: bool,
    ) -> Result<ChainHead> {
        if events.is_empty() {
            return Err(Error::invalid("a batch must hold at least one event"));
        }
        let max = self.options.max_event_size;
        if let Some(big) = events.iter().find(|e| e.as_ref().len() as u64 > max) {
            return Err(Error::EventTooLarge {
                size: big.as_ref().len() as u64,
                max,
            });
        }

        let mut guard = self.writer.lock();
        if let Some(err) = self.damage_error().or_else(|| self.poison_error()) {
            return Err(err);
        }
        let before = self.snapshot();
        if let Some(expected) = expected_offset {
            if expected != before.head.next_offset {
                return Err(Error::OffsetMismatch {
                    expected,
                    actual: before.head.next_offset,
                });
            }
        }

        // Encode the whole batch first: its size decides the segment.
        let writer = &mut *guard;
        writer.buf.clear();
        let mut checkpoints = Vec::new();
        let mut head = before.head;
        let rules = SegmentRules::of(&self.options);
        if rules.timed {
            // Never earlier than the batch before, whoever wrote it: a
            // clock set back, or a restart, does not make times go
            // backwards within the stream (`seek_time` relies on it).
            let floor = match writer.last_time {
                Some(t) => t,
                None => self.last_recorded_time(&before)?.unwrap_or(0),
            };
            let time = unix_millis().max(floor);
            writer.last_time = Some(time);
            record::encode(
                &mut writer.buf,
                Kind::Time,
                0,
                head.next_offset,
                &head.hash,
                |out| {
                    out.extend_from_slice(&time.to_le_bytes());
                    record::Codec::Raw
                },
            );
        }
        let last = events.len() - 1;
        for (i, event) in events.iter().enumerate() {
            let payload = event.as_ref();
            if rules.checkpoint_before(head.next_offset) {
                checkpoints.push(IndexEntry {
                    offset: head.next_offset,
                    pos: writer.buf.len() as u64,
                });
                record::encode(
                    &mut writer.buf,
                    Kind::Checkpoint,
                    0,
                    head.next_offset,
                    &head.hash,
                    |_| record::Codec::Raw,
                );
            }
            let flags = if i == last { FLAG_COMMIT } else { 0 };
            let encoder = &mut writer.encoder;
            let start = writer.buf.len();
            let codec = record::encode(
                &mut writer.buf,
                Kind::Event,
                flags,
                head.next_offset,
                &head.hash,
                |out| encoder.write(out, payload),
            );
            // Hash the payload as stored, not the caller's bytes again: see
            // the invariant on Encoder.
            let stored = record::stored_payload(&writer.buf[start..]);
            head = head.advance(writer.encoder.raw_of(codec, stored));
        }
        writer.encoder.trim();
        let batch = &writer.buf;

        let (segment, pos, rotated) = self.segment_for(&before, batch.len() as u64)?;
        let end = match segment.append(batch, pos, checkpoints) {
            Ok(end) => end,
            Err(failure) => {
                if !failure.state_known {
                    self.poison_with(&failure.error);
                }
                if let Some(new) = rotated {
                    self.publish_rotation(new);
                }
                return Err(failure.error);
            }
        };
        {
            let mut shared = self.shared.write();
            if let Some(new) = rotated {
                let mut segments = (*shared.segments).clone();
                segments.push(new);
                shared.segments = Arc::new(segments);
            }
            shared.head = head;
            shared.active_len = end;
        }
        drop(guard);
        self.wake_waiters();

        if fsync {
            self.sync_segment(&segment, end)?;
        }
        Ok(head)
    }

    /// The segment the next batch goes to, rotating or creating one when
    /// needed. Returns the segment, the position to write at, and the new
    /// segment if one was created (to publish with the batch).
    fn segment_for(
        &self,
        before: &Snapshot,
        batch_len: u64,
    ) -> Result<(Arc<Segment>, u64, Option<Arc<Segment>>)> {
        let rules = SegmentRules::of(&self.options);
        let fresh = |head: ChainHead| -> Result<(Arc<Segment>, u64, Option<Arc<Segment>>)> {
            let new = self.create_segment(head)?;
            let pos = new.written_len();
            Ok((new.clone(), pos, Some(new)))
        };
        match before.segments.last() {
            None => fresh(before.head),
            Some(active) => {
                let header = active.header()?;
                let has_records = before.active_len > header.len() as u64;
                // A segment's records follow the rules in its header, so a
                // writer opened with other options starts a new segment
                // (recovery already rewrote the header of an empty one).
                let full = before.active_len + batch_len > self.options.segment_size;
                if has_records && (full || header.rules != Some(rules)) {
                    self.seal(active, before)?;
                    fresh(before.head)
                } else {
                    Ok((active.clone(), before.active_len, None))
                }
            }
        }
    }

    /// A new, empty segment starting at `head`, under the store's rules.
    fn create_segment(&self, head: ChainHead) -> Result<Arc<Segment>> {
        let header = SegmentHeader {
            stream: self.id,
            base_offset: head.next_offset,
            base_hash: head.hash,
            rules: Some(SegmentRules::of(&self.options)),
        };
        Ok(Arc::new(Segment::create(self.dir.clone(), header)?))
    }

    /// Seals the active segment now if it holds records, starting an empty
    /// one at the head, so everything appended so far is in sealed
    /// segments (what a tier uploads). Returns the head.
    pub(crate) fn seal_now(&self) -> Result<ChainHead> {
        let _guard = self.writer.lock();
        if let Some(err) = self.damage_error().or_else(|| self.poison_error()) {
            return Err(err);
        }
        let before = self.snapshot();
        let Some(active) = before.segments.last() else {
            return Ok(before.head);
        };
        if before.active_len <= active.header()?.len() as u64 {
            return Ok(before.head);
        }
        self.seal(active, &before)?;
        let new = self.create_segment(before.head)?;
        self.publish_rotation(new);
        Ok(before.head)
    }

    /// Seals the active segment: fsync it, then write its index. After this
    /// it is never written again.
    fn seal(&self, active: &Arc<Segment>, before: &Snapshot) -> Result<()> {
        self.sync_segment(active, before.active_len)?;
        active.write_index(before.head.next_offset, before.head.hash, before.active_len)
    }

    /// A rotation whose first write failed still leaves a new, empty segment
    /// on disk; publish it so the in-memory view matches the files.
    fn publish_rotation(&self, new: Arc<Segment>) {
        let mut shared = self.shared.write();
        shared.active_len = new.written_len();
        let mut segments = (*shared.segments).clone();
        segments.push(new);
        shared.segments = Arc::new(segments);
    }

    pub(super) fn sync_segment(&self, segment: &Segment, end: u64) -> Result<()> {
        segment.sync_to(end, || self.poison_error(), |err| self.poison_with(err))
    }
}

/// Now, in Unix milliseconds (0 for a clock before 1970).
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
