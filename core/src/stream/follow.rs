//! Following a writer in another process: a read-only stream brings its
//! snapshot up to what the writer has committed since (`refresh`).
//!
//! Invariants kept here:
//! - Only whole committed batches are taken: the scan stops at the last
//!   COMMIT, and whatever follows (a batch being written, or a torn one a
//!   crash left for the writer's recovery to cut) is left for a later
//!   refresh. So a follower never returns an event that recovery could
//!   drop.
//! - A segment is taken as sealed only once the next one exists (a writer
//!   seals before it creates the next), and the next one is taken only if
//!   its header starts where the chain stands. Anything that does not fit
//!   stops the refresh there, without an error: `verify` is where damage
//!   is reported.
//! - Refreshes of one stream run one at a time (under the writer lock,
//!   which a read-only stream never uses otherwise).

use std::sync::Arc;

use super::Stream;
use crate::error::Result;
use crate::layout;
use crate::segment::{scan_tail, ScanStart, Segment};

impl Stream {
    /// Takes in what the writer committed since the snapshot was taken.
    /// Returns whether the stream grew. For read-only stores only.
    pub(crate) fn refresh(&self) -> Result<bool> {
        let _one_at_a_time = self.writer.lock();
        if self.damage.is_some() {
            return Ok(false);
        }
        let before = self.snapshot();
        let mut segments: Vec<Arc<Segment>> = (*before.segments).clone();
        let mut head = before.head;
        let mut active_len = before.active_len;
        let listed = self.segment_bases()?;
        // A prune by the writer: its anchor is durable before any segment
        // goes, so once the first segment this reader holds is gone from
        // the listing, the anchor names where the stream starts now; the
        // segments below it are dropped here, and a reader that had not
        // reached it starts there.
        let mut first = before.first;
        let pruned = segments
            .first()
            .is_some_and(|s| listed.binary_search(&s.base_offset).is_err());
        if pruned || segments.is_empty() {
            if let Ok(Some(anchor)) = self.prune_anchor() {
                if anchor.first.next_offset > first.next_offset {
                    first = anchor.first;
                    segments.retain(|s| s.base_offset >= first.next_offset);
                    if segments.is_empty() {
                        head = first;
                        active_len = 0;
                    }
                }
            }
        }
        let after = segments.last().map(|s| s.base_offset);
        let mut newer: Vec<u64> = listed
            .into_iter()
            .filter(|&base| base >= first.next_offset && after.is_none_or(|a| base > a))
            .collect();
        newer.reverse();
        loop {
            if let Some(active) = segments.last() {
                let header = active.header()?;
                let from = if active_len < header.len() as u64 {
                    ScanStart::first_record(&header)
                } else {
                    ScanStart {
                        pos: active_len,
                        head,
                        checkpoints: active.checkpoints_snapshot(),
                    }
                };
                let file_len = active.file_len()?;
                if file_len > from.pos {
                    let scan = scan_tail(active, &header, from, file_len)?;
                    active.set_checkpoints(scan.checkpoints);
                    active.set_written_len(scan.committed_len);
                    head = scan.head;
                    active_len = scan.committed_len;
                } else if from.pos > active_len {
                    head = from.head;
                    active_len = from.pos;
                }
            }
            let Some(base) = newer.pop() else { break };
            // The next segment begins where the chain stands, or the
            // current one is not read to its end yet: stop until it is.
            if base != head.next_offset {
                break;
            }
            let next = Arc::new(Segment::existing(self.dir.clone(), self.id, base, false));
            let header = next.header()?;
            if header.base_hash != head.hash {
                break;
            }
            segments.push(next);
            active_len = 0;
        }
        if head == before.head && segments.len() == before.segments.len() && first == before.first {
            return Ok(false);
        }
        let mut shared = self.shared.write();
        shared.segments = Arc::new(segments);
        shared.head = head;
        shared.active_len = active_len;
        shared.first = first;
        Ok(head.next_offset > before.head.next_offset)
    }

    /// Base offsets of the stream's segment files, ascending. A stream
    /// directory not there yet has none.
    fn segment_bases(&self) -> Result<Vec<u64>> {
        let rel = layout::stream_dir(self.id);
        let names = match self.dir.list(&rel) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(crate::Error::io(
                    format!("listing {}", self.dir.display(&rel).display()),
                    e,
                ))
            }
        };
        let mut bases: Vec<u64> = names
            .iter()
            .filter_map(|n| layout::parse_segment_name(n))
            .collect();
        bases.sort_unstable();
        Ok(bases)
    }
}
