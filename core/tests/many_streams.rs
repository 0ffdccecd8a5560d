#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 18: a store of 10,000 streams under the usual limit of 1,024
//! descriptors per process. Every stream keeps an active segment; the
//! store's file pool keeps at most `max_open_files` of them open, and
//! opening the store recovers streams on first use.
//!
//! This binary lowers its own RLIMIT_NOFILE, so it holds only these tests.

use std::path::Path;

use stratalog_core::{Error, Options, Store};

const STREAMS: u64 = 10_000;
const FD_LIMIT: u64 = 1024;

/// The tests count the process's descriptors, so they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn limit_descriptors() {
    let limit = libc::rlimit {
        rlim_cur: FD_LIMIT,
        rlim_max: FD_LIMIT,
    };
    // SAFETY: setrlimit reads the struct it is given.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn event(stream: u64, n: u64) -> Vec<u8> {
    format!("stream {stream} event {n}").into_bytes()
}

fn options(max_open_files: u64) -> Options {
    Options {
        max_open_files,
        segment_size: 4096,
        ..Options::default()
    }
}

/// Appends `per_stream` events to every stream, one batch per stream per
/// round, so that every stream's file is reopened each round.
fn fill(store: &Store, from: u64, per_stream: u64) {
    for n in from..from + per_stream {
        for stream in 0..STREAMS {
            store
                .append_batch(stream, &[event(stream, n)], Some(n), false)
                .unwrap_or_else(|e| panic!("stream {stream} event {n}: {e}"));
        }
    }
}

fn check_all(store: &Store, events: u64) {
    for stream in 0..STREAMS {
        let got = store.read_from(stream, 0, u64::MAX).unwrap();
        let want: Vec<_> = (0..events).map(|n| event(stream, n)).collect();
        assert_eq!(got, want, "stream {stream}");
    }
}

#[test]
fn ten_thousand_streams_under_a_limit_of_1024_descriptors() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    limit_descriptors();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let max_open = 64;
    let baseline = open_descriptors();

    let store = Store::open(&root, options(max_open)).unwrap();
    // Enough events that every stream rotates (4 KiB segments), so sealed
    // segments and their indexes are read back through the pool too.
    fill(&store, 0, 2);
    let held = open_descriptors() - baseline;
    // The pool's files, the lock file, and nothing per stream.
    assert!(
        held <= max_open as usize + 2,
        "{held} descriptors held for {STREAMS} streams (limit {max_open})"
    );
    check_all(&store, 2);
    fill(&store, 2, 1);
    check_all(&store, 3);
    // A durable append to a stream whose file the pool closed long ago.
    let head = store
        .append_batch(0, &[event(0, 3)], Some(3), true)
        .unwrap();
    assert_eq!(head.next_offset, 4);
    assert_eq!(store.streams().unwrap().len() as u64, STREAMS);
    store.close().unwrap();
    assert!(open_descriptors() <= baseline);
    // The close synced all 10,000 at once and marked each tail, so the
    // next open reads one record per stream it uses.
    for stream in (0..STREAMS).step_by(1000) {
        let tail = root
            .join("streams")
            .join(format!("{stream:020}"))
            .join("TAIL");
        assert!(tail.exists(), "stream {stream} has no tail marker");
    }

    // A clean close: the next open lists the streams and recovers each on
    // first use.
    let store = Store::open(&root, options(max_open)).unwrap();
    assert!(open_descriptors() - baseline <= 2);
    assert_eq!(store.streams().unwrap().len() as u64, STREAMS);
    assert_eq!(store.chain_head(0).unwrap(), head);
    for stream in (1..STREAMS).step_by(97) {
        let report = store.verify(stream).unwrap();
        assert_eq!(report.events, 3, "stream {stream}");
    }
    check_all_from(&store, 1, 3);
    assert!(store.torn_tails().is_empty());
    // Without close: the next writer recovers all 10,000 at open, under
    // the same limit.
    fill_one_more_without_close(store);
    let store = Store::open(&root, options(max_open)).unwrap();
    assert!(open_descriptors() - baseline <= max_open as usize + 2);
    assert!(store.torn_tails().is_empty());
    check_all_from(&store, 1, 4);

    // Read-only, while the writer still has it open.
    let reader = Store::open_read_only_with(&root, options(max_open)).unwrap();
    check_all_from(&reader, 1, 4);
    assert!(open_descriptors() - baseline <= 2 * max_open as usize + 2);
    reader.close().unwrap();
    store.close().unwrap();
}

fn check_all_from(store: &Store, first_stream: u64, events: u64) {
    for stream in first_stream..STREAMS {
        let got = store.read_from(stream, 0, u64::MAX).unwrap();
        assert_eq!(got.len() as u64, events, "stream {stream}");
        for (n, e) in got.iter().enumerate() {
            assert_eq!(e, &event(stream, n as u64), "stream {stream} event {n}");
        }
    }
}

/// Appends one more event to streams 1.. and drops the store without
/// closing it, as a killed process would leave it (the data is in the OS).
fn fill_one_more_without_close(store: Store) {
    for stream in 1..STREAMS {
        store
            .append_batch(stream, &[event(stream, 3)], Some(3), false)
            .unwrap();
    }
    drop(store);
}

#[test]
fn a_torn_tail_is_cut_at_open_after_a_crash_with_many_streams() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    limit_descriptors();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, options(16)).unwrap();
    for stream in 0..300 {
        store.append(stream, event(stream, 0)).unwrap();
    }
    drop(store); // no close: the OPEN marker stays
                 // Half a record at the end of stream 123's segment.
    let seg = segment_of(&root, 123);
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_within(bytes.len() - 20..);
    std::fs::write(&seg, &bytes).unwrap();

    let store = Store::open(&root, options(16)).unwrap();
    let torn = store.torn_tails();
    assert_eq!(torn.len(), 1, "{torn:?}");
    assert_eq!(
        (torn[0].stream, torn[0].kept_len, torn[0].dropped_bytes),
        (123, len, 20)
    );
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), len);
    assert_eq!(
        store.read_from(123, 0, u64::MAX).unwrap(),
        vec![event(123, 0)]
    );
    store.close().unwrap();
}

fn segment_of(root: &Path, stream: u64) -> std::path::PathBuf {
    root.join("streams")
        .join(format!("{stream:020}"))
        .join(format!("{:020}.seg", 0))
}

#[test]
fn max_open_files_below_the_minimum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path().join("s"), options(3)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("max_open_files"), "{err}");
}
