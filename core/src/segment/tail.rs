//! The tail marker of a stream (`streams/<stream>/TAIL`): a point where its
//! active segment is known to end a committed, fsynced batch, so that
//! opening the store reads one record there and scans only what follows,
//! instead of the whole segment.
//!
//! Its encoding is the index's (`super::index`) with magic `STRATTAL` and
//! one more field: the segment it describes (stream, base offset), the
//! length of the known-good prefix (`segment_len`), the chain head there
//! (`end_offset`, `end_hash`), where the prefix's last record starts, and
//! the checkpoints in the prefix.
//!
//! Invariants kept here and by its writer (`Stream::mark_tail`):
//! - A marker names only a prefix that was fsynced before the marker was
//!   written, so it is true whenever it reaches the disk; it is replaced
//!   atomically (a temp file and a rename) but not fsynced, since a torn or
//!   lost one is caught by its checks. A read-only store never writes one.
//! - A marker says where scanning may start, nothing more. It is used only
//!   when the bytes confirm it: the record it names is intact, is the last
//!   event of a batch, ends exactly at the marked length, and the chain
//!   head computed from it is the one the marker records. Anything else (a
//!   missing, damaged, stale or foreign marker, a segment shorter than it
//!   says) sends recovery back to the full scan, whose rules then apply
//!   unchanged. Its checkpoints are used like an index's, each only after
//!   the record it names proves to be that checkpoint. Everything a reader
//!   returns comes from the segment.

use super::header::SegmentHeader;
use super::index::SegmentIndex;
use super::reader::{Next, RecordReader};
use super::scan::{scan_tail, ScanStart, TailScan};
use super::walk::decode_payload;
use super::Segment;
use crate::error::{IoContext, Result};
use crate::hash::chain_step;
use crate::io::StorageDir;
use crate::layout;
use crate::record::Kind;

pub const MAGIC: [u8; 8] = *b"STRATTAL";

/// A tail marker: the index encoding of the known-good prefix of a
/// segment (`known.segment_len` is its length, `known.end()` the chain
/// head there, `known.entries` its checkpoints), and where the last record
/// of that prefix starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailMarker {
    pub known: SegmentIndex,
    pub last_record: u64,
}

impl TailMarker {
    pub fn encode(&self) -> Vec<u8> {
        self.known.encode_as(MAGIC, &[self.last_record])
    }

    pub fn decode(b: &[u8], stream: u64, base_offset: u64) -> Option<Self> {
        let (known, extra) = SegmentIndex::decode_as(b, MAGIC, 1, stream, base_offset)?;
        Some(TailMarker {
            known,
            last_record: *extra.first()?,
        })
    }
}

/// The stream's marker if there is a well-formed one for the segment at
/// `base_offset`. Unreadable or foreign files count as no marker: it is a
/// cache.
pub fn read(dir: &dyn StorageDir, stream: u64, base_offset: u64) -> Option<TailMarker> {
    let bytes = dir.read(&layout::tail_path(stream)).ok()?;
    TailMarker::decode(&bytes, stream, base_offset)
}

/// Replaces the stream's marker, atomically but without fsyncs: the prefix
/// it names is already durable, so whenever the marker reaches the disk it
/// is true, and a marker a power loss tore fails its CRC and is ignored.
pub fn write(dir: &dyn StorageDir, marker: &TailMarker) -> Result<()> {
    let rel = layout::tail_path(marker.known.stream);
    dir.write_cache(&rel, &marker.encode())
        .context(|| format!("writing tail marker {}", dir.display(&rel).display()))
}

/// The scan of the active segment from the end of the prefix the marker
/// names, if the segment's bytes confirm it; `None` sends the caller to the
/// full scan.
pub fn resume(
    segment: &Segment,
    header: &SegmentHeader,
    file_len: u64,
    marker: &TailMarker,
) -> Result<Option<TailScan>> {
    let records_start = header.len() as u64;
    let known = &marker.known;
    let known_len = known.segment_len;
    // A marker of an empty prefix saves nothing; one longer than the file
    // claims bytes that are not there (the file was cut): the full scan and
    // its rules decide what that is.
    if known_len <= records_start
        || known_len > file_len
        || marker.last_record < records_start
        || marker.last_record >= known_len
        || known.end_offset <= header.base_offset
        || !known.entries_plausible(header.rules, records_start, known_len)
    {
        return Ok(None);
    }
    // The prefix must end with the last event of a batch, exactly at its
    // length, and the chain head after that event must be the marker's.
    // Both CRCs and the SHA-256 make this a record boundary the writer
    // produced, not bytes that happen to look like one.
    let mut reader = RecordReader::new(segment, marker.last_record, known_len);
    let Next::Record(rec) = reader.next()? else {
        return Ok(None);
    };
    let h = &rec.header;
    if reader.pos() != known_len
        || h.kind != Kind::Event
        || !h.is_commit()
        || h.offset.checked_add(1) != Some(known.end_offset)
    {
        return Ok(None);
    }
    let Ok(payload) = decode_payload(segment, &rec, header.event_limit()) else {
        return Ok(None);
    };
    if chain_step(&h.prev_hash, h.offset, &payload) != known.end_hash {
        return Ok(None);
    }
    let start = ScanStart {
        pos: known_len,
        head: known.end(),
        checkpoints: known.entries.clone(),
    };
    scan_tail(segment, header, start, file_len).map(Some)
}
