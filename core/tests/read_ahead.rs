#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A cursor reads groups of records ahead of itself and checks their links
//! together (`segment::read_ahead`). It must return exactly what a
//! record-by-record walk returns, and stop with the same error at the same
//! offset wherever in a group, a batch or a segment the chain breaks.

mod common;

use std::path::Path;

use common::{parse_segment, payload, segments, small, with_compression, write_segment, Rec};
use stratalog_core::{Compression, Error, Options, Store};

const STREAM: u64 = 3;

/// Batches of 1 to 130 events of 0 B to 70 KiB, so groups end at COMMITs,
/// inside batches (by count and by bytes), at segment ends and at the
/// snapshot's head; and one event of 1.5 MiB, more than a group holds.
fn batches() -> Vec<Vec<Vec<u8>>> {
    let counts = [1usize, 3, 8, 70, 2, 130, 5, 9, 64, 1, 33];
    let sizes = [0usize, 7, 100, 5000, 64, 70_000, 300, 4096, 1];
    let mut offset = 0u64;
    let mut out = Vec::new();
    for (b, &count) in counts.iter().cycle().take(24).enumerate() {
        let batch: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                let len = sizes[(b * 7 + i) % sizes.len()];
                // Keep the store small: large events only now and then.
                let len = if len > 4096 && i % 5 != 0 { 100 } else { len };
                offset += 1;
                payload(STREAM, offset, len)
            })
            .collect();
        out.push(batch);
        if b == 12 {
            out.push(vec![payload(STREAM, u64::MAX, 1536 << 10)]);
        }
    }
    out
}

fn options() -> Options {
    small(1 << 20, 50)
}

/// Builds the store and returns every event in order.
fn build(root: &Path, options: Options) -> Vec<Vec<u8>> {
    let store = Store::open(root, options).unwrap();
    let mut all = Vec::new();
    for batch in batches() {
        store.append_batch(STREAM, &batch, None, false).unwrap();
        all.extend(batch);
    }
    store.close().unwrap();
    all
}

fn read_from(store: &Store, start: u64) -> (Vec<Vec<u8>>, Option<Error>) {
    let mut got = Vec::new();
    for (i, event) in store.iter(STREAM, start).unwrap().enumerate() {
        match event {
            Ok((offset, data)) => {
                assert_eq!(offset, start + i as u64);
                got.push(data.to_vec());
            }
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

#[test]
fn every_read_returns_the_events_as_written() {
    for compression in [Compression::None, Compression::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let options = with_compression(options(), compression);
        let all = build(dir.path(), options.clone());
        assert!(segments(dir.path(), STREAM).len() >= 3);
        let store = Store::open(dir.path(), options).unwrap();
        let n = all.len() as u64;
        for start in (0..n).filter(|s| s % 7 == 0 || s % 50 < 2 || *s + 3 > n) {
            let (got, err) = read_from(&store, start);
            assert!(err.is_none(), "{compression:?} from {start}: {err:?}");
            assert!(got == all[start as usize..], "{compression:?} from {start}");
        }
        // Bounded reads stop where asked, whatever was read ahead.
        for (start, max) in [(0u64, 1u64), (5, 40_000), (200, 1), (n - 2, 1 << 30)] {
            let got = store.read_from(STREAM, start, max).unwrap();
            assert!(!got.is_empty());
            let offset = start as usize;
            let total: u64 = got.iter().map(|e| e.len() as u64).sum();
            assert!(got.len() == 1 || total <= max);
            if let Some(next) = all.get(offset + got.len()) {
                assert!(total + next.len() as u64 > max, "stopped early at {start}");
            }
            for (i, data) in got.iter().enumerate() {
                assert_eq!(data[..], all[offset + i][..]);
            }
        }
        let report = store.verify(STREAM).unwrap();
        assert_eq!(report.events, n);
    }
}

/// Rewrites one record of `seg` (CRCs kept valid) and returns the store's
/// answer: the events read from 0 and the error that stopped them.
fn forge(root: &Path, seg: &Path, edit: impl FnOnce(&mut [Rec])) -> (Vec<Vec<u8>>, Error) {
    let original = std::fs::read(seg).unwrap();
    let (header, mut recs) = parse_segment(&original);
    edit(&mut recs);
    write_segment(seg, &header, &recs);
    let store = Store::open_read_only(root).unwrap();
    let (got, err) = read_from(&store, 0);
    let verified = store.verify(STREAM);
    drop(store);
    std::fs::write(seg, &original).unwrap();
    let err = err.expect("the forgery was not detected");
    // `verify` walks the same way and stops at the same place.
    match (&err, verified) {
        (
            Error::ChainMismatch { offset: a, .. } | Error::Corruption { offset: a, .. },
            Err(Error::ChainMismatch { offset: b, .. } | Error::Corruption { offset: b, .. }),
        ) => assert_eq!(*a, b),
        (_, verified) => panic!("iter: {err:?}, verify: {verified:?}"),
    }
    (got, err)
}

fn mismatch_at(err: &Error) -> u64 {
    match err {
        Error::ChainMismatch { offset, .. } => *offset,
        other => panic!("expected ChainMismatch, got {other:?}"),
    }
}

#[test]
fn a_broken_link_stops_every_read_exactly_where_it_lies() {
    let dir = tempfile::tempdir().unwrap();
    let all = build(dir.path(), options());
    let segs = segments(dir.path(), STREAM);
    // The first segment, and one after the large event, sealed both.
    for seg in [&segs[0], &segs[segs.len() - 2]] {
        let (_, recs) = parse_segment(&std::fs::read(seg).unwrap());
        for victim in (0..recs.len()).filter(|i| i % 3 == 0 || *i < 12) {
            let offset = recs[victim].offset;
            let kind = recs[victim].kind;
            let (got, err) = forge(dir.path(), seg, |recs| recs[victim].prev_hash[5] ^= 1);
            assert_eq!(mismatch_at(&err), offset, "record {victim} (kind {kind})");
            assert!(got == all[..offset as usize], "record {victim}");
        }
    }
}

#[test]
fn a_forged_payload_is_returned_and_its_successor_refused() {
    let dir = tempfile::tempdir().unwrap();
    let all = build(dir.path(), options());
    let segs = segments(dir.path(), STREAM);
    for seg in [&segs[0], &segs[segs.len() - 2]] {
        let (_, recs) = parse_segment(&std::fs::read(seg).unwrap());
        let events: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].kind == 0).collect();
        for &victim in events.iter().filter(|&&i| i % 4 == 1 || i < 12) {
            let offset = recs[victim].offset;
            let (got, err) = forge(dir.path(), seg, |recs| {
                recs[victim].stored = b"forged".to_vec();
            });
            // Only the next link tells: the forged event itself is what a
            // record-by-record walk returns too, and nothing after it.
            assert_eq!(mismatch_at(&err), offset + 1, "record {victim}");
            assert_eq!(got.len() as u64, offset + 1, "record {victim}");
            assert!(got[..offset as usize] == all[..offset as usize]);
            assert_eq!(got[offset as usize], b"forged");
        }
    }
}
