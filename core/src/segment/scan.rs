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
use super::reader::{Next, RawRecord, RecordReader};
use super::walk::{decode_payload, ChainWalk, Kept, Placement};
use super::Segment;
use crate::error::Result;
use crate::hash::{chain_step, chain_steps, ChainHead, Hash, Link};
use crate::record::{Codec, Kind};
use bytes::Bytes;

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
            head: ChainHead {
                next_offset: header.base_offset,
                hash: header.base_hash,
            },
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

/// What a scan keeps: the events of a run of whole committed batches from
/// where it started, walked along the chain as a cursor walks them, as
/// long as they fit a budget and the chain holds.
///
/// The links are checked a batch at a time, at its COMMIT: the walk checks
/// each record's offset and placement as it comes, and the batch's events
/// are then hashed from the links their records claim, several at once
/// (`hash::chain_steps`), each claim checked against the hash before it.
/// Only whole batches are kept, so a broken link found at the COMMIT
/// drops exactly what a record-by-record walk would have.
struct Keep {
    /// Whether events are still kept: the budget has not run out and the
    /// chain has held so far.
    open: bool,
    budget: u64,
    /// Its hash is the chain's at the end of the last batch kept.
    walk: ChainWalk,
    /// The offset of `events[0]`.
    start_offset: u64,
    /// Each event's payload and the chain hash after it (for the open
    /// batch, the hash its record links to until the batch is checked).
    events: Vec<(Bytes, Hash)>,
    /// The records of the open batch, in order: the hash each links to,
    /// and whether it is an event.
    links: Vec<(Hash, bool)>,
    hashes: Vec<Hash>,
    checkpoints: u64,
    /// The state at the end of the last committed batch kept.
    committed: usize,
    committed_checkpoints: u64,
    committed_pos: u64,
    committed_time: Option<u64>,
    cost: u64,
    committed_cost: u64,
}

impl Keep {
    fn new(header: &SegmentHeader, from: &ScanStart, budget: u64) -> Self {
        Keep {
            open: budget > 0,
            budget,
            walk: ChainWalk::enter(header, from.head),
            start_offset: from.head.next_offset,
            events: Vec::new(),
            links: Vec::new(),
            hashes: Vec::new(),
            checkpoints: 0,
            committed: 0,
            committed_checkpoints: 0,
            committed_pos: from.pos,
            committed_time: None,
            cost: 0,
            committed_cost: 0,
        }
    }

    /// Walks `rec`, the next record, and keeps its event.
    fn push(&mut self, segment: &Segment, rec: RawRecord) {
        if !self.open {
            return;
        }
        let kind = rec.header.kind;
        let mut cost = rec.header.record_len() + std::mem::size_of::<(Bytes, Hash)>() as u64;
        if rec.header.codec != Codec::Raw {
            // Decoded into a buffer of its own.
            cost += u64::from(rec.header.stored_len);
        }
        if cost > self.budget {
            return self.close();
        }
        match self.walk.step_unlinked(segment, rec) {
            Ok((link, Some(payload))) => {
                self.links.push((link, true));
                self.events.push((payload, link));
            }
            Ok((link, None)) => {
                self.links.push((link, false));
                self.checkpoints += u64::from(kind == Kind::Checkpoint);
            }
            // The chain does not hold here: the cursor that reads this
            // record reports it.
            Err(_) => return self.close(),
        }
        self.budget -= cost.min(self.budget);
        self.cost += cost;
    }

    /// The record just pushed ended a batch at `pos`.
    fn commit(&mut self, pos: u64) {
        if !self.open {
            return;
        }
        if !self.check_links() {
            // The chain does not hold in this batch: the cursor that
            // reads it reports where.
            return self.close();
        }
        self.committed = self.events.len();
        self.committed_checkpoints = self.checkpoints;
        self.committed_pos = pos;
        self.committed_time = self.walk.last_time;
        self.committed_cost = self.cost;
    }

    /// Hashes the open batch's events and checks every record's link;
    /// moves the walk's hash to the batch's end if they hold.
    fn check_links(&mut self) -> bool {
        let first = self.committed;
        let batch = &self.events[first..];
        let links: Vec<Link<'_>> = batch
            .iter()
            .enumerate()
            .map(|(i, (payload, link))| Link {
                prev: link,
                offset: self.start_offset + (first + i) as u64,
                payload,
            })
            .collect();
        chain_steps(&links, &mut self.hashes);
        let mut hash = self.walk.hash;
        let mut computed = self.hashes.iter();
        for &(link, event) in &self.links {
            if link != hash {
                return false;
            }
            if event {
                match computed.next() {
                    Some(&h) => hash = h,
                    None => return false,
                }
            }
        }
        for ((_, after), &h) in self.events[first..].iter_mut().zip(&self.hashes) {
            *after = h;
        }
        self.links.clear();
        self.walk.hash = hash;
        true
    }

    /// Keeps the whole batches up to here and no more.
    fn close(&mut self) {
        self.open = false;
        self.events.truncate(self.committed);
        self.links.clear();
    }

    fn into_kept(mut self, start_pos: u64, start: ChainHead) -> Option<Kept> {
        self.events.truncate(self.committed);
        (!self.events.is_empty()).then_some(Kept {
            start_pos,
            start,
            end_pos: self.committed_pos,
            events: self.events,
            checkpoints: self.committed_checkpoints,
            last_time: self.committed_time,
            cost: self.committed_cost,
        })
    }
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
    let mut keep = Keep::new(header, &from, budget);
    let (start_pos, start_head) = (from.pos, from.head);
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
                if keep.open {
                    last_commit = Some(rec.clone());
                    keep.push(segment, rec);
                } else {
                    last_commit = Some(rec);
                }
                keep.commit(committed_len);
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
                        head: ChainHead {
                            next_offset: header.base_offset,
                            hash: header.base_hash,
                        },
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
        kept: keep.into_kept(start_pos, start_head),
        stopped,
    })
}
