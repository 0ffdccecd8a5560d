//! Waiting for a stream to grow, in process: woken by the append that
//! passes the offset, by close, or by the deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use stratalog_core::{Error, Options, Store};

#[test]
fn an_append_wakes_a_waiter_and_returns_the_new_next_offset() {
    let store = Arc::new(Store::open_in_memory(Options::default()).unwrap());
    store.append_batch(1, &[b"a", b"b"], None, false).unwrap();
    // Already past: returns at once.
    assert_eq!(store.wait(1, 0, Some(Duration::ZERO)).unwrap(), 2);
    assert_eq!(store.wait(1, 1, None).unwrap(), 2);

    for stream in [1u64, 9] {
        // Stream 9 has no events yet: the waiter watches it all the same.
        let offset = store.chain_head(stream).unwrap().next_offset;
        let waiter = {
            let store = store.clone();
            thread::spawn(move || store.wait(stream, offset, Some(Duration::from_secs(60))))
        };
        thread::sleep(Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "the waiter returned before any append"
        );
        store
            .append_batch(stream, &[b"x", b"y", b"z"], None, false)
            .unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), offset + 3);
    }
    // An empty stream a waiter watched does not list until it has events.
    let _ = store.wait(5, 0, Some(Duration::from_millis(1)));
    assert_eq!(store.streams().unwrap(), [1, 9]);
}

#[test]
fn a_wait_times_out_then_close_ends_every_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("s"), Options::default()).unwrap());
    store.append(3, b"one").unwrap();
    let start = Instant::now();
    match store.wait(3, 1, Some(Duration::from_millis(100))) {
        Err(Error::Timeout {
            stream: 3,
            offset: 1,
        }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(start.elapsed() >= Duration::from_millis(100));

    let waiters: Vec<_> = [3u64, 4]
        .into_iter()
        .map(|stream| {
            let store = store.clone();
            thread::spawn(move || store.wait(stream, 5, None))
        })
        .collect();
    thread::sleep(Duration::from_millis(50));
    store.close().unwrap();
    for w in waiters {
        assert!(matches!(w.join().unwrap(), Err(Error::Closed)));
    }
    assert!(matches!(store.wait(3, 0, None), Err(Error::Closed)));

    // A read-only store is a snapshot: it waits until its deadline or close.
    let reader = Arc::new(Store::open_read_only(dir.path().join("s")).unwrap());
    assert_eq!(reader.wait(3, 0, None).unwrap(), 1);
    assert!(matches!(
        reader.wait(3, 1, Some(Duration::from_millis(20))),
        Err(Error::Timeout { .. })
    ));
    let waiter = {
        let reader = reader.clone();
        thread::spawn(move || reader.wait(77, 0, None))
    };
    thread::sleep(Duration::from_millis(50));
    reader.close().unwrap();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Closed)));
}
