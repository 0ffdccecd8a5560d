//! Issue 16 with many streams: a tiered store of `BENCH_TIER_STREAMS`
//! (1,000) streams against a bucket `BENCH_TIER_RTT_MS` (10) ms away. The
//! bucket is the in-memory one, each request made to wait one round trip
//! (a batch call one per 32 requests, as the object_store tier keeps 32 in
//! flight): what is measured is how many round trips the engine waits
//! for one after another, which on a real bucket, not the bandwidth,
//! bounds a store of many small streams. Emitted as system "tier-many",
//! in seconds:
//!
//! - `tier-many/sync`: `sync_tier` of one new event in each stream.
//! - `tier-many/open`: the same writer opening again (every manifest read).
//! - `tier-many/takeover`: another writer opening once the first released
//!   the lease (every manifest read and stamped with its epoch).
//! - `tier-many/read-only-open`: `open_tier_read_only` of the bucket.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stratalog_core::tier::memory::MemoryTier;
use stratalog_core::tier::{Object, ObjectInfo, Put, Tier};
use stratalog_core::{Options, Store, TierConfig};

use crate::{emit, Cfg};

/// Requests the object_store tier keeps in flight in a batch call.
const IN_FLIGHT: usize = 32;

/// The in-memory bucket, a round trip away.
#[derive(Debug)]
struct Distant {
    bucket: MemoryTier,
    rtt: Duration,
}

impl Distant {
    fn wait<T>(&self, requests: usize, answer: T) -> T {
        let trips = requests.div_ceil(IN_FLIGHT).max(1) as u32;
        std::thread::sleep(self.rtt * trips);
        answer
    }
}

impl Tier for Distant {
    fn url(&self) -> &str {
        "memory://distant"
    }
    fn get(&self, key: &str) -> std::io::Result<Option<Object>> {
        self.wait(1, self.bucket.get(key))
    }
    fn get_all(&self, keys: Vec<String>) -> Vec<std::io::Result<Option<Object>>> {
        let n = keys.len();
        self.wait(n, self.bucket.get_all(keys))
    }
    fn get_range(&self, key: &str, range: Range<u64>) -> std::io::Result<Vec<u8>> {
        self.wait(1, self.bucket.get_range(key, range))
    }
    fn head(&self, key: &str) -> std::io::Result<Option<ObjectInfo>> {
        self.wait(1, self.bucket.head(key))
    }
    fn put_create(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<Put> {
        self.wait(1, self.bucket.put_create(key, bytes))
    }
    fn put_create_all(&self, objects: Vec<(String, Vec<u8>)>) -> Vec<std::io::Result<Put>> {
        let n = objects.len();
        self.wait(n, self.bucket.put_create_all(objects))
    }
    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> std::io::Result<Put> {
        self.wait(1, self.bucket.put_update(key, bytes, etag))
    }
    fn put_update_all(&self, objects: Vec<(String, Vec<u8>, String)>) -> Vec<std::io::Result<Put>> {
        let n = objects.len();
        self.wait(n, self.bucket.put_update_all(objects))
    }
    fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.wait(1, self.bucket.put(key, bytes))
    }
    fn list_dirs(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.wait(1, self.bucket.list_dirs(dir))
    }
    fn list_objects(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.wait(1, self.bucket.list_objects(dir))
    }
    fn delete(&self, key: &str) -> std::io::Result<()> {
        self.wait(1, self.bucket.delete(key))
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn run(cfg: &Cfg) {
    let streams = env_or("BENCH_TIER_STREAMS", 1000);
    let rtt = Duration::from_millis(env_or("BENCH_TIER_RTT_MS", 10));
    let bucket = MemoryTier::new();
    let tier = || -> Arc<dyn Tier> {
        Arc::new(Distant {
            bucket: bucket.view(),
            rtt,
        })
    };
    let config = || {
        let mut config = TierConfig::new(tier());
        config.lease_ttl = Duration::from_secs(30);
        config
    };
    let (a_dir, b_dir) = (cfg.scratch("tier-many-a"), cfg.scratch("tier-many-b"));
    let timed = |what: &str, work: &mut dyn FnMut()| {
        let start = Instant::now();
        work();
        emit("tier-many", what, start.elapsed().as_secs_f64(), "s");
    };

    let a = Store::open_tiered(&a_dir, Options::default(), config()).unwrap();
    for stream in 1..=streams {
        a.append(stream, b"one event").unwrap();
    }
    timed("tier-many/sync", &mut || a.sync_tier().unwrap());
    a.close().unwrap();
    let mut a = None;
    timed("tier-many/open", &mut || {
        a = Some(Store::open_tiered(&a_dir, Options::default(), config()).unwrap())
    });
    // Released: a sync found everything in the bucket.
    let a = a.unwrap();
    a.sync_tier().unwrap();
    a.close().unwrap();
    let mut b = None;
    timed("tier-many/takeover", &mut || {
        b = Some(Store::open_tiered(&b_dir, Options::default(), config()).unwrap())
    });
    let b = b.unwrap();
    assert_eq!(b.tier_stats().unwrap().epoch, 2);
    assert_eq!(b.streams().unwrap().len() as u64, streams);
    b.close().unwrap();
    timed("tier-many/read-only-open", &mut || {
        let remote = Store::open_tier_read_only(tier(), Options::default()).unwrap();
        assert_eq!(remote.streams().unwrap().len() as u64, streams);
    });
}
