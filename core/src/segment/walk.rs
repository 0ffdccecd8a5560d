//! Following the hash chain record by record.

use bytes::Bytes;

use super::reader::RawRecord;
use super::Segment;
use crate::codec;
use crate::error::{Error, Result};
use crate::hash::{chain_step, ChainHead, Hash};
use crate::record::{Codec, Kind};

/// Where the chain stands: the next event's offset and the hash before it.
///
/// Every record handed to [`ChainWalk::step`] must carry the expected offset
/// and the current hash as its `prev_hash`; a checkpoint is checked the same
/// way and leaves the chain where it was.
#[derive(Debug, Clone, Copy)]
pub struct ChainWalk {
    pub next_offset: u64,
    pub hash: Hash,
    pub max_event_size: u64,
}

impl ChainWalk {
    pub fn new(head: ChainHead, max_event_size: u64) -> Self {
        ChainWalk {
            next_offset: head.next_offset,
            hash: head.hash,
            max_event_size,
        }
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            next_offset: self.next_offset,
            hash: self.hash,
        }
    }

    /// Checks one record against the chain. Returns the raw payload of an
    /// event, `None` for a checkpoint.
    pub fn step(&mut self, segment: &Segment, rec: &RawRecord) -> Result<Option<Bytes>> {
        let h = &rec.header;
        let what = match h.kind {
            Kind::Event => "event",
            Kind::Checkpoint => "checkpoint",
        };
        if h.offset != self.next_offset {
            return Err(Error::ChainMismatch {
                stream: segment.stream,
                offset: self.next_offset,
                reason: format!(
                    "{what} record at byte {} of {} carries offset {}, expected {}",
                    rec.pos,
                    segment.display_path().display(),
                    h.offset,
                    self.next_offset
                ),
            });
        }
        if h.prev_hash != self.hash {
            return Err(Error::ChainMismatch {
                stream: segment.stream,
                offset: self.next_offset,
                reason: format!(
                    "{what} record at byte {} of {} does not link to the hash before it",
                    rec.pos,
                    segment.display_path().display()
                ),
            });
        }
        if h.kind == Kind::Checkpoint {
            return Ok(None);
        }
        let payload = decode_payload(segment, rec, self.max_event_size)?;
        self.hash = chain_step(&self.hash, self.next_offset, &payload);
        self.next_offset += 1;
        Ok(Some(payload))
    }
}

/// The raw payload of an event record: a zero-copy slice when stored raw.
pub fn decode_payload(segment: &Segment, rec: &RawRecord, max_event_size: u64) -> Result<Bytes> {
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
        return Ok(rec.stored.clone());
    }
    codec::decode(rec.header.codec, &rec.stored, max_event_size)
        .map(Bytes::from)
        .map_err(|reason| segment.corruption(rec.header.offset, reason))
}
