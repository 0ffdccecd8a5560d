//! A tiered store of many streams against a bucket a round trip away:
//! the uploads of several streams run at once, a new stream's first
//! upload asks nothing it knows already, and the manifests an open reads,
//! and those a new writer stamps, go in batches, not one request per
//! stream after another, nor one per small segment of a stream. (Round trips, not bandwidth, bound a store
//! of many small streams on a real bucket; the rates are in `make bench`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::small;
use stratalog_core::tier::manifest::ManifestObject;
use stratalog_core::tier::memory::MemoryTier;
use stratalog_core::tier::{Object, ObjectInfo, Put};
use stratalog_core::{ChainHead, Store, Tier, TierConfig};

const STREAMS: u64 = 24;

/// The in-memory bucket behind a round trip: every call waits `rtt`
/// (a batch call once, as its requests travel together), and the calls in
/// flight at once and the batch sizes are recorded.
#[derive(Debug)]
struct Distant {
    bucket: MemoryTier,
    rtt: Duration,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    get_batches: Mutex<Vec<usize>>,
    update_batches: Mutex<Vec<usize>>,
    /// The segments (count, bytes) of each `put_create_all` that wrote them.
    segment_batches: Mutex<Vec<(usize, usize)>>,
}

impl Distant {
    fn new(bucket: &MemoryTier) -> Arc<Distant> {
        Distant::away(bucket, Duration::from_millis(3))
    }

    fn away(bucket: &MemoryTier, rtt: Duration) -> Arc<Distant> {
        Arc::new(Distant {
            bucket: bucket.view(),
            rtt,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            get_batches: Mutex::default(),
            update_batches: Mutex::default(),
            segment_batches: Mutex::default(),
        })
    }

    fn call<T>(&self, request: impl FnOnce(&MemoryTier) -> T) -> T {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.rtt);
        let out = request(&self.bucket);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

impl Tier for Distant {
    fn url(&self) -> &str {
        "memory://distant"
    }
    fn get(&self, key: &str) -> io::Result<Option<Object>> {
        self.call(|b| b.get(key))
    }
    fn get_all(&self, keys: Vec<String>) -> Vec<io::Result<Option<Object>>> {
        self.get_batches.lock().unwrap().push(keys.len());
        self.call(|b| b.get_all(keys))
    }
    fn get_range(&self, key: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
        self.call(|b| b.get_range(key, range))
    }
    fn head(&self, key: &str) -> io::Result<Option<ObjectInfo>> {
        self.call(|b| b.head(key))
    }
    fn put_create(&self, key: &str, bytes: Vec<u8>) -> io::Result<Put> {
        self.call(|b| b.put_create(key, bytes))
    }
    fn put_create_all(&self, objects: Vec<(String, Vec<u8>)>) -> Vec<io::Result<Put>> {
        let segments: Vec<usize> = objects
            .iter()
            .filter(|(key, _)| key.ends_with(".seg"))
            .map(|(_, bytes)| bytes.len())
            .collect();
        let outcomes = self.call(|b| b.put_create_all(objects));
        if !segments.is_empty() && outcomes.iter().all(|o| matches!(o, Ok(Put::Done(_)))) {
            let batch = (segments.len(), segments.iter().sum());
            self.segment_batches.lock().unwrap().push(batch);
        }
        outcomes
    }
    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> io::Result<Put> {
        self.call(|b| b.put_update(key, bytes, etag))
    }
    fn put_update_all(&self, objects: Vec<(String, Vec<u8>, String)>) -> Vec<io::Result<Put>> {
        self.update_batches.lock().unwrap().push(objects.len());
        self.call(|b| b.put_update_all(objects))
    }
    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.call(|b| b.put(key, bytes))
    }
    fn list_dirs(&self, dir: &str) -> io::Result<Vec<String>> {
        self.call(|b| b.list_dirs(dir))
    }
    fn list_objects(&self, dir: &str) -> io::Result<Vec<String>> {
        self.call(|b| b.list_objects(dir))
    }
    fn delete(&self, key: &str) -> io::Result<()> {
        self.call(|b| b.delete(key))
    }
}

fn manifest_key(stream: u64) -> String {
    format!("streams/{stream:020}/MANIFEST")
}

fn manifest_epoch(bucket: &MemoryTier, stream: u64) -> u64 {
    let bytes = bucket.get(&manifest_key(stream)).unwrap().unwrap().bytes;
    ManifestObject::decode(&bytes, stream).unwrap().epoch
}

/// Appends one event to each stream, the stream's number in it.
fn one_each(store: &Store) -> Vec<ChainHead> {
    (1..=STREAMS)
        .map(|s| store.append(s, format!("event of {s}").as_bytes()).unwrap())
        .collect()
}

#[test]
fn many_streams_go_up_and_open_without_a_round_trip_per_stream_in_turn() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let open = |i: usize, distant: &Arc<Distant>| {
        Store::open_tiered(
            dirs[i].path(),
            small(8192, 16),
            TierConfig::new(distant.clone()),
        )
    };

    // A sync of many streams uploads several at once.
    let distant = Distant::new(&bucket);
    let a = open(0, &distant).unwrap();
    let heads = one_each(&a);
    let lists = distant.bucket.lists();
    a.sync_tier().unwrap();
    let most = distant.most_in_flight.load(Ordering::SeqCst);
    assert!(
        most >= 2,
        "the streams went up one at a time ({most} in flight at most)"
    );
    // The streams were new: no manifest was read before it was created,
    // and no tile directory listed before the first tiles went up.
    for stream in 1..=STREAMS {
        assert_eq!(distant.bucket.gets_of(&manifest_key(stream)), 0, "{stream}");
    }
    assert_eq!(distant.bucket.lists(), lists, "listed while uploading");
    a.close().unwrap();
    // A read-only open recovers every stream, several at once.
    let distant = Distant::new(&bucket);
    let remote = Store::open_tier_read_only(distant.clone(), Default::default()).unwrap();
    let most = distant.most_in_flight.load(Ordering::SeqCst);
    assert!(
        most >= 2,
        "the streams were recovered one at a time ({most} in flight at most)"
    );
    for (stream, head) in (1..=STREAMS).zip(&heads) {
        remote.verify_against(stream, head).unwrap();
    }
    drop(remote);

    // Opening reads every manifest in one batch, each once.
    let distant = Distant::new(&bucket);
    let a = open(0, &distant).unwrap();
    let batches = distant.get_batches.lock().unwrap().clone();
    assert!(
        batches.first() == Some(&(STREAMS as usize)),
        "the manifests were not read in one batch: {batches:?}"
    );
    for stream in 1..=STREAMS {
        let gets = distant.bucket.gets_of(&manifest_key(stream));
        assert_eq!(gets, 1, "{stream}");
    }
    let more = one_each(&a);
    a.sync_tier().unwrap();
    a.close().unwrap();

    // A new writer (the lease was released) stamps every manifest with
    // its epoch in one batch, and continues every stream from the bucket.
    let distant = Distant::new(&bucket);
    let b = open(1, &distant).unwrap();
    assert_eq!(b.tier_stats().unwrap().epoch, 2);
    let stamped = distant.update_batches.lock().unwrap().clone();
    assert_eq!(
        stamped,
        [STREAMS as usize],
        "the stamps did not go in one batch"
    );
    for (stream, head) in (1..=STREAMS).zip(&more) {
        assert_eq!(manifest_epoch(&bucket, stream), 2, "{stream}");
        assert_eq!(b.chain_head(stream).unwrap(), *head, "{stream}");
    }
    b.close().unwrap();
}

/// Runs `a.sync_tier()` while a standby (another directory of `dirs`, over
/// a bucket close by) keeps trying to take over with a lease of `ttl`,
/// every `pause`: every try must be refused, and the writer must end
/// unfenced with nothing pending.
fn sync_while_a_standby_tries(
    a: &Store,
    bucket: &MemoryTier,
    standby_dir: &std::path::Path,
    ttl: Duration,
    pause: Duration,
) {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let standby = scope.spawn(|| {
            let mut tries = 0;
            while !done.load(Ordering::SeqCst) {
                let config = leased(Distant::new(bucket), ttl, true);
                match Store::open_tiered(standby_dir, small(4096, 16), config) {
                    Err(stratalog_core::Error::Locked(_)) => tries += 1,
                    Err(e) => panic!("{e:?}"),
                    Ok(_) => panic!("the standby took over a live writer"),
                }
                std::thread::sleep(pause);
            }
            tries
        });
        let synced = a.sync_tier();
        done.store(true, Ordering::SeqCst);
        let tries = standby.join().unwrap();
        synced.unwrap();
        assert!(tries > 0);
    });
    let stats = a.tier_stats().unwrap();
    assert!(!stats.fenced && stats.pending_segments == 0, "{stats:?}");
}

fn leased(distant: Arc<Distant>, ttl: Duration, takeover: bool) -> TierConfig {
    let mut config = TierConfig::new(distant);
    config.lease_ttl = ttl;
    config.takeover = takeover;
    config
}

/// A batch of uploads longer than the lease's time renews the lease as it
/// goes: a standby watching for the lease to lapse never takes over the
/// live writer, and the writer is never fenced.
#[test]
fn a_long_batch_of_uploads_keeps_the_lease() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    // Sealed segments of many streams, there before the tier: the
    // uploader's first batch takes them all.
    let local = Store::open(dirs[0].path(), small(4096, 16)).unwrap();
    for stream in 1..=32u64 {
        for i in 0..40u64 {
            local.append(stream, [i as u8; 200]).unwrap();
        }
    }
    local.close().unwrap();
    let ttl = Duration::from_millis(300);
    let slow = Distant::away(&bucket, Duration::from_millis(40));
    let a = Store::open_tiered(dirs[0].path(), small(4096, 16), leased(slow, ttl, false)).unwrap();
    sync_while_a_standby_tries(&a, &bucket, dirs[1].path(), ttl, Duration::from_millis(100));
    a.close().unwrap();
}

/// One request that takes longer than the lease has left (a large segment
/// on a slow link) does not let it lapse either: the lease is renewed
/// beside the uploads, not between them.
#[test]
fn a_put_longer_than_the_lease_keeps_it() {
    let bucket = MemoryTier::new();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let ttl = Duration::from_secs(3);
    // Every request of the writer takes most of a renewal interval; a
    // stream's round makes several, one after another, past the point
    // where the bucket's clock calls the lease expired (its time plus a
    // second) if nothing renews it meanwhile.
    let slow = Distant::away(&bucket, Duration::from_millis(900));
    let a = Store::open_tiered(dirs[0].path(), small(4096, 16), leased(slow, ttl, false)).unwrap();
    for i in 0..40u64 {
        a.append(1, [i as u8; 200]).unwrap();
    }
    sync_while_a_standby_tries(&a, &bucket, dirs[1].path(), ttl, Duration::from_millis(200));
    a.close().unwrap();
}

/// Appends `count` events of `len` bytes to stream 1 of a new store with
/// `segment_size`, while its bucket is down, so that the segments they
/// seal wait; then syncs, and returns the segments (count, bytes) of each
/// batch of puts that wrote them.
fn segment_batches_of_a_backlog(
    segment_size: u64,
    len: usize,
    count: usize,
) -> Vec<(usize, usize)> {
    let bucket = MemoryTier::new();
    let dir = tempfile::tempdir().unwrap();
    let distant = Distant::new(&bucket);
    let options = stratalog_core::Options {
        max_event_size: 8 << 20,
        ..small(segment_size, 16)
    };
    let store = Store::open_tiered(dir.path(), options, TierConfig::new(distant.clone())).unwrap();
    distant.bucket.set_down(true);
    let mut head = ChainHead::EMPTY;
    for i in 0..count {
        head = store.append(1, vec![i as u8; len]).unwrap();
    }
    distant.bucket.set_down(false);
    store.sync_tier().unwrap();
    store.close().unwrap();
    let remote = Store::open_tier_read_only(Arc::new(bucket), Default::default()).unwrap();
    assert_eq!(
        remote.verify_against(1, &head).unwrap().events,
        count as u64
    );
    let batches = distant.segment_batches.lock().unwrap().clone();
    batches
}

#[test]
fn a_streams_small_segments_go_up_several_at_once_and_large_ones_alone() {
    // One 3000-byte event seals each 4096-byte segment. A round lists 16
    // segments at most and puts eight at once.
    let small_ones = segment_batches_of_a_backlog(4096, 3000, 20);
    let counts: Vec<usize> = small_ones.iter().map(|b| b.0).collect();
    assert_eq!(counts, [8, 8, 4], "{small_ones:?}");

    // Three 5 MiB segments fit in the 16 MiB a round holds, four do not.
    let large = segment_batches_of_a_backlog(6 << 20, 5 << 20, 7);
    let counts: Vec<usize> = large.iter().map(|b| b.0).collect();
    assert_eq!(counts, [3, 3, 1], "{large:?}");
    assert!(large.iter().all(|b| b.1 <= 16 << 20), "{large:?}");

    // A segment larger than that (two 8 MiB events) goes alone.
    let huge = segment_batches_of_a_backlog(18 << 20, 8 << 20, 6);
    let counts: Vec<usize> = huge.iter().map(|b| b.0).collect();
    assert_eq!(counts, [1, 1, 1], "{huge:?}");
}

/// A checkpoint that waits for a slow bucket does not hold the store's
/// operations up: a `close` meanwhile goes ahead (it would otherwise wait
/// for the whole upload, and every call after it too), and the checkpoint
/// then fails with `Closed`, signing nothing.
#[test]
fn a_checkpoint_waiting_for_the_bucket_lets_close_go_first() {
    let bucket = MemoryTier::new();
    let slow = Distant::away(&bucket, Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_tiered(
            dir.path(),
            small(1 << 20, 16),
            TierConfig::new(slow.clone()),
        )
        .unwrap(),
    );
    for i in 0..50u32 {
        store.append(1, i.to_le_bytes()).unwrap();
    }
    let key = stratalog_core::SigningKey::from_seed("example.com/audit", &[5u8; 32]);
    let signer = {
        let store = store.clone();
        std::thread::spawn(move || store.checkpoint(1, &key, None, None))
    };
    // The checkpoint sealed the segment and its upload is on its way.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while slow.in_flight.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(5));
    }
    store.close().unwrap();
    match signer.join().unwrap() {
        Err(stratalog_core::Error::Closed) => {}
        other => panic!("the checkpoint held close back: {other:?}"),
    }
}
