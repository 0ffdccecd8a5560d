#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reopening: heads recovered exactly across many segments, torn tails cut
//! at the last whole batch, leftovers cleaned, nothing good ever removed.

mod common;

use std::fs::OpenOptions;

use common::{payload, segments, small};
use stratalog_core::{ChainHead, Compression, Error, Options, Store};

#[test]
fn head_recovered_across_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = small(4096, 7);
    let mut heads = Vec::new();
    {
        let store = Store::open(dir.path(), options.clone()).unwrap();
        for batch in 0..60u64 {
            let events: Vec<Vec<u8>> = (0..5)
                .map(|i| payload(1, batch * 5 + i, 90 + (i as usize * 37) % 200))
                .collect();
            heads.push(
                store
                    .append_batch(1, &events, None, batch % 10 == 0)
                    .unwrap(),
            );
        }
        store.close().unwrap();
    }
    assert!(
        segments(dir.path(), 1).len() > 10,
        "the workload should rotate often"
    );
    let store = Store::open(dir.path(), options).unwrap();
    let head = store.chain_head(1).unwrap();
    assert_eq!(head, *heads.last().unwrap());
    let report = store.verify(1).unwrap();
    assert_eq!(report.events, 300);
    assert_eq!(report.head, head);
    assert!(report.checkpoints >= 40);
    // The next append continues the chain exactly.
    let next = store
        .append_batch(1, &[b"after restart"], None, true)
        .unwrap();
    assert_eq!(next, head.advance(b"after restart"));
    for h in &heads {
        store.verify_against(1, h).unwrap();
    }
    assert_eq!(
        store.read_from(1, 300, 1 << 20).unwrap(),
        vec![&b"after restart"[..]]
    );
}

#[test]
fn reads_at_every_offset_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let path = dir.path().join(format!("{compression:?}"));
        let options = common::with_compression(small(4096, 4), compression);
        let all: Vec<Vec<u8>> = (0..120)
            .map(|i| payload(2, i, (i as usize * 13) % 300))
            .collect();
        {
            let store = Store::open(&path, options.clone()).unwrap();
            for chunk in all.chunks(7) {
                store.append_batch(2, chunk, None, false).unwrap();
            }
        }
        let store = Store::open(&path, options).unwrap();
        for offset in 0..=all.len() as u64 {
            let got = store.read_from(2, offset, 2000).unwrap();
            let mut want = Vec::new();
            let mut total = 0;
            for e in &all[offset as usize..] {
                total += e.len();
                if total > 2000 && !want.is_empty() {
                    break;
                }
                want.push(e.clone());
            }
            assert_eq!(got, want, "{compression:?} offset {offset}");
        }
        let collected: Vec<(u64, Vec<u8>)> = store
            .iter(2, 50)
            .unwrap()
            .map(|r| r.map(|(o, b)| (o, b.to_vec())).unwrap())
            .collect();
        assert_eq!(collected.len(), 70);
        assert!(collected.iter().all(|(o, b)| *b == all[*o as usize]));
        assert!(matches!(
            store.read_from(2, 121, 10),
            Err(Error::OffsetOutOfRange {
                offset: 121,
                next_offset: 120,
                ..
            })
        ));
        assert!(store.read_from(2, 120, 10).unwrap().is_empty());
    }
}

/// Cuts the active segment at every byte inside the last batch.
#[test]
fn torn_tail_at_every_byte_of_the_last_batch() {
    let dir = tempfile::tempdir().unwrap();
    let options = small(1 << 20, 3);
    let src = dir.path().join("src");
    let (before_last, full_len, seg_path) = {
        let store = Store::open(&src, options.clone()).unwrap();
        store
            .append_batch(5, &[b"one".as_slice(), b"two"], None, true)
            .unwrap();
        let before = store
            .append_batch(5, &[b"three".as_slice(), b"four", b"five"], None, true)
            .unwrap();
        store
            .append_batch(
                5,
                &[b"six".as_slice(), b"seven", b"eight", b"nine"],
                None,
                true,
            )
            .unwrap();
        let seg = segments(&src, 5).pop().unwrap();
        let len = std::fs::metadata(&seg).unwrap().len();
        (before, len, seg)
    };
    let rel = seg_path.strip_prefix(&src).unwrap().to_path_buf();
    // Where the last batch starts: the length after the second batch.
    let start = {
        let store = Store::open_read_only(&src).unwrap();
        assert_eq!(store.chain_head(5).unwrap().next_offset, 9);
        let (_, recs) = common::parse_segment(&std::fs::read(&seg_path).unwrap());
        recs.iter()
            .find(|r| r.kind == 0 && r.offset == 5)
            .unwrap()
            .pos as u64
    };
    // A checkpoint (interval 3) sits before offset 6 inside the last batch.
    for cut in start..full_len {
        let copy = dir.path().join(format!("cut{cut}"));
        common::copy_dir(&src, &copy);
        OpenOptions::new()
            .write(true)
            .open(copy.join(&rel))
            .unwrap()
            .set_len(cut)
            .unwrap();
        let store = Store::open(&copy, options.clone()).unwrap();
        assert_eq!(store.chain_head(5).unwrap(), before_last, "cut at {cut}");
        let torn = store.torn_tails();
        if cut > start {
            assert_eq!(torn.len(), 1, "cut at {cut}");
            assert_eq!(torn[0].kept_len, start);
            assert_eq!(torn[0].dropped_bytes, cut - start);
        } else {
            assert!(torn.is_empty());
        }
        assert_eq!(std::fs::metadata(copy.join(&rel)).unwrap().len(), start);
        store.verify(5).unwrap();
        let head = store.append_batch(5, &[b"again"], None, true).unwrap();
        assert_eq!(head, before_last.advance(b"again"));
        drop(store);
        let reopened = Store::open(&copy, options.clone()).unwrap();
        assert_eq!(reopened.chain_head(5).unwrap(), head);
        assert_eq!(reopened.verify(5).unwrap().events, 6);
        drop(reopened);
        std::fs::remove_dir_all(&copy).unwrap();
    }
}

#[test]
fn zero_filled_tail_is_torn_but_garbage_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let head = {
        let store = Store::open(dir.path(), options.clone()).unwrap();
        store.append_batch(1, &[b"kept"], None, true).unwrap()
    };
    let seg = segments(dir.path(), 1).pop().unwrap();
    let good_len = std::fs::metadata(&seg).unwrap().len();
    // Power loss can leave zeros where a write was lost.
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[0u8; 300]);
    std::fs::write(&seg, &bytes).unwrap();
    {
        let store = Store::open(dir.path(), options.clone()).unwrap();
        assert_eq!(store.chain_head(1).unwrap(), head);
        assert_eq!(store.torn_tails().len(), 1);
    }
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good_len);
    // Non-zero bytes after the last record are not a torn write: report,
    // keep everything.
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[0xAB; 100]);
    std::fs::write(&seg, &bytes).unwrap();
    let store = Store::open(dir.path(), options).unwrap();
    assert!(matches!(
        store.chain_head(1),
        Err(Error::Corruption {
            stream: 1,
            offset: 1,
            ..
        })
    ));
    assert!(matches!(
        store.append_batch(1, &[b"x"], None, false),
        Err(Error::Corruption { .. })
    ));
    // The intact prefix still reads.
    assert_eq!(store.read_from(1, 0, 100).unwrap(), vec![&b"kept"[..]]);
    assert!(matches!(
        store.verify(1),
        Err(Error::Corruption { offset: 1, .. })
    ));
    drop(store);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good_len + 100);
}

#[test]
fn read_only_ignores_a_torn_tail_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append_batch(3, &[b"a"], None, true).unwrap();
        store.append_batch(3, &[b"bb", b"cc"], None, true).unwrap()
    };
    let seg = segments(dir.path(), 3).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.chain_head(3).unwrap(), ChainHead::EMPTY.advance(b"a"));
    assert_eq!(ro.torn_tails().len(), 1);
    assert!(matches!(
        ro.append_batch(3, &[b"x"], None, false),
        Err(Error::ReadOnly)
    ));
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), len - 10);
    ro.verify(3).unwrap();
    assert_ne!(ro.chain_head(3).unwrap(), head);
}

#[test]
fn leftover_temp_files_are_removed_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append(4, b"x").unwrap();
    }
    let stream_dir = dir.path().join("streams").join(format!("{:020}", 4));
    let leftover = stream_dir.join(format!("{:020}.seg.tmp", 1));
    std::fs::write(&leftover, b"half a segment").unwrap();
    let _ro = Store::open_read_only(dir.path()).unwrap();
    assert!(leftover.exists());
    drop(_ro);
    let store = Store::open(dir.path(), Options::default()).unwrap();
    assert!(!leftover.exists());
    assert_eq!(store.chain_head(4).unwrap().next_offset, 1);
}

/// A writer's open leaves alone the temporary files this process may be
/// writing at that moment (a tier's uploader rebuilding an index while
/// the stream opens), and removes those other processes left.
#[test]
fn a_writers_open_keeps_this_process_temp_files_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append(4, b"x").unwrap();
    }
    let stream_dir = dir.path().join("streams").join(format!("{:020}", 4));
    let own = std::process::id();
    let other = if own == 1 { 2 } else { own - 1 };
    let in_flight = stream_dir.join(format!("{:020}.idx.{own}-7.tmp", 0));
    let left_by_others = [
        stream_dir.join(format!("{:020}.idx.{other}-7.tmp", 0)),
        stream_dir.join(format!("{:020}.idx.{own}0-7.tmp", 0)),
        stream_dir.join(format!("{:020}.idx.{own}-.tmp", 0)),
    ];
    std::fs::write(&in_flight, b"half an index").unwrap();
    for path in &left_by_others {
        std::fs::write(path, b"half an index").unwrap();
    }
    let store = Store::open(dir.path(), Options::default()).unwrap();
    assert_eq!(store.chain_head(4).unwrap().next_offset, 1);
    assert!(in_flight.exists());
    for path in &left_by_others {
        assert!(!path.exists(), "{}", path.display());
    }
}

#[test]
fn missing_or_damaged_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let options = small(4096, 2);
    let all: Vec<Vec<u8>> = (0..200).map(|i| payload(6, i, 40)).collect();
    {
        let store = Store::open(dir.path(), options.clone()).unwrap();
        for chunk in all.chunks(10) {
            store.append_batch(6, chunk, None, false).unwrap();
        }
    }
    let idx: Vec<_> = common::files(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert!(idx.len() >= 3);
    std::fs::remove_file(&idx[0]).unwrap();
    let mut damaged = std::fs::read(&idx[1]).unwrap();
    damaged[90] ^= 0xFF;
    std::fs::write(&idx[1], damaged).unwrap();
    // An index that is intact but lies about positions (CRC recomputed).
    let mut lying = std::fs::read(&idx[2]).unwrap();
    let n = lying.len();
    if n > 84 + 16 {
        lying[88] ^= 0x08;
        let crc = common::crc32(&lying[..n - 4]);
        lying[n - 4..].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&idx[2], lying).unwrap();
    }
    let store = Store::open(dir.path(), options).unwrap();
    for offset in 0..200u64 {
        assert_eq!(
            store.read_from(6, offset, 1).unwrap(),
            vec![all[offset as usize].clone()],
            "offset {offset}"
        );
    }
    store.verify(6).unwrap();
}

#[test]
fn store_marker_and_foreign_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("unrelated.txt"), b"hello").unwrap();
    assert!(matches!(
        Store::open(dir.path(), Options::default()),
        Err(Error::InvalidArgument(_))
    ));
    let missing = dir.path().join("nope");
    assert!(matches!(
        Store::open_read_only(&missing),
        Err(Error::Io { .. })
    ));
    assert!(!missing.exists());
    let fresh = dir.path().join("fresh");
    Store::open(&fresh, Options::default()).unwrap();
    assert!(fresh.join("STRATALOG").exists());
    let mut marker = std::fs::read(fresh.join("STRATALOG")).unwrap();
    marker[9] ^= 1;
    std::fs::write(fresh.join("STRATALOG"), marker).unwrap();
    assert!(Store::open(&fresh, Options::default()).is_err());
}

/// A marker whose version this build does not read (0, or a newer format)
/// is refused by every kind of open, with the version in the message, and
/// nothing is written; versions 1 and 2 open.
#[test]
fn marker_versions_outside_those_this_build_reads_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    Store::open(&root, Options::default())
        .unwrap()
        .append(1, b"x")
        .unwrap();
    let marker_path = root.join("STRATALOG");
    let with_version = |version: u32| {
        let mut marker = std::fs::read(&marker_path).unwrap();
        marker[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = common::crc32(&marker[..12]);
        marker[12..16].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&marker_path, &marker).unwrap();
        marker
    };
    for version in [0u32, 3, u32::MAX] {
        let marker = with_version(version);
        for result in [
            Store::open(&root, Options::default()),
            Store::open_read_only(&root),
        ] {
            match result {
                Err(Error::InvalidArgument(msg)) => {
                    assert!(msg.contains(&format!("version {version}")), "{msg}")
                }
                other => panic!("version {version}: {other:?}"),
            }
        }
        assert_eq!(std::fs::read(&marker_path).unwrap(), marker);
    }
    with_version(2);
    assert_eq!(
        Store::open_read_only(&root)
            .unwrap()
            .verify(1)
            .unwrap()
            .events,
        1
    );
}

/// Every field an index file holds is checked before it is used: an index
/// whose end (offset or hash, CRC recomputed) is not where the next segment
/// starts is stale or foreign, so a read rebuilds the checkpoints by
/// walking the segment instead of trusting it, and stays right.
#[test]
fn an_index_whose_end_is_not_the_next_segments_base_is_not_used() {
    use common::counting::CountingDir;
    use std::sync::Arc;
    use stratalog_core::io::disk::DiskDir;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let options = small(64 << 10, 4);
    let all: Vec<Vec<u8>> = (0..1200).map(|i| payload(8, i, 100)).collect();
    {
        let store = Store::open(&root, options.clone()).unwrap();
        for chunk in all.chunks(4) {
            store.append_batch(8, chunk, None, false).unwrap();
        }
        store.close().unwrap();
    }
    let segs = segments(&root, 8);
    assert!(segs.len() >= 3);
    let second_base: u64 = segs[1]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let idx = segs[0].with_extension("idx");
    let good = std::fs::read(&idx).unwrap();
    let forge = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 1;
        let n = b.len();
        let crc = common::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
        b
    };
    // The last event of the first segment: a checkpoint stands at most 4
    // events before it, the segment is 64 KiB.
    let offset = second_base - 1;
    for (name, bytes, trusted) in [
        ("good", good.clone(), true),
        ("end offset", forge(32), false),
        ("end hash", forge(40), false),
        ("segment length", forge(72), false),
    ] {
        std::fs::write(&idx, &bytes).unwrap();
        let counter = CountingDir::new(Arc::new(DiskDir::new(&root)));
        let store = Store::open_on(Arc::new(counter.clone()), options.clone(), false).unwrap();
        counter.take();
        assert_eq!(
            store.read_from(8, offset, 1).unwrap(),
            vec![all[offset as usize].clone()],
            "{name}"
        );
        let read = counter.take();
        if trusted {
            assert!(read < 8 << 10, "{name}: read {read} bytes");
        } else {
            assert!(read > 60 << 10, "{name}: the index was used ({read} bytes)");
        }
        store.verify(8).unwrap();
    }
}
