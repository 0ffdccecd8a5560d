#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 14: named consumer cursors. A consumer commits where it has
//! processed up to; after a restart, a crash or a power loss it reads the
//! same position back, never one ahead of the data.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use stratalog_core::io::faulty::SimDir;
use stratalog_core::{Error, Options, Store};

fn cursor_file(root: &Path, stream: u64, name: &str) -> std::path::PathBuf {
    root.join("cursors")
        .join(format!("{stream:020}"))
        .join(name)
}

#[test]
fn commit_and_read_back_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let store = Store::open(&root, Options::default()).unwrap();
    let events: Vec<Vec<u8>> = (0..10).map(|i| format!("e{i}").into_bytes()).collect();
    let head = store.append_batch(1, &events, None, false).unwrap();

    assert_eq!(store.cursor(1, "siem-export").unwrap(), 0);
    store.commit_cursor(1, "siem-export", 4).unwrap();
    store.commit_cursor(1, "projection", 10).unwrap();
    store.commit_cursor(2, "siem-export", 0).unwrap(); // a stream with no events
    assert_eq!(store.cursor(1, "siem-export").unwrap(), 4);
    // Past the end: refused, nothing written.
    let err = store.commit_cursor(1, "siem-export", 11).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OffsetOutOfRange {
                stream: 1,
                offset: 11,
                next_offset: 10
            }
        ),
        "{err}"
    );
    assert!(matches!(
        store.commit_cursor(3, "x", 1),
        Err(Error::OffsetOutOfRange { next_offset: 0, .. })
    ));
    for bad in ["", ".x", "a/b", "../up", "x.tmp", "é"] {
        assert!(
            matches!(
                store.commit_cursor(1, bad, 1),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(store.cursor(1, bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    // Cursors are not events: the chain is as it was.
    assert_eq!(store.chain_head(1).unwrap(), head);
    store.verify_against(1, &head).unwrap();
    store.close().unwrap();

    let store = Store::open(&root, Options::default()).unwrap();
    assert_eq!(store.cursor(1, "siem-export").unwrap(), 4);
    assert_eq!(store.cursor(1, "projection").unwrap(), 10);
    // A consumer may move back (to reprocess).
    store.commit_cursor(1, "projection", 2).unwrap();
    assert_eq!(store.cursor(1, "projection").unwrap(), 2);
    store.close().unwrap();
    assert!(matches!(store.cursor(1, "projection"), Err(Error::Closed)));
}

#[test]
fn a_read_only_store_commits_its_cursor_while_the_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let writer = Store::open(&root, Options::default()).unwrap();
    writer
        .append_batch(5, &[b"a".as_slice(), b"b", b"c"], None, false)
        .unwrap();
    let reader = Store::open_read_only(&root).unwrap();
    reader.commit_cursor(5, "reader", 3).unwrap();
    assert_eq!(reader.cursor(5, "reader").unwrap(), 3);
    // The writer (lock held all along) sees it too.
    assert_eq!(writer.cursor(5, "reader").unwrap(), 3);
    assert!(matches!(writer.append(5, b"d"), Ok(h) if h.next_offset == 4));
}

#[test]
fn a_damaged_cursor_file_is_corruption_not_a_restart_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let store = Store::open(&root, Options::default()).unwrap();
    store.append(1, b"x").unwrap();
    store.commit_cursor(1, "c", 1).unwrap();
    let file = cursor_file(&root, 1, "c");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[24] ^= 1; // the offset
    std::fs::write(&file, &bytes).unwrap();
    let err = store.cursor(1, "c").unwrap_err();
    assert!(matches!(err, Error::Corruption { stream: 1, .. }), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
    // A cursor file of another stream put in its place is caught too.
    store.append(2, b"y").unwrap();
    store.commit_cursor(2, "c", 1).unwrap();
    std::fs::copy(cursor_file(&root, 2, "c"), &file).unwrap();
    assert!(matches!(
        store.cursor(1, "c"),
        Err(Error::Corruption { .. })
    ));
    // Committing again repairs it.
    store.commit_cursor(1, "c", 1).unwrap();
    assert_eq!(store.cursor(1, "c").unwrap(), 1);
}

#[test]
fn a_cursor_is_never_ahead_of_the_data() {
    // A commit makes the events before it durable first: after a power
    // loss both are there.
    let sim = SimDir::new();
    let store = Store::open_on(Arc::new(sim.clone()), Options::default(), true).unwrap();
    let events: Vec<Vec<u8>> = (0..5).map(|i| vec![i; 10]).collect();
    store.append_batch(1, &events, None, false).unwrap();
    store.commit_cursor(1, "c", 5).unwrap();
    store.append(1, b"after the commit").unwrap();
    drop(store);
    sim.power_loss(0);
    let store = Store::open_on(Arc::new(sim.clone()), Options::default(), true).unwrap();
    assert_eq!(store.cursor(1, "c").unwrap(), 5);
    assert!(store.chain_head(1).unwrap().next_offset >= 5);
    drop(store);

    // A cursor whose events were lost anyway (a store restored from an
    // older backup, say) is reported at the stream's end.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let store = Store::open(&a, Options::default()).unwrap();
    store.append_batch(1, &events, None, false).unwrap();
    store.commit_cursor(1, "c", 5).unwrap();
    store.close().unwrap();
    let older = Store::open(&b, Options::default()).unwrap();
    older.append_batch(1, &events[..2], None, false).unwrap();
    std::fs::create_dir_all(cursor_file(&b, 1, "c").parent().unwrap()).unwrap();
    std::fs::copy(cursor_file(&a, 1, "c"), cursor_file(&b, 1, "c")).unwrap();
    assert_eq!(older.cursor(1, "c").unwrap(), 2);
}

/// The consumer of the kill test: commits after each event it processes
/// and prints each commit once it is acknowledged.
fn run_consumer(path: &Path) {
    let store = Store::open_read_only(path).unwrap();
    let mut at = store.cursor(1, "consumer").unwrap();
    let end = store.chain_head(1).unwrap().next_offset;
    while at < end {
        at += 1;
        store.commit_cursor(1, "consumer", at).unwrap();
        println!("acked {at}");
    }
}

/// The offset of an "acked N" report; the harness may print its own words
/// before it on the same line.
fn ack_in(line: &str) -> Option<u64> {
    let at = line.find("acked ")?;
    line[at + "acked ".len()..].trim().parse().ok()
}

#[test]
fn cursor_consumer_child() {
    // Runs only as the child of the kill test.
    if let Ok(path) = std::env::var("CURSOR_CONSUMER") {
        run_consumer(Path::new(&path));
    }
}

#[test]
fn a_consumer_killed_mid_commit_resumes_at_its_last_acknowledged_commit_or_the_one_after() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let store = Store::open(&root, Options::default()).unwrap();
    let events: Vec<Vec<u8>> = (0..100_000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    store.append_batch(1, &events, None, false).unwrap();
    store.close().unwrap();

    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cursor_consumer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CURSOR_CONSUMER", &root)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = 0u64;
        // Let it commit a while, then SIGKILL it.
        for _ in 0..(50 + round * 70) {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(n) = ack_in(&line) {
                        acked = n;
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // What it printed before it died, still in the pipe.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = ack_in(&line) {
                acked = n;
            }
        }
        let reader = Store::open_read_only(&root).unwrap();
        let resumed = reader.cursor(1, "consumer").unwrap();
        // Every acknowledged commit is kept; at most the one in flight
        // (whose event was processed) went further.
        assert!(
            resumed >= acked && resumed <= acked + 1,
            "round {round}: acked {acked}, resumed at {resumed}"
        );
    }
}
