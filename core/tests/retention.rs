#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Retention and backups: pruning keeps every retained event, head and
//! proof valid and is never mistaken for loss; backups are stores that
//! verify against their manifest; both survive kill -9 at any moment.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{payload, small};
use stratalog_core::{ChainHead, Error, Options, Retention, SigningKey, Store};

const S: u64 = 3;

fn fill(store: &Store, events: u64, batch: u64) -> ChainHead {
    let mut head = store.chain_head(S).unwrap();
    while head.next_offset < events {
        let from = head.next_offset;
        let to = (from + batch).min(events);
        let evs: Vec<Vec<u8>> = (from..to).map(|o| payload(S, o, 40)).collect();
        head = store.append_batch(S, &evs, None, false).unwrap();
    }
    head
}

fn options() -> Options {
    small(4096, 16)
}

fn key() -> SigningKey {
    SigningKey::from_seed("example.com/retention", &[7; 32])
}

fn segment_count(root: &Path) -> usize {
    common::segments(root, S).len()
}

/// What an auditor kept before the prune: proofs and checkpoints.
struct Evidence {
    inclusion: Vec<(u64, u64, Vec<[u8; 32]>)>,
    consistency: Vec<(u64, u64, Vec<[u8; 32]>)>,
    roots: Vec<(u64, [u8; 32])>,
}

fn evidence(store: &Store, sizes: &[u64], offsets: &[u64]) -> Evidence {
    let mut ev = Evidence {
        inclusion: Vec::new(),
        consistency: Vec::new(),
        roots: Vec::new(),
    };
    for &size in sizes {
        ev.roots
            .push((size, store.tree_root(S, Some(size)).unwrap()));
        for &offset in offsets.iter().filter(|&&o| o < size) {
            ev.inclusion.push((
                offset,
                size,
                store.inclusion_proof(S, offset, Some(size)).unwrap(),
            ));
        }
        for &old in sizes.iter().filter(|&&o| o < size) {
            ev.consistency.push((
                old,
                size,
                store.consistency_proof(S, old, Some(size)).unwrap(),
            ));
        }
    }
    ev
}

fn head_at(store: &Store, next: u64) -> ChainHead {
    let mut leaf = store.leaf_data(S, next - 1).unwrap();
    let hash: [u8; 32] = leaf[8..40].try_into().unwrap();
    leaf[..8].copy_from_slice(&[0; 8]);
    ChainHead {
        next_offset: next,
        hash,
    }
}

fn assert_pruned(err: Error, offset: u64, first: u64) {
    match err {
        Error::Pruned {
            stream,
            offset: o,
            first_offset,
        } => assert_eq!((stream, o, first_offset), (S, offset, first)),
        other => panic!("expected Pruned, got {other:?}"),
    }
}

#[test]
fn prune_keeps_every_retained_event_head_and_proof() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let end = fill(&store, 3000, 37);
    let before_segments = segment_count(dir.path());
    assert!(before_segments > 10);
    let kept_heads: Vec<ChainHead> = [1500u64, 2200, 3000]
        .iter()
        .map(|&n| head_at(&store, n))
        .collect();
    let ev = evidence(
        &store,
        &[1400, 1500, 2047, 2048, 2999, 3000],
        &[1400, 1401, 1777, 2999],
    );
    let checkpoint = store.checkpoint(S, &key(), Some(2500), None).unwrap();

    let first = store.prune(S, 1400).unwrap();
    assert!(first <= 1400 && first > 1000, "first {first}");
    assert_eq!(store.first_offset(S).unwrap(), first);
    assert_eq!(store.stream_stats(S).unwrap().first_offset, first);
    assert!(segment_count(dir.path()) < before_segments);
    // Pruning again to the same point changes nothing.
    assert_eq!(store.prune(S, 1400).unwrap(), first);
    assert_eq!(store.prune(S, 10).unwrap(), first);

    let check = |store: &Store| {
        assert_pruned(
            store.read_from(S, first - 1, 1 << 20).unwrap_err(),
            first - 1,
            first,
        );
        assert_pruned(store.read_from(S, 0, 1 << 20).unwrap_err(), 0, first);
        assert_pruned(store.iter(S, 5).err().unwrap(), 5, first);
        let evs = store.read_from(S, first, 1 << 30).unwrap();
        assert_eq!(evs.len() as u64, end.next_offset - first);
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(&e[..], &payload(S, first + i as u64, 40)[..]);
        }
        let report = store.verify(S).unwrap();
        assert_eq!(report.events, end.next_offset - first);
        assert_eq!(report.head, end);
        for head in &kept_heads {
            store.verify_against(S, head).unwrap();
        }
        assert_pruned(
            store
                .verify_against(S, &head_at_none(first - 1))
                .unwrap_err(),
            first - 1,
            first,
        );
        for (size, root) in &ev.roots {
            assert_eq!(
                store.tree_root(S, Some(*size)).unwrap(),
                *root,
                "root {size}"
            );
        }
        for (offset, size, proof) in &ev.inclusion {
            assert_eq!(
                &store.inclusion_proof(S, *offset, Some(*size)).unwrap(),
                proof,
                "inclusion {offset} in {size}"
            );
        }
        for (old, size, proof) in &ev.consistency {
            if *old > first {
                assert_eq!(
                    &store.consistency_proof(S, *old, Some(*size)).unwrap(),
                    proof,
                    "consistency {old} to {size}"
                );
            }
        }
        let again = store.checkpoint(S, &key(), Some(2500), None).unwrap();
        assert_eq!(again, checkpoint);
    };
    check(&store);
    store.close().unwrap();
    // Close waited for the removed files to be unlinked.
    let sdir = dir.path().join("streams").join(format!("{S:020}"));
    let names = || -> Vec<String> {
        fs::read_dir(&sdir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert!(
        !names().iter().any(|n| n.ends_with(".pruned")),
        "{:?}",
        names()
    );
    // One a crash left behind is removed by the next writer.
    fs::write(sdir.join("00000000000000000000.seg.pruned"), b"leftover").unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    check(&store);
    assert!(
        !names().iter().any(|n| n.ends_with(".pruned")),
        "{:?}",
        names()
    );
    store.close().unwrap();
    let tree_files = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let tdir = dir.path().join("trees").join(format!("{S:020}"));
        let mut files: Vec<_> = fs::read_dir(&tdir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let bytes = fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = tree_files();
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.first_offset(S).unwrap(), first);
    assert_eq!(reader.verify(S).unwrap().head, end);
    assert_eq!(
        reader.prune(S, 2000).unwrap_err().to_string(),
        "store is read-only"
    );
    // A read-only store proves from the writer's tree files, which it
    // never changes.
    check(&reader);
    drop(reader);
    assert!(
        before == tree_files(),
        "a read-only store changed the tree files"
    );
}

fn head_at_none(next: u64) -> ChainHead {
    ChainHead {
        next_offset: next,
        hash: [0; 32],
    }
}

#[test]
fn prune_never_takes_the_active_segment_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    let first = store.prune(S, u64::MAX).unwrap();
    assert!(first > 0);
    assert_eq!(store.stream_stats(S).unwrap().segments, 1);
    let head = fill(&store, 2000, 50);
    store.verify_against(S, &head).unwrap();
    assert!(store.prune(S, u64::MAX).unwrap() > first);
    store.close().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.verify(S).unwrap().head, head);
}

#[test]
fn retention_policies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let end = fill(&store, 3000, 20).next_offset;
    let first = store.apply_retention(S, Retention::KeepLast(1000)).unwrap();
    assert!(first <= end - 1000, "{first}");
    assert!(first > end - 1000 - 200, "{first}");
    let stats = store.stream_stats(S).unwrap();
    let cap = stats.bytes / 2;
    let first = store.apply_retention(S, Retention::KeepBytes(cap)).unwrap();
    let stats = store.stream_stats(S).unwrap();
    assert!(stats.bytes <= cap, "{} > {cap}", stats.bytes);
    assert!(stats.bytes > cap - 4096 - 200, "kept too little");
    assert_eq!(stats.first_offset, first);
    // Nothing is removed when everything fits.
    assert_eq!(
        store.apply_retention(S, Retention::KeepLast(end)).unwrap(),
        first
    );
    assert!(store.apply_retention(S, Retention::KeepLast(0)).unwrap() > first);
    store.verify(S).unwrap();
}

#[test]
fn missing_segments_without_an_anchor_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        fill(&store, 1000, 50);
        store.close().unwrap();
    }
    let segs = common::segments(dir.path(), S);
    fs::remove_file(&segs[0]).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    match store.verify(S).unwrap_err() {
        Error::Corruption { reason, .. } => assert!(reason.contains("no prune anchor"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.read_from(S, 0, 100).unwrap_err(),
        Error::Corruption { .. }
    ));
    assert_eq!(store.first_offset(S).unwrap(), 0);
    // The first head is not handed out either: a read from it would fail.
    match store.first_head(S).unwrap_err() {
        Error::Corruption { reason, .. } => assert!(reason.contains("no prune anchor"), "{reason}"),
        other => panic!("{other:?}"),
    }
    store.close().unwrap();

    // Pruned, then the anchor lost: the same.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    store.prune(S, 500).unwrap();
    store.close().unwrap();
    fs::remove_file(
        dir.path()
            .join("streams")
            .join(format!("{S:020}"))
            .join("ANCHOR"),
    )
    .unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert!(matches!(
        store.verify(S).unwrap_err(),
        Error::Corruption { .. }
    ));
    assert!(matches!(
        store.first_head(S).unwrap_err(),
        Error::Corruption { .. }
    ));
}

fn anchor_path(root: &Path) -> std::path::PathBuf {
    root.join("streams").join(format!("{S:020}")).join("ANCHOR")
}

fn rewrite_anchor(root: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = anchor_path(root);
    let mut bytes = fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 4);
    edit(&mut bytes);
    let crc = common::crc32(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    fs::write(&path, bytes).unwrap();
}

#[test]
fn forged_anchors_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (first, end, kept) = {
        let store = Store::open(dir.path(), options()).unwrap();
        assert_eq!(store.first_head(S).unwrap(), ChainHead::EMPTY);
        let end = fill(&store, 2000, 50);
        let kept = head_at(&store, 1500);
        store.tree_root(S, None).unwrap();
        let heads: Vec<ChainHead> = (1..=1000).map(|n| head_at(&store, n)).collect();
        let first = store.prune(S, 1000).unwrap();
        assert_eq!(store.first_head(S).unwrap(), heads[first as usize - 1]);
        store.close().unwrap();
        (first, end, kept)
    };
    // The first head, after a reopen too, read-only or not.
    let expected = {
        let store = Store::open_read_only(dir.path()).unwrap();
        let head = store.first_head(S).unwrap();
        assert_eq!(head.next_offset, first);
        assert_eq!(store.first_offset(S).unwrap(), first);
        head
    };
    let pristine = fs::read(anchor_path(dir.path())).unwrap();

    // A flipped byte without a matching CRC: the file is damage.
    let mut bad = pristine.clone();
    bad[40] ^= 1;
    fs::write(anchor_path(dir.path()), &bad).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert!(matches!(
        store.verify(S).unwrap_err(),
        Error::Corruption { .. }
    ));
    store.close().unwrap();

    // Another hash before the first offset, CRC fixed: the chain breaks,
    // and the first head is never handed out.
    fs::write(anchor_path(dir.path()), &pristine).unwrap();
    rewrite_anchor(dir.path(), |b| b[40] ^= 1);
    let store = Store::open(dir.path(), options()).unwrap();
    assert!(matches!(
        store.first_head(S).unwrap_err(),
        Error::ChainMismatch { offset, .. } if offset == first
    ));
    assert_eq!(store.first_offset(S).unwrap(), first);
    assert!(matches!(
        store.verify(S).unwrap_err(),
        Error::ChainMismatch { .. }
    ));
    assert!(store.verify_against(S, &kept).is_err());
    store.close().unwrap();

    // Another first offset (a multiple of the old one's bits): the
    // segments do not start there.
    fs::write(anchor_path(dir.path()), &pristine).unwrap();
    rewrite_anchor(dir.path(), |b| {
        let forged = first.next_power_of_two();
        b[24..32].copy_from_slice(&forged.to_le_bytes());
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b.truncate(64 + 32);
    });
    let store = Store::open(dir.path(), options()).unwrap();
    assert!(store.verify(S).is_err());
    assert!(store.verify_against(S, &kept).is_err());
    store.close().unwrap();

    // A forged subtree root: the tree no longer matches its anchor, so no
    // proof is served from it.
    fs::write(anchor_path(dir.path()), &pristine).unwrap();
    rewrite_anchor(dir.path(), |b| b[70] ^= 1);
    let store = Store::open(dir.path(), options()).unwrap();
    store.verify_against(S, &end).unwrap();
    assert!(matches!(
        store.tree_root(S, None).unwrap_err(),
        Error::Corruption { .. }
    ));
    store.close().unwrap();

    fs::write(anchor_path(dir.path()), &pristine).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.verify_against(S, &kept).unwrap();
    store.tree_root(S, None).unwrap();
    assert_eq!(store.first_head(S).unwrap(), expected);
}

#[test]
fn a_prune_cut_short_after_its_anchor_is_finished_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let end = fill(&store, 1500, 50);
    store.sync().unwrap();
    let segs_before = common::segments(dir.path(), S);
    for s in &segs_before {
        fs::copy(s, saved.path().join(s.file_name().unwrap())).unwrap();
    }
    let first = store.prune(S, 800).unwrap();
    store.close().unwrap();
    // Put the removed segments back, as if the crash came right after the
    // anchor was written.
    for s in &segs_before {
        if !s.exists() {
            fs::copy(saved.path().join(s.file_name().unwrap()), s).unwrap();
        }
    }
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.first_offset(S).unwrap(), first);
    assert_eq!(reader.verify(S).unwrap().head, end);
    drop(reader);
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.first_offset(S).unwrap(), first);
    assert_eq!(store.verify(S).unwrap().head, end);
    assert!(common::segments(dir.path(), S).len() < segs_before.len());
    for s in common::segments(dir.path(), S) {
        let base: u64 = s.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert!(base >= first);
    }
}

#[test]
fn the_tree_of_a_pruned_range_is_kept_and_never_rebuilt_from_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root_before;
    {
        let store = Store::open(dir.path(), options()).unwrap();
        fill(&store, 3000, 50);
        root_before = store.tree_root(S, None).unwrap();
        store.prune(S, 2000).unwrap();
        store.close().unwrap();
    }
    // Retained leaves lost: rebuilt from the segments.
    let nodes = dir
        .path()
        .join("trees")
        .join(format!("{S:020}"))
        .join("nodes");
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.tree_root(S, None).unwrap(), root_before);
    store.close().unwrap();
    // The whole tree lost: the pruned range cannot come back.
    fs::remove_dir_all(nodes.parent().unwrap()).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    match store.tree_root(S, None).unwrap_err() {
        Error::Corruption { reason, .. } => assert!(reason.contains("backup"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Reads and verification do not need the tree.
    store.verify(S).unwrap();
}

#[test]
fn a_follower_sees_a_prune_and_never_skips_silently() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    store.sync().unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    let mut behind = reader.iter(S, 0).unwrap();
    assert_eq!(behind.next().unwrap().unwrap().0, 0);
    let first = store.prune(S, 700).unwrap();
    let end = fill(&store, 1200, 50);
    store.sync().unwrap();
    assert_eq!(
        reader
            .wait(S, 999, Some(std::time::Duration::from_secs(5)))
            .unwrap(),
        end.next_offset
    );
    assert_eq!(reader.first_offset(S).unwrap(), first);
    assert_pruned(reader.iter(S, 1).err().unwrap(), 1, first);
    // The iterator made before the prune: taking it on fails, never skips.
    let mut behind_err = None;
    for item in behind.by_ref() {
        if let Err(e) = item {
            behind_err = Some(e);
            break;
        }
    }
    if behind_err.is_none() {
        behind_err = reader.extend_iter(&mut behind).err();
    }
    if let Some(err) = behind_err {
        assert!(matches!(err, Error::Pruned { .. }), "{err:?}");
    }
    let evs = reader.read_from(S, first, 1 << 30).unwrap();
    assert_eq!(evs.len() as u64, end.next_offset - first);
}

/// Iterators made before a prune, whose next segment file is gone by the
/// time they reach it (a descriptor pool of 8 has closed it), fail with
/// `Pruned`, in the writer's process and in a reader's, never with a bare
/// "file not found" and never by skipping.
#[test]
fn iterators_made_before_a_prune_fail_with_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let few_files = Options {
        max_open_files: 8,
        ..options()
    };
    let store = Store::open(dir.path(), few_files.clone()).unwrap();
    fill(&store, 1000, 10);
    store.sync().unwrap();
    assert!(segment_count(dir.path()) > 12);
    let reader = Store::open_read_only_with(dir.path(), few_files).unwrap();
    let mut iters = [store.iter(S, 0).unwrap(), reader.iter(S, 0).unwrap()];
    for iter in &mut iters {
        assert_eq!(iter.next().unwrap().unwrap().0, 0);
    }
    let first = store.prune(S, 700).unwrap();
    assert!(first > 500, "{first}");
    // The reader takes in the writer's prune, then both touch files enough
    // for each pool to close those the iterators hold.
    reader.wait(S, 0, Some(std::time::Duration::ZERO)).unwrap();
    assert_eq!(reader.first_offset(S).unwrap(), first);
    for s in [&store, &reader] {
        s.verify(S).unwrap();
        for n in 100..120u64 {
            let _ = s.chain_head(n);
        }
    }
    for mut iter in iters {
        let mut last = 0;
        let err = loop {
            match iter.next() {
                Some(Ok((offset, _))) => {
                    assert_eq!(offset, last + 1, "an iterator skipped");
                    last = offset;
                }
                Some(Err(e)) => break e,
                None => panic!("read on to {last} though the files were gone"),
            }
        };
        assert!(last < first);
        assert_pruned(err, last + 1, first);
    }
}

// ---- backups -------------------------------------------------------------

#[test]
fn backups_are_stores_that_verify_against_their_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = std::sync::Arc::new(Store::open(dir.path(), options()).unwrap());
    fill(&store, 2000, 40);
    store.append(9, b"other stream").unwrap();
    store.commit_cursor(S, "siem", 100).unwrap();
    store.checkpoint(S, &key(), None, None).unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200u64 {
                store.append(11, format!("live {i}")).unwrap();
            }
        })
    };
    let manifest = store.backup(&backup).unwrap();
    writer.join().unwrap();
    let ids: Vec<u64> = manifest.streams.iter().map(|s| s.stream).collect();
    assert!(ids.contains(&S) && ids.contains(&9));
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
        assert_eq!(copy.chain_head(s.stream).unwrap(), s.head);
    }
    assert_eq!(copy.cursor(S, "siem").unwrap(), 100);
    drop(copy);
    // Sealed segments are hard links.
    use std::os::unix::fs::MetadataExt;
    let segs = common::segments(&backup, S);
    let sealed = &segs[..segs.len() - 1];
    assert!(sealed.iter().all(|p| fs::metadata(p).unwrap().nlink() == 2));

    // Incremental: only new things are written; the old links stay.
    let inodes: Vec<u64> = sealed
        .iter()
        .map(|p| fs::metadata(p).unwrap().ino())
        .collect();
    let end = fill(&store, 3000, 40);
    let first = store.prune(S, 1000).unwrap();
    let manifest = store.backup(&backup).unwrap();
    let s = manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (first, end));
    for (p, ino) in sealed.iter().zip(&inodes) {
        if let Ok(meta) = fs::metadata(p) {
            assert_eq!(meta.ino(), *ino);
        }
    }
    let copy = Store::open(&backup, options()).unwrap();
    assert_eq!(copy.first_offset(S).unwrap(), first);
    copy.verify_against(S, &end).unwrap();
    assert_eq!(
        copy.tree_root(S, None).unwrap(),
        store.tree_root(S, None).unwrap()
    );
    copy.close().unwrap();

    // The store prunes past everything the backup holds of the stream:
    // the next backup still comes out whole.
    let end = fill(&store, 4500, 40);
    let first = store.prune(S, 4000).unwrap();
    assert!(first > 3000);
    let manifest = store.backup(&backup).unwrap();
    let s = manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (first, end));
    let copy = Store::open_read_only(&backup).unwrap();
    assert_eq!(copy.first_offset(S).unwrap(), first);
    copy.verify_against(S, &end).unwrap();
    drop(copy);
    for p in common::segments(&backup, S) {
        let base: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert!(base >= first, "{}", p.display());
    }

    // Not into something that is not a backup, nor into the store.
    let stray = dest.path().join("stray");
    fs::create_dir(&stray).unwrap();
    fs::write(stray.join("notes.txt"), b"mine").unwrap();
    assert!(matches!(
        store.backup(&stray).unwrap_err(),
        Error::InvalidArgument(_)
    ));
    assert_eq!(fs::read(stray.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        fs::read_dir(&stray).unwrap().count(),
        1,
        "a refusal leaves nothing behind"
    );
    assert!(store.backup(dir.path().join("inside")).is_err());
    // A read-only store backs up too (what the CLI does beside a writer).
    let reader = Store::open_read_only(dir.path()).unwrap();
    let again = reader.backup(dest.path().join("c")).unwrap();
    assert_eq!(
        again.streams.iter().find(|s| s.stream == S).unwrap().head,
        end
    );
}

// ---- kill -9 -----------------------------------------------------------------

const CHILD_ENV: &str = "RETENTION_CHILD";

#[test]
fn retention_child() {
    let Some(root) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    let store = Store::open(root.join("store"), options()).unwrap();
    // Ends the harness's "test retention_child ... ", which has no line
    // break: the first "acked" line would follow it and go unread.
    println!();
    let mut round = 0u64;
    loop {
        round += 1;
        let next = store.chain_head(S).unwrap().next_offset;
        let evs: Vec<Vec<u8>> = (next..next + 97).map(|o| payload(S, o, 40)).collect();
        let head = store.append_batch(S, &evs, None, true).unwrap();
        println!("acked {}", head.next_offset);
        let first = store
            .prune(S, head.next_offset.saturating_sub(400))
            .unwrap();
        println!("first {first}");
        if round.is_multiple_of(3) {
            store.backup(root.join("backup")).unwrap();
            println!("backup");
        }
    }
}

/// Takes in one line of `retention_child`'s output.
fn child_said(line: &str, acked: &mut u64, first_done: &mut u64) {
    if let Some(n) = line.strip_prefix("acked ") {
        *acked = n.parse().unwrap();
    } else if let Some(f) = line.strip_prefix("first ") {
        *first_done = f.parse().unwrap();
    }
}

#[test]
fn kill_9_during_prune_and_backup_loses_nothing_retained() {
    let rounds: u64 = std::env::var("STRATALOG_PRUNE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let dir = tempfile::tempdir().unwrap();
    let mut acked = 0u64;
    let mut first_done = 0u64;
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "retention_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a varying number of steps, mid-step.
        let steps = 3 + (round * 7919) % 17;
        let mut seen = 0;
        while seen < steps {
            match lines.next() {
                Some(Ok(line)) => {
                    child_said(&line, &mut acked, &mut first_done);
                    seen += 1;
                }
                _ => break,
            }
        }
        std::thread::sleep(std::time::Duration::from_micros((round * 1237) % 3000));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // A child that ended before the kill failed (a panic exits 101).
        assert!(
            status.code().is_none(),
            "round {round}: the child exited: {status}"
        );
        // Lines it wrote before it died were acknowledged.
        for line in lines.map_while(|l| l.ok()) {
            child_said(&line, &mut acked, &mut first_done);
        }

        let store = Store::open(dir.path().join("store"), options()).unwrap();
        let first = store.first_offset(S).unwrap();
        assert!(
            first >= first_done,
            "round {round}: first {first} < {first_done}"
        );
        let head = store.chain_head(S).unwrap();
        assert!(
            head.next_offset >= acked,
            "round {round}: lost acknowledged events"
        );
        assert!(
            first <= acked.saturating_sub(400).max(first_done),
            "round {round}: first {first}, acked {acked}, last prune returned {first_done}"
        );
        let evs = store.read_from(S, first, 1 << 30).unwrap();
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(
                &e[..],
                &payload(S, first + i as u64, 40)[..],
                "round {round}"
            );
        }
        store.verify(S).unwrap();
        store.tree_root(S, None).unwrap();
        store.close().unwrap();
        let backup = dir.path().join("backup");
        let manifest = fs::read_to_string(backup.join("BACKUP")).unwrap_or_default();
        if manifest.lines().any(|l| l.starts_with("stream ")) {
            let copy = Store::open_read_only(&backup).unwrap();
            for line in manifest.lines().filter(|l| l.starts_with("stream ")) {
                let f: Vec<&str> = line.split(' ').collect();
                let head: ChainHead = f[3].parse().unwrap();
                copy.verify_against(f[1].parse().unwrap(), &head).unwrap();
            }
        }
    }
}

#[test]
fn backups_taken_while_another_thread_prunes_and_appends_come_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), options()).unwrap());
    fill(&store, 3000, 40);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pruner = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 3000;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 200;
                fill(&store, n, 40);
                store.prune(S, n - 1000).unwrap();
            }
        })
    };
    for round in 0..15 {
        let target = dest.path().join(format!("b{}", round % 3));
        let manifest = store.backup(&target).unwrap();
        let copy = Store::open_read_only(&target).unwrap();
        for s in &manifest.streams {
            copy.verify_against(s.stream, &s.head).unwrap();
            assert_eq!(copy.first_offset(s.stream).unwrap(), s.first_offset);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    pruner.join().unwrap();
}

/// Every file under `root`, by path, with its bytes.
fn snapshot_files(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n != "LOCK") {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A backup cut short can end a stream with a hard link to one of the
/// store's sealed segments. A writer opening the backup gives that file a
/// copy of its own before appending: the store's segment is never written.
#[test]
fn a_writer_on_a_backup_never_appends_into_a_linked_store_segment() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    store.backup(&backup).unwrap();
    let store_files = snapshot_files(dir.path());
    // The state of a backup cut short before its active segment: the last
    // segment left is a link to a sealed segment of the store.
    let segs = common::segments(&backup, S);
    fs::remove_file(segs.last().unwrap()).unwrap();
    let last = &segs[segs.len() - 2];
    assert_eq!(fs::metadata(last).unwrap().nlink(), 2);
    // Larger segments (not a rule a segment's header records): the batch
    // fits, so the writer appends to that last segment.
    let copy = Store::open(&backup, small(1 << 20, 16)).unwrap();
    let head = copy.chain_head(S).unwrap();
    let evs: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("into the backup {i}").into_bytes())
        .collect();
    let end = copy.append_batch(S, &evs, None, true).unwrap();
    assert_eq!(end.next_offset, head.next_offset + 3);
    copy.verify(S).unwrap();
    copy.close().unwrap();
    assert!(
        snapshot_files(dir.path()) == store_files,
        "the store's files changed"
    );
    store.verify(S).unwrap();
    assert_eq!(fs::metadata(last).unwrap().nlink(), 1);
    let copy = Store::open_read_only(&backup).unwrap();
    copy.verify(S).unwrap();
    assert_eq!(copy.chain_head(S).unwrap(), end);
}

/// An empty active segment whose header a writer rewrote (reopened with
/// other options) is copied again whole by the next backup, not extended
/// under its old header.
#[test]
fn an_incremental_backup_after_a_header_rewrite_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 500, 50);
    store.close().unwrap();
    // A crash right after a rotation created the next segment: the last
    // segment holds its header only.
    let segs = common::segments(dir.path(), S);
    let last = segs.last().unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(80)
        .unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let before = store.chain_head(S).unwrap();
    store.backup(&backup).unwrap();
    store.close().unwrap();
    let header_before = fs::read(last).unwrap();
    let timed = Options {
        timestamps: true,
        ..options()
    };
    let store = Store::open(dir.path(), timed).unwrap();
    let evs: Vec<Vec<u8>> = (0..5).map(|i| format!("timed {i}").into_bytes()).collect();
    let end = store.append_batch(S, &evs, None, false).unwrap();
    assert_eq!(end.next_offset, before.next_offset + 5);
    assert_ne!(fs::read(last).unwrap()[..80], header_before[..80]);
    let manifest = store.backup(&backup).unwrap();
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
    assert_eq!(copy.chain_head(S).unwrap(), end);
}

/// A tree file that is no longer an extension of its copy (rebuilt, or
/// damaged in the backup) is replaced by a new file renamed into place,
/// never cut and rewritten where it lies.
#[test]
fn a_changed_tree_file_is_replaced_in_the_backup_by_a_rename() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    store.tree_root(S, None).unwrap();
    store.backup(&backup).unwrap();
    let trees = backup.join("trees").join(format!("{S:020}"));
    let file = fs::read_dir(&trees)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::metadata(p).unwrap().len() > 0)
        .expect("a tree file in the backup");
    let source = dir.path().join(file.strip_prefix(&backup).unwrap());
    let mut longer = fs::read(&file).unwrap();
    longer.extend_from_slice(&[0xAB; 100]);
    fs::write(&file, &longer).unwrap();
    let inode = fs::metadata(&file).unwrap().ino();
    store.backup(&backup).unwrap();
    assert_ne!(
        fs::metadata(&file).unwrap().ino(),
        inode,
        "rewritten in place"
    );
    assert_eq!(fs::read(&file).unwrap(), fs::read(&source).unwrap());
}

/// A backup of one store is never brought up to date from another: the
/// call fails before it writes anything, and the backup still verifies.
#[test]
fn a_backup_refuses_another_stores_history() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let b = Store::open(b_dir.path(), options()).unwrap();
    b.append(S, b"another history").unwrap();
    fill(&b, 600, 50);
    let manifest = b.backup(&backup).unwrap();
    let a = Store::open(a_dir.path(), options()).unwrap();
    fill(&a, 900, 50);
    let files = snapshot_files(&backup);
    let err = a.backup(&backup).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("not a backup of this store")),
        "{err:?}"
    );
    assert!(
        snapshot_files(&backup) == files,
        "the backup was written to"
    );
    // Shorter than the backup: refused too.
    let c_dir = tempfile::tempdir().unwrap();
    let c = Store::open(c_dir.path(), options()).unwrap();
    c.append(S, b"another history").unwrap();
    assert!(c.backup(&backup).is_err());
    assert!(snapshot_files(&backup) == files);
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
    drop(copy);
    // The store it belongs to brings it up to date.
    fill(&b, 700, 50);
    let manifest2 = b.backup(&backup).unwrap();
    assert_ne!(manifest2, manifest);
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest2.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
}

/// A stream the backup lists, even an empty one, that the store does not
/// have at all: another store's backup, refused with nothing written.
#[test]
fn a_backup_refuses_a_store_without_one_of_its_streams() {
    let b_dir = tempfile::tempdir().unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let b = Store::open(b_dir.path(), options()).unwrap();
    fill(&b, 600, 50);
    b.close().unwrap();
    // A: the same history of S, and nothing else.
    common::copy_dir(b_dir.path(), a_dir.path());
    // B gets stream 9, left holding its first segment's header only (a
    // crash right after the segment was made): its head is 0.
    let b = Store::open(b_dir.path(), options()).unwrap();
    b.append(9, b"only in b").unwrap();
    b.close().unwrap();
    let seg = common::segments(b_dir.path(), 9).remove(0);
    let header = common::header_len(&fs::read(&seg).unwrap());
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(header as u64)
        .unwrap();
    let b = Store::open(b_dir.path(), options()).unwrap();
    let manifest = b.backup(&backup).unwrap();
    let nine = manifest.streams.iter().find(|s| s.stream == 9).unwrap();
    assert_eq!(nine.head.next_offset, 0);
    let files = snapshot_files(&backup);
    let a = Store::open(a_dir.path(), options()).unwrap();
    let err = a.backup(&backup).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("is not in the store")),
        "{err:?}"
    );
    assert!(
        snapshot_files(&backup) == files,
        "the backup was written to"
    );
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
}

/// Another store that pruned past everything the backup holds: what is
/// left to compare, the Merkle subtree roots both prune anchors keep, does
/// not agree, so it is refused with nothing written (it would otherwise
/// have replaced the backup). The backup's own store, pruned as far, is
/// taken.
#[test]
fn a_backup_refuses_another_store_pruned_past_its_head() {
    let b_dir = tempfile::tempdir().unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let b = Store::open(b_dir.path(), options()).unwrap();
    let b_head = fill(&b, 800, 50);
    let b_first = b.prune(S, 600).unwrap();
    let manifest = b.backup(&backup).unwrap();
    let a = Store::open(a_dir.path(), options()).unwrap();
    a.append(S, b"another history").unwrap();
    fill(&a, 1200, 50);
    let a_first = a.prune(S, 1000).unwrap();
    // Both anchors keep the root of [0, 512), and A holds nothing the
    // backup holds.
    assert!(b_first >= 512 && a_first < 1024, "{b_first} {a_first}");
    assert!(a_first > b_head.next_offset, "{a_first}");
    let files = snapshot_files(&backup);
    let err = a.backup(&backup).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("not a backup of this store")),
        "{err:?}"
    );
    assert!(
        snapshot_files(&backup) == files,
        "the backup was written to"
    );
    let copy = Store::open_read_only(&backup).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
    drop(copy);
    // B pruned past the backup's head: the roots agree, and it goes on.
    let end = fill(&b, 1200, 50);
    let first = b.prune(S, 1000).unwrap();
    assert!(first > b_head.next_offset && first < 1024, "{first}");
    let manifest = b.backup(&backup).unwrap();
    let copy = Store::open_read_only(&backup).unwrap();
    assert_eq!(copy.first_offset(S).unwrap(), first);
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
    }
    assert_eq!(copy.chain_head(S).unwrap(), end);
}

/// The review's case: another store pruned past the backup's head, where
/// the backup itself was never pruned (or pruned where no anchor range
/// is shared with the store's). The store's tree keeps the leaf of the
/// head's event, and it is not the leaf of the head's hash: refused, with
/// nothing written.
#[test]
fn another_store_pruned_past_an_unpruned_backup_is_refused() {
    for backup_prune in [None, Some(300)] {
        let b_dir = tempfile::tempdir().unwrap();
        let a_dir = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let backup = dest.path().join("b");
        let b = Store::open(b_dir.path(), options()).unwrap();
        let b_head = fill(&b, 800, 50);
        if let Some(before) = backup_prune {
            b.prune(S, before).unwrap();
        }
        let manifest = b.backup(&backup).unwrap();
        let a = Store::open(a_dir.path(), options()).unwrap();
        a.append(S, b"another history").unwrap();
        fill(&a, 1200, 50);
        assert!(a.prune(S, 1000).unwrap() > b_head.next_offset);
        let files = snapshot_files(&backup);
        let err = a.backup(&backup).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("does not match")),
            "{backup_prune:?}: {err:?}"
        );
        assert!(
            snapshot_files(&backup) == files,
            "the backup was written to"
        );
        let copy = Store::open_read_only(&backup).unwrap();
        for s in &manifest.streams {
            copy.verify_against(s.stream, &s.head).unwrap();
        }
    }
}

/// An auditor's long-lived read-only store: `verify` checks the stream as
/// the writer left it since, never the segment files a prune removed.
#[test]
fn a_reader_opened_before_a_prune_verifies_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 50);
    store.sync().unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    let first = store.prune(S, 700).unwrap();
    assert!(first > 0);
    let end = fill(&store, 1100, 50);
    store.sync().unwrap();
    let head = head_at(&store, 900);
    let report = reader.verify(S).unwrap();
    assert_eq!(report.head, end);
    assert_eq!(reader.first_offset(S).unwrap(), first);
    assert_eq!(reader.verify_against(S, &head).unwrap().head, end);
}
