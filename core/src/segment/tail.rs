//! The tail marker of a stream (`streams/<stream>/TAIL`): a point where its
//! active segment is known to end a committed, fsynced batch, so that
//! opening the store scans only from the last checkpoint before that point
//! instead of from the segment's first record.
//!
//! Its encoding is the index's (`super::index`, role `Tail`): the segment
//! it describes (stream, base offset), the length of the known-good prefix
//! (`segment_len`), the chain head there (`end_offset`, `end_hash`), and the
//! checkpoints in that prefix.
//!
//! Invariants kept here and by its writer (`Stream::mark_tail`):
//! - A marker names only a prefix that was fsynced before the marker was
//!   written, and it is written atomically; a read-only store never writes
//!   one.
//! - A marker says where scanning may start, nothing more. It is used only
//!   when the bytes confirm it: the record at the resume point is the
//!   checkpoint it names, the records from there are intact and in
//!   sequence, a batch ends exactly at its length, and the chain head
//!   computed from that batch's last record is the one it records. Anything
//!   else (a missing, damaged, stale or foreign marker, a segment shorter
//!   than it says) sends recovery back to the full scan, whose rules then
//!   apply unchanged. Everything a reader returns comes from the segment.

use super::header::SegmentHeader;
use super::index::{Role, SegmentIndex};
use super::scan::{scan_tail, ScanStart, TailScan};
use super::walk::decode_payload;
use super::Segment;
use crate::error::{IoContext, Result};
use crate::hash::{chain_step, ChainHead};
use crate::io::StorageDir;
use crate::layout;

/// The stream's marker if there is a well-formed one for the segment at
/// `base_offset`. Unreadable or foreign files count as no marker: it is a
/// cache.
pub fn read(dir: &dyn StorageDir, stream: u64, base_offset: u64) -> Option<SegmentIndex> {
    let bytes = dir.read(&layout::tail_path(stream)).ok()?;
    SegmentIndex::decode(&bytes, Role::Tail, stream, base_offset)
}

/// Replaces the stream's marker, atomically and durably.
pub fn write(dir: &dyn StorageDir, marker: &SegmentIndex) -> Result<()> {
    let rel = layout::tail_path(marker.stream);
    dir.write_atomic(&rel, &marker.encode(Role::Tail))
        .context(|| format!("writing tail marker {}", dir.display(&rel).display()))
}

/// The scan of the active segment from the last checkpoint the marker
/// names, if the segment's bytes confirm the marker; `None` sends the
/// caller to the full scan.
pub fn resume(
    segment: &Segment,
    header: &SegmentHeader,
    file_len: u64,
    marker: &SegmentIndex,
) -> Result<Option<TailScan>> {
    let records_start = header.len() as u64;
    let known_len = marker.segment_len;
    // A marker of an empty prefix saves nothing; one longer than the file
    // claims bytes that are not there (the file was cut): the full scan and
    // its rules decide what that is.
    if known_len <= records_start
        || known_len > file_len
        || marker.end_offset <= header.base_offset
        || !marker.entries_plausible(records_start, known_len)
    {
        return Ok(None);
    }
    let Some((&from, earlier)) = marker.entries.split_last() else {
        return Ok(None);
    };
    if from.offset >= marker.end_offset {
        return Ok(None);
    }
    let start = ScanStart {
        pos: from.pos,
        offset: from.offset,
        checkpoints: earlier.to_vec(),
        watch: Some(known_len),
    };
    let scan = scan_tail(segment, header, start, file_len)?;
    let Some(rec) = &scan.watched else {
        return Ok(None);
    };
    let Ok(payload) = decode_payload(segment, rec, header.event_limit()) else {
        return Ok(None);
    };
    let Some(next_offset) = rec.header.offset.checked_add(1) else {
        return Ok(None);
    };
    let there = ChainHead {
        next_offset,
        hash: chain_step(&rec.header.prev_hash, rec.header.offset, &payload),
    };
    Ok((there == marker.end()).then_some(scan))
}
