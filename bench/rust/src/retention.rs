//! Issue 15: prune and backup of a large stream (`BENCH_RETENTION_GB`,
//! 10 GiB of 1 KiB events by default). Emitted as system "retention":
//!
//! - `retention/build-tree` (events/s): the Merkle tree of the whole stream,
//!   which a prune needs up to its new first offset (built once).
//! - `retention/prune-10pct`, `retention/prune-80pct` (ms): a prune that
//!   removes the first 10% of the stream, then one that removes the next
//!   80%. Segments are unlinked, never rewritten, so the two take about the
//!   same time although the second removes eight times the data.
//! - `retention/backup-link` (MB/s): a backup of what is left into a fresh
//!   directory on the same file system (sealed segments hard-linked).
//! - `retention/backup-copy` and `retention/cp` (MB/s): a backup into
//!   /dev/shm (another file system, so every byte is copied) beside
//!   `cp -r` of the same store directory into /dev/shm.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use stratalog_core::{Options, Store};

use crate::{emit, events, Cfg};

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

pub fn run(cfg: &Cfg) {
    let gib: f64 = std::env::var("BENCH_RETENTION_GB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10.0);
    let n = (gib * (1u64 << 30) as f64 / 1024.0) as u64;
    let path = cfg.scratch("retention");
    let store = Store::open(&path, Options::default()).unwrap();
    let evs = events(1024, 1000);
    let mut at = 0;
    while at < n {
        let take = (n - at).min(1000) as usize;
        store.append_batch(1, &evs[..take], None, false).unwrap();
        at += take as u64;
    }
    store.sync().unwrap();
    emit("retention", "retention/events", n as f64, "events");

    let start = Instant::now();
    store.tree_root(1, None).unwrap();
    emit(
        "retention",
        "retention/build-tree",
        n as f64 / start.elapsed().as_secs_f64(),
        "events/s",
    );

    let start = Instant::now();
    let first = store.prune(1, n / 10).unwrap();
    emit(
        "retention",
        "retention/prune-10pct",
        start.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
    let start = Instant::now();
    let second = store.prune(1, n * 9 / 10).unwrap();
    emit(
        "retention",
        "retention/prune-80pct",
        start.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
    assert!(first > 0 && second > first);
    // Close waits for the removed files to be unlinked, so what is
    // measured next is what the store holds.
    store.close().unwrap();
    let store = Store::open(&path, Options::default()).unwrap();
    store.verify(1).unwrap();

    let bytes = dir_bytes(&path) as f64;
    emit("retention", "retention/backup-bytes", bytes, "bytes");
    let dest = cfg.scratch("retention-backup");
    let start = Instant::now();
    store.backup(&dest).unwrap();
    emit(
        "retention",
        "retention/backup-link",
        bytes / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );

    let shm = Path::new("/dev/shm").join(format!("stratabench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shm);
    std::fs::create_dir_all(&shm).unwrap();
    let start = Instant::now();
    store.backup(shm.join("backup")).unwrap();
    emit(
        "retention",
        "retention/backup-copy",
        bytes / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );
    // The same files, by cp (and an fsync of them, which the backup does).
    let start = Instant::now();
    let status = Command::new("cp")
        .arg("-r")
        .arg(&path)
        .arg(shm.join("cp"))
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("sync").arg("-f").arg(shm.join("cp")).status();
    assert!(status.map(|s| s.success()).unwrap_or(true));
    emit(
        "retention",
        "retention/cp",
        bytes / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );
    let _ = std::fs::remove_dir_all(&shm);
    store.close().unwrap();
    let _ = std::fs::remove_dir_all(&dest);
    let _ = std::fs::remove_dir_all(&path);
}
