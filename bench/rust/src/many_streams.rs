//! Issue 18: a store of `BENCH_MANY_STREAMS` (100,000) streams, run by
//! bench/run.py under `ulimit -n 1024`, as most systems set it. Every cell
//! is emitted as system "streams".
//!
//! - `streams/append-one-each`: one 100 B event appended to each stream
//!   (events/s), then `streams/read-each`: each read back and checked.
//! - `streams/close` (ms): the close after that, which syncs every stream.
//! - `streams/open` (ms): opening the closed store, ready to append.
//! - `streams/single/100B/x100` and `streams/random/100B/x100` (events/s):
//!   batches of 100 events of 100 B to one stream, and to a stream picked
//!   at random among all of them, in the same store and process, every
//!   stream already used once in this open.
//! - `streams/random-cold/100B/x100`: the same just after reopening, so
//!   most batches also pay for their stream's recovery on first use.

use std::time::Instant;

use stratalog_core::{Options, Store};

use crate::{emit, events, run_warm, Cfg};

pub fn run(cfg: &Cfg) {
    let streams = cfg.many_streams;
    let path = cfg.scratch("many-streams");
    let evs = events(100, 1024);
    let event_of = |stream: u64| &evs[(stream % evs.len() as u64) as usize];

    let store = Store::open(&path, Options::default()).unwrap();
    let start = Instant::now();
    for stream in 0..streams {
        store
            .append_batch(stream, &[event_of(stream)], None, false)
            .unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    emit(
        "streams",
        "streams/append-one-each",
        streams as f64 / secs,
        "events/s",
    );

    let start = Instant::now();
    for stream in 0..streams {
        let got = store.read_from(stream, 0, u64::MAX).unwrap();
        assert!(
            got.len() == 1 && got[0] == event_of(stream)[..],
            "stream {stream}"
        );
    }
    let secs = start.elapsed().as_secs_f64();
    emit(
        "streams",
        "streams/read-each",
        streams as f64 / secs,
        "events/s",
    );

    append_cells(cfg, &store, &evs, "");

    let start = Instant::now();
    store.close().unwrap();
    emit(
        "streams",
        "streams/close",
        start.elapsed().as_secs_f64() * 1e3,
        "ms",
    );

    // Opens of the closed store, each closed before the next (nothing
    // appended, so each finds the same store).
    let mut total = 0.0;
    let mut opens = 0u32;
    while opens < 3 || total < cfg.budget.as_secs_f64() {
        let start = Instant::now();
        let store = Store::open(&path, Options::default()).unwrap();
        total += start.elapsed().as_secs_f64();
        opens += 1;
        store.close().unwrap();
    }
    emit(
        "streams",
        "streams/open",
        total * 1e3 / f64::from(opens),
        "ms",
    );

    let store = Store::open(&path, Options::default()).unwrap();
    assert_eq!(store.streams().unwrap().len() as u64, streams);
    // A sample, verified from genesis to the head recovery found.
    for stream in (0..streams).step_by((streams / 1000).max(1) as usize) {
        let report = store.verify(stream).unwrap();
        assert_eq!(
            report.head,
            store.chain_head(stream).unwrap(),
            "stream {stream}"
        );
        assert!(report.events >= 1, "stream {stream}");
    }

    append_cells(cfg, &store, &evs, "-cold");
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&path);
}

/// Batches of 100 events of 100 B to one stream, then to streams picked at
/// random among all of them (the `-cold` run leaves the single-stream cell
/// out: it is the same as the warm one).
fn append_cells(cfg: &Cfg, store: &Store, evs: &[Vec<u8>], suffix: &str) {
    let streams = cfg.many_streams;
    let batch: Vec<&Vec<u8>> = evs.iter().take(100).collect();
    if suffix.is_empty() {
        let (n, secs) = run_warm(cfg.budget, 10, || {
            store.append_batch(0, &batch, None, false).unwrap();
        });
        emit(
            "streams",
            "streams/single/100B/x100",
            (n * 100) as f64 / secs,
            "events/s",
        );
    }
    // A fixed-seed xorshift, so every run appends to the same streams.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut pick = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % streams
    };
    let (n, secs) = if suffix.is_empty() {
        run_warm(cfg.budget, 10, || {
            store.append_batch(pick(), &batch, None, false).unwrap();
        })
    } else {
        // No warm-up: the first use of each stream is what is measured.
        crate::run_for(cfg.budget, 10, || {
            store.append_batch(pick(), &batch, None, false).unwrap();
        })
    };
    emit(
        "streams",
        &format!("streams/random{suffix}/100B/x100"),
        (n * 100) as f64 / secs,
        "events/s",
    );
}
