#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The tail marker (`streams/<stream>/TAIL`): a closed store reopens by
//! reading only the record where the marker says a known-good prefix ends
//! and what follows it, with the same head as a full scan; a stale marker still
//! cuts torn tails; a marker the bytes do not confirm (damaged, forged,
//! foreign, from another incarnation, longer than the file) is ignored and
//! the full scan's rules apply unchanged; read-only stores never write one.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::counting::CountingDir;
use common::{payload, small};
use stratalog_core::io::disk::DiskDir;
use stratalog_core::io::memory::MemoryDir;
use stratalog_core::io::StorageDir;
use stratalog_core::{ChainHead, Error, Options, Store};

const STREAM: u64 = 1;
const EVENTS: u64 = 3000;
const BATCH: u64 = 10;

/// One 1 MiB segment: everything stays in the active segment, checkpoints
/// every 16 events.
fn options() -> Options {
    small(1 << 20, 16)
}

fn event(stream: u64, offset: u64, salt: u8) -> Vec<u8> {
    let mut p = payload(stream, offset, 200);
    p[0] = salt;
    p
}

/// Appends `EVENTS` events to `stream` in batches and closes the store.
fn build(root: &Path, streams: &[u64], salt: u8) -> Vec<ChainHead> {
    let store = Store::open(root, options()).unwrap();
    let mut heads = Vec::new();
    for &stream in streams {
        for b in 0..EVENTS / BATCH {
            let events: Vec<Vec<u8>> = (b * BATCH..(b + 1) * BATCH)
                .map(|o| event(stream, o, salt))
                .collect();
            let head = store.append_batch(stream, &events, None, false).unwrap();
            if stream == streams[0] {
                heads.push(head);
            }
        }
    }
    store.close().unwrap();
    heads
}

fn tail_path(root: &Path, stream: u64) -> PathBuf {
    root.join("streams")
        .join(format!("{stream:020}"))
        .join("TAIL")
}

fn active_segment(root: &Path, stream: u64) -> PathBuf {
    common::segments(root, stream).pop().unwrap()
}

/// Opens `root` through a byte counter; returns the store and the segment
/// bytes the open read.
/// Opens the store and uses `STREAM` once, returning the bytes the two
/// read: a stream is recovered on its first use, unless the last writer
/// did not close (then at open).
fn open_counted(root: &Path, writable: bool) -> (Store, CountingDir, u64) {
    let counter = CountingDir::new(Arc::new(DiskDir::new(root)));
    let store = Store::open_on(Arc::new(counter.clone()), options(), writable).unwrap();
    let _ = store.chain_head(STREAM);
    let read = counter.take();
    (store, counter, read)
}

/// The fields of a tail marker, as docs/FORMAT.md lays them out.
#[derive(Debug, Clone)]
struct Marker {
    magic: [u8; 8],
    stream: u64,
    base: u64,
    end_offset: u64,
    end_hash: [u8; 32],
    len: u64,
    last_record: u64,
    entries: Vec<(u64, u64)>,
}

impl Marker {
    fn parse(b: &[u8]) -> Marker {
        let long = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let count = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        assert_eq!(b.len(), 88 + 16 * count + 4);
        assert_eq!(
            common::crc32(&b[..b.len() - 4]).to_le_bytes(),
            b[b.len() - 4..]
        );
        Marker {
            magic: b[0..8].try_into().unwrap(),
            stream: long(16),
            base: long(24),
            end_offset: long(32),
            end_hash: b[40..72].try_into().unwrap(),
            len: long(72),
            last_record: long(80),
            entries: (0..count)
                .map(|i| (long(88 + 16 * i), long(96 + 16 * i)))
                .collect(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut b = self.magic.to_vec();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for v in [self.stream, self.base, self.end_offset] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.end_hash);
        b.extend_from_slice(&self.len.to_le_bytes());
        b.extend_from_slice(&self.last_record.to_le_bytes());
        for (offset, pos) in &self.entries {
            b.extend_from_slice(&offset.to_le_bytes());
            b.extend_from_slice(&pos.to_le_bytes());
        }
        let crc = common::crc32(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }
}

fn all_events(store: &Store, stream: u64) -> Vec<Vec<u8>> {
    store
        .iter(stream, 0)
        .unwrap()
        .map(|e| e.unwrap().1.to_vec())
        .collect()
}

#[test]
fn reopen_with_the_marker_reads_only_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let heads = build(&root, &[STREAM], 0);
    let head = *heads.last().unwrap();
    let seg_len = std::fs::metadata(active_segment(&root, STREAM))
        .unwrap()
        .len();
    let marker = Marker::parse(&std::fs::read(tail_path(&root, STREAM)).unwrap());
    assert_eq!(&marker.magic, b"STRATTAL");
    assert_eq!((marker.stream, marker.base), (STREAM, 0));
    assert_eq!((marker.end_offset, marker.end_hash), (EVENTS, head.hash));
    assert_eq!(marker.len, seg_len);
    assert_eq!(marker.last_record, seg_len - 260);
    assert_eq!(marker.entries.len() as u64, (EVENTS - 1) / 16);
    let tail_ino = std::fs::metadata(tail_path(&root, STREAM)).unwrap().ino();

    for writable in [false, true] {
        let (store, counter, read) = open_counted(&root, writable);
        // The header and the last record: nothing follows it.
        assert!(
            read <= 80 + 260,
            "writable={writable}: the open read {read} of {seg_len} bytes"
        );
        assert!(store.torn_tails().is_empty());
        assert_eq!(store.chain_head(STREAM).unwrap(), head);
        // The marker's checkpoints serve random reads in the active segment.
        for offset in [5u64, 700, 1601, 2999] {
            counter.take();
            let got = store.read_from(STREAM, offset, 1).unwrap();
            assert_eq!(got, vec![event(STREAM, offset, 0)]);
            assert!(counter.take() < 32 << 10, "read at {offset}");
        }
        let report = store.verify(STREAM).unwrap();
        assert_eq!((report.events, report.head), (EVENTS, head));
        for h in &heads {
            store.verify_against(STREAM, h).unwrap();
        }
        // Nothing appended: closing rewrites no marker.
        store.close().unwrap();
        assert_eq!(
            std::fs::metadata(tail_path(&root, STREAM)).unwrap().ino(),
            tail_ino
        );
    }

    // Without the marker the same head comes from a scan of the segment,
    // and a writer's close leaves a new one.
    std::fs::remove_file(tail_path(&root, STREAM)).unwrap();
    let (store, _, read) = open_counted(&root, true);
    assert!(read >= seg_len - 80, "a full scan read only {read}");
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    let next = store
        .append_batch(STREAM, &[b"after".as_slice()], None, true)
        .unwrap();
    assert_eq!(next, head.advance(b"after"));
    store.close().unwrap();
    let marker = Marker::parse(&std::fs::read(tail_path(&root, STREAM)).unwrap());
    assert_eq!(
        (marker.end_offset, marker.end_hash),
        (EVENTS + 1, next.hash)
    );
    let (store, _, read) = open_counted(&root, true);
    assert!(read <= 80 + 65);
    assert_eq!(store.chain_head(STREAM).unwrap(), next);
}

/// A marker older than the last appends (the store was not closed after
/// them) still starts the scan, which goes on to the end of the file and
/// cuts a torn tail exactly as a full scan would, at every byte of the
/// last batch.
#[test]
fn a_stale_marker_still_cuts_a_torn_tail_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    build(&root, &[STREAM], 0);
    let marker = std::fs::read(tail_path(&root, STREAM)).unwrap();
    let seg = active_segment(&root, STREAM);
    let (kept_head, kept_len) = {
        let store = Store::open(&root, options()).unwrap();
        for b in 0..3u64 {
            let events: Vec<Vec<u8>> = (0..7)
                .map(|i| event(STREAM, 10_000 + b * 7 + i, 9))
                .collect();
            store.append_batch(STREAM, &events, None, true).unwrap();
        }
        let head = store.chain_head(STREAM).unwrap();
        let len = std::fs::metadata(&seg).unwrap().len();
        let events: Vec<Vec<u8>> = (0..5).map(|i| event(STREAM, 20_000 + i, 9)).collect();
        store.append_batch(STREAM, &events, None, true).unwrap();
        // Dropped without closing: the marker on disk is the old one.
        (head, len)
    };
    assert_eq!(std::fs::read(tail_path(&root, STREAM)).unwrap(), marker);
    let full = std::fs::read(&seg).unwrap();
    assert!(full.len() as u64 > kept_len + 5 * 200);
    let mut cases: Vec<Vec<u8>> = ((kept_len as usize + 1)..full.len())
        .map(|cut| full[..cut].to_vec())
        .collect();
    let mut zeros = full[..kept_len as usize].to_vec();
    zeros.resize(full.len(), 0);
    cases.push(zeros);
    for (i, bytes) in cases.iter().enumerate() {
        std::fs::write(&seg, bytes).unwrap();
        let (ro, _, read) = open_counted(&root, false);
        assert!(read < 32 << 10, "case {i}: the marker was not used");
        assert_eq!(ro.chain_head(STREAM).unwrap(), kept_head, "case {i}");
        assert_eq!(ro.torn_tails().len(), 1);
        drop(ro);
        assert_eq!(&std::fs::read(&seg).unwrap(), bytes, "read-only wrote");
        let store = Store::open(&root, options()).unwrap();
        assert_eq!(store.chain_head(STREAM).unwrap(), kept_head, "case {i}");
        let torn = &store.torn_tails()[0];
        assert_eq!(torn.kept_len, kept_len);
        assert_eq!(torn.dropped_bytes, bytes.len() as u64 - kept_len);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), kept_len);
        if i % 200 == 0 {
            assert_eq!(store.verify(STREAM).unwrap().head, kept_head);
        }
    }
    // Non-zero garbage after the last batch is damage, as without a marker.
    let mut garbage = full[..kept_len as usize].to_vec();
    garbage.extend_from_slice(&[0x5A; 300]);
    std::fs::write(&seg, &garbage).unwrap();
    let store = Store::open(&root, options()).unwrap();
    assert!(matches!(
        store.chain_head(STREAM),
        Err(Error::Corruption { stream: STREAM, offset, .. }) if offset == kept_head.next_offset
    ));
    assert_eq!(std::fs::read(&seg).unwrap(), garbage);
    // The marker was never rewritten by these opens.
    assert_eq!(std::fs::read(tail_path(&root, STREAM)).unwrap(), marker);
}

/// Every marker the segment's bytes do not confirm is ignored: the open
/// reads the whole segment and gets the head a full scan gets, and the
/// marker file is left as it was (it is not evidence, and not removed).
#[test]
fn markers_the_bytes_do_not_confirm_fall_back_to_the_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let head = *build(&root, &[STREAM, 2], 0).last().unwrap();
    // The same stream rewritten with other bytes of the same sizes: its
    // marker lines up with this segment's records but names another chain.
    let other_root = dir.path().join("other");
    build(&other_root, &[STREAM], 7);
    let seg_len = std::fs::metadata(active_segment(&root, STREAM))
        .unwrap()
        .len();
    let good_bytes = std::fs::read(tail_path(&root, STREAM)).unwrap();
    let good = Marker::parse(&good_bytes);
    let last = *good.entries.last().unwrap();

    let forged = |f: &dyn Fn(&mut Marker)| {
        let mut m = good.clone();
        f(&mut m);
        m.encode()
    };
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("garbage".into(), b"not a marker".to_vec()),
        ("empty".into(), Vec::new()),
        (
            "another stream's".into(),
            std::fs::read(tail_path(&root, 2)).unwrap(),
        ),
        (
            "another incarnation's".into(),
            std::fs::read(tail_path(&other_root, STREAM)).unwrap(),
        ),
        ("index magic".into(), forged(&|m| m.magic = *b"STRATIDX")),
        ("other base".into(), forged(&|m| m.base = 16)),
        ("wrong end hash".into(), forged(&|m| m.end_hash[3] ^= 1)),
        ("end offset one more".into(), forged(&|m| m.end_offset += 1)),
        ("end offset one less".into(), forged(&|m| m.end_offset -= 1)),
        ("length inside a record".into(), forged(&|m| m.len -= 7)),
        ("length one record short".into(), forged(&|m| m.len -= 260)),
        ("length past the file".into(), forged(&|m| m.len += 260)),
        ("length of the header".into(), forged(&|m| m.len = 80)),
        (
            "last record inside a record".into(),
            forged(&|m| m.last_record += 7),
        ),
        (
            "last record one before (not a batch end)".into(),
            forged(&|m| m.last_record -= 260),
        ),
        (
            "last record a checkpoint".into(),
            forged(&|m| m.last_record = last.1),
        ),
        (
            "last record past the length".into(),
            forged(&|m| m.last_record = m.len),
        ),
        (
            "checkpoints out of order".into(),
            forged(&|m| m.entries.insert(0, last)),
        ),
        (
            "a checkpoint past the length".into(),
            forged(&|m| m.entries.push((3008, m.len + 10))),
        ),
        // The segment records its interval, so which checkpoints the
        // prefix holds is known: one left out or off the interval is a lie.
        (
            "last checkpoint with another offset".into(),
            forged(&|m| m.entries.last_mut().unwrap().0 += 8),
        ),
        (
            "a checkpoint left out".into(),
            forged(&|m| {
                m.entries.remove(40);
            }),
        ),
        ("no checkpoints".into(), forged(&|m| m.entries.clear())),
    ];
    for i in (0..good_bytes.len()).filter(|&i| i < 88 || i % 13 == 0) {
        let mut b = good_bytes.clone();
        b[i] ^= 0xFF;
        cases.push((format!("byte {i} flipped"), b));
    }
    for (name, bytes) in &cases {
        std::fs::write(tail_path(&root, STREAM), bytes).unwrap();
        for writable in [false, true] {
            let (store, _, read) = open_counted(&root, writable);
            assert!(
                read >= seg_len - 80,
                "{name}: marker used (read {read} of {seg_len})"
            );
            assert_eq!(store.chain_head(STREAM).unwrap(), head, "{name}");
            assert!(store.torn_tails().is_empty(), "{name}");
            assert_eq!(
                store.read_from(STREAM, 2990, 1).unwrap(),
                vec![event(STREAM, 2990, 0)],
                "{name}"
            );
            assert_eq!(
                store.read_from(STREAM, 37, 1).unwrap(),
                vec![event(STREAM, 37, 0)],
                "{name}"
            );
            drop(store);
            assert_eq!(
                &std::fs::read(tail_path(&root, STREAM)).unwrap(),
                bytes,
                "{name}: the open changed the marker"
            );
        }
    }
    // Checkpoint positions are not what confirms a marker: wrong ones are
    // found when a read uses them (see the next test), and reads stay right.
    let used: Vec<(&str, Vec<u8>)> = vec![
        (
            "last checkpoint inside a record",
            forged(&|m| m.entries.last_mut().unwrap().1 += 7),
        ),
        (
            "last checkpoint at the event after it",
            forged(&|m| m.entries.last_mut().unwrap().1 += 60),
        ),
    ];
    for (name, bytes) in &used {
        std::fs::write(tail_path(&root, STREAM), bytes).unwrap();
        let (store, _, read) = open_counted(&root, true);
        // Both streams: each header and marked record.
        assert!(read <= 2 * (80 + 260), "{name}: marker not used ({read})");
        assert_eq!(store.chain_head(STREAM).unwrap(), head, "{name}");
        for offset in [0u64, 37, 2980, 2990, 2993, 2999] {
            assert_eq!(
                store.read_from(STREAM, offset, 1).unwrap(),
                vec![event(STREAM, offset, 0)],
                "{name} offset {offset}"
            );
        }
        store.verify(STREAM).unwrap();
    }
    // A writer's close replaces an unconfirmed marker with a good one.
    std::fs::write(tail_path(&root, STREAM), b"unconfirmed").unwrap();
    let (store, _, _) = open_counted(&root, true);
    assert_eq!(all_events(&store, STREAM).len() as u64, EVENTS);
    store.verify(STREAM).unwrap();
    store.close().unwrap();
    assert_eq!(std::fs::read(tail_path(&root, STREAM)).unwrap(), good_bytes);
}

/// Checkpoints a confirmed marker lists before its resume point are a
/// cache too: one that points at the wrong record is dropped on first use,
/// the segment is walked for its checkpoints, and reads stay right.
#[test]
fn a_wrong_earlier_checkpoint_of_a_confirmed_marker_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let head = *build(&root, &[STREAM], 0).last().unwrap();
    let mut m = Marker::parse(&std::fs::read(tail_path(&root, STREAM)).unwrap());
    // Entry 10 (offset 176) points at the record after its checkpoint.
    m.entries[10].1 += 60;
    std::fs::write(tail_path(&root, STREAM), m.encode()).unwrap();
    let (store, counter, read) = open_counted(&root, true);
    assert!(read < 32 << 10, "the marker should still be used");
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    for offset in [176u64, 180, 191, 500, 176] {
        assert_eq!(
            store.read_from(STREAM, offset, 1).unwrap(),
            vec![event(STREAM, offset, 0)],
            "offset {offset}"
        );
    }
    // Once rebuilt, a read near that point is cheap again.
    counter.take();
    store.read_from(STREAM, 180, 1).unwrap();
    assert!(counter.take() < 32 << 10);
    store.verify(STREAM).unwrap();
    // The segment is still the active one: it grows and then seals, and
    // reads and verify see all of it.
    for o in (EVENTS..EVENTS + 1500).step_by(BATCH as usize) {
        let events: Vec<Vec<u8>> = (o..o + BATCH).map(|i| event(STREAM, i, 0)).collect();
        store.append_batch(STREAM, &events, None, false).unwrap();
    }
    assert!(common::segments(&root, STREAM).len() >= 2);
    assert_eq!(store.verify(STREAM).unwrap().events, EVENTS + 1500);
    let got = all_events(&store, STREAM);
    assert!((0..EVENTS + 1500).all(|o| got[o as usize] == event(STREAM, o, 0)));
}

/// A segment cut shorter than its marker says (by something outside
/// stratalog) is handled exactly as without a marker: the full scan's
/// rules decide (a cut inside a record is a torn tail, a cut at a batch
/// boundary leaves a shorter, self-consistent stream that only
/// `verify_against` a kept head catches).
#[test]
fn a_segment_shorter_than_its_marker_is_treated_as_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let heads = build(&root, &[STREAM], 0);
    let seg = active_segment(&root, STREAM);
    let full = std::fs::read(&seg).unwrap();
    let marker = std::fs::read(tail_path(&root, STREAM)).unwrap();
    let (_, recs) = common::parse_segment(&full);
    let batch_ends: Vec<usize> = recs
        .iter()
        .filter(|r| r.flags & 1 == 1)
        .map(|r| r.pos + r.len())
        .collect();
    let cuts = [
        full.len() - 1,
        full.len() - 300,
        batch_ends[batch_ends.len() - 2],
        batch_ends[150] + 100,
        batch_ends[150],
        batch_ends[0],
        200,
        80,
    ];
    let outcome = |root: &Path| {
        let store = Store::open(root, options()).unwrap();
        let torn: Vec<(u64, u64)> = store
            .torn_tails()
            .iter()
            .map(|t| (t.kept_len, t.dropped_bytes))
            .collect();
        let head = store.chain_head(STREAM).unwrap();
        let last = heads.last().unwrap();
        let caught = matches!(
            store.verify_against(STREAM, last),
            Err(Error::ChainMismatch { .. })
        );
        store.verify(STREAM).unwrap();
        (head, torn, caught)
    };
    let bare = dir.path().join("bare");
    for cut in cuts {
        std::fs::write(&seg, &full[..cut]).unwrap();
        common::copy_dir(&root, &bare);
        std::fs::remove_file(tail_path(&bare, STREAM)).unwrap();
        let with = outcome(&root);
        let without = outcome(&bare);
        assert_eq!(with, without, "cut at {cut}");
        assert!(with.2, "cut at {cut}: the truncation went unnoticed");
        if let Some(k) = batch_ends.iter().position(|&e| e == cut) {
            assert_eq!(with.0, heads[k], "cut at {cut}");
            assert!(with.1.is_empty());
        }
        std::fs::remove_dir_all(&bare).unwrap();
        std::fs::write(&seg, &full).unwrap();
        // The opens above were not closed: the marker is the original.
        assert_eq!(std::fs::read(tail_path(&root, STREAM)).unwrap(), marker);
    }
}

/// What a marker costs: damage in the part of the active segment before
/// the record it names, which was fsynced before the marker was written,
/// is not read at open (like damage in a sealed segment); reads that reach
/// it and `verify` report it with its offset. Damage to that record, or
/// after it, is found at open, as without a marker.
#[test]
fn damage_before_the_marked_record_is_found_by_reads_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let head = *build(&root, &[STREAM], 0).last().unwrap();
    let seg = active_segment(&root, STREAM);
    let full = std::fs::read(&seg).unwrap();
    let (_, recs) = common::parse_segment(&full);
    let early = recs
        .iter()
        .find(|r| r.offset == 100 && r.kind == 0)
        .unwrap();
    let before_last = recs
        .iter()
        .find(|r| r.offset == EVENTS - 2 && r.kind == 0)
        .unwrap();
    let last = recs.last().unwrap();

    let mut damaged = full.clone();
    damaged[early.pos + 70] ^= 0x10;
    std::fs::write(&seg, &damaged).unwrap();
    let store = Store::open(&root, options()).unwrap();
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    assert!(matches!(
        store.verify(STREAM),
        Err(Error::Corruption {
            stream: STREAM,
            offset: 100,
            ..
        })
    ));
    assert!(store.read_from(STREAM, 100, 1).is_err());
    assert_eq!(
        store.read_from(STREAM, 2000, 1).unwrap(),
        vec![event(STREAM, 2000, 0)]
    );
    drop(store);
    std::fs::remove_file(tail_path(&root, STREAM)).unwrap();
    let store = Store::open(&root, options()).unwrap();
    assert!(matches!(
        store.chain_head(STREAM),
        Err(Error::Corruption {
            stream: STREAM,
            offset: 100,
            ..
        })
    ));
    drop(store);

    std::fs::write(&seg, &full).unwrap();
    Store::open(&root, options()).unwrap().close().unwrap();
    // The record just before the marked one: not read at open either.
    let mut damaged = full.clone();
    damaged[before_last.pos + 70] ^= 0x10;
    std::fs::write(&seg, &damaged).unwrap();
    let store = Store::open(&root, options()).unwrap();
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    assert!(matches!(
        store.verify(STREAM),
        Err(Error::Corruption { stream: STREAM, offset, .. }) if offset == EVENTS - 2
    ));
    drop(store);
    // The marked record itself: the marker is not confirmed, the full scan
    // finds the damage at open, nothing is cut.
    let mut damaged = full.clone();
    damaged[last.pos + 70] ^= 0x10;
    std::fs::write(&seg, &damaged).unwrap();
    let store = Store::open(&root, options()).unwrap();
    assert!(matches!(
        store.chain_head(STREAM),
        Err(Error::Corruption { stream: STREAM, offset, .. }) if offset == EVENTS - 1
    ));
    assert!(store.torn_tails().is_empty());
    drop(store);
    assert_eq!(std::fs::read(&seg).unwrap(), damaged);
}

#[test]
fn read_only_stores_never_write_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    {
        let store = Store::open(&root, options()).unwrap();
        store
            .append_batch(STREAM, &[b"a".as_slice(), b"b"], None, true)
            .unwrap();
        // Dropped, not closed: no marker.
    }
    assert!(!tail_path(&root, STREAM).exists());
    let ro = Store::open_read_only(&root).unwrap();
    assert_eq!(ro.chain_head(STREAM).unwrap().next_offset, 2);
    ro.close().unwrap();
    assert!(!tail_path(&root, STREAM).exists());
    Store::open(&root, options()).unwrap().close().unwrap();
    assert!(tail_path(&root, STREAM).exists());
}

/// The in-memory backend writes and uses markers like the disk.
#[test]
fn the_in_memory_store_keeps_a_marker_too() {
    let mem = MemoryDir::new();
    let dir: Arc<dyn StorageDir> = Arc::new(mem.clone());
    let store = Store::open_on(dir.clone(), options(), true).unwrap();
    for b in 0..100u64 {
        let events: Vec<Vec<u8>> = (0..10).map(|i| event(STREAM, b * 10 + i, 3)).collect();
        store.append_batch(STREAM, &events, None, false).unwrap();
    }
    let head = store.chain_head(STREAM).unwrap();
    store.close().unwrap();
    let marker = Marker::parse(
        &mem.read(Path::new("streams/00000000000000000001/TAIL"))
            .unwrap(),
    );
    assert_eq!((marker.end_offset, marker.end_hash), (1000, head.hash));
    let counter = CountingDir::new(dir);
    let store = Store::open_on(Arc::new(counter.clone()), options(), true).unwrap();
    assert!(counter.take() < 32 << 10);
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    assert_eq!(store.verify(STREAM).unwrap().events, 1000);
}

/// A rotation leaves the marker naming the sealed segment; it is ignored
/// (the new active segment is scanned whole) until a close names the new
/// one.
#[test]
fn after_a_rotation_the_old_marker_is_ignored_and_close_renews_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let options = small(64 << 10, 16);
    let store = Store::open(&root, options.clone()).unwrap();
    let write = |store: &Store, from: u64, to: u64| {
        for o in (from..to).step_by(10) {
            let events: Vec<Vec<u8>> = (o..o + 10).map(|i| event(STREAM, i, 1)).collect();
            store.append_batch(STREAM, &events, None, false).unwrap();
        }
    };
    write(&store, 0, 100);
    store.close().unwrap();
    assert_eq!(common::segments(&root, STREAM).len(), 1);
    let store = Store::open(&root, options.clone()).unwrap();
    write(&store, 100, 400);
    let head = store.chain_head(STREAM).unwrap();
    drop(store);
    let segs = common::segments(&root, STREAM);
    assert!(segs.len() >= 2);
    let marker = Marker::parse(&std::fs::read(tail_path(&root, STREAM)).unwrap());
    assert_eq!(marker.base, 0);
    let store = Store::open(&root, options.clone()).unwrap();
    assert_eq!(store.chain_head(STREAM).unwrap(), head);
    assert_eq!(all_events(&store, STREAM).len(), 400);
    store.close().unwrap();
    let marker = Marker::parse(&std::fs::read(tail_path(&root, STREAM)).unwrap());
    let last_base: u64 = segs
        .last()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((marker.base, marker.end_offset), (last_base, 400));
}
