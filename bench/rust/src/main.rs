//! `stratabench`: the Rust drivers of `make bench`.
//!
//! ```text
//! stratabench prepare              build the shared datasets (stratalog stores, commitlog logs)
//! stratabench run limit|core|commitlog
//! stratabench run open             only the core's open and RSS cells (for profiling)
//! stratabench run rss-scan         (run by `run core` in a process of its own)
//! ```
//!
//! Every measurement is printed as one JSON line
//! `{"system":..,"workload":..,"value":..,"unit":..}`; bench/run.py runs the
//! drivers of every system round after round and keeps the medians. The
//! workload names and their meaning are shared by every driver (C, Python,
//! Node): see bench/README.md.
//!
//! Environment (set by bench/run.py): BENCH_DATA (work directory),
//! BENCH_SECONDS (time budget of one timed cell), BENCH_SEQ100 and
//! BENCH_SEQ4K (events in the 100 B and 4 KiB dataset streams),
//! BENCH_STREAMS and BENCH_STREAM_EVENTS (the many-streams store: streams,
//! and 100 B events in each), BENCH_RSS_MIB (size of the store the RSS cell
//! scans), BENCH_MANY_STREAMS (streams of the `run many-streams` cells).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod follow;
mod many_streams;
mod proofs;
mod retention;
mod tier;
mod tier_many;

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use commitlog::message::{MessageBuf, MessageSet};
use commitlog::{CommitLog, LogOptions, ReadLimit};
use sha2::{Digest, Sha256};
use stratalog_core::{Options, Store};

/// Stream ids of the shared stratalog dataset store.
const STREAM_100: u64 = 1;
const STREAM_4K: u64 = 2;
/// Events returned by one random read: 40 events of 100 B (4000 bytes).
const RANDOM_EVENTS: u64 = 40;
const RANDOM_MAX_BYTES: u64 = 4000;

struct Cfg {
    data: PathBuf,
    budget: Duration,
    seq100: u64,
    seq4k: u64,
    streams: u64,
    stream_events: u64,
    rss_mib: u64,
    many_streams: u64,
}

impl Cfg {
    fn from_env() -> Cfg {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_owned());
        Cfg {
            data: PathBuf::from(var("BENCH_DATA", "build/bench/data")),
            budget: Duration::from_secs_f64(var("BENCH_SECONDS", "0.4").parse().unwrap()),
            seq100: var("BENCH_SEQ100", "1000000").parse().unwrap(),
            seq4k: var("BENCH_SEQ4K", "65536").parse().unwrap(),
            streams: var("BENCH_STREAMS", "1000").parse().unwrap(),
            stream_events: var("BENCH_STREAM_EVENTS", "1000").parse().unwrap(),
            rss_mib: var("BENCH_RSS_MIB", "1024").parse().unwrap(),
            many_streams: var("BENCH_MANY_STREAMS", "100000").parse().unwrap(),
        }
    }

    fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.data.join("scratch").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.parent().unwrap()).unwrap();
        dir
    }

    fn dataset(&self, name: &str) -> PathBuf {
        self.data.join("datasets").join(name)
    }
}

fn emit(system: &str, workload: &str, value: f64, unit: &str) {
    println!(
        "{{\"system\":\"{system}\",\"workload\":\"{workload}\",\"value\":{value},\"unit\":\"{unit}\"}}"
    );
}

/// `count` distinct events of `size` bytes (the same bytes every driver uses).
fn events(size: usize, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| (0..size).map(|j| ((i * 31 + j) % 251) as u8).collect())
        .collect()
}

/// `run_for` after an untimed warm-up: `f` called for a quarter of `budget`
/// (at least 3 times) first. Every driver warms its append cells up the same
/// way, so each system is measured in its steady state (caches, allocators,
/// and the JIT of the Python and Node drivers).
fn run_warm(budget: Duration, min: u64, mut f: impl FnMut()) -> (u64, f64) {
    let start = Instant::now();
    let mut n = 0u64;
    while n < 3 || start.elapsed() < budget / 4 {
        f();
        n += 1;
    }
    run_for(budget, min, f)
}

/// Calls `f` until `budget` has passed (at least `min` times); returns the
/// number of calls and the time they took.
fn run_for(budget: Duration, min: u64, mut f: impl FnMut()) -> (u64, f64) {
    let start = Instant::now();
    let mut n = 0u64;
    while n < min || start.elapsed() < budget {
        f();
        n += 1;
    }
    (n, start.elapsed().as_secs_f64())
}

/// `threads` threads call `f` until `budget` has passed; returns calls per second.
fn run_threads(threads: usize, budget: Duration, f: impl Fn() + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    f();
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(budget);
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

const APPEND_CELLS: [(usize, usize); 6] = [
    (100, 1),
    (100, 100),
    (100, 1000),
    (4096, 1),
    (4096, 100),
    (4096, 1000),
];
const THREADS: [usize; 3] = [1, 4, 16];

fn append_name(size: usize, batch: usize, fsync: bool) -> String {
    let size = if size == 4096 {
        "4KiB".to_owned()
    } else {
        format!("{size}B")
    };
    let mode = if fsync { "fsync" } else { "nosync" };
    format!("append/{size}/x{batch}/{mode}")
}

/// Cells with fsync take longer per call: at least a few batches each.
fn min_calls(fsync: bool) -> u64 {
    if fsync {
        20
    } else {
        50
    }
}

// ---------------------------------------------------------------- the limit

/// The same payload bytes written with one plain `write` per batch, each
/// event hashed with SHA-256 (and `fdatasync` per batch when durable).
fn limit(cfg: &Cfg) {
    for fsync in [false, true] {
        for (size, batch) in APPEND_CELLS {
            let evs = events(size, batch);
            let dir = cfg.scratch("limit");
            fs::create_dir_all(&dir).unwrap();
            let mut file = File::create(dir.join("limit.bin")).unwrap();
            let mut buf = Vec::with_capacity(size * batch);
            let (n, secs) = run_warm(cfg.budget, min_calls(fsync), || {
                buf.clear();
                for e in &evs {
                    black_box(Sha256::digest(e));
                    buf.extend_from_slice(e);
                }
                file.write_all(&buf).unwrap();
                if fsync {
                    file.sync_data().unwrap();
                }
            });
            drop(file);
            fs::remove_dir_all(&dir).unwrap();
            emit(
                "limit",
                &append_name(size, batch, fsync),
                (n * batch as u64) as f64 / secs,
                "events/s",
            );
        }
    }
    // Durable single events from N threads: each thread writes and
    // fdatasyncs on its own (no group commit), on one shared O_APPEND file.
    let event = events(100, 1).pop().unwrap();
    for threads in THREADS {
        let dir = cfg.scratch("limit");
        fs::create_dir_all(&dir).unwrap();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("limit.bin"))
            .unwrap();
        let rate = run_threads(threads, cfg.budget, || {
            black_box(Sha256::digest(&event));
            (&file).write_all(&event).unwrap();
            file.sync_data().unwrap();
        });
        drop(file);
        fs::remove_dir_all(&dir).unwrap();
        emit("limit", &format!("durable/{threads}t"), rate, "events/s");
    }
    // Reads and verify: SHA-256 over the same payload bytes in memory.
    for (size, count, name) in [(100usize, cfg.seq100, "100B"), (4096, cfg.seq4k, "4KiB")] {
        let evs = events(size, 1024);
        for workload in ["read/seq", "verify"] {
            let start = Instant::now();
            for i in 0..count as usize {
                black_box(Sha256::digest(&evs[i % evs.len()]));
            }
            let rate = count as f64 / start.elapsed().as_secs_f64();
            emit("limit", &format!("{workload}/{name}"), rate, "events/s");
        }
    }
}

// ---------------------------------------------------------------- stratalog core

/// `BENCH_ONLY=<text>`: run only the cells of `run core` whose name
/// contains it (for profiling one cell, e.g.
/// `BENCH_ONLY=append/4KiB/x100/nosync perf record stratabench run core`;
/// `BENCH_ONLY=/4KiB` also runs the 4 KiB reads and verify).
fn only() -> Option<String> {
    std::env::var("BENCH_ONLY").ok().filter(|s| !s.is_empty())
}

fn core(cfg: &Cfg) {
    let only = only();
    let wanted = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    for fsync in [false, true] {
        for (size, batch) in APPEND_CELLS {
            if !wanted(&append_name(size, batch, fsync)) {
                continue;
            }
            let evs = events(size, batch);
            let dir = cfg.scratch("core");
            let store = Store::open(&dir, Options::default()).unwrap();
            let (n, secs) = run_warm(cfg.budget, min_calls(fsync), || {
                store.append_batch(1, &evs, None, fsync).unwrap();
            });
            drop(store);
            fs::remove_dir_all(&dir).unwrap();
            emit(
                "core",
                &append_name(size, batch, fsync),
                (n * batch as u64) as f64 / secs,
                "events/s",
            );
        }
    }
    let event = events(100, 1);
    for threads in THREADS
        .into_iter()
        .filter(|t| wanted(&format!("durable/{t}t")))
    {
        let dir = cfg.scratch("core");
        let store = Store::open(&dir, Options::default()).unwrap();
        let rate = run_threads(threads, cfg.budget, || {
            store.append_batch(1, &event, None, true).unwrap();
        });
        drop(store);
        fs::remove_dir_all(&dir).unwrap();
        emit("core", &format!("durable/{threads}t"), rate, "events/s");
    }

    let path = cfg.dataset("stratalog");
    let store = Store::open_read_only(&path).unwrap();
    for (stream, count, name) in [
        (STREAM_100, cfg.seq100, "100B"),
        (STREAM_4K, cfg.seq4k, "4KiB"),
    ] {
        if !wanted(&format!("read/seq/{name}")) {
            continue;
        }
        let start = Instant::now();
        let mut n = 0u64;
        for event in store.iter(stream, 0).unwrap() {
            black_box(event.unwrap().1);
            n += 1;
        }
        assert_eq!(n, count);
        emit(
            "core",
            &format!("read/seq/{name}"),
            n as f64 / start.elapsed().as_secs_f64(),
            "events/s",
        );
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    if wanted("read/random/100B") {
        let (n, secs) = run_for(cfg.budget, 100, || {
            let offset = rng.below(cfg.seq100 - RANDOM_EVENTS);
            let got = store
                .read_from(STREAM_100, offset, RANDOM_MAX_BYTES)
                .unwrap();
            assert_eq!(got.len() as u64, RANDOM_EVENTS);
        });
        emit("core", "read/random/100B", secs * 1e6 / n as f64, "us");
    }
    for (stream, count, name) in [
        (STREAM_100, cfg.seq100, "100B"),
        (STREAM_4K, cfg.seq4k, "4KiB"),
    ] {
        if !wanted(&format!("verify/{name}")) {
            continue;
        }
        let start = Instant::now();
        let report = store.verify(stream).unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report.events, count);
        emit(
            "core",
            &format!("verify/{name}"),
            count as f64 / secs,
            "events/s",
        );
    }
    drop(store);
    if only.is_none() {
        open_cells(cfg);
    }
}

/// The open cells and the RSS cell; `stratabench run open` runs these
/// alone (for profiling an open).
fn open_cells(cfg: &Cfg) {
    emit(
        "core",
        "open",
        open_ms(cfg, &cfg.dataset("stratalog"), |_| {}),
        "ms",
    );
    let many = cfg.dataset("streams");
    emit(
        "core",
        "open/1k-streams",
        open_ms(cfg, &many, |store| {
            assert_eq!(store.streams().unwrap().len() as u64, cfg.streams);
        }),
        "ms",
    );
    rss_cell();
}

/// Milliseconds to open the store at `path` ready to append (mean over the
/// time budget). Each open is closed before the next; nothing is appended,
/// so a close leaves the files as they were and every open finds the same
/// store. `check` looks at the first open only, outside the timing.
fn open_ms(cfg: &Cfg, path: &Path, check: impl Fn(&Store)) -> f64 {
    let mut total = 0.0;
    let mut first = true;
    let (n, _) = run_for(cfg.budget, 10, || {
        let start = Instant::now();
        let store = Store::open(path, Options::default()).unwrap();
        total += start.elapsed().as_secs_f64();
        if first {
            check(&store);
            first = false;
        }
        store.close().unwrap();
    });
    total * 1e3 / n as f64
}

/// The RSS cell runs in a fresh process, so that nothing the other cells
/// allocated (append buffers, the read cells' stores) counts: it reports
/// what one full scan adds to the peak.
fn rss_cell() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["run", "rss-scan"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rss-scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .unwrap();
    line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}

/// Reads every event of the RSS dataset (`BENCH_RSS_MIB` of 4 KiB events,
/// far more than any reader holds: a window is at most 256 KiB) through
/// the iterator, each chain-verified, and reports how far the process's
/// peak RSS rose above its RSS before the scan, in MiB. Reads are
/// positioned reads into bounded windows, so this stays a few MiB whatever
/// the store's size; a reader that mapped or cached what it read would
/// show the store's size here.
fn rss_scan(cfg: &Cfg) {
    let store = Store::open_read_only(cfg.dataset("rss")).unwrap();
    let before = status_kib("VmRSS");
    let mut bytes = 0u64;
    for stream in store.streams().unwrap() {
        for event in store.iter(stream, 0).unwrap() {
            let (_, event) = event.unwrap();
            bytes += event.len() as u64;
            black_box(event);
        }
    }
    assert!(bytes >= cfg.rss_mib << 20, "scanned only {bytes} bytes");
    let peak = status_kib("VmHWM");
    emit(
        "core",
        "rss/full-scan",
        peak.saturating_sub(before) as f64 / 1024.0,
        "MiB",
    );
}

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

// ---------------------------------------------------------------- commitlog

fn commitlog_options(dir: &Path) -> LogOptions {
    let mut opts = LogOptions::new(dir);
    opts.message_max_bytes(16 << 20)
        .segment_max_bytes(2_000_000_000);
    opts
}

/// commitlog's `flush()` does not sync, so a durable append fdatasyncs the
/// active segment file through a handle of its own.
fn active_segment(dir: &Path) -> File {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    File::open(logs.last().unwrap()).unwrap()
}

fn commitlog(cfg: &Cfg) {
    for fsync in [false, true] {
        for (size, batch) in APPEND_CELLS {
            let evs = events(size, batch);
            let dir = cfg.scratch("commitlog");
            let mut log = CommitLog::new(commitlog_options(&dir)).unwrap();
            let segment = active_segment(&dir);
            let (n, secs) = run_warm(cfg.budget, min_calls(fsync), || {
                let mut buf: MessageBuf = evs.iter().collect();
                log.append(&mut buf).unwrap();
                if fsync {
                    segment.sync_data().unwrap();
                }
            });
            drop(log);
            fs::remove_dir_all(&dir).unwrap();
            emit(
                "commitlog",
                &append_name(size, batch, fsync),
                (n * batch as u64) as f64 / secs,
                "events/s",
            );
        }
    }
    let read_limit = |events: u64, size: u64| ReadLimit::max_bytes((events * (size + 20)) as usize);
    for (name, count, size) in [("100B", cfg.seq100, 100u64), ("4KiB", cfg.seq4k, 4096)] {
        let log = CommitLog::new(commitlog_options(&cfg.dataset("commitlog").join(name))).unwrap();
        let start = Instant::now();
        let mut next = 0u64;
        while next < count {
            let buf = log.read(next, ReadLimit::max_bytes(1 << 20)).unwrap();
            for m in buf.iter() {
                black_box(m.payload());
                next = m.offset() + 1;
            }
        }
        emit(
            "commitlog",
            &format!("read/seq/{name}"),
            count as f64 / start.elapsed().as_secs_f64(),
            "events/s",
        );
        if size == 100 {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
            let (n, secs) = run_for(cfg.budget, 100, || {
                let offset = rng.below(count - RANDOM_EVENTS);
                let buf = log.read(offset, read_limit(RANDOM_EVENTS, size)).unwrap();
                assert_eq!(buf.iter().count() as u64, RANDOM_EVENTS);
            });
            emit("commitlog", "read/random/100B", secs * 1e6 / n as f64, "us");
        }
    }
    let dir = cfg.dataset("commitlog").join("100B");
    let mut total = 0.0;
    let (n, _) = run_for(cfg.budget, 10, || {
        let start = Instant::now();
        let log = CommitLog::new(commitlog_options(&dir)).unwrap();
        total += start.elapsed().as_secs_f64();
        black_box(log.next_offset());
    });
    emit("commitlog", "open", total * 1e3 / n as f64, "ms");
}

// ---------------------------------------------------------------- datasets

/// The read datasets, built once per `make bench`: a stratalog store with
/// stream 1 (100 B events) and stream 2 (4 KiB events), read by every
/// stratalog interface, and the same events in two commitlog logs.
fn prepare(cfg: &Cfg) {
    let path = cfg.dataset("stratalog");
    let _ = fs::remove_dir_all(&path);
    let store = Store::open(&path, Options::default()).unwrap();
    let log_dir = cfg.dataset("commitlog");
    let _ = fs::remove_dir_all(&log_dir);
    for (stream, size, count, batch, name) in [
        (STREAM_100, 100usize, cfg.seq100, 1000u64, "100B"),
        (STREAM_4K, 4096, cfg.seq4k, 64, "4KiB"),
    ] {
        let evs = events(size, 1024);
        let mut log = CommitLog::new(commitlog_options(&log_dir.join(name))).unwrap();
        let mut done = 0u64;
        while done < count {
            let n = batch.min(count - done);
            let chunk: Vec<&Vec<u8>> = (done..done + n)
                .map(|i| &evs[i as usize % evs.len()])
                .collect();
            store.append_batch(stream, &chunk, None, false).unwrap();
            let mut buf: MessageBuf = chunk.iter().collect();
            log.append(&mut buf).unwrap();
            done += n;
        }
        log.flush().unwrap();
    }
    store.close().unwrap();
    prepare_streams(cfg);
    prepare_rss(cfg);
}

/// The many-streams store: `BENCH_STREAMS` streams of `BENCH_STREAM_EVENTS`
/// events of 100 B each, in batches of 100, closed (so each stream has its
/// tail marker, as any cleanly closed store does).
fn prepare_streams(cfg: &Cfg) {
    let path = cfg.dataset("streams");
    let _ = fs::remove_dir_all(&path);
    let store = Store::open(&path, Options::default()).unwrap();
    let evs = events(100, 1024);
    for stream in 0..cfg.streams {
        let mut done = 0u64;
        while done < cfg.stream_events {
            let n = 100.min(cfg.stream_events - done);
            let chunk: Vec<&Vec<u8>> = (done..done + n)
                .map(|i| &evs[(i + stream) as usize % evs.len()])
                .collect();
            store.append_batch(stream, &chunk, None, false).unwrap();
            done += n;
        }
    }
    store.close().unwrap();
}

/// The RSS dataset: one stream of `BENCH_RSS_MIB` MiB of 4 KiB events.
fn prepare_rss(cfg: &Cfg) {
    let path = cfg.dataset("rss");
    let _ = fs::remove_dir_all(&path);
    let store = Store::open(&path, Options::default()).unwrap();
    let evs = events(4096, 256);
    let refs: Vec<&Vec<u8>> = evs.iter().collect();
    for _ in 0..cfg.rss_mib {
        store.append_batch(STREAM_4K, &refs, None, false).unwrap();
    }
    store.close().unwrap();
}

fn main() {
    let cfg = Cfg::from_env();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["prepare"] => prepare(&cfg),
        ["run", "limit"] => limit(&cfg),
        ["run", "core"] => core(&cfg),
        ["run", "commitlog"] => commitlog(&cfg),
        ["run", "open"] => open_cells(&cfg),
        ["run", "rss-scan"] => rss_scan(&cfg),
        ["run", "many-streams"] => many_streams::run(&cfg),
        ["run", "follow"] => follow::run(&cfg),
        ["run", "proofs"] => proofs::run(&cfg),
        ["run", "retention"] => retention::run(&cfg),
        ["run", "tier"] => tier::run(&cfg),
        ["run", "tier-many"] => tier_many::run(&cfg),
        ["run", "follow-child", mode, path, arg] => {
            follow::child_main(mode, path, arg.parse().unwrap())
        }
        _ => {
            eprintln!(
                "usage: stratabench prepare | run limit|core|open|commitlog|many-streams|follow|proofs|retention|tier|tier-many"
            );
            std::process::exit(2);
        }
    }
}
