#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A read-only follower takes what the writer committed in steps of about a
//! MiB, and its cursors take the records a step already read and checked
//! instead of reading them again. These tests pin what that must not
//! change: never an event of a batch whose COMMIT is not on disk, every
//! committed event exactly once and in order however the iterator is
//! extended (across rotations, midway through a step), a waiter past any
//! offset at once however far behind, and a forged record reported, by the
//! follower's iterator and by `verify`, which reads the files again.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{parse_segment, segments, write_segment};
use stratalog_core::{Error, EventIter, Options, Store};

const STREAM: u64 = 5;
const BATCH: u64 = 50;

fn options(segment_size: u64) -> Options {
    Options {
        segment_size,
        checkpoint_interval: 7,
        ..Options::default()
    }
}

fn event(n: u64) -> Vec<u8> {
    let mut e = format!("event {n:08} ").into_bytes();
    e.resize(100 + (n % 13) as usize * 11, b'a' + (n % 26) as u8);
    e
}

fn batch(first: u64) -> Vec<Vec<u8>> {
    (first..first + BATCH).map(event).collect()
}

/// Appends whole batches from `from` until the stream holds `until` events.
fn append_to(writer: &Store, from: u64, until: u64) {
    for first in (from..until).step_by(BATCH as usize) {
        writer
            .append_batch(STREAM, &batch(first), None, false)
            .unwrap();
    }
}

/// Takes every event `iter` has now, checking each is the next expected.
fn drain(iter: &mut EventIter, next: &mut u64) {
    for item in iter {
        let (offset, e) = item.unwrap();
        assert_eq!((offset, &e[..]), (*next, &event(*next)[..]));
        *next += 1;
    }
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

/// A batch written record by record (as a writer's single write may reach
/// the page cache) is never yielded, nor is anything after it taken in,
/// until its COMMIT record is there; committed batches before it, even
/// more than one step of them, are.
#[test]
fn a_batch_whose_commit_is_not_written_is_never_yielded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    // About 3 MiB committed before the unfinished batch: several steps.
    const BEFORE: u64 = 20_000;
    let (committed_len, tail) = {
        let writer = Store::open(&path, options(64 << 20)).unwrap();
        append_to(&writer, 0, BATCH);
        let follower_start = BATCH;
        append_to(&writer, follower_start, BEFORE);
        let seg = segments(&path, STREAM).pop().unwrap();
        let committed_len = std::fs::metadata(&seg).unwrap().len() as usize;
        append_to(&writer, BEFORE, BEFORE + BATCH);
        writer.close().unwrap();
        let bytes = std::fs::read(&seg).unwrap();
        (committed_len, bytes[committed_len..].to_vec())
    };
    let seg = segments(&path, STREAM).pop().unwrap();
    let full = std::fs::read(&seg).unwrap();
    // Back to before the last batch, and only its first batch for the
    // follower to open with.
    let (_, recs) = parse_segment(&full);
    let first_len = recs
        .iter()
        .find(|r| r.offset >= BATCH)
        .map(|r| r.pos)
        .unwrap();
    std::fs::write(&seg, &full[..first_len]).unwrap();
    let follower = Store::open_read_only(&path).unwrap();
    let mut iter = follower.iter(STREAM, 0).unwrap();
    let mut next = 0;
    drain(&mut iter, &mut next);
    assert_eq!(next, BATCH);

    // The committed batches, then the last batch without its COMMIT record,
    // one record at a time.
    append_bytes(&seg, &full[first_len..committed_len]);
    let (_, tail_recs) = parse_segment(&[&full[..committed_len], &tail[..]].concat());
    let tail_recs: Vec<_> = tail_recs
        .into_iter()
        .filter(|r| r.pos >= committed_len)
        .collect();
    let commit = tail_recs.last().unwrap();
    assert_eq!(commit.offset, BEFORE + BATCH - 1);
    assert_ne!(commit.flags & 1, 0, "the last record carries COMMIT");
    for r in &tail_recs[..tail_recs.len() - 1] {
        append_bytes(&seg, &r.encode());
        loop {
            match follower.wait(STREAM, next, Some(Duration::from_millis(1))) {
                Ok(grown) => {
                    assert!(grown <= BEFORE, "took in an unfinished batch: {grown}");
                    assert_eq!(grown % BATCH, 0, "a wait ended inside a batch: {grown}");
                    follower.extend_iter(&mut iter).unwrap();
                    drain(&mut iter, &mut next);
                }
                Err(Error::Timeout { .. }) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(next, BEFORE);
        follower.extend_iter(&mut iter).unwrap();
        assert!(iter.next().is_none());
        assert_eq!(follower.chain_head(STREAM).unwrap().next_offset, BEFORE);
    }
    // Half of the COMMIT record: still nothing.
    let commit_bytes = commit.encode();
    append_bytes(&seg, &commit_bytes[..commit_bytes.len() / 2]);
    assert!(matches!(
        follower.wait(STREAM, next, Some(Duration::from_millis(20))),
        Err(Error::Timeout { .. })
    ));
    append_bytes(&seg, &commit_bytes[commit_bytes.len() / 2..]);
    assert_eq!(
        follower
            .wait(STREAM, next, Some(Duration::from_secs(30)))
            .unwrap(),
        BEFORE + BATCH
    );
    follower.extend_iter(&mut iter).unwrap();
    drain(&mut iter, &mut next);
    assert_eq!(next, BEFORE + BATCH);
    assert_eq!(std::fs::read(&seg).unwrap(), full);
}

/// However far behind, a waiter is taken past the offset it waits for at
/// once (no sleep while more is committed), across rotations; a wait for
/// less returns on a batch boundary, and the waits that follow take in the
/// rest.
#[test]
fn a_follower_far_behind_is_brought_past_any_offset_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let writer = Store::open(&path, options(1 << 20)).unwrap();
    append_to(&writer, 0, BATCH);
    let follower = Store::open_read_only(&path).unwrap();
    const TOTAL: u64 = 40_000;
    append_to(&writer, BATCH, TOTAL);
    assert!(segments(&path, STREAM).len() > 4);

    // Far past a step: the wait never sleeps, so a short timeout is met.
    let end = follower
        .wait(STREAM, TOTAL - 1, Some(Duration::from_millis(1)))
        .unwrap();
    assert_eq!(end, TOTAL);
    let head = writer.chain_head(STREAM).unwrap();
    assert_eq!(follower.chain_head(STREAM).unwrap(), head);
    assert_eq!(follower.verify_against(STREAM, &head).unwrap().head, head);

    // A second follower waits for the next offset each time.
    let second = Store::open_read_only(&path).unwrap();
    assert_eq!(second.chain_head(STREAM).unwrap().next_offset, TOTAL);
    let more = TOTAL + 30_000;
    append_to(&writer, TOTAL, more);
    let mut iter = second.iter(STREAM, TOTAL - 10).unwrap();
    let mut next = TOTAL - 10;
    let mut waits = 0;
    while next < more {
        let grown = second
            .wait(STREAM, next, Some(Duration::from_millis(1)))
            .unwrap();
        assert_eq!(grown % BATCH, 0, "a wait ended inside a batch: {grown}");
        second.extend_iter(&mut iter).unwrap();
        drain(&mut iter, &mut next);
        assert_eq!(next, grown);
        waits += 1;
    }
    assert!(waits > 2, "taken in steps: {waits} waits");
    assert_eq!(
        second.chain_head(STREAM).unwrap(),
        writer.chain_head(STREAM).unwrap()
    );
}

/// An iterator extended while it is midway through what a step took in
/// (its checked records replaced by the next step's), one made midway
/// (from a checkpoint), and reads that end midway all get exactly the
/// committed sequence, across rotations.
#[test]
fn iterators_extended_or_made_midway_through_a_step_read_on_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let writer = Store::open(&path, options(256 << 10)).unwrap();
    append_to(&writer, 0, BATCH);
    let follower = Store::open_read_only(&path).unwrap();
    let mut iter = follower.iter(STREAM, 3).unwrap();
    let mut next = 3;
    let mut written = BATCH;
    for round in 0..40u64 {
        written += BATCH * (1 + round * 7 % 40);
        append_to(&writer, written - BATCH * (1 + round * 7 % 40), written);
        let grown = follower
            .wait(STREAM, next, Some(Duration::from_secs(30)))
            .unwrap();
        follower.extend_iter(&mut iter).unwrap();
        // Only part of it, unless the round says all.
        let take = if round % 3 == 0 {
            u64::MAX
        } else {
            (grown - next) / 2
        };
        for _ in 0..take.min(grown - next) {
            let (offset, e) = iter.next().unwrap().unwrap();
            assert_eq!((offset, &e[..]), (next, &event(next)[..]));
            next += 1;
        }
        // A read starting in the middle of what the follower took in.
        let mid = (next + grown) / 2;
        if mid < grown {
            let events = follower.read_from(STREAM, mid, 4000).unwrap();
            assert!(!events.is_empty());
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e[..], event(mid + i as u64)[..], "round {round}");
            }
        }
    }
    // The rest, with the iterator extended once more.
    follower
        .wait(STREAM, written - 1, Some(Duration::from_secs(30)))
        .unwrap();
    follower.extend_iter(&mut iter).unwrap();
    drain(&mut iter, &mut next);
    assert_eq!(next, written);
    assert!(segments(&path, STREAM).len() > 10);
}

/// A record forged with valid CRCs among the records a step read and
/// checked is reported by the follower's iterator at the first event that
/// does not link, as any reader reports it; nothing after it is served.
#[test]
fn a_forged_record_among_checked_ones_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let writer = Store::open(&path, options(64 << 20)).unwrap();
    append_to(&writer, 0, BATCH);
    let follower = Store::open_read_only(&path).unwrap();
    let mut iter = follower.iter(STREAM, 0).unwrap();
    let mut next = 0;
    drain(&mut iter, &mut next);
    append_to(&writer, BATCH, 4 * BATCH);
    writer.close().unwrap();
    // Event 120's payload rewritten, its CRCs fixed: the link from 121 to
    // it breaks.
    let seg = segments(&path, STREAM).pop().unwrap();
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let victim = recs
        .iter_mut()
        .find(|r| r.kind == 0 && r.offset == 120)
        .unwrap();
    victim.stored[0] ^= 1;
    write_segment(&seg, &header, &recs);

    assert_eq!(
        follower
            .wait(STREAM, next, Some(Duration::from_secs(30)))
            .unwrap(),
        4 * BATCH
    );
    follower.extend_iter(&mut iter).unwrap();
    let mut served = 0;
    let err = loop {
        match iter.next() {
            Some(Ok((offset, _))) => {
                assert_eq!(offset, next);
                next += 1;
                served += 1;
            }
            Some(Err(e)) => break e,
            None => panic!("the forged record was not reported"),
        }
    };
    assert!(
        matches!(err, Error::ChainMismatch { offset: 121, .. }),
        "{err}"
    );
    assert_eq!(served, 121 - BATCH);
}

/// A follower's iterator takes the events its refresh step read and
/// verified, without reading them again (the single pass: a record forged
/// after that step does not reach it, as it would not reach a reader that
/// read before the forgery); `verify` reads the files as they are now, and
/// reports it.
#[test]
fn verify_reads_the_files_not_what_the_follower_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let writer = Store::open(&path, options(64 << 20)).unwrap();
    append_to(&writer, 0, BATCH);
    let follower = Store::open_read_only(&path).unwrap();
    append_to(&writer, BATCH, 4 * BATCH);
    writer.close().unwrap();
    assert_eq!(
        follower
            .wait(STREAM, BATCH, Some(Duration::from_secs(30)))
            .unwrap(),
        4 * BATCH
    );
    assert_eq!(follower.verify(STREAM).unwrap().events, 4 * BATCH);
    let mut iter = follower.iter(STREAM, 0).unwrap();
    let mut next = 0;
    for _ in 0..BATCH {
        let (offset, e) = iter.next().unwrap().unwrap();
        assert_eq!((offset, &e[..]), (next, &event(next)[..]));
        next += 1;
    }
    let seg = segments(&path, STREAM).pop().unwrap();
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let victim = recs
        .iter_mut()
        .find(|r| r.kind == 0 && r.offset == 150)
        .unwrap();
    victim.stored[0] ^= 1;
    write_segment(&seg, &header, &recs);
    drain(&mut iter, &mut next);
    assert_eq!(next, 4 * BATCH);
    let err = follower.verify(STREAM).unwrap_err();
    assert!(
        matches!(err, Error::ChainMismatch { offset: 151, .. }),
        "{err}"
    );
}
