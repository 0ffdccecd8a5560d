#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 14: a read-only store follows a writer through `wait`: it takes in
//! whole committed batches only, across segment rotations, sees streams
//! created after it opened, and resumes after the writer is killed and
//! restarted.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use stratalog_core::{Error, Options, Store};

const STREAM: u64 = 3;
/// Events per batch: the follower must only ever see multiples of it.
const BATCH: u64 = 20;

fn options() -> Options {
    Options {
        segment_size: 16 << 10,
        checkpoint_interval: 7,
        ..Options::default()
    }
}

fn event(n: u64) -> Vec<u8> {
    format!("event {n:06} {}", "x".repeat((n % 97) as usize * 8)).into_bytes()
}

fn batch(first: u64) -> Vec<Vec<u8>> {
    (first..first + BATCH).map(event).collect()
}

/// Follows `stream` from `next` until `until` events are in, checking every
/// event and that each wait ended on a whole batch. Returns the new next.
fn follow(reader: &Store, stream: u64, mut next: u64, until: u64) -> u64 {
    while next < until {
        let grown = reader
            .wait(stream, next, Some(Duration::from_secs(30)))
            .unwrap_or_else(|e| panic!("waiting past {next}: {e}"));
        assert!(grown > next);
        assert!(
            grown.is_multiple_of(BATCH),
            "a wait ended inside a batch: {grown}"
        );
        assert_eq!(read_checked(reader, stream, next), grown - next);
        next = grown;
    }
    next
}

/// Reads the events of `stream` from `from` to the reader's head, checks
/// each one, and returns how many there were.
fn read_checked(reader: &Store, stream: u64, from: u64) -> u64 {
    let events = reader.read_from(stream, from, u64::MAX).unwrap();
    for (i, e) in events.iter().enumerate() {
        let offset = from + i as u64;
        assert_eq!(e[..], event(offset)[..], "event {offset}");
    }
    events.len() as u64
}

#[test]
fn a_read_only_store_follows_appends_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let writer = Arc::new(Store::open(&path, options()).unwrap());
    writer.append_batch(STREAM, &batch(0), None, false).unwrap();
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.chain_head(STREAM).unwrap().next_offset, BATCH);

    const TOTAL: u64 = 4000;
    let appender = {
        let writer = writer.clone();
        thread::spawn(move || {
            for first in (BATCH..TOTAL).step_by(BATCH as usize) {
                writer
                    .append_batch(STREAM, &batch(first), None, first.is_multiple_of(200))
                    .unwrap();
                if first.is_multiple_of(400) {
                    thread::sleep(Duration::from_millis(2));
                }
            }
        })
    };
    assert_eq!(follow(&reader, STREAM, BATCH, TOTAL), TOTAL);
    appender.join().unwrap();
    // Many rotations happened under the reader, and what it took in
    // verifies against the writer's head.
    assert!(reader.stream_stats(STREAM).unwrap().segments > 5);
    let head = writer.chain_head(STREAM).unwrap();
    assert_eq!(reader.verify_against(STREAM, &head).unwrap().head, head);

    // A stream the writer creates after the reader opened.
    let waiter = thread::spawn(move || {
        let got = reader.wait(99, 0, Some(Duration::from_secs(30)));
        (got.map_err(|e| e.to_string()), reader)
    });
    thread::sleep(Duration::from_millis(50));
    writer.append(99, b"new stream").unwrap();
    let (got, reader) = waiter.join().unwrap();
    assert_eq!(got, Ok(1));
    assert_eq!(
        reader.read_from(99, 0, 100).unwrap(),
        vec![&b"new stream"[..]]
    );

    // Nothing new: a timeout, with the offset it waited past.
    let err = reader
        .wait(STREAM, TOTAL, Some(Duration::from_millis(30)))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                stream: STREAM,
                offset: TOTAL
            }
        ),
        "{err}"
    );
}

#[test]
fn closing_a_read_only_store_ends_its_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    Store::open(&path, options()).unwrap().close().unwrap();
    let reader = Arc::new(Store::open_read_only(&path).unwrap());
    let waiter = {
        let reader = reader.clone();
        thread::spawn(move || reader.wait(STREAM, 0, None))
    };
    thread::sleep(Duration::from_millis(50));
    reader.close().unwrap();
    assert!(matches!(waiter.join().unwrap(), Err(Error::Closed)));
}

/// The writer of the kill test: appends batches until killed.
fn run_writer(path: &Path, from: u64) {
    let store = Store::open(path, options()).unwrap();
    let mut first = from;
    loop {
        store
            .append_batch(STREAM, &batch(first), None, first.is_multiple_of(100))
            .unwrap();
        first += BATCH;
    }
}

#[test]
fn follow_writer_child() {
    // Runs only as the child of the kill test.
    if let (Ok(path), Ok(from)) = (std::env::var("FOLLOW_WRITER"), std::env::var("FOLLOW_FROM")) {
        run_writer(Path::new(&path), from.parse().unwrap());
    }
}

fn spawn_writer(path: &Path, from: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "follow_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FOLLOW_WRITER", path)
        .env("FOLLOW_FROM", from.to_string())
        .spawn()
        .unwrap()
}

#[test]
fn a_follower_never_sees_what_a_killed_writer_left_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    Store::open(&path, options()).unwrap().close().unwrap();
    let reader = Store::open_read_only(&path).unwrap();

    let mut child = spawn_writer(&path, 0);
    let next = follow(&reader, STREAM, 0, 3000);
    // SIGKILL, in the middle of whatever it was writing.
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the follower takes in now is whole batches only; a batch the
    // kill cut short is never among them.
    let next = match reader.wait(STREAM, next, Some(Duration::from_millis(200))) {
        Ok(grown) => follow(&reader, STREAM, next, grown),
        Err(Error::Timeout { .. }) => next,
        Err(e) => panic!("{e}"),
    };

    // The restarted writer cuts any torn tail and goes on from the last
    // whole batch; the follower goes on with it.
    let recovered = Store::open(&path, options()).unwrap();
    let resume_at = recovered.chain_head(STREAM).unwrap().next_offset;
    assert!(resume_at.is_multiple_of(BATCH));
    assert!(
        resume_at >= next,
        "the follower saw {next} events, recovery kept {resume_at}"
    );
    recovered.close().unwrap();
    let mut child = spawn_writer(&path, resume_at);
    let deadline = Instant::now() + Duration::from_secs(60);
    let end = follow(&reader, STREAM, next, resume_at + 2000);
    assert!(Instant::now() < deadline);
    child.kill().unwrap();
    child.wait().unwrap();
    let writer = Store::open(&path, options()).unwrap();
    let head = writer.chain_head(STREAM).unwrap();
    assert!(head.next_offset >= end);
    writer.verify(STREAM).unwrap();
    drop(writer);
    // The reader's view is a prefix of the writer's chain.
    let probe = reader.chain_head(STREAM).unwrap();
    let writer = Store::open_read_only(&path).unwrap();
    writer.verify_against(STREAM, &probe).unwrap();
}

/// A follower process of the many-followers test: `threads` followers of
/// `STREAM` from 0 to `total`, each printing how many events it checked.
fn run_followers(path: &Path, threads: usize, total: u64) {
    let reader = Arc::new(Store::open_read_only(path).unwrap());
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let reader = reader.clone();
            thread::spawn(move || {
                let mut next = 0u64;
                while next < total {
                    let grown = reader
                        .wait(STREAM, next, Some(Duration::from_secs(60)))
                        .unwrap();
                    // The store is shared: another thread's wait may have
                    // taken it past `grown` already.
                    let read = read_checked(&reader, STREAM, next);
                    assert!(next + read >= grown);
                    next += read;
                }
                next
            })
        })
        .collect();
    for h in handles {
        println!("followed {}", h.join().unwrap());
    }
}

#[test]
fn followers_child() {
    // Runs only as a child of the many-followers test.
    if let (Ok(path), Ok(threads), Ok(total)) = (
        std::env::var("FOLLOWERS_STORE"),
        std::env::var("FOLLOWERS_THREADS"),
        std::env::var("FOLLOWERS_TOTAL"),
    ) {
        run_followers(
            Path::new(&path),
            threads.parse().unwrap(),
            total.parse().unwrap(),
        );
    }
}

#[test]
fn eight_followers_in_three_processes_each_get_exactly_the_committed_sequence() {
    const TOTAL: u64 = 30_000;
    for compression in [
        stratalog_core::Compression::None,
        stratalog_core::Compression::Lz4,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let options = Options {
            segment_size: 256 << 10,
            checkpoint_interval: 64,
            compression,
            ..Options::default()
        };
        let writer = Store::open(&path, options).unwrap();
        let children: Vec<_> = [3usize, 3, 2]
            .iter()
            .map(|&threads| {
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "followers_child",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("FOLLOWERS_STORE", &path)
                    .env("FOLLOWERS_THREADS", threads.to_string())
                    .env("FOLLOWERS_TOTAL", TOTAL.to_string())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Batches of 1 to 50 events, some fsync'd, rotating every 256 KiB.
        let mut next = 0u64;
        let mut size = 1u64;
        while next < TOTAL {
            let n = size.min(TOTAL - next);
            let batch: Vec<Vec<u8>> = (next..next + n).map(event).collect();
            writer
                .append_batch(STREAM, &batch, Some(next), n == 7)
                .unwrap();
            next += n;
            size = size % 50 + 1;
        }
        let mut followed = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{compression:?}: a follower process failed"
            );
            let text = String::from_utf8_lossy(&out.stdout);
            // The harness may print its own words before ours on a line.
            for report in text
                .lines()
                .filter_map(|l| l.find("followed ").map(|at| &l[at..]))
            {
                assert_eq!(report, format!("followed {TOTAL}"), "{compression:?}");
                followed += 1;
            }
        }
        assert_eq!(followed, 8, "{compression:?}");
        assert!(writer.stream_stats(STREAM).unwrap().segments > 3);
        writer.verify(STREAM).unwrap();
    }
}

#[test]
fn an_extended_iterator_goes_on_where_it_stopped_across_rotations() {
    for read_only in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let writer = Store::open(&path, options()).unwrap();
        writer.append_batch(STREAM, &batch(0), None, false).unwrap();
        let follower;
        let reader: &Store = if read_only {
            follower = Store::open_read_only(&path).unwrap();
            &follower
        } else {
            &writer
        };
        let mut iter = reader.iter(STREAM, 5).unwrap();
        let mut next = 5u64;
        for round in 0..60 {
            for item in &mut iter {
                let (offset, e) = item.unwrap();
                assert_eq!((offset, &e[..]), (next, &event(next)[..]), "round {round}");
                next += 1;
            }
            assert_eq!(iter.next_offset(), next);
            let head = writer.chain_head(STREAM).unwrap().next_offset;
            assert_eq!(head, next);
            writer
                .append_batch(STREAM, &batch(head), None, false)
                .unwrap();
            reader
                .wait(STREAM, next, Some(Duration::from_secs(30)))
                .unwrap();
            reader.extend_iter(&mut iter).unwrap();
        }
        assert!(
            writer.stream_stats(STREAM).unwrap().segments > 3,
            "read_only={read_only}"
        );
        // An iterator made at the end extends too (it starts afresh).
        drop(iter);
        let end = writer.chain_head(STREAM).unwrap().next_offset;
        reader.wait(STREAM, end - 1, None).unwrap();
        let mut at_end = reader.iter(STREAM, end).unwrap();
        assert!(at_end.next().is_none());
        writer
            .append_batch(STREAM, &batch(end), None, false)
            .unwrap();
        reader
            .wait(STREAM, end, Some(Duration::from_secs(30)))
            .unwrap();
        reader.extend_iter(&mut at_end).unwrap();
        let (offset, e) = at_end.next().unwrap().unwrap();
        assert_eq!((offset, &e[..]), (end, &event(end)[..]));
    }
}
