//! Core benchmarks, each beside the physical limit measured in the same run.
//!
//! `make bench` runs them in release mode. Targets on the 2-core machine:
//!
//! - append without fsync: >= 2M events/s (100 B, batches of 1000) and
//!   >= 600 MB/s (4 KiB events);
//! - verified sequential read: >= 1 GB/s;
//! - `read_from` at a random offset of a large stream costs the same as near
//!   the start;
//! - `open` of a store with many sealed segments is fast.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use stratalog_core::{Options, Store};

fn fresh_store(dir: &Path, options: Options) -> Store {
    let _ = std::fs::remove_dir_all(dir);
    Store::open(dir, options).unwrap()
}

fn events(size: usize, count: usize) -> Vec<Vec<u8>> {
    (0..count).map(|i| vec![(i % 251) as u8; size]).collect()
}

/// The same bytes a batch costs stratalog, written with plain `write` and
/// hashed with SHA-256 (optionally with fdatasync): what no log can beat.
fn limit(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("limit");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (size, batch) in [(100usize, 1000usize), (4096, 100)] {
        let batch_events = events(size, batch);
        group.throughput(Throughput::Bytes((size * batch) as u64));
        group.bench_function(
            BenchmarkId::new("write+sha256", format!("{size}B/x{batch}")),
            |b| {
                b.iter_custom(|iters| {
                    let path = tmp.path().join("limit.bin");
                    let mut file = File::create(&path).unwrap();
                    let mut buf = Vec::with_capacity(size * batch);
                    let start = Instant::now();
                    for _ in 0..iters {
                        buf.clear();
                        for e in &batch_events {
                            let digest = Sha256::digest(e);
                            std::hint::black_box(digest);
                            buf.extend_from_slice(e);
                        }
                        file.write_all(&buf).unwrap();
                    }
                    let elapsed = start.elapsed();
                    drop(file);
                    std::fs::remove_file(&path).unwrap();
                    elapsed
                })
            },
        );
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("write+fdatasync/100B", |b| {
        b.iter_custom(|iters| {
            let path = tmp.path().join("limit-sync.bin");
            let mut file = File::create(&path).unwrap();
            let event = [7u8; 100];
            let start = Instant::now();
            for _ in 0..iters {
                file.write_all(&event).unwrap();
                file.sync_data().unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn append(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (size, batch) in [(100usize, 1000usize), (100, 100), (4096, 100), (4096, 1000)] {
        let batch_events = events(size, batch);
        group.throughput(Throughput::Bytes((size * batch) as u64));
        group.bench_function(
            BenchmarkId::new("no-fsync", format!("{size}B/x{batch}")),
            |b| {
                b.iter_custom(|iters| {
                    let store = fresh_store(&tmp.path().join("append"), Options::default());
                    let start = Instant::now();
                    for _ in 0..iters {
                        store.append_batch(1, &batch_events, None, false).unwrap();
                    }
                    start.elapsed()
                })
            },
        );
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("fsync/100B/x1", |b| {
        b.iter_custom(|iters| {
            let store = fresh_store(&tmp.path().join("durable"), Options::default());
            let event = [[7u8; 100]];
            let start = Instant::now();
            for _ in 0..iters {
                store.append_batch(1, &event, None, true).unwrap();
            }
            start.elapsed()
        })
    });
    // Group commit: each thread appends single fsync'd events; concurrent
    // appenders share fdatasyncs.
    for threads in [1usize, 4, 16] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(BenchmarkId::new("fsync-threads/100B", threads), |b| {
            b.iter_custom(|iters| {
                let store =
                    std::sync::Arc::new(fresh_store(&tmp.path().join("group"), Options::default()));
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        let store = store.clone();
                        scope.spawn(move || {
                            let event = [[7u8; 100]];
                            for _ in 0..iters {
                                store.append_batch(1, &event, None, true).unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("read");
    // 256 MiB of 4 KiB events across 4 segments, plus a large 100 B stream.
    let store = fresh_store(&path, Options::default());
    let big = events(4096, 1000);
    for _ in 0..64 {
        store.append_batch(1, &big, None, false).unwrap();
    }
    let small = events(100, 1000);
    for _ in 0..2000 {
        store.append_batch(2, &small, None, false).unwrap();
    }
    store.close().unwrap();
    let store = Store::open(&path, Options::default()).unwrap();
    let stream_bytes = 64 * 1000 * 4096u64;

    let mut group = c.benchmark_group("read");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(stream_bytes));
    group.bench_function("iter-verified/4KiB", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for event in store.iter(1, 0).unwrap() {
                n += event.unwrap().1.len() as u64;
            }
            assert_eq!(n, stream_bytes);
        })
    });
    group.bench_function("verify/4KiB", |b| b.iter(|| store.verify(1).unwrap()));
    group.throughput(Throughput::Elements(1));
    let head = store.chain_head(2).unwrap().next_offset;
    for (name, offset) in [
        ("near-start", 1500u64),
        ("middle", head / 2 + 1500),
        ("near-end", head - 1500),
    ] {
        group.bench_function(BenchmarkId::new("read_from/100B", name), |b| {
            b.iter(|| store.read_from(2, offset, 4096).unwrap())
        });
    }
    let mut x = 88172645463325252u64;
    group.bench_function("read_from/100B/random-of-2M", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            store.read_from(2, x % head, 4096).unwrap()
        })
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    // Sealed data size: STRATALOG_BENCH_OPEN_GB (default 2).
    let gb: u64 = std::env::var("STRATALOG_BENCH_OPEN_GB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("open");
    let store = fresh_store(&path, Options::default());
    let batch = events(4096, 1024);
    for _ in 0..gb * 256 {
        store.append_batch(1, &batch, None, false).unwrap();
    }
    // Leave a small active segment so open scans something.
    store.close().unwrap();
    let mut group = c.benchmark_group("open");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    group.bench_function(format!("{gb}GiB-sealed"), |b| {
        b.iter(|| Store::open(&path, Options::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, limit, append, read, open);
criterion_main!(benches);
