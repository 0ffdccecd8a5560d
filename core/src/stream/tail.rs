//! Writing a stream's tail marker (docs/FORMAT.md, "Tail marker"), so the
//! next open scans only what follows it. Written when a writable store
//! closes: the one moment every stream is synced anyway and nothing
//! appends, so the marker costs no append anything.

use super::Stream;
use crate::error::Result;
use crate::record::Kind;
use crate::segment::Segment;
use crate::segment::SegmentIndex;
use crate::segment::{tail_marker as tail, TailMarker};
use crate::segment::{Next, RecordReader};

/// The known-good point a stream's marker on disk names: the active
/// segment (by base offset) and the length of its fsynced prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailMark {
    pub base_offset: u64,
    pub len: u64,
}

impl Stream {
    /// Records that the marker on disk already describes `mark` (recovery
    /// found it confirmed by the segment), so closing without appends
    /// rewrites nothing.
    pub(super) fn set_tail_mark(&self, mark: TailMark) {
        *self.tail_mark.lock() = Some(mark);
    }

    /// Writes the tail marker for the committed end of the active segment,
    /// if that end is durable and the marker on disk does not already name
    /// it. A damaged or poisoned stream gets none: its state on disk is not
    /// known to be what memory says. Called by `Store::close` after
    /// `sync`, never by a read-only store.
    pub fn mark_tail(&self) -> Result<()> {
        // No append may move the end while it is described.
        let _writer = self.writer.lock();
        if self.damage.is_some() || self.poison_error().is_some() {
            return Ok(());
        }
        let snapshot = self.snapshot();
        let Some(active) = snapshot.segments.last() else {
            return Ok(());
        };
        let header = active.header()?;
        let mark = TailMark {
            base_offset: active.base_offset,
            len: snapshot.active_len,
        };
        // Invariant: a marker names only a prefix already fsynced. An empty
        // segment needs no marker (its scan reads nothing).
        if mark.len <= header.len() as u64
            || active.synced_len() < mark.len
            || *self.tail_mark.lock() == Some(mark)
        {
            return Ok(());
        }
        let entries: Vec<_> = active
            .checkpoints_snapshot()
            .into_iter()
            .filter(|e| e.pos < mark.len)
            .collect();
        let Some(last_record) = last_record(active, entries.last().map(|e| e.pos), mark.len)?
        else {
            return Ok(());
        };
        let marker = TailMarker {
            known: SegmentIndex {
                stream: self.id,
                base_offset: mark.base_offset,
                end_offset: snapshot.head.next_offset,
                end_hash: snapshot.head.hash,
                segment_len: mark.len,
                entries,
            },
            last_record,
        };
        tail::write(self.dir.as_ref(), &marker)?;
        self.set_tail_mark(mark);
        Ok(())
    }
}

/// Where the record that ends the first `end` bytes of `segment` starts,
/// if it is the last event of a batch: found by walking from the last
/// checkpoint before `end` (`from`), so at most one checkpoint interval of
/// records, read once at close instead of tracked on every append. `None`
/// if the walk does not land there: the last checkpoint position is wrong
/// (only a lying marker can have put it in memory), and then no marker is
/// written, so the wrong position is not passed on.
fn last_record(segment: &Segment, from: Option<u64>, end: u64) -> Result<Option<u64>> {
    let start = match from {
        Some(pos) => pos,
        None => segment.records_start()?,
    };
    let mut reader = RecordReader::new(segment, start, end);
    let mut last = None;
    loop {
        match reader.next()? {
            Next::Record(rec) => {
                let closes = rec.header.kind == Kind::Event && rec.header.is_commit();
                last = (closes && reader.pos() == end).then_some(rec.pos);
            }
            Next::End => return Ok(last),
            Next::Fault { .. } => return Ok(None),
        }
    }
}
