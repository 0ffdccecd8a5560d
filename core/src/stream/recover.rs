//! Opening a stream from its directory: it reads only the last segment,
//! and of that only the record where its tail marker says a known-good
//! prefix ends and what follows (all of it when there is no usable
//! marker).

use std::path::PathBuf;
use std::sync::Arc;

use super::tail::TailMark;
use super::{Damage, Snapshot, Stream};
use crate::error::{IoContext, Result};
use crate::hash::ChainHead;
use crate::io::StorageDir;
use crate::layout;
use crate::options::Options;
use crate::prune_anchor;
use crate::segment::{is_temp_file, tail_marker as tail, Segment};
use crate::segment::{scan_tail, DamageKind, ScanStart, TailEnd};
use crate::segment::{SegmentHeader, SegmentRules};

/// An unfinished batch cut off the end of a stream when the store opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub stream: u64,
    pub segment: PathBuf,
    /// Length of the segment after the cut: the end of the last whole batch.
    pub kept_len: u64,
    /// Bytes removed (or, read-only, ignored).
    pub dropped_bytes: u64,
}

/// Opens one stream. A writer removes leftover temp files and cuts a torn
/// tail; a read-only opener leaves every byte as it is.
pub fn open_stream(
    dir: Arc<dyn StorageDir>,
    options: Arc<Options>,
    id: u64,
    writable: bool,
) -> Result<(Stream, Option<TornTail>)> {
    let rel = layout::stream_dir(id);
    let names = dir
        .list(&rel)
        .context(|| format!("listing {}", dir.display(&rel).display()))?;
    let mut bases = Vec::new();
    for name in &names {
        if let Some(base) = layout::parse_segment_name(name) {
            bases.push(base);
        } else if writable
            && ((is_temp_file(name) && !crate::io::is_own_temp(name))
                || name.ends_with(layout::PRUNED_SUFFIX))
        {
            // This process's own temporary files are writes in flight (the
            // tier's uploader runs before, and beside, stream opens).
            let leftover = rel.join(name);
            dir.remove(&leftover)
                .context(|| format!("removing leftover {}", dir.display(&leftover).display()))?;
        }
    }
    bases.sort_unstable();
    // A prune records its anchor before it removes a segment, so segments
    // below the anchor are what a prune left when it was cut short: a
    // writer finishes removing them, a reader leaves them be.
    let anchor = match prune_anchor::read(dir.as_ref(), id) {
        Ok(anchor) => anchor,
        Err(crate::Error::Corruption { file, reason, .. }) => {
            // The stream reports it; the store and its other streams open.
            let damage = Damage {
                kind: DamageKind::Bytes,
                offset: 0,
                file,
                reason,
            };
            let segments = bases
                .iter()
                .map(|&base| Arc::new(Segment::existing(dir.clone(), id, base, writable)))
                .collect();
            let snapshot = Snapshot {
                segments: Arc::new(segments),
                head: ChainHead::EMPTY,
                active_len: 0,
                first: ChainHead::EMPTY,
                checked: None,
            };
            return Ok((Stream::new(id, dir, options, snapshot, Some(damage)), None));
        }
        Err(other) => return Err(other),
    };
    let first = anchor.as_ref().map_or(ChainHead::EMPTY, |a| a.first);
    let pruned = bases.partition_point(|&b| b < first.next_offset);
    let starts_there = bases.get(pruned) == Some(&first.next_offset);
    if anchor.is_some() && !starts_there {
        // Not what a prune leaves: nothing is removed, and the stream
        // reports it.
        let damage = Damage {
            kind: DamageKind::Bytes,
            offset: first.next_offset,
            file: dir.display(&layout::anchor_path(id)),
            reason: format!(
                "the prune anchor says the stream starts at offset {}, but no segment starts there",
                first.next_offset
            ),
        };
        let snapshot = Snapshot {
            segments: Arc::new(Vec::new()),
            head: first,
            active_len: 0,
            first,
            checked: None,
        };
        return Ok((Stream::new(id, dir, options, snapshot, Some(damage)), None));
    }
    if writable && pruned > 0 {
        // Only once the segment the anchor names links to it: a forged
        // anchor must never cost a byte.
        let kept = Segment::existing(dir.clone(), id, first.next_offset, false);
        if kept.header().is_ok_and(|h| h.base_hash == first.hash) {
            for &base in &bases[..pruned] {
                remove_pruned_segment(dir.as_ref(), id, base)?;
            }
        }
    }
    let bases = &bases[pruned..];
    if let (true, Some(&base)) = (writable, bases.last()) {
        // Before anything opens it: the writer appends to this file.
        if let Some(path) = dir.local_path(&layout::segment_path(id, base)) {
            crate::io::disk::unshare(&path)
                .context(|| format!("giving {} a file of its own", path.display()))?;
        }
    }
    let segments: Vec<Arc<Segment>> = bases
        .iter()
        .map(|&base| Arc::new(Segment::existing(dir.clone(), id, base, writable)))
        .collect();
    let Some(last) = segments.last().cloned() else {
        return Ok((Stream::empty(id, dir, options), None));
    };

    let empty_at = |base: u64| ChainHead {
        next_offset: base,
        hash: [0; 32],
    };
    let damaged =
        |kind: DamageKind, offset: u64, reason: String, head: ChainHead, active_len: u64| {
            let damage = Damage {
                kind,
                offset,
                file: last.display_path(),
                reason,
            };
            let snapshot = Snapshot {
                segments: Arc::new(segments.clone()),
                head,
                active_len,
                first,
                checked: None,
            };
            Stream::new(id, dir.clone(), options.clone(), snapshot, Some(damage))
        };

    let header = match last.header() {
        Ok(h) => h,
        Err(crate::Error::Corruption { reason, .. }) => {
            let stream = damaged(
                DamageKind::Bytes,
                last.base_offset,
                reason,
                empty_at(last.base_offset),
                0,
            );
            return Ok((stream, None));
        }
        Err(other) => return Err(other),
    };
    let file_len = last.file_len()?;
    let marker = tail::read(dir.as_ref(), id, last.base_offset);
    let resumed = match &marker {
        Some(marker) => tail::resume(&last, &header, file_len, marker)?,
        None => None,
    };
    // What the on-disk marker vouches for, when the bytes confirmed it: that
    // prefix was fsynced before the marker was written.
    let marked = resumed
        .as_ref()
        .and(marker.as_ref())
        .map(|m| m.known.segment_len);
    let scan = match resumed {
        Some(scan) => scan,
        None => scan_tail(&last, &header, ScanStart::first_record(&header), file_len)?,
    };
    last.set_checkpoints(scan.checkpoints);
    last.set_written_len(scan.committed_len);
    if let Some(len) = marked {
        last.set_synced_len(len);
    }

    let mut torn = None;
    match scan.end {
        TailEnd::Clean => {}
        TailEnd::Torn { file_len } => {
            if writable {
                last.truncate(scan.committed_len)?;
                last.file()?
                    .sync_data()
                    .context(|| format!("fsync of {}", last.display_path().display()))?;
                last.set_synced_len(scan.committed_len);
            }
            torn = Some(TornTail {
                stream: id,
                segment: last.display_path(),
                kept_len: scan.committed_len,
                dropped_bytes: file_len - scan.committed_len,
            });
        }
        TailEnd::Damaged {
            kind,
            offset,
            pos,
            reason,
        } => {
            let reason = format!("{reason} (byte {pos})");
            let stream = damaged(kind, offset, reason, scan.head, scan.committed_len);
            return Ok((stream, None));
        }
    }
    let mut segments = segments;
    let mut active_len = scan.committed_len;
    let rules = SegmentRules::of(&options);
    if writable && active_len == header.len() as u64 && header.rules != Some(rules) {
        // An empty active segment written under other options (or by 0.1):
        // the next batch goes into it, and a segment's records must follow
        // the rules its header records, so its header is rewritten. One
        // that holds records is sealed instead, by the next append.
        let header = SegmentHeader {
            rules: Some(rules),
            ..header
        };
        let fresh = Segment::create(dir.clone(), header)?;
        active_len = header.len() as u64;
        segments.pop();
        segments.push(Arc::new(fresh));
    }
    let snapshot = Snapshot {
        segments: Arc::new(segments),
        head: scan.head,
        active_len,
        first,
        checked: None,
    };
    let stream = Stream::new(id, dir, options, snapshot, None);
    stream.writer.lock().last_time = scan.last_time;
    if let Some(len) = marked {
        stream.set_tail_mark(TailMark {
            base_offset: header.base_offset,
            len,
        });
    }
    Ok((stream, torn))
}

/// Removes a segment a prune took out of the stream (and its index), once
/// the anchor that accounts for it is durable.
pub(super) fn remove_pruned_segment(dir: &dyn StorageDir, stream: u64, base: u64) -> Result<()> {
    for rel in [
        layout::index_path(stream, base),
        layout::segment_path(stream, base),
    ] {
        dir.remove(&rel)
            .context(|| format!("removing pruned {}", dir.display(&rel).display()))?;
    }
    Ok(())
}
