#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Many threads through one store, and the writer lock across processes.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use stratalog_core::{Error, Options, Store};

#[test]
fn threads_append_and_read_one_and_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), common::small(8192, 16)).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..6u64)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                // Threads 0..4 share stream 100; 4 and 5 have their own.
                let stream = if t < 4 { 100 } else { t };
                for seq in 0..150u64 {
                    let events = [format!("{t}:{seq}:a"), format!("{t}:{seq}:b")];
                    store
                        .append_batch(stream, &events, None, seq % 25 == 0)
                        .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Acquire) || reads < 10 {
                    let head = store.chain_head(100).unwrap();
                    let events = store.read_from(100, 0, u64::MAX).unwrap();
                    // A reader sees whole batches, and at least the head it saw before.
                    assert!(events.len() as u64 >= head.next_offset);
                    assert_eq!(events.len() % 2, 0);
                    for pair in events.chunks(2) {
                        let a = std::str::from_utf8(&pair[0]).unwrap();
                        let b = std::str::from_utf8(&pair[1]).unwrap();
                        assert_eq!(a.trim_end_matches(":a"), b.trim_end_matches(":b"));
                    }
                    reads += 1;
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    let report = store.verify(100).unwrap();
    assert_eq!(report.events, 4 * 150 * 2);
    // Each thread's batches appear in its own order.
    let events = store.read_from(100, 0, u64::MAX).unwrap();
    let mut next = [0u64; 4];
    for pair in events.chunks(2) {
        let text = std::str::from_utf8(&pair[0]).unwrap();
        let mut parts = text.split(':');
        let t: usize = parts.next().unwrap().parse().unwrap();
        let seq: u64 = parts.next().unwrap().parse().unwrap();
        assert_eq!(seq, next[t]);
        next[t] += 1;
    }
    for s in [4, 5] {
        assert_eq!(store.verify(s).unwrap().events, 300);
    }
}

#[test]
fn fsynced_appends_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), Options::default()).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                for i in 0..40 {
                    store
                        .append_batch(1, &[format!("{t}-{i}")], None, true)
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.chain_head(1).unwrap().next_offset, 320);
    drop(store);
    assert_eq!(
        Store::open(dir.path(), Options::default())
            .unwrap()
            .verify(1)
            .unwrap()
            .events,
        320
    );
}

const CHILD_ENV: &str = "STRATALOG_LOCK_CHILD_DIR";

/// Run by `second_process_is_locked_out` in a child process.
#[test]
fn lock_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    match Store::open(&path, Options::default()) {
        Err(Error::Locked(_)) => std::process::exit(42),
        Ok(_) => std::process::exit(0),
        Err(_) => std::process::exit(1),
    }
}

#[test]
fn second_process_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let child = |dir: &std::path::Path| {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "lock_child", "--nocapture"])
            .env(CHILD_ENV, dir)
            .status()
            .unwrap()
            .code()
    };
    let store = Store::open(dir.path(), Options::default()).unwrap();
    store.append(1, b"held").unwrap();
    assert_eq!(
        child(dir.path()),
        Some(42),
        "a second writer process must get Locked"
    );
    // A second handle in this process is refused too.
    assert!(matches!(
        Store::open(dir.path(), Options::default()),
        Err(Error::Locked(_))
    ));
    // Read-only opens need no lock and see the data.
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.read_from(1, 0, 10).unwrap(), vec![&b"held"[..]]);
    store.close().unwrap();
    assert!(matches!(store.append(1, b"x"), Err(Error::Closed)));
    assert!(matches!(store.chain_head(1), Err(Error::Closed)));
    assert_eq!(child(dir.path()), Some(0), "the lock is released on close");
}

/// A child process started by another thread holds a copy of every
/// descriptor, the writer lock's included, from its fork until its exec
/// closes them. A store closed and reopened meanwhile must still open.
#[test]
fn a_store_reopens_while_another_thread_starts_processes() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spawner = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut started = 0u32;
            while !stop.load(Ordering::Relaxed) {
                Command::new("true").status().unwrap();
                started += 1;
            }
            started
        })
    };
    for round in 0..300u64 {
        let store = Store::open(dir.path(), Options::default())
            .unwrap_or_else(|e| panic!("open {round}: {e}"));
        store.append(1, round.to_le_bytes()).unwrap();
        store.close().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(spawner.join().unwrap() > 0);
    let store = Store::open_read_only(dir.path()).unwrap();
    let events = store.read_from(1, 0, u64::MAX).unwrap();
    let expected: Vec<Vec<u8>> = (0..300u64).map(|r| r.to_le_bytes().to_vec()).collect();
    assert_eq!(events, expected);
    store.verify(1).unwrap();
}

#[test]
fn bad_arguments_are_errors() {
    let store = Store::open_in_memory(Options {
        max_event_size: 10,
        ..Options::default()
    })
    .unwrap();
    let empty: [&[u8]; 0] = [];
    assert!(matches!(
        store.append_batch(1, &empty, None, false),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        store.append_batch(1, &[[0u8; 11]], None, false),
        Err(Error::EventTooLarge { size: 11, max: 10 })
    ));
    assert!(matches!(
        store.append_batch(1, &[b"ok"], Some(3), false),
        Err(Error::OffsetMismatch {
            expected: 3,
            actual: 0
        })
    ));
    assert_eq!(
        store.chain_head(1).unwrap().next_offset,
        0,
        "nothing was written"
    );
    assert!(store.streams().unwrap().is_empty());
    for bad in [
        Options {
            segment_size: 10,
            ..Options::default()
        },
        Options {
            checkpoint_interval: 0,
            ..Options::default()
        },
        Options {
            max_event_size: 0,
            ..Options::default()
        },
        Options {
            max_event_size: u64::MAX,
            ..Options::default()
        },
    ] {
        assert!(matches!(
            Store::open_in_memory(bad),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn close_waits_for_appends_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), common::small(16 << 10, 8)).unwrap());
    let writers: Vec<_> = (0..4u64)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                let mut ok = 0u64;
                loop {
                    match store.append_batch(t, &[vec![t as u8; 200]], None, ok.is_multiple_of(7)) {
                        Ok(_) => ok += 1,
                        Err(Error::Closed) => return ok,
                        Err(e) => panic!("append: {e}"),
                    }
                }
            })
        })
        .collect();
    thread::sleep(std::time::Duration::from_millis(30));
    store.close().unwrap();
    // Nothing is written once close has returned.
    let sizes = |root: &std::path::Path| -> Vec<(std::path::PathBuf, u64)> {
        common::files(root)
            .into_iter()
            .map(|p| (p.clone(), std::fs::metadata(&p).unwrap().len()))
            .collect()
    };
    let after_close = sizes(dir.path());
    let acknowledged: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        sizes(dir.path()),
        after_close,
        "files changed after close returned"
    );
    let reopened = Store::open(dir.path(), Options::default()).unwrap();
    for (t, ok) in acknowledged.iter().enumerate() {
        assert!(*ok > 0);
        assert_eq!(reopened.verify(t as u64).unwrap().events, *ok, "stream {t}");
    }
}
