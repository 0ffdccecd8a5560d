#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile segment bytes: whatever a file holds, opening, reading and
//! verifying the store returns data that is right or an error, never a
//! panic, a hang, or a wrong event. (`make fuzz` runs the coverage-guided
//! version of this.)

use std::sync::Arc;

use proptest::prelude::*;
use stratalog_core::io::memory::MemoryDir;
use stratalog_core::io::StorageDir;
use stratalog_core::{Options, Store};

const SEG: &str = "streams/00000000000000000001/00000000000000000000.seg";

fn options() -> Options {
    Options {
        segment_size: 4096,
        checkpoint_interval: 2,
        max_event_size: 1 << 16,
        ..Options::default()
    }
}

/// A real segment with a few batches, used as the starting point for
/// mutations.
fn genuine() -> (Vec<u8>, Vec<Vec<u8>>) {
    let dir = MemoryDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let events: Vec<Vec<u8>> = (0..9u8).map(|i| vec![i; (i as usize) * 11]).collect();
    for chunk in events.chunks(3) {
        store.append_batch(1, chunk, None, false).unwrap();
    }
    drop(store);
    (dir.read(std::path::Path::new(SEG)).unwrap(), events)
}

fn exercise(bytes: Vec<u8>, truth: &[Vec<u8>]) {
    let dir = MemoryDir::new();
    // Lay out a store by opening one, then plant the bytes.
    drop(Store::open_on(Arc::new(dir.clone()), options(), true).unwrap());
    dir.create_dir(std::path::Path::new("streams/00000000000000000001"))
        .unwrap();
    dir.write_atomic(std::path::Path::new(SEG), &bytes).unwrap();
    for writable in [false, true] {
        let Ok(store) = Store::open_on(Arc::new(dir.clone()), options(), writable) else {
            continue;
        };
        let _ = store.verify(1);
        let _ = store.chain_head(1);
        for offset in [0u64, 1, 4, 8, 9] {
            if let Ok(events) = store.read_from(1, offset, 100) {
                for (k, e) in events.iter().enumerate() {
                    if let Some(expected) = truth.get(offset as usize + k) {
                        // Content that verifies must be the original.
                        if store.verify(1).is_ok() {
                            assert_eq!(e, expected);
                        }
                    }
                }
            }
        }
        if let Ok(events) = store.iter(1, 0) {
            for item in events.take(100) {
                let _ = item;
            }
        }
        if writable {
            let _ = store.append_batch(1, &[b"more".as_slice()], None, false);
            let _ = store.verify(1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(bytes, &[]);
    }

    #[test]
    fn mutated_segments(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>(), do_cut in any::<bool>()) {
        let (mut bytes, truth) = genuine();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if do_cut {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        exercise(bytes, &truth);
    }
}

const TAIL: &str = "streams/00000000000000000001/TAIL";

/// A closed store's segment and tail marker, and its events.
fn genuine_with_marker() -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    let dir = MemoryDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let events: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; (i as usize) * 7]).collect();
    for chunk in events.chunks(2) {
        store.append_batch(1, chunk, None, false).unwrap();
    }
    store.close().unwrap();
    let read = |p: &str| dir.read(std::path::Path::new(p)).unwrap();
    (read(SEG), read(TAIL), events)
}

/// Adds `delta` to the little-endian u64 at `at`.
fn shift(b: &mut [u8], at: usize, delta: i64) {
    let v = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    b[at..at + 8].copy_from_slice(&v.wrapping_add_signed(delta).to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever a tail marker says (lengths, end, last record and
    /// checkpoint positions edited, CRC recomputed so the edits reach the
    /// engine), a genuine segment opens with its true head
    /// and reads and verifies as it is: the marker only moves where the
    /// scan starts.
    #[test]
    fn lying_tail_markers(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
        // Mostly one edit at a time, so that many markers still pass the
        // checks that come before the one an edit breaks.
        len_delta in prop_oneof![3 => Just(0i64), 1 => -200i64..200],
        entry in any::<prop::sample::Index>(),
        entry_shift in prop_oneof![1 => Just(0i64), 1 => -70i64..70],
        end_delta in prop_oneof![3 => Just(0i64), 1 => -2i64..3],
        last_shift in prop_oneof![3 => Just(0i64), 1 => -80i64..80],
    ) {
        let (seg, mut marker, truth) = genuine_with_marker();
        let body = marker.len() - 4;
        let count = u32::from_le_bytes(marker[12..16].try_into().unwrap()) as usize;
        shift(&mut marker, 72, len_delta);
        shift(&mut marker, 32, end_delta);
        shift(&mut marker, 80, last_shift);
        if count > 0 {
            shift(&mut marker, 96 + 16 * entry.index(count), entry_shift);
        }
        for (at, value) in edits {
            marker[16 + at.index(body - 16)] = value;
        }
        let crc = crc32fast::hash(&marker[..body]);
        marker[body..].copy_from_slice(&crc.to_le_bytes());

        let dir = MemoryDir::new();
        drop(Store::open_on(Arc::new(dir.clone()), options(), true).unwrap());
        dir.create_dir(std::path::Path::new("streams/00000000000000000001")).unwrap();
        dir.write_atomic(std::path::Path::new(SEG), &seg).unwrap();
        dir.write_atomic(std::path::Path::new(TAIL), &marker).unwrap();
        let head = truth.iter().fold(stratalog_core::ChainHead::EMPTY, |h, e| h.advance(e));
        for writable in [false, true] {
            let store = Store::open_on(Arc::new(dir.clone()), options(), writable).unwrap();
            prop_assert_eq!(store.chain_head(1).unwrap(), head);
            prop_assert!(store.torn_tails().is_empty());
            prop_assert_eq!(store.verify(1).unwrap().head, head);
            for offset in [0u64, 3, 7, 11] {
                prop_assert_eq!(
                    store.read_from(1, offset, 1).unwrap(),
                    vec![truth[offset as usize].clone()]
                );
            }
        }
    }
}

/// The planting above really reaches the engine: the genuine segment reads
/// back, and a damaged one is reported.
#[test]
fn planted_segments_are_what_the_store_reads() {
    let (bytes, truth) = genuine();
    let plant = |bytes: &[u8]| {
        let dir = MemoryDir::new();
        drop(Store::open_on(Arc::new(dir.clone()), options(), true).unwrap());
        dir.create_dir(std::path::Path::new("streams/00000000000000000001"))
            .unwrap();
        dir.write_atomic(std::path::Path::new(SEG), bytes).unwrap();
        Store::open_on(Arc::new(dir), options(), false).unwrap()
    };
    let store = plant(&bytes);
    assert_eq!(store.verify(1).unwrap().events, truth.len() as u64);
    assert_eq!(store.read_from(1, 0, u64::MAX).unwrap(), truth);
    let mut damaged = bytes.clone();
    damaged[200] ^= 0x40;
    assert!(plant(&damaged).verify(1).is_err());
}

/// Inputs the fuzzers found or were seeded with, replayed on every run.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        exercise(bytes, &[]);
        replayed += 1;
    }
    assert!(replayed >= 2);
}
