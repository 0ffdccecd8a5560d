//! Recovery of the last segment of a stream when a store opens.
//!
//! The scan checks every record's CRCs and offsets (no hashing: the head is
//! the hash of the last committed event, computed from that record's own
//! `prev_hash`; `verify` checks the links). It ends in one of three ways:
//!
//! - **clean**: the file ends exactly after a committed batch;
//! - **torn**: after the last committed batch come records of an unfinished
//!   batch and/or bytes that end inside a record or are all zero. Only a
//!   crash or power loss during a write leaves this; the tail is not
//!   acknowledged data, and a writer cuts it off;
//! - **damaged**: a complete record is damaged, or damage is followed by
//!   non-zero bytes, or intact records are out of sequence. That is not a
//!   torn write; nothing is cut, and the stream reports the damage.
//!
//! A scan starts at the first record, or just after a batch that a
//! confirmed tail marker (`super::tail`) says ends there: it then takes the
//! head there and the checkpoints before it as given.
//!
//! A follower's refresh (`stream/follow.rs`) scans what the writer appended
//! since with [`scan_tail_keeping`], which also walks the records it checked
//! along the chain as a cursor would and keeps their events (up to a byte
//! budget, of whole committed batches only, one run from where the scan
//! started), so the follower's cursors take them instead of reading and
//! checking the same records again.

use super::header::SegmentHeader;
use super::index::IndexEntry;
use super::keep::{Keep, Kept};
use super::reader::{Next, RawRecord, RecordReader};
use super::walk::{decode_payload, ChainWalk, Placement};
use super::Segment;
use crate::error::Result;
use crate::hash::{chain_step, ChainHead};
use crate::record::Kind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEnd {
    Clean,
    /// Bytes from `committed_len` to `file_len` are an unfinished batch.
    Torn {
        file_len: u64,
    },
    /// The record expected to carry `offset`, at byte `pos`, is damaged.
    Damaged {
        kind: DamageKind,
        offset: u64,
        pos: u64,
        reason: String,
    },
}

/// The two kinds of damage, one rule for every reader (docs/FORMAT.md,
/// "Which error"): bytes that cannot be decoded, or decoded records that do
/// not fit together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// A checksum, marker, field or payload is wrong: `Error::Corruption`.
    Bytes,
    /// Every record is intact but one is missing, extra or out of place:
    /// `Error::ChainMismatch`.
    Chain,
}

/// Where a scan starts: the end of the header, or the end of a committed
/// batch.
#[derive(Debug, Clone)]
pub struct ScanStart {
    pub pos: u64,
    /// The chain head at `pos`.
    pub head: ChainHead,
    /// Checkpoints before `pos`.
    pub checkpoints: Vec<IndexEntry>,
}

impl ScanStart {
    /// From the first record of the segment.
    pub fn first_record(header: &SegmentHeader) -> Self {
        ScanStart {
            pos: header.len() as u64,
            head: header.base(),
            checkpoints: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct TailScan {
    /// The head after the last committed batch.
    pub head: ChainHead,
    /// The file length just after the last committed batch.
    pub committed_len: u64,
    /// Checkpoints within the committed part.
    pub checkpoints: Vec<IndexEntry>,
    /// The last time record of the committed part the scan read.
    pub last_time: Option<u64>,
    pub end: TailEnd,
    /// With [`scan_tail_keeping`]: the events of the committed batches
    /// from the start of the scan that fit the budget, walked along the
    /// chain.
    pub kept: Option<Kept>,
    /// The scan stopped after a batch once `step` bytes were read, before
    /// the end of the file: more may be committed after `committed_len`.
    pub stopped: bool,
}

pub fn scan_tail(
    segment: &Segment,
    header: &SegmentHeader,
    from: ScanStart,
    file_len: u64,
) -> Result<TailScan> {
    scan_tail_keeping(segment, header, from, file_len, 0, u64::MAX)
}

/// [`scan_tail`], also walking along the chain the committed batches it
/// reads from `from.pos` on and keeping their events, as long as they fit
/// `budget` bytes and the chain holds; and stopping after the first COMMIT
/// once `step` bytes are read.
pub fn scan_tail_keeping(
    segment: &Segment,
    header: &SegmentHeader,
    from: ScanStart,
    file_len: u64,
    budget: u64,
    step: u64,
) -> Result<TailScan> {
    let stop_at = from.pos.saturating_add(step);
    let mut stopped = false;
    let records_start = header.len() as u64;
    // Batches are kept whole: a follower keeps committed events only.
    let mut keep = Keep::new(ChainWalk::enter(header, from.head), from.pos, budget);
    let mut reader = RecordReader::new(segment, from.pos, file_len);
    // A start is never just after a checkpoint (one is always followed by
    // its event in the same batch), so placement starts afresh there.
    let mut placement = Placement::new(header.rules);
    let mut next_offset = from.head.next_offset;
    let mut committed_len = from.pos;
    let mut committed_offset = from.head.next_offset;
    let mut last_commit: Option<RawRecord> = None;
    let mut checkpoints = from.checkpoints;
    let mut pending = Vec::new();
    let mut pending_time = None;
    let mut last_time = None;

    let mut end = loop {
        match reader.next()? {
            Next::End => break TailEnd::Clean,
            Next::Record(rec) => {
                let h = &rec.header;
                let misplaced = if h.offset != next_offset {
                    Err(format!(
                        "record carries offset {}, expected {next_offset}",
                        h.offset
                    ))
                } else {
                    placement.check(h.kind, h.offset, h.is_commit())
                };
                if let Err(reason) = misplaced {
                    break TailEnd::Damaged {
                        kind: DamageKind::Chain,
                        offset: next_offset,
                        pos: rec.pos,
                        reason,
                    };
                }
                let mut commit = false;
                match h.kind {
                    Kind::Checkpoint => pending.push(IndexEntry {
                        offset: h.offset,
                        pos: rec.pos,
                    }),
                    Kind::Time => pending_time = Some(crate::record::time_of(&rec.stored)),
                    Kind::Event => {
                        next_offset += 1;
                        commit = h.is_commit();
                    }
                }
                if !commit {
                    keep.push(segment, rec);
                    continue;
                }
                committed_len = reader.pos();
                committed_offset = next_offset;
                checkpoints.append(&mut pending);
                last_time = pending_time.or(last_time);
                if keep.is_open() {
                    last_commit = Some(rec.clone());
                    keep.push(segment, rec);
                } else {
                    last_commit = Some(rec);
                }
                keep.settle(committed_len, true);
                if committed_len >= stop_at && committed_len < file_len {
                    stopped = true;
                    break TailEnd::Clean;
                }
            }
            Next::Fault { pos, fault } => {
                let torn = fault == super::reader::Fault::Short || reader.zeros_from(pos)?;
                break if torn {
                    TailEnd::Torn { file_len }
                } else {
                    TailEnd::Damaged {
                        kind: DamageKind::Bytes,
                        offset: next_offset,
                        pos,
                        reason: fault.describe(),
                    }
                };
            }
        }
    };
    if end == TailEnd::Clean && committed_len < file_len && !stopped {
        end = TailEnd::Torn { file_len };
    }

    let head = match last_commit {
        None => from.head,
        Some(rec) => {
            let payload = match decode_payload(segment, &rec, header.event_limit()) {
                Ok(p) => p,
                Err(e) => {
                    // The last committed event cannot be decoded: treat it as
                    // damage at that offset rather than guess a head.
                    let scan = TailScan {
                        head: header.base(),
                        committed_len: records_start,
                        checkpoints: Vec::new(),
                        last_time: None,
                        end: TailEnd::Damaged {
                            kind: DamageKind::Bytes,
                            offset: rec.header.offset,
                            pos: rec.pos,
                            reason: e.to_string(),
                        },
                        kept: None,
                        stopped: false,
                    };
                    return Ok(scan);
                }
            };
            ChainHead {
                next_offset: committed_offset,
                hash: chain_step(&rec.header.prev_hash, rec.header.offset, &payload),
            }
        }
    };
    Ok(TailScan {
        head,
        committed_len,
        checkpoints,
        last_time,
        end,
        kept: keep.into_kept(),
        stopped,
    })
}
