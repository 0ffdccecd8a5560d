//! Issue 13: proofs of a 1,000,000-event stream (`BENCH_PROOF_EVENTS`).
//! Emitted as system "proofs":
//!
//! - `proofs/build` (events/s): the first root, which builds the tree of
//!   the whole stream from its segments.
//! - `proofs/inclusion` (proofs/s): inclusion proofs of events picked at
//!   random, against the whole tree.
//! - `proofs/verify` (proofs/s): checking them, with no store.
//! - `proofs/checkpoint` (checkpoints/s): signed checkpoints of the whole
//!   tree (the same size, so the signed-head record is not rewritten).
//! - `proofs/tree-bytes-per-event` (bytes): the tree files on disk.

use std::time::Instant;

use stratalog_core::{verify_inclusion, Options, SigningKey, Store};

use crate::{emit, events, Cfg};

pub fn run(cfg: &Cfg) {
    let n: u64 = std::env::var("BENCH_PROOF_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path = cfg.scratch("proofs");
    let store = Store::open(&path, Options::default()).unwrap();
    let evs = events(100, 1000);
    let mut at = 0;
    while at < n {
        let take = (n - at).min(1000) as usize;
        store.append_batch(1, &evs[..take], None, false).unwrap();
        at += take as u64;
    }

    let start = Instant::now();
    let root = store.tree_root(1, None).unwrap();
    emit(
        "proofs",
        "proofs/build",
        n as f64 / start.elapsed().as_secs_f64(),
        "events/s",
    );

    // A fixed pseudo-random sequence of offsets (xorshift).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let count: usize = std::env::var("BENCH_PROOF_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let offsets: Vec<u64> = (0..count).map(|_| next()).collect();
    let start = Instant::now();
    let mut hashes = 0;
    for &o in &offsets {
        hashes += store.inclusion_proof(1, o, Some(n)).unwrap().len();
    }
    let secs = start.elapsed().as_secs_f64();
    emit(
        "proofs",
        "proofs/inclusion",
        count as f64 / secs,
        "proofs/s",
    );
    assert!(hashes >= count * 19);

    // Verification: of a subset, kept, checked ten times over.
    let offsets = &offsets[..count.min(20_000)];
    let proofs: Vec<_> = offsets
        .iter()
        .map(|&o| store.inclusion_proof(1, o, Some(n)).unwrap())
        .collect();
    let leaves: Vec<_> = offsets
        .iter()
        .map(|&o| store.leaf_data(1, o).unwrap())
        .collect();
    let start = Instant::now();
    let rounds = 10;
    for _ in 0..rounds {
        for ((o, proof), leaf) in offsets.iter().zip(&proofs).zip(&leaves) {
            verify_inclusion(*o, n, &root, proof, leaf).unwrap();
        }
    }
    let checked = (rounds * offsets.len()) as f64;
    emit(
        "proofs",
        "proofs/verify",
        checked / start.elapsed().as_secs_f64(),
        "proofs/s",
    );

    let key = SigningKey::from_seed("bench.example/log", &[7u8; 32]);
    let signs = 20_000;
    let start = Instant::now();
    for _ in 0..signs {
        store.checkpoint(1, &key, Some(n), None).unwrap();
    }
    emit(
        "proofs",
        "proofs/checkpoint",
        signs as f64 / start.elapsed().as_secs_f64(),
        "checkpoints/s",
    );

    let tree_dir = path.join("trees").join(format!("{:020}", 1));
    let bytes: u64 = std::fs::read_dir(&tree_dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    emit(
        "proofs",
        "proofs/tree-bytes-per-event",
        bytes as f64 / n as f64,
        "bytes",
    );
    store.close().unwrap();
}
