//! `file://` and `memory://` tiers: the object semantics the engine relies
//! on (write-once puts, compare-and-swap), then whole stores on them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};

use stratalog_core::tier::Put;
use stratalog_core::{Error, Options, Store, Tier, TierConfig};

fn file_url(dir: &std::path::Path) -> String {
    format!("file://{}", dir.display())
}

fn small() -> Options {
    Options {
        segment_size: 8192,
        checkpoint_interval: 16,
        ..Options::default()
    }
}

fn event(i: u64) -> Vec<u8> {
    format!("event {i:05} {}", "x".repeat(180)).into_bytes()
}

fn fill(store: &Store, stream: u64, n: u64) {
    for start in (0..n).step_by(10) {
        let batch: Vec<Vec<u8>> = (start..(start + 10).min(n)).map(event).collect();
        store.append_batch(stream, &batch, None, false).unwrap();
    }
}

fn read_all(store: &Store, stream: u64) -> Vec<Vec<u8>> {
    store
        .iter(stream, 0)
        .unwrap()
        .map(|e| e.unwrap().1.to_vec())
        .collect()
}

fn etag_of(put: Put) -> String {
    match put {
        Put::Done(Some(etag)) => etag,
        other => panic!("expected a put with an etag, got {other:?}"),
    }
}

/// The two conditional puts, for any tier.
fn check_conditional_puts(tier: &dyn Tier) {
    let first = etag_of(tier.put_create("a/b/KEY", b"one".to_vec()).unwrap());
    assert_eq!(
        tier.put_create("a/b/KEY", b"two".to_vec()).unwrap(),
        Put::Conflict,
        "a write-once put must not replace an object"
    );
    assert_eq!(tier.get("a/b/KEY").unwrap().unwrap().bytes, b"one");

    assert_eq!(
        tier.put_update("a/b/KEY", b"stale".to_vec(), "not-the-etag")
            .unwrap(),
        Put::Conflict
    );
    let second = etag_of(tier.put_update("a/b/KEY", b"two".to_vec(), &first).unwrap());
    assert_ne!(first, second);
    assert_eq!(
        tier.put_update("a/b/KEY", b"lost".to_vec(), &first)
            .unwrap(),
        Put::Conflict,
        "an update from an etag already replaced must fail"
    );
    assert_eq!(
        tier.put_update("a/none/KEY", b"x".to_vec(), &second)
            .unwrap(),
        Put::Conflict,
        "an update of a missing object must fail"
    );
    let got = tier.get("a/b/KEY").unwrap().unwrap();
    assert_eq!(got.bytes, b"two");
    assert_eq!(got.etag.as_deref(), Some(second.as_str()));

    // Many write-once puts at once: each outcome in its object's place,
    // an existing key a conflict that leaves it as it was.
    let objects: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("a/many/{i:02}"), vec![i as u8; 100 + i]))
        .chain([("a/b/KEY".to_owned(), b"three".to_vec())])
        .collect();
    let outcomes = tier.put_create_all(objects.clone());
    assert_eq!(outcomes.len(), objects.len());
    for ((key, bytes), outcome) in objects.iter().zip(outcomes) {
        if key == "a/b/KEY" {
            assert_eq!(outcome.unwrap(), Put::Conflict);
            assert_eq!(tier.get(key).unwrap().unwrap().bytes, b"two");
        } else {
            assert!(matches!(outcome.unwrap(), Put::Done(_)), "{key}");
            assert_eq!(&tier.get(key).unwrap().unwrap().bytes, bytes, "{key}");
        }
    }

    // Many gets at once: each object in its key's place, a missing one None.
    let keys: Vec<String> = (0..20)
        .rev()
        .map(|i| format!("a/many/{i:02}"))
        .chain(["a/many/none".to_owned()])
        .collect();
    let got = tier.get_all(keys.clone());
    assert_eq!(got.len(), keys.len());
    for (key, got) in keys.iter().zip(got) {
        match got.unwrap() {
            Some(obj) => assert_eq!(Some(obj), tier.get(key).unwrap(), "{key}"),
            None => assert_eq!(key, "a/many/none"),
        }
    }

    // Many compare-and-swaps at once: each from its object's etag, except
    // a stale etag and a missing object, which conflict and change nothing.
    let updates: Vec<(String, Vec<u8>, String)> = (0..20)
        .map(|i| {
            let key = format!("a/many/{i:02}");
            let etag = tier.get(&key).unwrap().unwrap().etag.unwrap();
            (key, vec![0xa0 + i as u8; 10], etag)
        })
        .chain([
            ("a/b/KEY".to_owned(), b"stale".to_vec(), first.clone()),
            ("a/many/none".to_owned(), b"x".to_vec(), second.clone()),
        ])
        .collect();
    let outcomes = tier.put_update_all(updates.clone());
    assert_eq!(outcomes.len(), updates.len());
    for ((key, bytes, etag), outcome) in updates.iter().zip(outcomes) {
        let now = tier.get(key).unwrap();
        match key.as_str() {
            "a/b/KEY" => {
                assert_eq!(outcome.unwrap(), Put::Conflict);
                assert_eq!(now.unwrap().bytes, b"two");
            }
            "a/many/none" => {
                assert_eq!(outcome.unwrap(), Put::Conflict);
                assert_eq!(now, None);
            }
            _ => {
                let new = etag_of(outcome.unwrap());
                assert_ne!(&new, etag, "{key}");
                let now = now.unwrap();
                assert_eq!(
                    (&now.bytes, now.etag.as_ref()),
                    (bytes, Some(&new)),
                    "{key}"
                );
            }
        }
    }
}

/// Listing: objects directly under a directory, and its sub-directories.
fn check_listing(tier: &dyn Tier) {
    for key in ["l/t.p/9", "l/t.p/10", "l/t.p/deeper/x", "l/t", "l/u.p/1"] {
        tier.put(key, b"x".to_vec()).unwrap();
    }
    assert_eq!(tier.list_objects("l/t.p").unwrap(), vec!["10", "9"]);
    assert_eq!(tier.list_objects("l").unwrap(), vec!["t"]);
    assert_eq!(tier.list_dirs("l").unwrap(), vec!["t.p", "u.p"]);
    assert_eq!(tier.list_objects("l/none").unwrap(), Vec::<String>::new());
}

#[test]
fn a_file_tier_has_write_once_puts_and_compare_and_swap() {
    let dir = tempfile::tempdir().unwrap();
    let tier = stratalog_tier::connect(&file_url(dir.path()), &[]).unwrap();
    check_conditional_puts(tier.as_ref());
    check_listing(tier.as_ref());
    // The objects are plain files under the URL's path.
    assert_eq!(std::fs::read(dir.path().join("a/b/KEY")).unwrap(), b"two");
}

#[test]
fn a_memory_tier_has_write_once_puts_and_compare_and_swap() {
    let tier = stratalog_tier::connect("memory:///conditional-puts", &[]).unwrap();
    check_conditional_puts(tier.as_ref());
    check_listing(tier.as_ref());
    check_listing(&stratalog_core::tier::memory::MemoryTier::new());
}

#[test]
fn of_racing_swaps_on_a_file_tier_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(dir.path());
    let tier = stratalog_tier::connect(&url, &[]).unwrap();
    for round in 0..20 {
        let key = format!("race/{round}/MANIFEST");
        let etag = etag_of(tier.put_create(&key, b"start".to_vec()).unwrap());
        let racers = 4;
        let barrier = Arc::new(Barrier::new(racers));
        let handles: Vec<_> = (0..racers)
            .map(|i| {
                // A tier of its own each, as separate processes would have.
                let tier = stratalog_tier::connect(&url, &[]).unwrap();
                let (key, etag, barrier) = (key.clone(), etag.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let put = tier
                        .put_update(&key, format!("racer {i}").into_bytes(), &etag)
                        .unwrap();
                    (i, put)
                })
            })
            .collect();
        let winners: Vec<usize> = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|(_, put)| matches!(put, Put::Done(_)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let content = tier.get(&key).unwrap().unwrap().bytes;
        assert_eq!(content, format!("racer {}", winners[0]).into_bytes());
    }
}

#[test]
fn options_are_refused_for_file_and_memory_tiers() {
    let option = [("endpoint".to_owned(), "http://127.0.0.1:9".to_owned())];
    for url in ["file:///tmp/x", "memory:///x"] {
        match stratalog_tier::connect(url, &option) {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("endpoint"), "{msg}"),
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[test]
fn a_store_on_a_file_tier_evicts_reads_back_and_fences_a_second_writer() {
    let bucket = tempfile::tempdir().unwrap();
    let url = file_url(&bucket.path().join("tier"));
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = |cache| TierConfig {
        local_cache_bytes: cache,
        ..TierConfig::new(stratalog_tier::connect(&url, &[]).unwrap())
    };

    let store = Store::open_tiered(a_dir.path(), small(), config(Some(0))).unwrap();
    fill(&store, 4, 400);
    store.sync_tier().unwrap();
    let head = store.chain_head(4).unwrap();
    let stats = store.tier_stats().unwrap();
    assert_eq!(stats.pending_segments, 0, "{stats:?}");
    assert!(stats.uploaded_segments >= 5, "{stats:?}");

    // Only the active segment stays local; the rest reads from the tier.
    let local_segments = std::fs::read_dir(a_dir.path().join(format!("streams/{:020}", 4)))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref()))
        .count();
    assert_eq!(local_segments, 1);
    let expected: Vec<Vec<u8>> = (0..400).map(event).collect();
    assert_eq!(read_all(&store, 4), expected);

    // A second writer, on another local directory: the lease refuses it.
    assert!(matches!(
        Store::open_tiered(b_dir.path(), small(), config(None)),
        Err(Error::Locked(_))
    ));

    // The tier alone verifies, with no local store.
    let remote = Store::open_tier_read_only(
        stratalog_tier::connect(&url, &[]).unwrap(),
        Options::default(),
    )
    .unwrap();
    assert_eq!(remote.verify_against(4, &head).unwrap().events, 400);
    assert_eq!(read_all(&remote, 4), expected);

    // A flipped byte in an uploaded segment is caught.
    drop(remote);
    store.close().unwrap();
    let stream_dir = bucket
        .path()
        .join("tier")
        .join(format!("streams/{:020}", 4));
    let first = std::fs::read_dir(&stream_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some("seg".as_ref()))
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&first, bytes).unwrap();
    let remote = Store::open_tier_read_only(
        stratalog_tier::connect(&url, &[]).unwrap(),
        Options::default(),
    )
    .unwrap();
    assert!(matches!(
        remote.verify_against(4, &head),
        Err(Error::Corruption { .. }) | Err(Error::ChainMismatch { .. })
    ));
}

#[test]
fn a_memory_tier_outlives_its_store_within_the_process() {
    let url = "memory:///outlives-its-store";
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_tiered(
        dir.path(),
        small(),
        TierConfig::new(stratalog_tier::connect(url, &[]).unwrap()),
    )
    .unwrap();
    fill(&store, 1, 120);
    store.sync_tier().unwrap();
    let head = store.chain_head(1).unwrap();
    store.close().unwrap();

    let remote = Store::open_tier_read_only(
        stratalog_tier::connect(url, &[]).unwrap(),
        Options::default(),
    )
    .unwrap();
    assert_eq!(remote.verify_against(1, &head).unwrap().events, 120);
    // Another prefix is another bucket, with no store in it.
    let other = Store::open_tier_read_only(
        stratalog_tier::connect("memory:///somewhere-else", &[]).unwrap(),
        Options::default(),
    );
    assert!(matches!(other, Err(Error::InvalidArgument(_))), "{other:?}");
}
