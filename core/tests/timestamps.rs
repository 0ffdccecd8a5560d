#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Per-batch timestamps: time records before every batch of a TIMED
//! segment, reads by time, the keep-newer-than policy, and the placement
//! rules that make a removed, moved or inserted time record damage.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{parse_segment, payload, write_segment, Rec};
use stratalog_core::{Error, Options, Retention, Store};

const S: u64 = 4;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn timed(segment_size: u64, checkpoint_interval: u64) -> Options {
    Options {
        timestamps: true,
        ..common::small(segment_size, checkpoint_interval)
    }
}

/// Appends `batches` batches of `size` events, a few milliseconds apart;
/// returns each batch's first offset and the wall-clock window it was
/// appended in.
fn timed_batches(store: &Store, batches: u64, size: u64) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    for _ in 0..batches {
        let first = store.chain_head(S).unwrap().next_offset;
        let evs: Vec<Vec<u8>> = (first..first + size).map(|o| payload(S, o, 30)).collect();
        let before = now_ms();
        store.append_batch(S, &evs, None, false).unwrap();
        let after = now_ms();
        out.push((first, before, after));
        std::thread::sleep(Duration::from_millis(3));
    }
    out
}

fn check_seeks(store: &Store, batches: &[(u64, u64, u64)]) {
    let head = store.chain_head(S).unwrap().next_offset;
    let first = store.first_offset(S).unwrap();
    assert_eq!(store.seek_time(S, 0).unwrap(), first);
    assert_eq!(store.seek_time(S, u64::MAX).unwrap(), head);
    for pair in batches.windows(2) {
        let ((_, _, after), (next, before, _)) = (pair[0], pair[1]);
        if next < first {
            continue;
        }
        // Any time after the earlier batch and no later than the next one
        // began lands on the next batch.
        for t in [after + 1, before] {
            if t > after && t <= before {
                assert_eq!(store.seek_time(S, t).unwrap(), next, "t {t}");
            }
        }
    }
}

#[test]
fn seek_time_finds_the_first_batch_at_or_after_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), timed(4096, 5)).unwrap();
    // Batches of 5 put a checkpoint right at each batch start after the
    // first: the time record stands before it.
    let batches = timed_batches(&store, 40, 5);
    assert!(common::segments(dir.path(), S).len() > 3);
    check_seeks(&store, &batches);
    let head = store.chain_head(S).unwrap();
    let report = store.verify(S).unwrap();
    assert_eq!(report.head, head);
    assert_eq!(report.checkpoints, 39);
    store.close().unwrap();

    let store = Store::open(dir.path(), timed(4096, 5)).unwrap();
    check_seeks(&store, &batches);
    // Appends after a reopen keep times going forward.
    let more = timed_batches(&store, 5, 3);
    let mut all = batches.clone();
    all.extend(more);
    check_seeks(&store, &all);
    store.verify(S).unwrap();
    drop(store);
    let reader = Store::open_read_only(dir.path()).unwrap();
    check_seeks(&reader, &all);
    assert_eq!(
        reader.read_from(S, 0, 1 << 20).unwrap().len() as u64,
        all.last().unwrap().0 + 3
    );
}

#[test]
fn keep_newer_than_prunes_by_time_and_untimed_batches_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    // First without timestamps: those batches have no time.
    {
        let store = Store::open(dir.path(), common::small(4096, 16)).unwrap();
        let evs: Vec<Vec<u8>> = (0..200).map(|o| payload(S, o, 30)).collect();
        store.append_batch(S, &evs, None, false).unwrap();
        // No recorded time is earlier than anything: nothing to prune.
        assert_eq!(store.seek_time(S, u64::MAX).unwrap(), 0);
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), timed(4096, 16)).unwrap();
    let batches = timed_batches(&store, 60, 10);
    let head = store.chain_head(S).unwrap();
    check_seeks(&store, &batches);
    // Everything before the 30th timed batch is older than its start.
    let (cut_at, before, _) = batches[30];
    assert_eq!(store.seek_time(S, before).unwrap(), cut_at);
    let first = store
        .apply_retention(S, Retention::KeepNewerThan(before))
        .unwrap();
    assert!(first > 200 && first <= cut_at, "{first}");
    store.verify_against(S, &head).unwrap();
    assert!(matches!(
        store.read_from(S, 0, 10).unwrap_err(),
        Error::Pruned { .. }
    ));
    check_seeks(&store, &batches);
}

#[test]
fn a_torn_timed_batch_is_cut_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let store = Store::open(dir.path(), timed(1 << 20, 4)).unwrap();
        timed_batches(&store, 3, 4);
        let head = store.chain_head(S).unwrap();
        timed_batches(&store, 1, 4);
        store.sync().unwrap();
        drop(store);
        head
    };
    let seg = common::segments(dir.path(), S).pop().unwrap();
    let full = fs::read(&seg).unwrap();
    let (_, recs) = parse_segment(&full);
    // The last batch: its time record, a checkpoint, four events.
    let last_batch: usize = recs.iter().rev().take(6).map(|r| 60 + r.stored.len()).sum();
    assert_eq!(recs[recs.len() - 6].kind, 2);
    for cut in (full.len() - last_batch)..full.len() {
        fs::write(&seg, &full[..cut]).unwrap();
        let store = Store::open(dir.path(), timed(1 << 20, 4)).unwrap();
        assert_eq!(store.chain_head(S).unwrap(), head, "cut at {cut}");
        store.verify(S).unwrap();
        store.close().unwrap();
    }
}

fn damaged_copy(root: &Path, edit: impl FnOnce(&mut Vec<Rec>)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    common::copy_dir(root, copy.path());
    let seg = &common::segments(copy.path(), S)[0];
    let (header, mut recs) = parse_segment(&fs::read(seg).unwrap());
    edit(&mut recs);
    write_segment(seg, &header, &recs);
    copy
}

#[test]
fn removed_moved_and_inserted_time_records_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), timed(1 << 20, 100)).unwrap();
        timed_batches(&store, 5, 3);
        store.close().unwrap();
    }
    let verdict = |copy: &tempfile::TempDir| {
        let store = Store::open_read_only(copy.path()).unwrap();
        store.verify(S).map(|_| ())
    };
    // Intact: verifies.
    let same = damaged_copy(dir.path(), |_| {});
    verdict(&same).unwrap();
    // The second batch's time record removed.
    let removed = damaged_copy(dir.path(), |recs| {
        let at = recs.iter().skip(1).position(|r| r.kind == 2).unwrap() + 1;
        recs.remove(at);
    });
    assert!(matches!(
        verdict(&removed),
        Err(Error::ChainMismatch { .. })
    ));
    // Moved into the middle of its batch.
    let moved = damaged_copy(dir.path(), |recs| {
        let at = recs.iter().skip(1).position(|r| r.kind == 2).unwrap() + 1;
        let rec = recs.remove(at);
        recs.insert(at + 1, rec);
    });
    assert!(matches!(verdict(&moved), Err(Error::ChainMismatch { .. })));
    // A second one inserted at a batch start.
    let doubled = damaged_copy(dir.path(), |recs| {
        let rec = recs[0].clone();
        recs.insert(0, rec);
    });
    assert!(matches!(
        verdict(&doubled),
        Err(Error::ChainMismatch { .. })
    ));
}

#[test]
fn a_time_record_in_an_untimed_segment_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), common::small(1 << 20, 100)).unwrap();
        let evs: Vec<Vec<u8>> = (0..6).map(|o| payload(S, o, 30)).collect();
        store.append_batch(S, &evs[..3], None, false).unwrap();
        store.append_batch(S, &evs[3..], None, false).unwrap();
        store.close().unwrap();
    }
    let copy = damaged_copy(dir.path(), |recs| {
        let first = recs[0].clone();
        let time = Rec {
            kind: 2,
            codec: 0,
            flags: 0,
            stored: now_ms().to_le_bytes().to_vec(),
            ..first
        };
        recs.insert(0, time);
    });
    let store = Store::open_read_only(copy.path()).unwrap();
    assert!(matches!(
        store.verify(S).unwrap_err(),
        Error::ChainMismatch { .. }
    ));
}

/// After a reopen that read no time record (its scan started at the tail
/// marker), the first timed append still never records a time earlier
/// than the last batch's: it reads that batch's time from the segment.
#[test]
fn times_never_go_backwards_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), timed(1 << 20, 100)).unwrap();
        timed_batches(&store, 3, 2);
        store.close().unwrap();
    }
    // The last batch claims to be an hour ahead (a clock that was).
    let ahead = now_ms() + 3_600_000;
    let seg = common::segments(dir.path(), S).pop().unwrap();
    let (header, mut recs) = parse_segment(&fs::read(&seg).unwrap());
    let last_time = recs.iter().rposition(|r| r.kind == 2).unwrap();
    let forged_at = recs[last_time].offset;
    recs[last_time].stored = ahead.to_le_bytes().to_vec();
    write_segment(&seg, &header, &recs);

    let store = Store::open(dir.path(), timed(1 << 20, 100)).unwrap();
    let evs = [payload(S, 6, 30)];
    store.append_batch(S, &evs, None, false).unwrap();
    // Both the forged batch and the new one are at or after `ahead`.
    assert_eq!(store.seek_time(S, ahead).unwrap(), forged_at);
    assert_eq!(store.seek_time(S, ahead + 1).unwrap(), 7);
    store.verify(S).unwrap();
}
