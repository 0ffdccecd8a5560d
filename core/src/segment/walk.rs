//! Following the hash chain record by record.

use bytes::Bytes;

use super::reader::RawRecord;
use super::Segment;
use crate::codec;
use crate::error::{Error, Result};
use crate::hash::{chain_step, ChainHead, Hash};
use crate::options::MAX_EVENT_SIZE_LIMIT;
use crate::record::{Codec, Kind};

use super::header::{SegmentHeader, SegmentRules};

/// Where checkpoint and time records may stand. A writer never puts two
/// checkpoints in a row, and in a segment that records its interval
/// (format version 2) a checkpoint precedes exactly the events whose
/// offset is a non-zero multiple of it. In a TIMED segment a time record
/// begins every batch (before its checkpoint, if one is due) and stands
/// nowhere else. Checked as records are met, so deleting, inserting or
/// moving one breaks the stream like any other record would.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placement {
    rules: Option<SegmentRules>,
    after_checkpoint: bool,
    after_time: bool,
    /// Whether the next record begins a batch; `None` when not known (a
    /// walk that started at a checkpoint inside a segment).
    batch_start: Option<bool>,
    /// The next offset the interval puts a checkpoint before, kept so the
    /// check costs no division per record: callers pass offsets that never
    /// go down (checked against the chain first).
    next_due: u64,
}

impl Placement {
    /// At the start of a batch: the first record of a segment, or just
    /// after a COMMIT.
    pub fn new(rules: Option<SegmentRules>) -> Self {
        Placement {
            rules,
            after_checkpoint: false,
            after_time: false,
            batch_start: Some(true),
            next_due: 0,
        }
    }

    /// At a checkpoint inside a segment, where whether a batch begins is
    /// not known.
    pub fn mid_segment(rules: Option<SegmentRules>) -> Self {
        Placement {
            batch_start: None,
            ..Placement::new(rules)
        }
    }

    /// Whether the interval puts a checkpoint right before `offset`
    /// (`SegmentRules::checkpoint_before`, without dividing every time).
    fn due(&mut self, offset: u64, interval: u64) -> bool {
        if offset > self.next_due {
            self.next_due = offset.div_ceil(interval).saturating_mul(interval);
        }
        offset != 0 && offset == self.next_due
    }

    /// Checks that a record of `kind` carrying `offset` (with COMMIT set
    /// or not) may come next.
    pub fn check(&mut self, kind: Kind, offset: u64, commit: bool) -> Result<(), String> {
        let interval = self.rules.map(|r| r.checkpoint_interval);
        let timed = self.rules.is_some_and(|r| r.timed);
        if kind == Kind::Time {
            if !timed {
                return Err(format!(
                    "time record at offset {offset} in a segment whose header records no timestamps"
                ));
            }
            if self.after_time || self.after_checkpoint || self.batch_start == Some(false) {
                return Err(format!(
                    "time record at offset {offset} does not begin a batch"
                ));
            }
            self.after_time = true;
            self.batch_start = Some(false);
            return Ok(());
        }
        if timed && self.batch_start == Some(true) {
            return Err(format!(
                "the batch at offset {offset} lacks the time record its segment puts before every batch"
            ));
        }
        self.after_time = false;
        self.batch_start = Some(commit);
        let expected = interval.is_some_and(|k| self.due(offset, k));
        match kind {
            Kind::Time => {}
            Kind::Checkpoint => {
                if self.after_checkpoint {
                    return Err(format!(
                        "two checkpoint records in a row at offset {offset}"
                    ));
                }
                if let (Some(k), false) = (interval, expected) {
                    return Err(format!(
                        "checkpoint record at offset {offset}, where the segment's interval of {k} puts none"
                    ));
                }
                self.after_checkpoint = true;
            }
            Kind::Event => {
                if let (Some(k), true, false) = (interval, expected, self.after_checkpoint) {
                    return Err(format!(
                        "event {offset} lacks the checkpoint record the segment's interval of {k} puts before it"
                    ));
                }
                self.after_checkpoint = false;
            }
        }
        Ok(())
    }
}

/// Where the chain stands: the next event's offset and the hash before it,
/// and the rules of the segment being walked.
///
/// Every record handed to [`ChainWalk::step`] must carry the expected offset
/// and the current hash as its `prev_hash`, and stand where [`Placement`]
/// allows; a checkpoint is checked the same way and leaves the chain where
/// it was.
#[derive(Debug, Clone, Copy)]
pub struct ChainWalk {
    pub next_offset: u64,
    pub hash: Hash,
    /// The segment's bound on raw payloads.
    limit: u64,
    placement: Placement,
    /// The time of the last time record met (Unix milliseconds).
    pub last_time: Option<u64>,
}

impl ChainWalk {
    /// A walk standing at `head`, outside any segment.
    pub fn new(head: ChainHead) -> Self {
        ChainWalk {
            next_offset: head.next_offset,
            hash: head.hash,
            limit: MAX_EVENT_SIZE_LIMIT,
            placement: Placement::default(),
            last_time: None,
        }
    }

    /// A walk of the segment with `header`, from `head` at its base.
    pub fn enter(header: &SegmentHeader, head: ChainHead) -> Self {
        ChainWalk {
            next_offset: head.next_offset,
            hash: head.hash,
            limit: header.event_limit(),
            placement: Placement::new(header.rules),
            last_time: None,
        }
    }

    /// A walk of the segment with `header` from a checkpoint inside it.
    pub fn enter_at_checkpoint(header: &SegmentHeader, head: ChainHead) -> Self {
        ChainWalk {
            placement: Placement::mid_segment(header.rules),
            ..ChainWalk::enter(header, head)
        }
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            next_offset: self.next_offset,
            hash: self.hash,
        }
    }

    /// Whether the next record may begin a batch: the walk has not met a
    /// record of an unfinished batch (it stands at a segment's start or
    /// after a COMMIT).
    pub fn at_batch_start(&self) -> bool {
        self.placement.batch_start == Some(true)
            && !self.placement.after_checkpoint
            && !self.placement.after_time
    }

    /// Moves past one event of a `VerifiedRun` this walk took up at its
    /// start: `hash` is the chain hash after it.
    pub fn take_verified(&mut self, hash: Hash) {
        self.next_offset += 1;
        self.hash = hash;
    }

    /// Stands at the end of a `VerifiedRun` taken up, all its events
    /// taken: `end` is the walk of the run's own reader there (a run that
    /// met no time record knows none, and the last one before it stands).
    pub fn end_verified(&mut self, end: ChainWalk) {
        let last_time = end.last_time.or(self.last_time);
        *self = end;
        self.last_time = last_time;
    }

    /// Checks one record against the chain. Returns the raw payload of an
    /// event (moved out of the record when stored raw), `None` for a
    /// checkpoint.
    pub fn step(&mut self, segment: &Segment, rec: RawRecord) -> Result<Option<Bytes>> {
        if rec.header.offset == self.next_offset && rec.header.prev_hash != self.hash {
            return Err(self.mismatch(
                segment,
                &rec,
                "record does not link to the hash before it".into(),
            ));
        }
        let (_, payload) = self.step_unlinked(segment, rec)?;
        if let Some(payload) = &payload {
            self.hash = chain_step(&self.hash, self.next_offset - 1, payload);
        }
        Ok(payload)
    }

    /// [`ChainWalk::step`] but for the link: checks the record's offset and
    /// placement and decodes its payload, and returns the hash the record
    /// links to with the payload. `hash` stays where it was: the caller
    /// hashes the events from the links they claim (`hash::chain_steps`,
    /// several at a time), checks each claim against the hash before it,
    /// and sets `hash` to the last.
    pub fn step_unlinked(
        &mut self,
        segment: &Segment,
        rec: RawRecord,
    ) -> Result<(Hash, Option<Bytes>)> {
        let h = &rec.header;
        if h.offset != self.next_offset {
            let reason = format!(
                "record carries offset {}, expected {}",
                h.offset, self.next_offset
            );
            return Err(self.mismatch(segment, &rec, reason));
        }
        if let Err(reason) = self.placement.check(h.kind, h.offset, h.is_commit()) {
            return Err(self.mismatch(segment, &rec, reason));
        }
        let link = h.prev_hash;
        match h.kind {
            Kind::Checkpoint => return Ok((link, None)),
            Kind::Time => {
                self.last_time = Some(crate::record::time_of(&rec.stored));
                return Ok((link, None));
            }
            Kind::Event => {}
        }
        let payload = decode_payload_owned(segment, rec, self.limit)?;
        self.next_offset += 1;
        Ok((link, Some(payload)))
    }

    fn mismatch(&self, segment: &Segment, rec: &RawRecord, reason: String) -> Error {
        let what = match rec.header.kind {
            Kind::Event => "event",
            Kind::Checkpoint => "checkpoint",
            Kind::Time => "time",
        };
        Error::ChainMismatch {
            stream: segment.stream,
            offset: self.next_offset,
            reason: format!(
                "{reason} ({what} record at byte {} of {})",
                rec.pos,
                segment.display_path().display()
            ),
        }
    }
}

/// The raw payload of an event record: a zero-copy slice when stored raw.
pub fn decode_payload(segment: &Segment, rec: &RawRecord, max_event_size: u64) -> Result<Bytes> {
    decode_payload_owned(segment, rec.clone(), max_event_size)
}

/// [`decode_payload`] of a record the caller is done with: a payload
/// stored raw is moved out of it.
fn decode_payload_owned(segment: &Segment, rec: RawRecord, max_event_size: u64) -> Result<Bytes> {
    if rec.header.codec == Codec::Raw {
        if rec.stored.len() as u64 > max_event_size {
            return Err(segment.corruption(
                rec.header.offset,
                format!(
                    "event of {} bytes exceeds the maximum event size of {max_event_size}",
                    rec.stored.len()
                ),
            ));
        }
        return Ok(rec.stored);
    }
    codec::decode(rec.header.codec, &rec.stored, max_event_size)
        .map(Bytes::from)
        .map_err(|reason| segment.corruption(rec.header.offset, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The division-free check agrees with the rule's definition on every
    /// walk (offsets that repeat for a checkpoint and its event, and walks
    /// that start anywhere).
    #[test]
    fn placement_follows_the_rule() {
        for interval in 1..9u64 {
            let rules = SegmentRules {
                max_event_size: 1,
                checkpoint_interval: interval,
                timed: false,
            };
            for start in 0..20u64 {
                let mut placement = Placement::new(Some(rules));
                for offset in start..start + 40 {
                    if rules.checkpoint_before(offset) {
                        assert_eq!(placement.check(Kind::Checkpoint, offset, false), Ok(()));
                    } else {
                        assert!(placement.check(Kind::Checkpoint, offset, false).is_err());
                        // A refused record leaves the state as it was.
                        placement.after_checkpoint = false;
                    }
                    assert_eq!(
                        placement.check(Kind::Event, offset, false),
                        Ok(()),
                        "{interval} {offset}"
                    );
                }
            }
        }
        let mut v1 = Placement::new(None);
        assert_eq!(v1.check(Kind::Checkpoint, 5, false), Ok(()));
        assert!(v1.check(Kind::Checkpoint, 5, false).is_err());
        assert_eq!(v1.check(Kind::Event, 5, false), Ok(()));
        assert_eq!(v1.check(Kind::Event, 6, false), Ok(()));
    }
}
