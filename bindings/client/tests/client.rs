//! The client over the real C ABI: what both bindings rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use stratalog_client::{
    compression_name, head_text, parse_compression, parse_head, Compression, Fsync, GroupBatch,
    Status, Store,
};

#[test]
fn appends_reads_and_heads_round_trip() {
    let store = Store::open_in_memory(&Store::default_options()).unwrap();
    let head = store
        .append(1, &[b"a", b"bc"], None, Fsync::Default)
        .unwrap();
    assert_eq!(head.next_offset, 2);
    assert_eq!(parse_head(&head_text(&head)).unwrap(), head);
    let batch = store.read_from(1, 0, u64::MAX).unwrap();
    assert_eq!(batch.iter().collect::<Vec<_>>(), [&b"a"[..], b"bc"]);
    let mut iter = store.iter(1, 1).unwrap();
    assert_eq!(iter.next_event().unwrap(), Some((1, &b"bc"[..])));
    assert_eq!(iter.next_event().unwrap(), None);
    assert_eq!(store.verify(1).unwrap().head, head);
    assert_eq!(store.verify_against(1, &head).unwrap().events, 2);
    assert_eq!(store.streams().unwrap(), [1]);
    assert_eq!(store.stats(1).unwrap().next_offset, 2);
}

#[test]
fn errors_carry_status_code_and_detail() {
    let store = Store::open_in_memory(&Store::default_options()).unwrap();
    store.append(1, &[b"x"], Some(0), Fsync::No).unwrap();
    let err = store.append(1, &[b"y"], Some(0), Fsync::No).unwrap_err();
    assert_eq!(err.status, Status::OffsetMismatch);
    assert_eq!(err.code(), "STRATALOG_STATUS_OFFSET_MISMATCH");
    assert_eq!(
        (err.detail.expected_offset, err.detail.actual_offset),
        (0, 1)
    );
    let err = store.iter(1, 5).unwrap_err();
    assert_eq!(err.status, Status::OffsetOutOfRange);
    assert_eq!((err.detail.offset, err.detail.next_offset), (5, 1));
    assert_eq!(parse_compression("LZ4").unwrap(), Compression::Lz4);
    assert_eq!(compression_name(Compression::Zstd), "zstd");
    assert_eq!(
        parse_compression("gzip").unwrap_err().status,
        Status::InvalidArgument
    );
    assert_eq!(
        parse_head("nope").unwrap_err().status,
        Status::InvalidArgument
    );
}

#[test]
fn a_group_fails_batches_alone_and_reports_each() {
    let store = Store::open_in_memory(&Store::default_options()).unwrap();
    let outcomes = store
        .append_group(
            3,
            &[
                GroupBatch {
                    events: &[b"a"],
                    expected_offset: Some(0),
                    fsync: Fsync::Yes,
                },
                GroupBatch {
                    events: &[b"b"],
                    expected_offset: Some(7),
                    fsync: Fsync::No,
                },
                GroupBatch {
                    events: &[],
                    expected_offset: None,
                    fsync: Fsync::Default,
                },
                GroupBatch {
                    events: &[b"c"],
                    expected_offset: None,
                    fsync: Fsync::Default,
                },
            ],
        )
        .unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap().next_offset, 1);
    let mismatch = outcomes[1].as_ref().unwrap_err();
    assert_eq!(mismatch.status, Status::OffsetMismatch);
    assert!(
        mismatch.message.contains("expected"),
        "{}",
        mismatch.message
    );
    assert_eq!(
        outcomes[2].as_ref().unwrap_err().status,
        Status::InvalidArgument
    );
    assert_eq!(outcomes[3].as_ref().unwrap().next_offset, 2);
}

#[test]
fn close_from_one_thread_fails_the_others_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Arc::new(Store::open(path.to_str().unwrap(), &Store::default_options()).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || loop {
                if let Err(e) = store.append(t, &[b"event"], None, Fsync::No) {
                    return e.status;
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    store.close().unwrap();
    for w in writers {
        assert_eq!(w.join().unwrap(), Status::Closed);
    }
    assert!(store.is_closed());
    assert_eq!(store.options().unwrap_err().status, Status::Closed);
    // The lock was released: a new writer opens the same directory.
    let again = Store::open(path.to_str().unwrap(), &Store::default_options()).unwrap();
    assert!(again.chain_head(0).unwrap().next_offset > 0);
}

#[test]
fn torn_tails_say_what_an_open_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let path = path.to_str().unwrap();
    let store = Store::open(path, &Store::default_options()).unwrap();
    store.append(2, &[b"whole"], None, Fsync::Yes).unwrap();
    let whole = store.stats(2).unwrap().bytes;
    assert!(store.torn_tails().is_empty());
    store.append(2, &[b"to be torn"], None, Fsync::Yes).unwrap();
    drop(store);
    // A crash in the middle of the second batch leaves the writer's OPEN
    // marker (a clean close removes it), so the next writer recovers every
    // stream at open.
    std::fs::write(dir.path().join("s/OPEN"), b"").unwrap();
    let seg = std::fs::read_dir(dir.path().join("s/streams/00000000000000000002"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    for read_only in [true, false] {
        let store = if read_only {
            Store::open_read_only(path, &Store::default_options()).unwrap()
        } else {
            Store::open(path, &Store::default_options()).unwrap()
        };
        let torn = store.torn_tails();
        assert_eq!(torn.len(), 1, "read_only={read_only}");
        assert_eq!((torn[0].stream, torn[0].kept_len), (2, whole));
        assert_eq!(torn[0].dropped_bytes, len - 3 - whole);
        assert!(torn[0].segment.ends_with(".seg"), "{}", torn[0].segment);
    }
}

#[test]
fn wait_returns_when_the_stream_grows_and_times_out_otherwise() {
    let store = Arc::new(Store::open_in_memory(&Store::default_options()).unwrap());
    let err = store
        .wait(4, 0, Some(std::time::Duration::from_millis(10)))
        .unwrap_err();
    assert_eq!(
        (err.status, err.detail.stream, err.detail.offset),
        (Status::Timeout, 4, 0)
    );
    let waiter = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.wait(4, 0, None))
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    store.append(4, &[b"x"], None, Fsync::No).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), 1);
}

#[test]
fn prune_first_offset_and_backup_through_the_c_abi() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let path = path.to_str().unwrap();
    let mut options = Store::default_options();
    options.segment_size = 4096;
    let store = Store::open(path, &options).unwrap();
    for i in 0..40u32 {
        let events: Vec<Vec<u8>> = (0..10)
            .map(|j| format!("event {i} {j}").repeat(4).into_bytes())
            .collect();
        let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        store.append(3, &slices, None, Fsync::No).unwrap();
    }
    let head = store.chain_head(3).unwrap();
    assert_eq!(store.first_offset(3).unwrap(), 0);
    let first = store.prune(3, 200).unwrap();
    assert!(first > 0 && first <= 200, "{first}");
    assert_eq!(store.first_offset(3).unwrap(), first);
    let err = store.read_from(3, 0, u64::MAX).unwrap_err();
    assert_eq!(err.status, Status::Pruned);
    assert_eq!(err.code(), "STRATALOG_STATUS_PRUNED");
    let pruned = err.pruned().unwrap();
    assert_eq!(
        (pruned.stream, pruned.offset, pruned.first_offset),
        (3, 0, first)
    );
    assert!(store.iter(3, 0).is_err_and(|e| e.pruned().is_some()));
    assert!(store.read_from(3, first, 1).is_ok());
    assert_eq!(store.verify_against(3, &head).unwrap().head, head);
    let kept = store.prune_keep_last(3, 50).unwrap();
    assert!(kept >= first && kept <= 350, "{kept}");
    let kept = store.prune_keep_bytes(3, 8192).unwrap();
    assert!(kept <= 400, "{kept}");

    let backup = dir.path().join("b");
    let heads = store.backup_heads(backup.to_str().unwrap()).unwrap();
    assert_eq!(heads, [(3, head)]);
    let reader = Store::open_read_only(path, &Store::default_options()).unwrap();
    assert_eq!(reader.prune(3, 400).unwrap_err().status, Status::ReadOnly);
    assert_eq!(reader.first_offset(3).unwrap(), kept);
    reader.backup(backup.to_str().unwrap()).unwrap();
}

#[test]
fn timestamps_seek_time_and_prune_keep_newer_through_the_c_abi() {
    fn now_ms() -> u64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        u64::try_from(since.as_millis()).unwrap()
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let path = path.to_str().unwrap();
    let mut options = Store::default_options();
    options.segment_size = 4096;
    options.timestamps = true;
    let store = Store::open(path, &options).unwrap();
    assert!(store.options().unwrap().timestamps);
    // Ten events a batch: a prune keeps the last 64-event chunk whole.
    let event = [b'x'; 100];
    let batch: Vec<&[u8]> = vec![&event; 10];
    store.append(5, &batch, None, Fsync::No).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let middle = now_ms();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut boundary = 0;
    for _ in 0..40 {
        boundary = store
            .append(5, &batch, None, Fsync::No)
            .unwrap()
            .next_offset;
    }
    assert_eq!(store.seek_time(5, 0).unwrap(), 0);
    assert_eq!(store.seek_time(5, middle).unwrap(), 10);
    assert_eq!(store.seek_time(5, u64::MAX).unwrap(), boundary);
    assert_eq!(store.seek_time(6, middle).unwrap(), 0);
    assert!(store.stats(5).unwrap().segments > 2);
    let first = store.prune_keep_newer(5, middle).unwrap();
    assert_eq!(first, 0, "the first segment holds batches on both sides");
    let first = store.prune_keep_newer(5, u64::MAX).unwrap();
    assert!(first > 0 && first < boundary, "{first}");
    assert_eq!(store.first_offset(5).unwrap(), first);
    assert_eq!(
        store.read_from(5, 0, u64::MAX).unwrap_err().status,
        Status::Pruned
    );

    let plain = Store::open_in_memory(&Store::default_options()).unwrap();
    assert!(!plain.options().unwrap().timestamps);
    plain.append(1, &[b"a"], None, Fsync::No).unwrap();
    assert_eq!(plain.seek_time(1, u64::MAX).unwrap(), 0);
}

#[test]
fn an_iterator_hands_out_every_event_across_its_batches_and_extends() {
    // Small events (empty ones among them) and then up to 4 KiB: batches
    // end at 256 events in the first part and at 256 KiB in the second.
    let store = Store::open_in_memory(&Store::default_options()).unwrap();
    let size = |i: u64| if i < 600 { i % 17 } else { i * 37 % 4097 };
    let event = |i: u64| vec![(i % 251) as u8; size(i) as usize];
    let events: Vec<Vec<u8>> = (0..1500).map(event).collect();
    for chunk in events.chunks(100) {
        let slices: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        store.append(3, &slices, None, Fsync::Default).unwrap();
    }
    // Where the library's batches should end: after 256 events, or after
    // the event that brings a batch to 256 KiB.
    let mut expected_calls = 1; // the last one finds the end
    let (mut in_batch, mut bytes, mut by_count, mut by_bytes) = (0, 0, 0, 0);
    for i in 5..1500 {
        if in_batch == 0 {
            expected_calls += 1;
        }
        in_batch += 1;
        bytes += size(i);
        if in_batch == 256 || bytes >= 256 << 10 {
            by_count += usize::from(in_batch == 256);
            by_bytes += usize::from(in_batch < 256);
            (in_batch, bytes) = (0, 0);
        }
    }
    assert!(by_count > 0 && by_bytes > 0, "{by_count} {by_bytes}");
    let mut iter = store.iter(3, 5).unwrap();
    let (mut at, mut calls) = (5, 0);
    loop {
        calls += usize::from(!iter.has_buffered());
        let Some((offset, bytes)) = iter.next_event().unwrap() else {
            break;
        };
        assert_eq!(offset, at);
        assert_eq!(bytes, event(at).as_slice(), "event {at}");
        at += 1;
    }
    assert_eq!(at, 1500);
    assert_eq!(calls, expected_calls);
    assert!(!iter.has_buffered());
    assert_eq!(iter.next_event().unwrap(), None);
    store
        .append(3, &[b"late", b"later"], None, Fsync::Default)
        .unwrap();
    iter.extend(&store).unwrap();
    assert_eq!(iter.next_event().unwrap(), Some((1500, &b"late"[..])));
    assert!(iter.has_buffered());
    assert_eq!(iter.next_event().unwrap(), Some((1501, &b"later"[..])));
    assert_eq!(iter.next_event().unwrap(), None);
}
