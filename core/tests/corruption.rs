#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Damage to any byte of any file is found (with the right stream and
//! offset) or is harmless (an index, which is rebuilt), never a panic, never
//! a wrong event returned, never good data cut off.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{parse_segment, payload, small, SEG_HEADER};
use stratalog_core::{Compression, Error, Options, Store};

fn options() -> Options {
    common::with_compression(small(4096, 4), Compression::Lz4)
}

/// Two streams, several segments, checkpoints, compressed and raw records.
fn build(root: &Path) -> BTreeMap<u64, Vec<Vec<u8>>> {
    let store = Store::open(root, options()).unwrap();
    let mut all = BTreeMap::new();
    for stream in [1u64, 2] {
        let events: Vec<Vec<u8>> = (0..70)
            .map(|i| {
                let len = if i % 5 == 0 {
                    300
                } else {
                    24 + (i as usize * 7) % 90
                };
                let mut p = payload(stream, i, len);
                if i % 2 == 0 {
                    p.iter_mut().for_each(|b| *b = b'a' + (*b % 3));
                }
                p
            })
            .collect();
        for chunk in events.chunks(6) {
            store.append_batch(stream, chunk, None, false).unwrap();
        }
        all.insert(stream, events);
    }
    store.close().unwrap();
    all
}

/// For each byte of a segment file, the offset a verifier should name when
/// that byte is damaged.
fn blame_map(path: &Path, bytes: &[u8]) -> Vec<u64> {
    let base: u64 = path.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    let (_, recs) = parse_segment(bytes);
    let mut blame = vec![base; SEG_HEADER];
    for r in recs {
        blame.extend(std::iter::repeat_n(r.offset, r.len()));
    }
    blame
}

fn stream_of(path: &Path) -> Option<u64> {
    path.parent()?.file_name()?.to_str()?.parse().ok()
}

/// The damage runs on two copies of the store at once, each taking every
/// other file, so the test uses both cores of a small machine.
const WORKERS: usize = 2;

#[test]
fn every_byte_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let all = build(&root);
    let files: Vec<PathBuf> = common::files(&root)
        .into_iter()
        .filter(|p| !p.ends_with("LOCK"))
        .collect();
    assert!(
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .count()
            >= 4
    );
    let copies: Vec<PathBuf> = (0..WORKERS)
        .map(|w| {
            let copy = dir.path().join(format!("copy-{w}"));
            common::copy_dir(&root, &copy);
            copy
        })
        .collect();
    let flips: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = copies
            .iter()
            .enumerate()
            .map(|(w, copy)| {
                let mine: Vec<PathBuf> = files
                    .iter()
                    .skip(w)
                    .step_by(WORKERS)
                    .map(|f| copy.join(f.strip_prefix(&root).unwrap()))
                    .collect();
                let all = &all;
                std::thread::Builder::new()
                    .name(format!("damage-{w}"))
                    .spawn_scoped(scope, move || damage_each_byte(copy, &mine, all))
                    .unwrap()
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .expect("a damage worker failed: its panic is above")
            })
            .sum()
    });
    assert!(flips > 15000, "only {flips} flips");
    println!("bytes flipped: {flips} across {} files", files.len());
}

/// Damages each byte of each of `files` (in the store at `root`) in turn,
/// checks the store each time, and restores the byte; returns the number
/// of flips.
fn damage_each_byte(root: &Path, files: &[PathBuf], all: &BTreeMap<u64, Vec<Vec<u8>>>) -> usize {
    let mut flips = 0;
    for file in files {
        let original = std::fs::read(file).unwrap();
        let is_segment = file.extension().is_some_and(|e| e == "seg");
        let blame = if is_segment {
            blame_map(file, &original)
        } else {
            Vec::new()
        };
        for i in 0..original.len() {
            // Three patterns per byte: one bit (its position rotating with
            // the byte, so every bit position is hit), every bit, and a
            // multi-bit pattern.
            for (k, pattern) in [1u8 << (i % 8), 0xFF, 0x3C].into_iter().enumerate() {
                let mut damaged = original.clone();
                damaged[i] ^= pattern;
                std::fs::write(file, &damaged).unwrap();
                flips += 1;
                // The undamaged stream is checked now and then only.
                check_one(
                    root,
                    file,
                    i,
                    is_segment.then(|| blame[i]),
                    all,
                    (i * 3 + k) % 16 == 0,
                );
                // Nothing was cut or rewritten by opening the damaged store.
                assert_eq!(
                    std::fs::read(file).unwrap(),
                    damaged,
                    "{} byte {i} (^{pattern:#04x}) was modified",
                    file.display()
                );
            }
            std::fs::write(file, &original).unwrap();
        }
    }
    flips
}

fn check_one(
    root: &Path,
    file: &Path,
    byte: usize,
    blamed: Option<u64>,
    all: &BTreeMap<u64, Vec<Vec<u8>>>,
    check_others: bool,
) {
    let ctx = format!("{} byte {byte}", file.display());
    let store = match Store::open(root, options()) {
        Ok(s) => s,
        Err(e) => {
            // Only the store marker can stop the whole store from opening.
            assert!(file.ends_with("STRATALOG"), "{ctx}: open failed: {e}");
            return;
        }
    };
    assert!(
        !file.ends_with("STRATALOG"),
        "{ctx}: a damaged marker was accepted"
    );
    assert!(
        store.torn_tails().is_empty(),
        "{ctx}: damage was taken for a torn tail"
    );
    for (&stream, events) in all {
        let damaged_stream = stream_of(file) == Some(stream) && blamed.is_some();
        if !damaged_stream && !check_others && stream_of(file).is_some() {
            continue;
        }
        match store.verify(stream) {
            Ok(report) => {
                assert!(!damaged_stream, "{ctx}: verify missed the damage");
                assert_eq!(report.events, events.len() as u64);
            }
            Err(
                Error::Corruption {
                    stream: s, offset, ..
                }
                | Error::ChainMismatch {
                    stream: s, offset, ..
                },
            ) => {
                assert!(
                    damaged_stream,
                    "{ctx}: stream {stream} blamed for damage elsewhere"
                );
                assert_eq!(s, stream, "{ctx}");
                assert_eq!(Some(offset), blamed, "{ctx}: wrong offset");
            }
            Err(other) => panic!("{ctx}: unexpected error {other}"),
        }
        // Reads never return a wrong event: every event is right or the read
        // fails.
        for offset in [0u64, 3, 9, 17, 25, 39, 52, 69] {
            if let Ok(got) = store.read_from(stream, offset, 600) {
                for (k, event) in got.iter().enumerate() {
                    assert_eq!(
                        event,
                        &events[offset as usize + k],
                        "{ctx}: wrong event at {}",
                        offset as usize + k
                    );
                }
            }
        }
    }
}

/// Another process cuts a sealed segment while a store reads it: the read
/// fails with `Corruption`, the process lives on (no SIGBUS from a memory
/// map), and what was returned before was the original.
#[test]
fn a_sealed_segment_cut_under_an_open_store_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let all = build(&root);
    let segs = common::segments(&root, 1);
    assert!(segs.len() >= 3);
    for writable in [false, true] {
        let store = if writable {
            Store::open(&root, options()).unwrap()
        } else {
            Store::open_read_only(&root).unwrap()
        };
        let before: Vec<Vec<u8>> = store
            .iter(1, 0)
            .unwrap()
            .map(|e| e.unwrap().1.to_vec())
            .collect();
        assert_eq!(before, all[&1]);

        let cut = &segs[1];
        let original = std::fs::read(cut).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(cut).unwrap();
        file.set_len(original.len() as u64 / 2).unwrap();

        let mut returned = Vec::new();
        let mut failure = None;
        for event in store.iter(1, 0).unwrap() {
            match event {
                Ok((_, e)) => returned.push(e.to_vec()),
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(Error::Corruption { stream: 1, .. }) => {}
            other => panic!("writable={writable}: a cut sealed segment gave {other:?}"),
        }
        assert_eq!(returned[..], all[&1][..returned.len()]);
        assert!(matches!(
            store.verify(1),
            Err(Error::Corruption { stream: 1, .. })
        ));
        // The other stream is untouched.
        assert_eq!(store.verify(2).unwrap().events, 70);
        drop(store);
        std::fs::write(cut, &original).unwrap();
    }
}
