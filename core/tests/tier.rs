//! The object-storage tier against the in-memory bucket: uploads, reads
//! and verification from the bucket, eviction, fencing and faults. The
//! same behaviour against a real S3 server is tested from Python
//! (bindings/python/tests/test_tier.py, with moto_server).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{payload, segments, small};
use stratalog_core::tier::memory::MemoryTier;
use stratalog_core::{verify_checkpoint, ChainHead, Error, SigningKey, Store, Tier, TierConfig};

fn config(tier: &MemoryTier) -> TierConfig {
    TierConfig::new(Arc::new(tier.clone()))
}

/// A tier config that keeps no local copy of what the bucket holds.
fn evicting(tier: &MemoryTier) -> TierConfig {
    let mut cfg = config(tier);
    cfg.local_cache_bytes = Some(0);
    cfg
}

/// Appends `n` events of 200 B to `stream` in batches of 10.
fn fill(store: &Store, stream: u64, from: u64, n: u64) -> ChainHead {
    let mut head = store.chain_head(stream).unwrap();
    for start in (from..from + n).step_by(10) {
        let batch: Vec<Vec<u8>> = (start..(start + 10).min(from + n))
            .map(|i| payload(stream, i, 200))
            .collect();
        head = store.append_batch(stream, &batch, None, false).unwrap();
    }
    head
}

/// Files this process holds open that were deleted (Linux).
fn deleted_files_held_open() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy().ends_with(".seg (deleted)"))
                .count()
        })
        .unwrap_or(0)
}

fn read_all(store: &Store, stream: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for event in store.iter(stream, 0).unwrap() {
        out.push(event.unwrap().1.to_vec());
    }
    out
}

fn expected(stream: u64, n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| payload(stream, i, 200)).collect()
}

#[test]
fn sync_tier_uploads_everything_and_the_bucket_verifies_alone() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let head3 = fill(&store, 3, 0, 300);
    let head9 = fill(&store, 9, 0, 25);
    store.sync_tier().unwrap();
    let stats = store.tier_stats().unwrap();
    assert_eq!(stats.pending_segments, 0);
    assert!(stats.uploaded_segments >= 8, "{stats:?}");
    assert_eq!(stats.last_error, None);
    assert!(!stats.fenced);
    let keys = bucket.keys();
    assert!(keys.contains(&"STRATALOG".to_owned()), "{keys:?}");
    assert!(keys.contains(&"WRITER".to_owned()));
    assert!(keys.contains(&format!("streams/{:020}/MANIFEST", 3)));
    assert!(keys.iter().any(|k| k.ends_with("-00000001.seg")));

    // Everything appended before sync_tier is in the bucket, and reads
    // and verifies from there with no local store.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.streams().unwrap(), vec![3, 9]);
    assert_eq!(remote.verify_against(3, &head3).unwrap().events, 300);
    assert_eq!(remote.verify_against(9, &head9).unwrap().events, 25);
    assert_eq!(read_all(&remote, 3), expected(3, 300));
    assert_eq!(
        remote.read_from(3, 123, 1).unwrap()[0].to_vec(),
        payload(3, 123, 200)
    );
    assert!(matches!(remote.append(3, b"x"), Err(Error::ReadOnly)));

    // The writer goes on appending; a second sync uploads only the new.
    let uploaded = stats.uploaded_segments;
    let head3 = fill(&store, 3, 300, 40);
    store.sync_tier().unwrap();
    assert!(store.tier_stats().unwrap().uploaded_segments > uploaded);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(3, &head3).unwrap();
    store.close().unwrap();
}

#[test]
fn evicted_segments_are_read_from_the_bucket_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let head = fill(&store, 1, 0, 400);
    store.sync_tier().unwrap();
    let stats = store.tier_stats().unwrap();
    assert!(stats.evicted_segments >= 8, "{stats:?}");
    // Only the active segment (empty after the seal) is still local, and
    // no descriptor keeps an evicted file's space.
    assert_eq!(segments(dir.path(), 1).len(), 1);
    assert_eq!(deleted_files_held_open(), 0);
    // The events come back from the bucket.
    let gets = bucket.gets();
    assert_eq!(read_all(&store, 1), expected(1, 400));
    assert!(bucket.gets() >= gets + 8, "{} GETs", bucket.gets() - gets);
    store.verify_against(1, &head).unwrap();
    store.close().unwrap();

    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    assert_eq!(store.chain_head(1).unwrap(), head);
    assert_eq!(
        store.read_from(1, 7, 1).unwrap()[0].to_vec(),
        payload(1, 7, 200)
    );
    let head = fill(&store, 1, 400, 20);
    store.verify_against(1, &head).unwrap();
    store.close().unwrap();
}

/// GETs of the segment objects (not indexes) of `stream`, by key.
fn segment_gets(bucket: &MemoryTier, stream: u64) -> Vec<(String, u64)> {
    stream_objects(bucket, stream)
        .into_iter()
        .filter(|(key, ..)| key.ends_with(".seg"))
        .map(|(key, ..)| {
            let n = bucket.gets_of(&key);
            (key, n)
        })
        .collect()
}

/// GETs of the objects of `before` (from `segment_gets`) since then.
fn segment_gets_since(bucket: &MemoryTier, before: &[(String, u64)]) -> Vec<(String, u64)> {
    before
        .iter()
        .map(|(key, then)| (key.clone(), bucket.gets_of(key) - then))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn a_cold_read_of_one_event_fetches_the_walk_from_its_checkpoint_at_once() {
    // 1 KiB events in segments of about 1000, a checkpoint every 128:
    // the walk from a checkpoint to the event before the next one is
    // about twice a random read's first fetch.
    let options = small(1 << 20, 128);
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), options.clone(), cfg.clone()).unwrap();
    for start in (0..3000).step_by(100) {
        let batch: Vec<Vec<u8>> = (start..start + 100).map(|i| payload(1, i, 1024)).collect();
        store.append_batch(1, &batch, None, false).unwrap();
    }
    store.sync_tier().unwrap();
    store.close().unwrap();
    // Only the active segment is local: segment 0 and the next one are
    // only in the bucket.
    assert_eq!(segments(dir.path(), 1).len(), 1);

    // Reopened, nothing of the segments is known yet.
    let store = Store::open_tiered(dir.path(), options, cfg).unwrap();
    let first_key = segment_gets(&bucket, 1)[0].0.clone();
    let read_one = |offset: u64| {
        let before = segment_gets(&bucket, 1);
        assert_eq!(
            store.read_from(1, offset, 1).unwrap()[0].to_vec(),
            payload(1, offset, 1024)
        );
        segment_gets_since(&bucket, &before)
    };
    // One GET from checkpoint 384 past event 510: the segment's header
    // and the next segment's base (to check the index against) come from
    // the manifest.
    assert_eq!(read_one(510), vec![(first_key.clone(), 1)]);
    assert_eq!(read_one(250), vec![(first_key.clone(), 1)]);
    store.close().unwrap();

    // A reader with no local store also fetches the index, once.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    let index_key = first_key.replace(".seg", ".idx");
    let index_gets = bucket.gets_of(&index_key);
    let before = segment_gets(&bucket, 1);
    assert_eq!(
        remote.read_from(1, 890, 1).unwrap()[0].to_vec(),
        payload(1, 890, 1024)
    );
    assert_eq!(
        segment_gets_since(&bucket, &before),
        vec![(first_key.clone(), 1)]
    );
    assert_eq!(bucket.gets_of(&index_key), index_gets + 1);
}

#[test]
fn a_verify_from_the_bucket_fetches_each_segment_in_few_large_blocks() {
    // Segments of about 9 MiB: a scan that doubled its fetches from 64 KiB
    // made eight requests of each; a verify says it reads the whole
    // segment, which comes in 4 MiB blocks, each fetched while the one
    // before is checked (the next segment's first while this one is).
    let options = small(9 << 20, 1024);
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), options, config(&bucket)).unwrap();
    let mut head = ChainHead::EMPTY;
    for start in (0..24_000).step_by(1000) {
        let batch: Vec<Vec<u8>> = (start..start + 1000).map(|i| payload(1, i, 1000)).collect();
        head = store.append_batch(1, &batch, None, false).unwrap();
    }
    store.sync_tier().unwrap();
    store.close().unwrap();

    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    let before = segment_gets(&bucket, 1);
    assert_eq!(before.len(), 3, "{before:?}");
    assert_eq!(remote.verify_against(1, &head).unwrap().events, 24_000);
    let gets = segment_gets_since(&bucket, &before);
    assert_eq!(gets.len(), 3, "{gets:?}");
    for (key, n) in &gets {
        let len = bucket.head(key).unwrap().unwrap().size;
        assert!(len > 8 << 20, "{key}: {len} bytes");
        // Its 4 MiB blocks, the header with the first.
        assert_eq!(*n, len.div_ceil(4 << 20), "{key}: {n} GETs of {len} bytes");
    }
    // Every byte was checked: a flipped one in the last block is found.
    let (last, _) = &gets[2];
    let mut bytes = bucket.get(last).unwrap().unwrap().bytes;
    let at = bytes.len() - 500;
    bytes[at] ^= 1;
    bucket.overwrite(last, bytes);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    match remote.verify_against(1, &head) {
        Err(Error::Corruption { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_manifest_entry_whose_header_copy_lies_fails_verification() {
    use stratalog_core::tier::manifest::Manifest;
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    let head = fill(&store, 4, 0, 300);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let key = format!("streams/{:020}/MANIFEST", 4);
    let honest = bucket.get(&key).unwrap().unwrap().bytes;
    let mut manifest = Manifest::decode(&honest, 4).unwrap();
    assert!(manifest.entries.iter().all(|e| e.rules.is_some()));
    // The segments say a checkpoint every 16 events; the copy of the
    // second one's header says 32.
    let rules = manifest.entries[1].rules.as_mut().unwrap();
    assert_eq!(rules.checkpoint_interval, 16);
    rules.checkpoint_interval = 32;
    let lied_about = manifest.entries[1].base.next_offset;
    bucket.overwrite(&key, manifest.encode());

    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    match remote.verify(4) {
        Err(Error::Corruption { offset, reason, .. }) => {
            assert_eq!(offset, lied_about);
            assert!(reason.contains("manifest entry records"), "{reason}");
        }
        other => panic!("a lying header copy verified: {other:?}"),
    }
    // Once the lie is known, a read from inside that segment no longer
    // follows the copy: it fails as the check did.
    let inside = lied_about + 20;
    match remote.read_from(4, inside, 1) {
        Err(Error::Corruption { reason, .. }) => {
            assert!(reason.contains("manifest entry records"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    drop(remote);
    // Before it is known, such a read follows the copy's rules, which the
    // records do not: never served as anything but what they are.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    match remote.read_from(4, inside, 1) {
        Ok(events) => assert_eq!(events[0].to_vec(), payload(4, inside, 200)),
        Err(Error::Corruption { .. } | Error::ChainMismatch { .. }) => {}
        Err(other) => panic!("{other:?}"),
    }
    drop(remote);

    // The honest manifest back: the bucket verifies.
    bucket.overwrite(&key, honest);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(4, &head).unwrap();
}

/// Bytes of the local sealed segments of `stream` (every one but the last).
/// The uploader may be copying segments back and evicting others
/// meanwhile: a file evicted since the listing counts for nothing.
fn local_sealed_bytes(dir: &std::path::Path, stream: u64) -> u64 {
    let all = segments(dir, stream);
    all[..all.len() - 1]
        .iter()
        .map(|p| match std::fs::metadata(p) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => panic!("{}: {e}", p.display()),
        })
        .sum()
}

#[test]
fn segments_read_from_the_bucket_are_copied_back_within_the_cache_size() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    // About three 8 KiB segments.
    let limit = 3 * 8192 + 4096;
    cfg.local_cache_bytes = Some(limit);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let head = fill(&store, 1, 0, 600);
    store.sync_tier().unwrap();
    let evicted = store.tier_stats().unwrap().evicted_segments;
    assert!(evicted >= 8, "{evicted}");
    assert!(local_sealed_bytes(dir.path(), 1) <= limit);
    store.close().unwrap();

    // Opening reads nothing from the bucket's segments, so copies nothing.
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    assert_eq!(store.chain_head(1).unwrap(), head);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(store.tier_stats().unwrap().copied_back_segments, 0);

    // A read of the oldest events goes to the bucket, then the segment is
    // copied back, and the next read of it stays local.
    assert_eq!(
        store.read_from(1, 0, 1).unwrap()[0].to_vec(),
        payload(1, 0, 200)
    );
    let first = dir.path().join(format!("streams/{:020}/{:020}.seg", 1, 0));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !first.exists() {
        assert!(std::time::Instant::now() < deadline, "never copied back");
        std::thread::sleep(Duration::from_millis(10));
    }
    let key = bucket
        .keys()
        .into_iter()
        .find(|k| k.starts_with(&format!("streams/{:020}/{:020}-", 1, 0)) && k.ends_with(".seg"))
        .unwrap();
    let gets = bucket.gets_of(&key);
    for offset in [1, 5, 9] {
        assert_eq!(
            store.read_from(1, offset, 1).unwrap()[0].to_vec(),
            payload(1, offset, 200)
        );
    }
    assert_eq!(bucket.gets_of(&key), gets, "read again from the bucket");

    // A whole scan copies back what it reads, and the cache stays within
    // its size: the oldest copies make room.
    assert_eq!(read_all(&store, 1), expected(1, 600));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.tier_stats().unwrap().copied_back_segments < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            store.tier_stats()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    store.sync_tier().unwrap();
    assert!(local_sealed_bytes(dir.path(), 1) <= limit);
    assert_eq!(deleted_files_held_open(), 0);
    store.verify_against(1, &head).unwrap();
    store.close().unwrap();
}

#[test]
fn a_copy_back_checks_the_bytes_against_the_manifest() {
    type Damage = fn(&MemoryTier, &str);
    let damages: [(Damage, &str); 3] = [
        // Other bytes of the same length.
        (
            |bucket, key| {
                let mut bytes = bucket.view().get(key).unwrap().unwrap().bytes;
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                bucket.overwrite(key, bytes);
            },
            "not the ones its manifest lists",
        ),
        // Cut short: its first events still read, by ranged GETs.
        (
            |bucket, key| {
                let mut bytes = bucket.view().get(key).unwrap().unwrap().bytes;
                bytes.truncate(bytes.len() - 10);
                bucket.overwrite(key, bytes);
            },
            "is not the length its manifest lists",
        ),
        // Gone.
        (|bucket, key| bucket.delete(key).unwrap(), "is missing"),
    ];
    for (damage, expected) in damages {
        let dir = tempfile::tempdir().unwrap();
        let bucket = MemoryTier::new();
        let mut cfg = evicting(&bucket);
        let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
        fill(&store, 1, 0, 200);
        store.sync_tier().unwrap();
        store.close().unwrap();
        let key = bucket
            .keys()
            .into_iter()
            .find(|k| {
                k.starts_with(&format!("streams/{:020}/{:020}-", 1, 0)) && k.ends_with(".seg")
            })
            .unwrap();
        damage(&bucket, &key);

        cfg.local_cache_bytes = None;
        let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
        // The read itself fails only where the object is gone.
        let _ = store.read_from(1, 0, 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.tier_stats().unwrap().last_error.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                store.tier_stats()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let why = store.tier_stats().unwrap().last_error.unwrap();
        assert!(why.contains(expected), "{why}");
        assert!(!dir
            .path()
            .join(format!("streams/{:020}/{:020}.seg", 1, 0))
            .exists());
        assert_eq!(store.tier_stats().unwrap().copied_back_segments, 0);
    }
}

#[test]
fn a_tampered_object_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 2, 0, 200);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let key = bucket
        .keys()
        .into_iter()
        .find(|k| k.ends_with(".seg"))
        .unwrap();
    let mut bytes = bucket.get(&key).unwrap().unwrap().bytes;
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    bucket.overwrite(&key, bytes);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    match remote.verify(2) {
        Err(Error::Corruption { .. } | Error::ChainMismatch { .. }) => {}
        other => panic!("a flipped byte in {key} verified: {other:?}"),
    }
    let mut served = 0;
    for event in remote.iter(2, 0).unwrap() {
        match event {
            Ok((offset, data)) => {
                assert_eq!(data.to_vec(), payload(2, offset, 200));
                served += 1;
            }
            Err(Error::Corruption { .. } | Error::ChainMismatch { .. }) => break,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(served < 200);
}

/// Objects cut short or removed from the bucket are damage, as segment
/// files cut or removed are: `Corruption` (or `ChainMismatch` for a later
/// segment removed) from the writer and from a reader of the bucket,
/// never an I/O error an auditor would retry; the other streams still
/// open and verify.
#[test]
fn objects_cut_short_or_removed_are_damage_not_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    fill(&store, 1, 0, 300);
    let other = fill(&store, 2, 0, 50);
    store.sync_tier().unwrap();
    let mut segs: Vec<(String, u64)> = stream_objects(&bucket, 1)
        .into_iter()
        .filter(|(key, _, _)| key.ends_with(".seg"))
        .map(|(key, base, _)| (key, base))
        .collect();
    segs.sort_by_key(|&(_, base)| base);
    assert!(segs.len() >= 4, "{segs:?}");
    // The writer keeps what it fetched of a segment in memory (and what
    // it verified is what it got), so it sees a damage only on its first
    // read of that segment: checked on the first case alone.
    let damaged = |what: &str, expect_base: u64, first: bool, writer_too: bool| {
        let remote =
            Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
        assert_eq!(remote.verify(2).unwrap().events, 50, "{what}");
        remote.verify_against(2, &other).unwrap();
        let mut outcomes = vec![("bucket reader", remote.verify(1))];
        if writer_too {
            outcomes.push(("writer", store.verify(1)));
        }
        for (who, got) in outcomes {
            match got {
                Err(Error::Corruption {
                    stream: 1, offset, ..
                }) if first => {
                    assert_eq!(offset, expect_base, "{what}, {who}")
                }
                Err(Error::ChainMismatch {
                    stream: 1, offset, ..
                }) if !first => {
                    assert_eq!(offset, expect_base, "{what}, {who}")
                }
                other => panic!("{what}, {who}: {other:?}"),
            }
        }
    };
    let last = segs.len() - 1;
    let cases = [(2, true), (last, true), (2, false), (0, false)];
    for (n, (i, cut)) in cases.into_iter().enumerate() {
        let (key, base) = &segs[i];
        let bytes = bucket.get(key).unwrap().unwrap().bytes;
        if cut {
            bucket.overwrite(key, bytes[..bytes.len() - 100].to_vec());
            damaged("cut short", *base, true, n == 0);
        } else {
            bucket.delete(key).unwrap();
            damaged("removed", *base, i == 0, false);
        }
        bucket.overwrite(key, bytes);
    }
    // Mended, everything verifies again.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.verify(1).unwrap().events, 300);
    store.close().unwrap();
}

/// A tiered store's directory opened without its tier would stop
/// uploading without a word and read its evicted segments as missing: a
/// writer is refused, a reader's damage says why, and a backup (every
/// segment copied back) is the way out of the tier.
#[test]
fn a_tiered_directory_is_not_opened_for_writing_without_its_tier() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    let head = fill(&store, 1, 0, 300);
    store.sync_tier().unwrap();
    let backup = tempfile::tempdir().unwrap();
    store.backup(backup.path().join("copy")).unwrap();
    store.close().unwrap();

    match Store::open(dir.path(), small(8192, 16)) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("tiered store"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let local = Store::open_read_only(dir.path()).unwrap();
    match local.verify(1) {
        Err(Error::Corruption { reason, .. }) => {
            assert!(reason.contains("read without its tier"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let copy = Store::open(backup.path().join("copy"), small(8192, 16)).unwrap();
    copy.verify_against(1, &head).unwrap();
    copy.append(1, b"no tier").unwrap();
    copy.close().unwrap();
    // A read-only handle of it reads no bucket: it signs nothing.
    let key = SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    match local.checkpoint(1, &key, Some(1), None) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("tiered store"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

/// A tiered open that fails (the bucket unreachable, its lease held)
/// leaves a plain store plain: it still opens without a tier.
#[test]
fn a_failed_tiered_open_leaves_a_plain_store_plain() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open(dir.path(), small(8192, 16)).unwrap();
    fill(&store, 1, 0, 20);
    store.close().unwrap();
    bucket.set_down(true);
    assert!(Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).is_err());
    bucket.set_down(false);
    let holder = Store::open_tiered(other.path(), small(8192, 16), config(&bucket)).unwrap();
    assert!(matches!(
        Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)),
        Err(Error::Locked(_))
    ));
    let plain = Store::open(dir.path(), small(8192, 16)).unwrap();
    assert_eq!(plain.chain_head(1).unwrap().next_offset, 20);
    plain.close().unwrap();
    holder.close().unwrap();
}

/// A segment file gone from under a reader is damage in a plain store
/// (nothing but a prune removes one), and no sign of it in a tiered
/// store's directory, whose writer deletes the copies it evicted: there
/// it stays an I/O error.
#[test]
fn a_segment_file_gone_is_damage_unless_a_tier_evicted_it() {
    for tiered in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let bucket = MemoryTier::new();
        let store = if tiered {
            Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap()
        } else {
            Store::open(dir.path(), small(8192, 16)).unwrap()
        };
        fill(&store, 1, 0, 200);
        let reader = Store::open_read_only(dir.path()).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(dir.path().join(format!("streams/{:020}", 1)))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        files.sort();
        std::fs::remove_file(&files[1]).unwrap();
        match (tiered, reader.verify(1)) {
            (false, Err(Error::ChainMismatch { stream: 1, .. })) => {}
            (true, Err(Error::Io { source, .. })) => {
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound)
            }
            (_, other) => panic!("tiered {tiered}: {other:?}"),
        }
        store.close().unwrap();
    }
}

/// Damage found in an object mended since is not remembered: the next
/// read fetches the object as it is now, from a reader of the bucket and
/// from a writer whose copy was evicted, as a local file would be read.
#[test]
fn an_object_mended_after_damage_was_found_reads_again() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    let head = fill(&store, 1, 0, 200);
    store.sync_tier().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    let (key, _, _) = stream_objects(&bucket, 1)
        .into_iter()
        .find(|(key, base, _)| key.ends_with(".seg") && *base > 0)
        .unwrap();
    let good = bucket.get(&key).unwrap().unwrap().bytes;
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    bucket.overwrite(&key, bad);
    for reader in [&remote, &store] {
        assert!(matches!(
            reader.verify(1),
            Err(Error::Corruption { .. } | Error::ChainMismatch { .. })
        ));
    }
    bucket.overwrite(&key, good);
    for reader in [&remote, &store] {
        assert_eq!(reader.verify_against(1, &head).unwrap().events, 200);
        assert_eq!(read_all(reader, 1), expected(1, 200));
    }
    store.close().unwrap();
}

/// A writer's tier config over `net`, with a lease that expires fast.
fn leased(net: &MemoryTier, takeover: bool) -> TierConfig {
    let mut cfg = config(net);
    cfg.lease_ttl = Duration::from_millis(300);
    cfg.takeover = takeover;
    cfg
}

/// Opens `dir` as the writer of `cfg`'s tier once the lease it waits for
/// expires (`cfg.takeover`).
fn take_over(dir: &std::path::Path, cfg: TierConfig) -> Store {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match Store::open_tiered(dir, small(8192, 16), cfg.clone()) {
            Ok(store) => return store,
            Err(Error::Locked(_)) => {
                assert!(std::time::Instant::now() < deadline, "never took over");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn a_second_writer_is_locked_and_a_takeover_fences_the_first_without_a_fork() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    // A and B reach the bucket over networks of their own.
    let (a_net, b_net) = (bucket.view(), bucket.view());
    let lease = leased;
    let a = Store::open_tiered(a_dir.path(), small(8192, 16), lease(&a_net, false)).unwrap();
    let synced = fill(&a, 5, 0, 100);
    let quiet = fill(&a, 6, 0, 100);
    a.sync_tier().unwrap();
    // A live writer: refused, with takeover or not.
    for takeover in [false, true] {
        assert!(matches!(
            Store::open_tiered(b_dir.path(), small(8192, 16), lease(&b_net, takeover)),
            Err(Error::Locked(_))
        ));
    }
    // A is cut off from the bucket (its handle lives on, as in a
    // partition) and keeps appending; once its lease expires, a standby
    // takes over.
    a_net.set_down(true);
    let unsynced = fill(&a, 5, 100, 30);
    fill(&a, 6, 100, 100);
    let b = take_over(b_dir.path(), lease(&b_net, true));
    assert_eq!(b.tier_stats().unwrap().epoch, 2);
    assert_eq!(
        b.chain_head(5).unwrap(),
        synced,
        "B continues from the bucket"
    );
    assert_eq!(b.chain_head(6).unwrap(), quiet);
    assert_eq!(read_all(&b, 5), expected(5, 100));

    // A's network comes back before B wrote anything: every manifest
    // already carries B's epoch, so A cannot extend any stream, not even
    // the one B never writes.
    a_net.set_down(false);
    assert!(unsynced.next_offset > synced.next_offset);
    match a.sync_tier() {
        Err(Error::Locked(_)) => {}
        other => panic!("A was not fenced: {other:?}"),
    }
    assert!(a.tier_stats().unwrap().fenced);
    assert!(matches!(a.append(5, b"late"), Err(Error::Locked(_))));
    let b_head = b.append(5, b"from the standby").unwrap();
    b.sync_tier().unwrap();

    // The bucket holds one chain per stream: A's history to the takeover,
    // then B's.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(5, &b_head).unwrap();
    remote.verify_against(6, &quiet).unwrap();
    let events = read_all(&remote, 5);
    assert_eq!(events.len(), 101);
    assert_eq!(events[100], b"from the standby".to_vec());
    drop(a);
    // B closes with an event the bucket lacks, so it keeps the lease.
    b.append(6, b"not uploaded").unwrap();
    b.close().unwrap();

    // A's directory, opened again with the tier: its lease is gone.
    let mut again = lease(&a_net, false);
    again.lease_ttl = Duration::from_secs(30);
    assert!(matches!(
        Store::open_tiered(a_dir.path(), small(8192, 16), again.clone()),
        Err(Error::Locked(_))
    ));
    // With a takeover (B closed and its lease expired), A's diverged tail
    // is refused, never uploaded over B's history.
    std::thread::sleep(Duration::from_millis(1500));
    again.takeover = true;
    match Store::open_tiered(a_dir.path(), small(8192, 16), again) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("diverged"), "{msg}"),
        other => panic!("A's diverged copy was accepted: {other:?}"),
    }
}

/// A checkpoint of a tiered store signs only what the bucket holds: it
/// first seals and uploads the events it covers, tiles included. So a
/// machine lost right after it loses no signed event, and the standby
/// that takes over holds the signed tree instead of writing other events
/// in its place. A writer cut off from the bucket, or fenced, signs
/// nothing the bucket lacks.
#[test]
fn a_checkpoint_of_a_tiered_store_signs_only_what_the_bucket_holds() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bucket = MemoryTier::new();
    let (a_net, b_net) = (bucket.view(), bucket.view());
    let key = SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    let a = Store::open_tiered(a_dir.path(), small(8192, 16), leased(&a_net, false)).unwrap();
    fill(&a, 5, 0, 100);
    // No sync_tier: the last events are in the active segment.
    let note = a.checkpoint(5, &key, None, None).unwrap();
    let signed = verify_checkpoint(&note, &key.vkey()).unwrap();
    assert_eq!(signed.size, 100);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.chain_head(5).unwrap().next_offset, 100);
    assert_eq!(remote.tree_root(5, Some(100)).unwrap(), signed.root);
    assert_bucket_has_tiles(&bucket, &a, 5, 100);

    // Cut off from the bucket: what it holds is still signed, with no
    // wait; what it lacks is not.
    a_net.set_down(true);
    assert_eq!(a.checkpoint(5, &key, Some(100), None).unwrap(), note);
    let tail = fill(&a, 5, 100, 10);
    let err = a.checkpoint(5, &key, None, None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");

    // A's machine is lost: a standby takes over and holds every signed
    // event; signing the same tree gives the same note.
    let b = take_over(b_dir.path(), leased(&b_net, true));
    assert_eq!(b.chain_head(5).unwrap().next_offset, 100);
    assert_eq!(b.checkpoint(5, &key, Some(100), None).unwrap(), note);
    let b_head = b.append(5, b"from the standby").unwrap();
    let later =
        verify_checkpoint(&b.checkpoint(5, &key, None, None).unwrap(), &key.vkey()).unwrap();
    assert_eq!(later.size, b_head.next_offset);

    // A's network comes back: fenced, it signs none of its own tail, and
    // still signs the tree the log holds.
    a_net.set_down(false);
    assert!(tail.next_offset > 100);
    match a.checkpoint(5, &key, None, None) {
        Err(Error::Locked(_)) => {}
        other => panic!("a fenced writer signed its own tail: {other:?}"),
    }
    assert_eq!(a.checkpoint(5, &key, Some(100), None).unwrap(), note);
    b.close().unwrap();
}

/// A reader of a bucket is a snapshot with no directory: waiting past its
/// end fails at once instead of never returning, and what a read-only
/// handle records durably (consumer cursors, signed checkpoints) it
/// refuses rather than keep in memory and lose.
#[test]
fn a_reader_of_a_bucket_refuses_what_it_cannot_keep_and_never_waits() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 1, 0, 40);
    store.sync_tier().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.wait(1, 39, None).unwrap(), 40);
    let started = std::time::Instant::now();
    match remote.wait(1, 40, None) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("never grows"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        remote.wait(9, 0, Some(Duration::from_secs(60))),
        Err(Error::InvalidArgument(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(30));
    match remote.commit_cursor(1, "projector", 10) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("reader of a bucket"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(remote.cursor(1, "projector").unwrap(), 0);
    let key = SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    assert!(matches!(
        remote.checkpoint(1, &key, None, None),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        remote.receipt(1, 3, &key, None),
        Err(Error::InvalidArgument(_))
    ));
    // Roots and proofs need no record: they work.
    assert_eq!(
        remote.tree_root(1, None).unwrap(),
        store.tree_root(1, None).unwrap()
    );
    store.close().unwrap();
}

/// A checkpoint uploads its own stream only, and does not count as a
/// `sync_tier`: a store closed with another stream's events the bucket
/// lacks keeps its lease.
#[test]
fn a_checkpoint_leaves_the_other_streams_and_the_lease_as_they_are() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let open = |i: usize| Store::open_tiered(dirs[i].path(), small(8192, 16), config(&bucket));
    let key = SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    let a = open(0).unwrap();
    fill(&a, 1, 0, 20);
    a.sync_tier().unwrap();
    let other = fill(&a, 2, 0, 20);
    fill(&a, 1, 20, 20);
    a.checkpoint(1, &key, None, None).unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.chain_head(1).unwrap().next_offset, 40);
    assert_eq!(remote.chain_head(2).unwrap().next_offset, 0);
    a.close().unwrap();
    assert!(matches!(open(1), Err(Error::Locked(_))));
    let a = open(0).unwrap();
    assert_eq!(a.chain_head(2).unwrap(), other);
    a.sync_tier().unwrap();
    a.close().unwrap();
    open(1).unwrap().close().unwrap();
}

/// `stream`'s segment, index and part objects in the bucket, by name:
/// (key, base, epoch).
fn stream_objects(bucket: &MemoryTier, stream: u64) -> Vec<(String, u64, u64)> {
    let prefix = format!("streams/{stream:020}/");
    bucket
        .keys()
        .into_iter()
        .filter_map(|key| {
            let name = key.strip_prefix(&prefix)?;
            let (stem, ext) = name.rsplit_once('.')?;
            let fields: Vec<&str> = stem.split('-').collect();
            let (base, epoch) = match (ext, fields.as_slice()) {
                ("seg" | "idx", [base, epoch]) | ("part", [base, _, epoch]) => (base, epoch),
                _ => return None,
            };
            let epoch = u64::from_str_radix(epoch, 16).unwrap();
            Some((key.clone(), base.parse().unwrap(), epoch))
        })
        .collect()
}

#[test]
fn what_a_fenced_writer_put_but_never_listed_is_swept_by_its_successor() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let (a_net, b_net) = (bucket.view(), bucket.view());
    let lease = |net: &MemoryTier, takeover| TierConfig {
        // Parts of four entries, so a round folds a part before its
        // manifest write.
        manifest_part_entries: 4,
        ..leased(net, takeover)
    };
    let a = Store::open_tiered(a_dir.path(), small(8192, 16), lease(&a_net, false)).unwrap();
    let synced = fill(&a, 5, 0, 100);
    a.sync_tier().unwrap();
    a_net.set_down(true);
    // Events B will never have.
    fill(&a, 5, 1000, 300);
    let b = take_over(b_dir.path(), lease(&b_net, true));
    // A's network comes back: its round puts its segments and a part,
    // then loses the manifest's compare-and-swap to B's stamp.
    a_net.set_down(false);
    assert!(matches!(a.sync_tier(), Err(Error::Locked(_))));
    let orphans: Vec<String> = stream_objects(&bucket, 5)
        .into_iter()
        .filter(|(_, base, epoch)| *epoch == 1 && *base >= synced.next_offset)
        .map(|(key, ..)| key)
        .collect();
    assert!(orphans.iter().any(|k| k.ends_with(".seg")), "{orphans:?}");
    assert!(orphans.iter().any(|k| k.ends_with(".part")), "{orphans:?}");
    drop(a);
    fill(&b, 5, 100, 300);
    b.sync_tier().unwrap();
    b.close().unwrap();

    // What B's successor finds besides: an object of B's epoch that no
    // manifest lists (as if B too had been fenced mid-round), one of the
    // successor's epoch (an upload of its own, about to be listed), and
    // one the store did not name.
    let stream_dir = format!("streams/{:020}", 5);
    let far = 1u64 << 40;
    let stale = format!("{stream_dir}/{far:020}-{:08x}.seg", 2);
    let own = format!("{stream_dir}/{far:020}-{:08x}.idx", 3);
    let stranger = format!("{stream_dir}/README");
    for key in [&stale, &own, &stranger] {
        bucket.overwrite(key, b"not listed".to_vec());
    }
    let kept: Vec<String> = stream_objects(&bucket, 5)
        .into_iter()
        .filter(|(key, base, epoch)| {
            key != &stale && key != &own && (*epoch == 2 || *base < synced.next_offset)
        })
        .map(|(key, ..)| key)
        .collect();
    // B released its lease (the bucket holds everything): a standby
    // takes it at once, under the next epoch.
    let c_dir = tempfile::tempdir().unwrap();
    let c = Store::open_tiered(c_dir.path(), small(8192, 16), lease(&bucket, false)).unwrap();
    assert_eq!(c.tier_stats().unwrap().epoch, 3);
    let head = fill(&c, 5, 400, 10);
    c.sync_tier().unwrap();
    let keys = bucket.keys();
    for gone in orphans.iter().chain([&stale]) {
        assert!(!keys.contains(gone), "{gone} is still there");
    }
    for key in kept.iter().chain([&own, &stranger]) {
        assert!(keys.contains(key), "{key} was deleted");
    }
    assert_eq!(c.tier_stats().unwrap().last_error, None);
    c.close().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(5, &head).unwrap();
    assert_eq!(read_all(&remote, 5), expected(5, 410));
}

#[test]
fn a_clean_close_with_everything_in_the_bucket_releases_the_lease() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let open = |i: usize| Store::open_tiered(dirs[i].path(), small(8192, 16), config(&bucket));

    // Closed without sync_tier: the active segment is not in the bucket,
    // so the lease stays and a second writer is refused.
    let a = open(0).unwrap();
    fill(&a, 1, 0, 50);
    a.close().unwrap();
    assert!(matches!(open(1), Err(Error::Locked(_))));

    // Synced, then appended again: still refused.
    let a = open(0).unwrap();
    fill(&a, 1, 50, 50);
    a.sync_tier().unwrap();
    a.append(1, b"after the sync").unwrap();
    a.close().unwrap();
    assert!(matches!(open(1), Err(Error::Locked(_))));

    // Synced with nothing after: released. B opens without takeover,
    // raises the epoch and continues from the bucket.
    let a = open(0).unwrap();
    let head = a.append(1, b"the last one").unwrap();
    a.sync_tier().unwrap();
    a.close().unwrap();
    let b = open(1).unwrap();
    assert_eq!(b.tier_stats().unwrap().epoch, 2);
    assert_eq!(b.chain_head(1).unwrap(), head);
    assert_eq!(read_all(&b, 1).len(), 102);
    // B holds it now: A and anyone else are refused until B releases it.
    assert!(matches!(open(0), Err(Error::Locked(_))));
    assert!(matches!(open(2), Err(Error::Locked(_))));
    b.sync_tier().unwrap();
    drop(b);
    let c = open(2).unwrap();
    assert_eq!(
        c.tier_stats().unwrap().epoch,
        3,
        "a dropped store releases too"
    );
    let from_c = c.append(1, b"from C").unwrap();
    c.sync_tier().unwrap();
    c.close().unwrap();

    // Back to A's directory: the segment A started after its last sync is
    // empty, and the bucket's segment there (C's) begins as it does, so A
    // continues from the bucket.
    let a = open(0).unwrap();
    assert_eq!(a.tier_stats().unwrap().epoch, 4);
    assert_eq!(a.chain_head(1).unwrap(), from_c);
    let all = read_all(&a, 1);
    assert_eq!(
        (all.len(), all[102].as_slice()),
        (103, b"from C".as_slice())
    );
    let last = a.append(1, b"A again").unwrap();
    a.sync_tier().unwrap();
    a.close().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.verify_against(1, &last).unwrap().events, 104);

    // Opened after a release, a session that appends nothing releases
    // again, with no sync_tier: a reader's visit does not hold a move up.
    let a = open(0).unwrap();
    assert_eq!(read_all(&a, 1).len(), 104);
    a.close().unwrap();
    let c = open(2).unwrap();
    assert_eq!(c.chain_head(1).unwrap(), last);
    c.close().unwrap();
    // One that appends keeps it, as before.
    let a = open(0).unwrap();
    a.append(1, b"not uploaded").unwrap();
    a.close().unwrap();
    assert!(matches!(open(2), Err(Error::Locked(_))));
}

#[test]
fn a_brand_new_store_that_appends_nothing_releases_its_lease() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let open = |i: usize| Store::open_tiered(dirs[i].path(), small(8192, 16), config(&bucket));

    // Nothing anywhere, nothing appended: the bucket holds every event.
    open(0).unwrap().close().unwrap();
    let b = open(1).unwrap();
    assert_eq!(b.tier_stats().unwrap().epoch, 2, "taken after a release");
    b.append(1, b"from B").unwrap();
    b.close().unwrap();
    assert!(matches!(open(2), Err(Error::Locked(_))));

    // A plain store with events, tiered for the first time into an empty
    // bucket: the bucket does not hold them, so the lease is kept.
    let other = MemoryTier::new();
    let plain = tempfile::tempdir().unwrap();
    let store = Store::open(plain.path(), small(8192, 16)).unwrap();
    fill(&store, 4, 0, 10);
    store.close().unwrap();
    Store::open_tiered(plain.path(), small(8192, 16), config(&other))
        .unwrap()
        .close()
        .unwrap();
    assert!(matches!(
        Store::open_tiered(dirs[2].path(), small(8192, 16), config(&other)),
        Err(Error::Locked(_))
    ));
}

#[test]
fn a_stream_pruned_before_it_was_tiered_uploads_from_its_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small(8192, 16)).unwrap();
    let head = fill(&store, 3, 0, 400);
    let first = store.prune(3, 200).unwrap();
    assert!(first > 0);
    store.close().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    store.close().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.first_offset(3).unwrap(), first);
    remote.verify_against(3, &head).unwrap();
    assert!(matches!(
        remote.read_from(3, 0, 1),
        Err(Error::Pruned { first_offset, .. }) if first_offset == first
    ));
}

/// A bucket reader opened before a prune that deleted objects it lists:
/// a read of the pruned events is `Pruned`, naming the new first offset,
/// not an I/O error; the events kept read and verify as before.
#[test]
fn a_bucket_reader_opened_before_a_prune_reads_pruned_as_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let head = fill(&store, 1, 0, 600);
    store.sync_tier().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.first_offset(1).unwrap(), 0);
    let first = store.prune(1, 300).unwrap();
    assert!(first > 0);
    store.sync_tier().unwrap();
    assert!(object_bases(&bucket, 1)[0] >= first);
    for offset in [0, first - 1] {
        match remote.read_from(1, offset, 1) {
            Err(Error::Pruned {
                stream: 1,
                offset: at,
                first_offset,
            }) => assert_eq!((at, first_offset), (offset, first)),
            other => panic!("reading offset {offset}: {other:?}"),
        }
    }
    assert_eq!(
        remote.read_from(1, first, 1).unwrap()[0].to_vec(),
        payload(1, first, 200)
    );
    // A verify checks what the stream holds now: from the prune anchor.
    let report = remote.verify_against(1, &head).unwrap();
    assert_eq!(report.events, 600 - first);
    store.close().unwrap();
}

#[test]
fn a_garbled_manifest_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 2, 0, 100);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let key = format!("streams/{:020}/MANIFEST", 2);
    let mut bytes = bucket.get(&key).unwrap().unwrap().bytes;
    bytes[90] ^= 0xff;
    bucket.overwrite(&key, bytes);
    match Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()) {
        Err(Error::Corruption {
            stream: 2, reason, ..
        }) => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn appends_go_on_while_the_bucket_is_down_and_uploads_resume() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    bucket.set_down(true);
    let head = fill(&store, 4, 0, 200);
    let err = store.sync_tier().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let stats = store.tier_stats().unwrap();
    assert!(stats.pending_segments >= 1, "{stats:?}");
    assert!(stats.pending_bytes > 0);
    assert!(
        stats.last_error.as_deref().unwrap_or("").contains("down"),
        "{stats:?}"
    );
    store.close().unwrap();

    // A restart finds the sealed segments still pending and uploads them.
    bucket.set_down(false);
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    let stats = store.tier_stats().unwrap();
    assert_eq!((stats.pending_segments, stats.last_error), (0, None));
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(4, &head).unwrap();
    store.close().unwrap();
}

#[test]
fn objects_left_by_a_crash_before_the_manifest_write_are_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let head = fill(&store, 6, 0, 150);
    store.sync_tier().unwrap();
    store.close().unwrap();
    // As if the writer died after putting the objects, before the first
    // manifest write: the objects are there, no manifest lists them.
    let manifest = format!("streams/{:020}/MANIFEST", 6);
    let before = bucket.get(&manifest).unwrap().unwrap().bytes;
    bucket.delete(&manifest).unwrap();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    let after = bucket.get(&manifest).unwrap().unwrap().bytes;
    // The same entries (only the sequence number differs).
    assert_eq!(before.len(), after.len());
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(6, &head).unwrap();
    // An object with other bytes under the same key is never adopted.
    store.close().unwrap();
    let seg = bucket
        .keys()
        .into_iter()
        .find(|k| k.contains(&format!("{:020}/", 6)) && k.ends_with(".seg"))
        .unwrap();
    bucket.delete(&manifest).unwrap();
    bucket.overwrite(&seg, b"someone else's bytes".to_vec());
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("other contents"), "{err}");
    store.close().unwrap();
}

#[test]
fn an_unlisted_part_an_older_build_left_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    cfg.manifest_part_entries = 3;
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let head = fill(&store, 6, 0, 200);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let parts = part_keys(&bucket, 6);
    assert!(!parts.is_empty());
    let key = format!("streams/{:020}/", 6);
    let part = bucket
        .keys()
        .into_iter()
        .find(|k| k.starts_with(&key) && k.ends_with(".part"))
        .unwrap();
    let written = bucket.get(&part).unwrap().unwrap().bytes;
    // As if a build that wrote version-1 parts (136-byte entries, no
    // rules) put it and died before its manifest write: the same
    // segments under the same name, other bytes, listed nowhere.
    assert_eq!(written[8..12], 2u32.to_le_bytes());
    let mut old = written[..24].to_vec();
    old[8..12].copy_from_slice(&1u32.to_le_bytes());
    for entry in written[24..written.len() - 4].chunks(152) {
        old.extend_from_slice(&entry[..136]);
    }
    let crc = crc32fast::hash(&old);
    old.extend_from_slice(&crc.to_le_bytes());
    bucket.overwrite(&part, old);
    bucket.delete(&format!("{key}MANIFEST")).unwrap();

    // A bucket refusing the delete keeps the old part and fails the
    // round, saying why; once it deletes again, the part is replaced.
    bucket.set_deletes_fail(true);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(
        err.to_string()
            .contains("an unlisted part of an older version"),
        "{err}"
    );
    assert_ne!(bucket.get(&part).unwrap().unwrap().bytes, written);
    bucket.set_deletes_fail(false);
    store.sync_tier().unwrap();
    assert_eq!(bucket.get(&part).unwrap().unwrap().bytes, written);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(6, &head).unwrap();
    store.close().unwrap();

    // Other bytes that are not those segments stay, and stop the uploads.
    bucket.overwrite(&part, b"someone else's part".to_vec());
    bucket.delete(&format!("{key}MANIFEST")).unwrap();
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("other contents"), "{err}");
    assert_eq!(
        bucket.get(&part).unwrap().unwrap().bytes,
        b"someone else's part".to_vec()
    );
    store.close().unwrap();
}

#[test]
fn an_untiered_store_refuses_to_sync_tier() {
    let plain = tempfile::tempdir().unwrap();
    let store = Store::open(plain.path(), small(8192, 16)).unwrap();
    assert!(matches!(store.sync_tier(), Err(Error::InvalidArgument(_))));
    assert!(store.tier_stats().is_none());
}

/// The base offsets of `stream`'s segment objects in the bucket (`.seg`
/// and `.idx` alike).
fn object_bases(bucket: &MemoryTier, stream: u64) -> Vec<u64> {
    let prefix = format!("streams/{stream:020}/");
    let mut bases: Vec<u64> = bucket
        .keys()
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter(|rest| rest.ends_with(".seg") || rest.ends_with(".idx"))
        .map(|rest| rest[..20].parse().unwrap())
        .collect();
    bases.dedup();
    bases
}

fn anchor_keys(bucket: &MemoryTier, stream: u64) -> Vec<String> {
    let prefix = format!("streams/{stream:020}/ANCHOR-");
    bucket
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

/// What a reader of the bucket alone sees after a prune to `first`: the
/// stream starts there, verifies against `head`, and says `Pruned` below.
fn assert_bucket_pruned_to(bucket: &MemoryTier, stream: u64, first: u64, head: &ChainHead) {
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.first_offset(stream).unwrap(), first);
    assert_eq!(
        remote.verify_against(stream, head).unwrap().events,
        head.next_offset - first
    );
    assert!(matches!(
        remote.read_from(stream, first - 1, 1),
        Err(Error::Pruned { first_offset, .. }) if first_offset == first
    ));
    assert_eq!(
        remote.read_from(stream, first, 1).unwrap()[0].to_vec(),
        payload(stream, first, 200)
    );
    let bases = object_bases(bucket, stream);
    assert_eq!(bases.first(), Some(&first), "{bases:?}");
    assert_eq!(
        anchor_keys(bucket, stream),
        vec![format!("streams/{stream:020}/ANCHOR-{first:020}")]
    );
}

#[test]
fn a_prune_of_a_tiered_store_moves_the_bucket_and_deletes_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    // Some segments only in the bucket, some local too.
    cfg.local_cache_bytes = Some(3 * 8192);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    fill(&store, 1, 0, 1000);
    fill(&store, 2, 0, 300);
    store.sync_tier().unwrap();
    assert!(store.tier_stats().unwrap().evicted_segments > 0);
    let other =
        bucket.keys().len() - tile_keys(&bucket, 1).len() - object_bases(&bucket, 1).len() * 2;

    let first = store.prune(1, 600).unwrap();
    assert!(first > 300 && first <= 600, "{first}");
    store.sync_tier().unwrap();
    let head = store.chain_head(1).unwrap();
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    // The other stream is untouched.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(read_all(&remote, 2), expected(2, 300));
    assert!(
        bucket.keys().len() - tile_keys(&bucket, 1).len() - object_bases(&bucket, 1).len() * 2
            >= other
    );
    // The writer reads what is left, from either place.
    assert!(matches!(
        store.read_from(1, 0, 1),
        Err(Error::Pruned { .. })
    ));
    assert_eq!(
        store.read_from(1, first, 1).unwrap()[0].to_vec(),
        payload(1, first, 200)
    );
    store.verify_against(1, &head).unwrap();

    // The tree's tiles go on over the prune, byte for byte what the
    // exporter writes for the same events (from an unpruned store: the
    // entry bundles of pruned events cannot be exported).
    let head = fill(&store, 1, 1000, 200);
    store.sync_tier().unwrap();
    let replica_dir = tempfile::tempdir().unwrap();
    let replica = Store::open(replica_dir.path(), small(8192, 16)).unwrap();
    fill(&replica, 1, 0, 1300);
    assert_bucket_has_tiles(&bucket, &replica, 1, 1200);

    // A second prune drops the first anchor with the segments.
    let second = store.prune(1, 900).unwrap();
    assert!(second > first, "{second}");
    store.sync_tier().unwrap();
    assert_bucket_pruned_to(&bucket, 1, second, &head);
    store.close().unwrap();

    // A restart goes on from there, tiles and all.
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    let head = fill(&store, 1, 1200, 100);
    store.sync_tier().unwrap();
    assert_bucket_pruned_to(&bucket, 1, second, &head);
    assert_bucket_has_tiles(&bucket, &replica, 1, 1300);
    store.close().unwrap();
}

/// A pruned stream's proofs need the leaves of its removed events, which
/// only the writer's local tree files and the bucket's tiles still hold. A
/// reader of the bucket and a writer that moved to a new machine take them
/// from the tiles, checked against the prune anchor's roots: the same
/// roots, proofs and checkpoints as the writer that pruned, and tiles
/// that lie are `Corruption`, never served.
#[test]
fn proofs_of_a_pruned_stream_come_from_the_bucket_and_survive_a_move() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bucket = MemoryTier::new();
    let key = SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    let a = Store::open_tiered(a_dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&a, 1, 0, 1000);
    let first = a.prune(1, 600).unwrap();
    assert!(first > 300 && !first.is_multiple_of(64), "{first}");
    a.sync_tier().unwrap();
    let root = a.tree_root(1, None).unwrap();
    let inclusion = a.inclusion_proof(1, 700, None).unwrap();
    let consistency = a.consistency_proof(1, 800, None).unwrap();
    let old_consistency = a.consistency_proof(1, 100, None).unwrap();
    let note = a.checkpoint(1, &key, None, None).unwrap();

    let same_proofs = |store: &Store| {
        assert_eq!(store.tree_root(1, None).unwrap(), root);
        assert_eq!(store.inclusion_proof(1, 700, None).unwrap(), inclusion);
        assert_eq!(store.consistency_proof(1, 800, None).unwrap(), consistency);
        assert_eq!(
            store.consistency_proof(1, 100, None).unwrap(),
            old_consistency
        );
    };
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    same_proofs(&remote);

    // A planned move: the new machine has no tree files at all.
    a.close().unwrap();
    let b = Store::open_tiered(b_dir.path(), small(8192, 16), config(&bucket)).unwrap();
    assert_eq!(b.first_offset(1).unwrap(), first);
    same_proofs(&b);
    assert_eq!(b.checkpoint(1, &key, None, None).unwrap(), note);
    let head = b.append(1, b"after the move").unwrap();
    assert_eq!(b.tree_root(1, Some(1000)).unwrap(), root);
    let receipt = b.receipt(1, 1000, &key, None).unwrap();
    let (offset, _) =
        stratalog_core::verify_receipt(&receipt, &key.vkey().to_string(), b"after the move")
            .unwrap();
    assert_eq!(offset, 1000);
    b.sync_tier().unwrap();
    b.close().unwrap();
    // Its tree files now hold the pruned range: a reopen needs no tiles.
    let tile = format!("streams/{:020}/tile/0/000", 1);
    let mut bytes = bucket.get(&tile).unwrap().unwrap().bytes;
    bucket.delete(&tile).unwrap();
    let b = Store::open_tiered(b_dir.path(), small(8192, 16), config(&bucket)).unwrap();
    assert_eq!(b.tree_root(1, Some(1000)).unwrap(), root);
    assert_eq!(b.chain_head(1).unwrap(), head);
    b.sync_tier().unwrap();
    b.close().unwrap();

    // A level-0 tile below the first offset that lies: never served.
    bytes[40] ^= 1;
    bucket.put(&tile, bytes.clone()).unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    match remote.tree_root(1, None) {
        Err(Error::Corruption { stream: 1, .. }) => {}
        other => panic!("a lying tile was believed: {other:?}"),
    }
    // A writer on a new machine keeps none of it: once the tile is mended
    // its tree loads.
    let c_dir = tempfile::tempdir().unwrap();
    let c = Store::open_tiered(c_dir.path(), small(8192, 16), config(&bucket)).unwrap();
    assert!(matches!(
        c.tree_root(1, None),
        Err(Error::Corruption { stream: 1, .. })
    ));
    bytes[40] ^= 1;
    bucket.overwrite(&tile, bytes);
    assert_eq!(c.tree_root(1, Some(1000)).unwrap(), root);
    c.close().unwrap();
}

/// Objects a prune's round could not delete (the bucket refused, or the
/// writer died between the manifest's move and its deletes) are deleted by
/// a later round, and nothing at or past the first offset is.
#[test]
fn objects_a_prune_left_in_the_bucket_are_swept_by_a_later_round() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 1, 0, 1000);
    store.sync_tier().unwrap();
    bucket.set_deletes_fail(true);
    let first = store.prune(1, 600).unwrap();
    // The bucket holds everything appended: `sync_tier` returns, once the
    // deletes were tried. Their failure is the stream's error.
    store.sync_tier().unwrap();
    let refused = |store: &Store| {
        let stats = store.tier_stats().unwrap();
        stats
            .last_error
            .is_some_and(|e| e.contains("refused the delete"))
    };
    assert!(refused(&store), "{:?}", store.tier_stats());
    // The manifest moved; what it dropped is still there.
    assert!(object_bases(&bucket, 1)[0] < first);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.first_offset(1).unwrap(), first);
    drop(remote);
    // Still refused: appends go on and are uploaded.
    let head = fill(&store, 1, 1000, 100);
    store.sync_tier().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(1, &head).unwrap();
    drop(remote);
    assert!(object_bases(&bucket, 1)[0] < first);
    // Partial tiles whose full tile is up, which the refused deletes left.
    let stale_partials = |bucket: &MemoryTier| {
        let keys = bucket.keys();
        keys.iter()
            .filter(|k| {
                k.split_once(".p/")
                    .is_some_and(|(full, _)| keys.iter().any(|f| f == full))
            })
            .count()
    };
    assert!(stale_partials(&bucket) > 0);
    bucket.set_deletes_fail(false);
    let head = fill(&store, 1, 1100, 100);
    store.sync_tier().unwrap();
    assert_eq!(object_bases(&bucket, 1)[0], first);
    assert_eq!(stale_partials(&bucket), 0);
    assert_eq!(store.tier_stats().unwrap().last_error, None);
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    store.close().unwrap();

    // What a writer that died between a manifest's move and its deletes
    // leaves: objects below the first offset, of any epoch, and an older
    // anchor. The first round after the next open deletes them.
    let stream_dir = format!("streams/{:020}", 1);
    let leftovers = [
        format!("{stream_dir}/{:020}-{:08x}.seg", 16, 1),
        format!("{stream_dir}/{:020}-{:08x}.idx", first - 1, 7),
        format!("{stream_dir}/ANCHOR-{:020}", first / 2),
    ];
    for key in &leftovers {
        bucket.overwrite(key, b"left behind".to_vec());
    }
    // The segment and index objects the manifest lists, all at or past
    // the first offset: none of them may go.
    let listed: Vec<String> = bucket
        .keys()
        .into_iter()
        .filter(|k| (k.ends_with(".seg") || k.ends_with(".idx")) && !leftovers.contains(k))
        .collect();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let head = fill(&store, 1, 1200, 100);
    store.sync_tier().unwrap();
    let keys = bucket.keys();
    assert!(leftovers.iter().all(|k| !keys.contains(k)), "{keys:?}");
    assert!(listed.iter().all(|k| keys.contains(k)));
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    store.close().unwrap();
}

#[test]
fn a_prune_the_bucket_missed_reaches_it_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 1, 0, 400);
    store.sync_tier().unwrap();
    let bucket_end = object_bases(&bucket, 1).into_iter().max().unwrap();
    // The bucket goes down: what follows is neither uploaded nor pruned
    // there, and the prune goes past everything the bucket holds.
    bucket.set_down(true);
    fill(&store, 1, 400, 600);
    let first = store.prune(1, 800).unwrap();
    assert!(first > bucket_end + 100, "{first} vs {bucket_end}");
    assert!(matches!(store.sync_tier(), Err(Error::Io { .. })));
    let head = store.chain_head(1).unwrap();
    store.close().unwrap();

    bucket.set_down(false);
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    let head = fill(&store, 1, 1000, 50);
    store.sync_tier().unwrap();
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    store.close().unwrap();
}

/// A local prune anchor at a point the bucket's chain does not pass (here
/// the bucket's entry there carries another base hash) is divergence: the
/// bucket's manifest and objects are left as they are.
#[test]
fn a_prune_the_bucket_chain_does_not_pass_moves_nothing() {
    use stratalog_core::tier::manifest::Manifest;
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 1, 0, 600);
    store.sync_tier().unwrap();
    bucket.set_down(true);
    let first = store.prune(1, 300).unwrap();
    store.close().unwrap();
    bucket.set_down(false);
    let key = format!("streams/{:020}/MANIFEST", 1);
    let mut manifest = Manifest::decode(&bucket.get(&key).unwrap().unwrap().bytes, 1).unwrap();
    let at = manifest
        .entries
        .iter()
        .position(|e| e.base.next_offset == first)
        .unwrap();
    manifest.entries[at].base.hash[0] ^= 1;
    manifest.entries[at - 1].end.hash[0] ^= 1;
    bucket.overwrite(&key, manifest.encode());
    let objects = object_bases(&bucket, 1);

    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
    let now = Manifest::decode(&bucket.get(&key).unwrap().unwrap().bytes, 1).unwrap();
    assert_eq!(now.first.next_offset, 0);
    assert_eq!(object_bases(&bucket, 1), objects);
    assert_eq!(anchor_keys(&bucket, 1), Vec::<String>::new());
    store.close().unwrap();
}

/// Prunes racing the uploader (a thread syncing the tier over and over):
/// whatever the interleaving, the bucket ends up starting where the last
/// prune did, holding every event from there, and nothing below it.
#[test]
fn prunes_racing_the_uploads_leave_the_bucket_where_the_last_one_did() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    cfg.local_cache_bytes = Some(2 * 8192);
    let store = Arc::new(Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let syncer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = store.sync_tier();
            }
        })
    };
    let mut first = 0;
    for round in 0..12u64 {
        fill(&store, 1, round * 150, 150);
        first = store
            .apply_retention(1, stratalog_core::Retention::KeepLast(300))
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    syncer.join().unwrap();
    assert!(first > 1000, "{first}");
    store.sync_tier().unwrap();
    let head = store.chain_head(1).unwrap();
    assert_eq!(head.next_offset, 1800);
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    Arc::try_unwrap(store).unwrap().close().unwrap();
}

#[test]
fn a_local_segment_the_manifest_does_not_list_stops_the_uploads() {
    use stratalog_core::tier::manifest::Manifest;
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 4, 0, 200);
    store.sync_tier().unwrap();
    store.close().unwrap();
    // The bucket's manifest now lists the first two segments as one: the
    // local second segment is inside the bucket's history but not in it.
    let key = format!("streams/{:020}/MANIFEST", 4);
    let mut manifest = Manifest::decode(&bucket.get(&key).unwrap().unwrap().bytes, 4).unwrap();
    assert!(manifest.entries.len() >= 3);
    let second = manifest.entries.remove(1);
    manifest.entries[0].end = second.end;
    bucket.overwrite(&key, manifest.encode());
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 4, 200, 100);
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
    assert!(store
        .tier_stats()
        .unwrap()
        .last_error
        .unwrap()
        .contains("diverged"));
    store.close().unwrap();
}

/// Index files of sealed segments, by path, with their bytes.
fn local_indexes(root: &std::path::Path, stream: u64) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    segments(root, stream)
        .into_iter()
        .map(|seg| seg.with_extension("idx"))
        .filter(|idx| idx.exists())
        .map(|idx| {
            let bytes = std::fs::read(&idx).unwrap();
            (idx, bytes)
        })
        .collect()
}

#[test]
fn a_missing_or_garbled_local_index_is_rebuilt_before_its_upload() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    bucket.set_down(true);
    let head = fill(&store, 5, 0, 300);
    store.close().unwrap();
    let sealed = local_indexes(dir.path(), 5);
    assert!(sealed.len() >= 3, "{sealed:?}");
    // One index gone, one garbled (its CRC no longer holds): both are a
    // cache, which the seal wrote and the uploader can write again.
    std::fs::remove_file(&sealed[0].0).unwrap();
    let mut garbled = sealed[1].1.clone();
    garbled[20] ^= 0x40;
    std::fs::write(&sealed[1].0, garbled).unwrap();

    bucket.set_down(false);
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    let stats = store.tier_stats().unwrap();
    assert_eq!((stats.pending_segments, stats.last_error), (0, None));
    store.close().unwrap();
    // Rebuilt byte for byte as the seal wrote them, locally and in the
    // bucket, whose reader verifies the stream with them.
    for (idx, bytes) in &sealed {
        assert_eq!(&std::fs::read(idx).unwrap(), bytes, "{}", idx.display());
        let base = idx.file_stem().unwrap().to_str().unwrap();
        let key = bucket
            .keys()
            .into_iter()
            .find(|k| k.contains(&format!("{:020}/{base}", 5)) && k.ends_with(".idx"))
            .unwrap();
        assert_eq!(&bucket.get(&key).unwrap().unwrap().bytes[..], &bytes[..]);
    }
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(5, &head).unwrap();
    assert_eq!(read_all(&remote, 5), expected(5, 300));
}

#[test]
fn a_segment_without_an_index_whose_records_are_damaged_is_not_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    bucket.set_down(true);
    fill(&store, 5, 0, 300);
    store.close().unwrap();
    let first = segments(dir.path(), 5)[0].clone();
    std::fs::remove_file(first.with_extension("idx")).unwrap();
    // A byte inside a record's payload: its CRC no longer holds.
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&first, bytes).unwrap();

    bucket.set_down(false);
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("met damage"), "{err}");
    let stats = store.tier_stats().unwrap();
    assert!(stats.last_error.unwrap().contains("met damage"));
    assert!(stats.pending_segments >= 3);
    assert!(!first.with_extension("idx").exists());
    assert!(
        !bucket.keys().iter().any(|k| k.ends_with(".seg")),
        "{:?}",
        bucket.keys()
    );
    store.close().unwrap();
}

/// The tlog-tiles the store exports for `stream` at `size`, by bucket key
/// (`streams/<id>/tile/...`), without the checkpoint.
fn exported_tiles(
    store: &Store,
    stream: u64,
    size: u64,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let key = stratalog_core::SigningKey::from_seed("example.com/audit", &[7u8; 32]);
    let dir = tempfile::tempdir().unwrap();
    store
        .export_tiles(stream, &key, dir.path(), Some(size))
        .unwrap();
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.path().join("tile")];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir.path()).unwrap().to_owned();
                let key = format!("streams/{stream:020}/{}", rel.display());
                files.insert(key, std::fs::read(e.path()).unwrap());
            }
        }
    }
    files
}

/// Every tile of the exporter's tree of `size` is in the bucket, byte for
/// byte.
fn assert_bucket_has_tiles(bucket: &MemoryTier, store: &Store, stream: u64, size: u64) {
    let tiles = exported_tiles(store, stream, size);
    // At least a level-0 tile and its entry bundle.
    assert!(tiles.len() >= 2, "{:?}", tiles.keys());
    for (key, bytes) in tiles {
        let got = bucket.get(&key).unwrap();
        assert_eq!(got.map(|o| o.bytes), Some(bytes), "{key} at size {size}");
    }
}

fn tile_keys(bucket: &MemoryTier, stream: u64) -> Vec<String> {
    bucket
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&format!("streams/{stream:020}/tile/")))
        .collect()
}

#[test]
fn a_stream_first_tiered_with_history_puts_its_tiles_with_no_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small(8192, 16)).unwrap();
    fill(&store, 2, 0, 700);
    store.close().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let lists = bucket.lists();
    store.sync_tier().unwrap();
    // The bucket had no manifest of it, so it has none of its tiles:
    // neither a GET per size its tiles might have reached nor a listing.
    assert_eq!(bucket.gets_under(&format!("streams/{:020}/tile/", 2)), 0);
    assert_eq!(bucket.lists(), lists);
    assert_bucket_has_tiles(&bucket, &store, 2, 700);
    store.close().unwrap();
}

#[test]
fn the_trees_tiles_go_up_with_the_segments_and_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    cfg.local_cache_bytes = Some(3 * 8192);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    fill(&store, 2, 0, 700);
    store.sync_tier().unwrap();
    // Partial tiles already up (those of the upper levels, the same from
    // round to round) are not put again, to be read back and compared.
    assert_eq!(bucket.gets_under(&format!("streams/{:020}/tile/", 2)), 0);
    assert_bucket_has_tiles(&bucket, &store, 2, 700);
    // The tiles of a stream are its own.
    fill(&store, 8, 0, 20);
    store.sync_tier().unwrap();
    assert_bucket_has_tiles(&bucket, &store, 8, 20);
    store.close().unwrap();

    // A restart goes on from the partial tiles of the manifest's end.
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    fill(&store, 2, 700, 300);
    store.sync_tier().unwrap();
    assert_bucket_has_tiles(&bucket, &store, 2, 1000);
    store.close().unwrap();

    // As if the writer died after its last manifest write, before that
    // round's tiles: the next open finds them at an earlier end and
    // rebuilds the rest, reading segments evicted to the bucket.
    let at_end: Vec<String> = tile_keys(&bucket, 2)
        .into_iter()
        .filter(|k| k.ends_with(".p/232") || k.ends_with("tile/1/000.p/3"))
        .collect();
    assert_eq!(at_end.len(), 3, "{at_end:?}");
    for key in &at_end {
        bucket.delete(key).unwrap();
    }
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    store.sync_tier().unwrap();
    assert_bucket_has_tiles(&bucket, &store, 2, 1000);
    store.close().unwrap();

    // A bucket with no tiles at all (written before tiles went up) gets
    // them all, from the first segment on.
    for key in tile_keys(&bucket, 2) {
        bucket.delete(&key).unwrap();
    }
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    store.sync_tier().unwrap();
    assert_bucket_has_tiles(&bucket, &store, 2, 1000);
    store.close().unwrap();
}

/// The partial tiles of a tile go once the full tile is up (tlog-tiles
/// allows it), by name, with no listing; a restart resumes from the
/// latest size whose partial tiles are all there, never from a full tile
/// alone (it may have gone up in a batch cut short below it).
#[test]
fn partial_tiles_go_once_their_tile_is_full_and_a_restart_resumes_from_whole_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let cfg = evicting(&bucket);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    // A round ends every 60 events: partial tiles at every one of them.
    fill(&store, 1, 0, 60);
    store.sync_tier().unwrap();
    let lists = bucket.lists();
    for round in 1..10 {
        fill(&store, 1, round * 60, 60);
        store.sync_tier().unwrap();
    }
    // Full tiles went up (and made partial tiles stale) without a listing.
    assert_eq!(bucket.lists(), lists);
    let tiles = tile_keys(&bucket, 1);
    let partials_of = |tile: &str| -> Vec<String> {
        let prefix = format!("streams/{:020}/{tile}.p/", 1);
        tiles
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    };
    for full in [
        "tile/0/000",
        "tile/0/001",
        "tile/entries/000",
        "tile/entries/001",
    ] {
        assert!(
            tiles.contains(&format!("streams/{:020}/{full}", 1)),
            "{tiles:?}"
        );
        assert_eq!(partials_of(full), Vec::<String>::new(), "{full}");
    }
    // The tiles still partial keep one per size a round ended at (every
    // sync, and seals between), up to the last.
    let widths = |tile: &str| -> Vec<u64> {
        let mut w: Vec<u64> = partials_of(tile)
            .iter()
            .map(|w| w.parse().unwrap())
            .collect();
        w.sort_unstable();
        w
    };
    let level0 = widths("tile/0/002");
    assert!(
        level0.contains(&28) && level0.last() == Some(&88),
        "{level0:?}"
    );
    assert_eq!(widths("tile/1/000"), vec![1, 2]);
    assert_bucket_has_tiles(&bucket, &store, 1, 600);
    store.close().unwrap();

    // As if the last round's tiles never went up: the next open resumes
    // from the round before (540), reading no segment before it.
    for key in tile_keys(&bucket, 1) {
        if key.ends_with("/002.p/88") {
            bucket.delete(&key).unwrap();
        }
    }
    let first_segment = bucket
        .keys()
        .into_iter()
        .find(|k| k.starts_with(&format!("streams/{:020}/{:020}-", 1, 0)) && k.ends_with(".seg"))
        .unwrap();
    let gets = bucket.gets_of(&first_segment);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let gets_open = bucket.gets_of(&first_segment);
    store.sync_tier().unwrap();
    assert_eq!(
        (gets_open, bucket.gets_of(&first_segment)),
        (gets, gets),
        "rebuilt from the first segment"
    );
    assert_bucket_has_tiles(&bucket, &store, 1, 600);
    store.close().unwrap();

    // A full tile with no partial tiles of a size beside it, and a hole
    // below it (a batch cut short): not a size to resume from. The tiles
    // are built again from the first segment, and the hole filled.
    for key in tile_keys(&bucket, 1) {
        if key.contains("/002.p/") || key.ends_with("tile/1/000.p/2") || key.ends_with("tile/0/000")
        {
            bucket.delete(&key).unwrap();
        }
    }
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    store.sync_tier().unwrap();
    assert!(bucket.gets_of(&first_segment) > gets, "not rebuilt");
    assert_bucket_has_tiles(&bucket, &store, 1, 600);
    fill(&store, 1, 600, 20);
    store.sync_tier().unwrap();
    store.close().unwrap();

    // Resumed at 620, the builder knows only that size's partial tiles of
    // tile 2; once it is full, the widths of earlier sizes go too.
    let earlier = |bucket: &MemoryTier| {
        tile_keys(bucket, 1)
            .iter()
            .filter(|k| k.contains("tile/0/002.p/"))
            .count()
    };
    assert!(earlier(&bucket) > 1);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg).unwrap();
    fill(&store, 1, 620, 180);
    store.sync_tier().unwrap();
    let keys = tile_keys(&bucket, 1);
    let stale: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.split_once(".p/")
                .is_some_and(|(full, _)| keys.iter().any(|f| f == full))
        })
        .collect();
    assert_eq!(stale, Vec::<&String>::new());
    assert_bucket_has_tiles(&bucket, &store, 1, 800);
    store.close().unwrap();
}

/// A stream pruned before it was tiered still gets its whole tree in the
/// bucket: the hash tiles below the first offset come from the local tree
/// files (checked against the prune anchor), byte for byte what the
/// exporter writes for the same events unpruned; the entry bundles of
/// level-0 tiles that start below it are gone with their events.
#[test]
fn a_stream_pruned_before_it_was_tiered_gets_its_hash_tiles_from_the_tree_files() {
    let (pruned, unpruned) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let reference = Store::open(unpruned.path(), small(8192, 16)).unwrap();
    let store = Store::open(pruned.path(), small(8192, 16)).unwrap();
    fill(&reference, 3, 0, 700);
    fill(&store, 3, 0, 700);
    let first = store.prune(3, 600).unwrap();
    assert!(first > 256, "{first}");
    store.close().unwrap();

    let bucket = MemoryTier::new();
    let store = Store::open_tiered(pruned.path(), small(8192, 16), config(&bucket)).unwrap();
    store.sync_tier().unwrap();
    let check = |size: u64| {
        let expected = exported_tiles(&reference, 3, size);
        let in_bucket: std::collections::BTreeSet<String> =
            tile_keys(&bucket, 3).into_iter().collect();
        for (key, bytes) in &expected {
            let entries_below_first = key.contains("/tile/entries/")
                && key
                    .split("/tile/entries/")
                    .nth(1)
                    .map(|n| {
                        n.split(".p/")
                            .next()
                            .unwrap()
                            .replace("x", "")
                            .replace('/', "")
                    })
                    .is_some_and(|n| n.parse::<u64>().unwrap() * 256 < first);
            if entries_below_first {
                assert!(!in_bucket.contains(key), "{key} at size {size}");
            } else {
                let got = bucket.get(key).unwrap().map(|o| o.bytes);
                assert_eq!(got.as_ref(), Some(bytes), "{key} at size {size}");
            }
        }
        // Nothing else, but for partial tiles of earlier sizes a round
        // ended at, whose tile is still partial.
        for key in &in_bucket {
            let still_partial = key
                .split_once(".p/")
                .is_some_and(|(full, _)| !expected.contains_key(full));
            assert!(
                expected.contains_key(key) || still_partial,
                "{key} at size {size}"
            );
        }
    };
    check(700);
    // The tiles go on as events come.
    fill(&reference, 3, 700, 400);
    fill(&store, 3, 700, 400);
    store.sync_tier().unwrap();
    check(1100);
    store.close().unwrap();
    // And after a restart, from the bucket's partial tiles.
    let store = Store::open_tiered(pruned.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&reference, 3, 1100, 50);
    fill(&store, 3, 1100, 50);
    store.sync_tier().unwrap();
    check(1150);
    store.close().unwrap();
}

/// Tree files that cannot vouch for the pruned leaves put no tile up, and
/// say why: a block that fails its CRC, or one whose CRC holds but whose
/// leaves do not make the tree the prune anchor records (a leaf inside,
/// or the last one, whose chain hash the anchor keeps).
#[test]
fn damaged_tree_files_below_the_first_offset_put_no_tile_up() {
    const BLOCK: usize = 64 * 32 + 4;
    /// Flips a bit of leaf `offset` and gives its block a CRC that holds.
    fn forge(bytes: &mut [u8], offset: u64) {
        let chunk = offset / 64;
        let block = &mut bytes[chunk as usize * BLOCK..(chunk as usize + 1) * BLOCK];
        block[(offset % 64) as usize * 32] ^= 1;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&3u64.to_le_bytes());
        crc.update(&chunk.to_le_bytes());
        crc.update(&block[..BLOCK - 4]);
        let crc = crc.finalize().to_le_bytes();
        block[BLOCK - 4..].copy_from_slice(&crc);
    }
    type Damage = fn(&mut Vec<u8>, u64);
    let damages: [(Damage, &str); 3] = [
        (|bytes, _| bytes[5 * BLOCK + 100] ^= 1, "missing or damaged"),
        (
            |bytes, _| forge(bytes, 138),
            "not the one the prune anchor records",
        ),
        (
            |bytes, first| forge(bytes, first - 1),
            "not the one of the chain hash the prune anchor keeps",
        ),
    ];
    for (damage, why) in damages {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), small(8192, 16)).unwrap();
        fill(&store, 3, 0, 700);
        let first = store.prune(3, 600).unwrap();
        store.close().unwrap();
        let leaves = dir.path().join(format!("trees/{:020}/{:020}.leaves", 3, 0));
        let mut bytes = std::fs::read(&leaves).unwrap();
        damage(&mut bytes, first);
        std::fs::write(&leaves, bytes).unwrap();

        let bucket = MemoryTier::new();
        let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
        let err = store.sync_tier().unwrap_err().to_string();
        assert!(err.contains(why) && err.contains("restore trees/"), "{err}");
        assert_eq!(tile_keys(&bucket, 3), Vec::<String>::new());
        // The segments went up all the same.
        let remote =
            Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
        assert_eq!(remote.chain_head(3).unwrap(), store.chain_head(3).unwrap());
        store.close().unwrap();
    }
}

#[test]
fn a_tile_in_the_bucket_with_other_bytes_stops_the_tiles_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 2, 0, 600);
    store.sync_tier().unwrap();
    store.close().unwrap();
    // Every tile goes but a full one, whose bytes change: rebuilding the
    // tiles meets it, and never writes over it.
    let full = format!("streams/{:020}/tile/0/001", 2);
    for key in tile_keys(&bucket, 2) {
        if key != full {
            bucket.delete(&key).unwrap();
        }
    }
    let mut bytes = bucket.get(&full).unwrap().unwrap().bytes;
    bytes[0] ^= 1;
    bucket.overwrite(&full, bytes.clone());
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let err = store.sync_tier().unwrap_err();
    assert!(err.to_string().contains("other contents"), "{err}");
    assert!(store
        .tier_stats()
        .unwrap()
        .last_error
        .unwrap()
        .contains(&full));
    assert_eq!(bucket.get(&full).unwrap().unwrap().bytes, bytes);
    store.close().unwrap();
}

#[test]
fn a_manifest_rewritten_by_an_older_epoch_is_never_written_over() {
    use stratalog_core::tier::manifest::Manifest;
    let bucket = MemoryTier::new();
    let first = tempfile::tempdir().unwrap();
    let store = Store::open_tiered(first.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 4, 0, 100);
    store.sync_tier().unwrap();
    store.close().unwrap();
    // Another machine takes the released lease (epoch 2) and goes on.
    let second = tempfile::tempdir().unwrap();
    let store = Store::open_tiered(second.path(), small(8192, 16), config(&bucket)).unwrap();
    assert_eq!(store.tier_stats().unwrap().epoch, 2);
    fill(&store, 4, 100, 100);
    // Something writes the manifest as epoch 1 would, after epoch 2 took
    // it: no writer of epoch 1 can, so this is not ours to overwrite.
    let key = format!("streams/{:020}/MANIFEST", 4);
    let mut manifest = Manifest::decode(&bucket.get(&key).unwrap().unwrap().bytes, 4).unwrap();
    manifest.epoch = 1;
    manifest.seq += 5;
    let planted = manifest.encode();
    bucket.overwrite(&key, planted.clone());
    let err = store.sync_tier().unwrap_err();
    assert!(
        err.to_string().contains("refusing to write over it"),
        "{err}"
    );
    assert_eq!(bucket.get(&key).unwrap().unwrap().bytes, planted);
    store.close().unwrap();
}

#[test]
fn a_manifest_claiming_a_huge_index_is_not_believed() {
    use stratalog_core::tier::manifest::Manifest;
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    let head = fill(&store, 4, 0, 300);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let key = format!("streams/{:020}/MANIFEST", 4);
    let mut manifest = Manifest::decode(&bucket.get(&key).unwrap().unwrap().bytes, 4).unwrap();
    for entry in &mut manifest.entries {
        entry.index_len = 3 << 30;
    }
    bucket.overwrite(&key, manifest.encode());
    // The index is a cache: the reader never fetches 3 GiB for it, and
    // finds the checkpoints by walking the segment instead.
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(read_all(&remote, 4), expected(4, 300));
    assert_eq!(
        remote.read_from(4, 250, 1).unwrap()[0].to_vec(),
        payload(4, 250, 200)
    );
    remote.verify_against(4, &head).unwrap();
    let index_gets: u64 = bucket
        .keys()
        .iter()
        .filter(|k| k.ends_with(".idx"))
        .map(|k| bucket.gets_of(k))
        .sum();
    assert_eq!(index_gets, 0);
}

/// The nice level in a `/proc/.../stat` file (Linux).
#[cfg(target_os = "linux")]
fn nice_in(stat: &std::path::Path) -> Option<i64> {
    let stat = std::fs::read_to_string(stat).ok()?;
    // After "(comm)": state is field 3, nice field 19.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    fields.get(19 - 3)?.parse().ok()
}

/// The uploader is background work: its thread runs ten nice levels below
/// the thread that opened the store (capped at 19).
#[cfg(target_os = "linux")]
#[test]
fn the_uploader_thread_yields_the_cpu_to_appends() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let store = Store::open_tiered(dir.path(), small(8192, 16), config(&bucket)).unwrap();
    fill(&store, 1, 0, 100);
    store.sync_tier().unwrap();
    let own = nice_in("/proc/thread-self/stat".as_ref()).unwrap();
    // Other tests' stores have uploaders too, one maybe just started (not
    // lowered yet); this store's has run a round.
    let uploaders: Vec<i64> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == "stratalog-tier")
        })
        .filter_map(|task| nice_in(&task.path().join("stat")))
        .collect();
    assert!(
        uploaders.contains(&(own + 10).min(19)),
        "{uploaders:?}, this thread {own}"
    );
    store.close().unwrap();
}

/// The manifest parts of `stream` in the bucket: (base, end) by key.
fn part_keys(bucket: &MemoryTier, stream: u64) -> Vec<(String, u64, u64)> {
    let prefix = format!("streams/{stream:020}/");
    bucket
        .keys()
        .into_iter()
        .filter_map(|k| {
            let rest = k.strip_prefix(&prefix)?.strip_suffix(".part")?;
            let base = rest[..20].parse().unwrap();
            let end = rest[21..41].parse().unwrap();
            Some((k, base, end))
        })
        .collect()
}

#[test]
fn a_long_manifest_folds_into_parts_that_readers_follow_through_a_prune() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = MemoryTier::new();
    let mut cfg = config(&bucket);
    cfg.manifest_part_entries = 3;
    cfg.local_cache_bytes = Some(2 * 8192);
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let head = fill(&store, 1, 0, 1000);
    store.sync_tier().unwrap();
    let sealed = object_bases(&bucket, 1).len() as u64;
    assert!(sealed >= 20, "{sealed}");
    // Every whole run of 3 entries is a part; the manifest keeps the rest
    // and one reference per part.
    let parts = part_keys(&bucket, 1);
    assert_eq!(parts.len() as u64, sealed / 3, "{parts:?}");
    assert_eq!(parts[0].1, 0);
    assert!(parts.windows(2).all(|w| w[0].2 == w[1].1), "{parts:?}");
    let manifest = bucket
        .get(&format!("streams/{:020}/MANIFEST", 1))
        .unwrap()
        .unwrap()
        .bytes;
    assert_eq!(manifest[8..12], 3u32.to_le_bytes());
    assert!(
        manifest.len() <= 80 + 4 + parts.len() * 124 + 2 * 152 + 4,
        "{}",
        manifest.len()
    );
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    assert_eq!(remote.verify_against(1, &head).unwrap().events, 1000);
    assert_eq!(read_all(&remote, 1), expected(1, 1000));
    drop(remote);

    // A writer reopened learns the evicted segments from the parts.
    store.close().unwrap();
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    assert!(segments(dir.path(), 1).len() < sealed as usize);
    assert_eq!(read_all(&store, 1), expected(1, 1000));
    fill(&store, 1, 1000, 300);

    // A prune drops the parts below it and keeps the one it cuts through.
    let first = store.prune(1, 500).unwrap();
    store.sync_tier().unwrap();
    let head = store.chain_head(1).unwrap();
    assert_bucket_pruned_to(&bucket, 1, first, &head);
    let parts = part_keys(&bucket, 1);
    assert!(parts.iter().all(|p| p.2 > first), "{first} {parts:?}");
    assert!(parts[0].1 <= first, "{first} {parts:?}");
    assert!(parts.len() as u64 >= (object_bases(&bucket, 1).len() as u64) / 3);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    let left: Vec<Vec<u8>> = remote
        .iter(1, first)
        .unwrap()
        .map(|e| e.unwrap().1.to_vec())
        .collect();
    assert_eq!(left, expected(1, 1300)[first as usize..]);
    drop(remote);
    store.close().unwrap();
    // A part below the first offset that a writer's death left is deleted
    // by the first round after the next open.
    let leftover = format!("streams/{:020}/{:020}-{first:020}-{:08x}.part", 1, 0, 9);
    bucket.overwrite(&leftover, b"left behind".to_vec());
    let store = Store::open_tiered(dir.path(), small(8192, 16), cfg.clone()).unwrap();
    let head = fill(&store, 1, 1300, 200);
    store.sync_tier().unwrap();
    store.close().unwrap();
    assert!(!bucket.keys().contains(&leftover));
    assert_bucket_pruned_to(&bucket, 1, first, &head);

    // A part with a flipped bit, or gone, is corruption of the stream.
    let (key, _, _) = part_keys(&bucket, 1).pop().unwrap();
    let good = bucket.get(&key).unwrap().unwrap().bytes;
    let mut bad = good.clone();
    bad[40] ^= 1;
    bucket.overwrite(&key, bad);
    match Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()) {
        Err(Error::Corruption { file, .. }) => {
            assert!(file.to_string_lossy().ends_with(&key), "{file:?}")
        }
        other => panic!("a flipped bit in {key} was read: {other:?}"),
    }
    bucket.delete(&key).unwrap();
    match Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()) {
        Err(Error::Corruption { reason, .. }) => assert!(reason.contains("missing"), "{reason}"),
        other => panic!("a missing {key} was not reported: {other:?}"),
    }
    bucket.overwrite(&key, good);
    let remote = Store::open_tier_read_only(Arc::new(bucket.clone()), Default::default()).unwrap();
    remote.verify_against(1, &head).unwrap();
}
