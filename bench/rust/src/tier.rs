//! Issue 16: the object-storage tier against a local S3 API (moto_server,
//! from build/bench-venv; `BENCH_MOTO_SERVER` names it). Emitted as
//! system "tier":
//!
//! - `tier/append/alone`, `tier/append/tiered` (events/s): 100 B x1000
//!   batches into 1 MiB segments, without a tier and with one uploading
//!   every sealed segment meanwhile: five turns of each, taken in turn,
//!   and each mode's median.
//! - `tier/upload` (MB/s): `sync_tier` of `BENCH_TIER_MB` (128) of sealed
//!   segments a store holds when it first opens with the tier; beside
//!   `tier/raw-put` (MB/s), the same files put through the same server with
//!   the same client (object_store), one after another, as `aws s3 cp`
//!   would. `tier/upload-put-mb` (MB) and `tier/upload-puts` (objects):
//!   all that store put, the log's tiles included.
//! - `tier/verify` (MB/s): `verify` of that stream straight from the
//!   bucket, with no local store; beside `tier/raw-get` (MB/s), every
//!   object fetched whole.
//! - `tier/cold-read` (ms, median) and `tier/cold-read-gets` (GETs): one
//!   event read from a segment only the bucket holds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::ops::Range;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stratalog_core::tier::{Object, ObjectInfo, Put, Tier};
use stratalog_core::{Options, Store, TierConfig};

use crate::{emit, events, Cfg};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let exe = std::env::var("BENCH_MOTO_SERVER")
            .unwrap_or_else(|_| "build/bench-venv/bin/moto_server".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {exe}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Creates a bucket with an unsigned PUT (moto allows it).
    fn bucket(&self, name: &str) {
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }

    fn tier(&self, bucket: &str) -> Arc<dyn Tier> {
        let options = [
            ("endpoint", self.endpoint.as_str()),
            ("allow_http", "true"),
            ("region", "us-east-1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        stratalog_tier::connect(&format!("s3://{bucket}/bench"), &options).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts the GETs, and the objects and bytes put, made through it.
#[derive(Debug)]
struct Counting {
    tier: Arc<dyn Tier>,
    gets: AtomicU64,
    puts: AtomicU64,
    put_bytes: AtomicU64,
}

impl Counting {
    fn new(tier: Arc<dyn Tier>) -> Counting {
        Counting {
            tier,
            gets: AtomicU64::new(0),
            puts: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
        }
    }

    fn put(&self, bytes: &[u8]) {
        self.puts.fetch_add(1, Ordering::Relaxed);
        self.put_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

// The batch calls go to the inner tier's, so requests stay in flight
// together as they would without the count.
impl Tier for Counting {
    fn url(&self) -> &str {
        self.tier.url()
    }
    fn get(&self, key: &str) -> std::io::Result<Option<Object>> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        self.tier.get(key)
    }
    fn get_all(&self, keys: Vec<String>) -> Vec<std::io::Result<Option<Object>>> {
        self.gets.fetch_add(keys.len() as u64, Ordering::Relaxed);
        self.tier.get_all(keys)
    }
    fn get_range(&self, key: &str, range: Range<u64>) -> std::io::Result<Vec<u8>> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        self.tier.get_range(key, range)
    }
    fn head(&self, key: &str) -> std::io::Result<Option<ObjectInfo>> {
        self.tier.head(key)
    }
    fn put_create(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<Put> {
        self.put(&bytes);
        self.tier.put_create(key, bytes)
    }
    fn put_create_all(&self, objects: Vec<(String, Vec<u8>)>) -> Vec<std::io::Result<Put>> {
        objects.iter().for_each(|(_, bytes)| self.put(bytes));
        self.tier.put_create_all(objects)
    }
    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> std::io::Result<Put> {
        self.put(&bytes);
        self.tier.put_update(key, bytes, etag)
    }
    fn put_update_all(&self, objects: Vec<(String, Vec<u8>, String)>) -> Vec<std::io::Result<Put>> {
        objects.iter().for_each(|(_, bytes, _)| self.put(bytes));
        self.tier.put_update_all(objects)
    }
    fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        Counting::put(self, &bytes);
        self.tier.put(key, bytes)
    }
    fn list_dirs(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.tier.list_dirs(dir)
    }
    fn list_objects(&self, dir: &str) -> std::io::Result<Vec<String>> {
        self.tier.list_objects(dir)
    }
    fn delete(&self, key: &str) -> std::io::Result<()> {
        self.tier.delete(key)
    }
}

fn options(segment_size: u64) -> Options {
    Options {
        segment_size,
        ..Options::default()
    }
}

/// CPU seconds (user + system) process `pid` ("self" for this one) used.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn append_rate(store: &Store, seconds: f64) -> f64 {
    let evs = events(100, 1000);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        store.append_batch(1, &evs, None, false).unwrap();
        n += 1000;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

pub fn run(cfg: &Cfg) {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    let moto = Moto::start();
    let seconds = (cfg.budget.as_secs_f64() * 10.0).max(2.0);

    // Appends with and without a tier uploading beside them, in turns
    // (alone, tiered, alone, ...), each mode's median taken: the page
    // cache and the disk drift over a run, and a fixed order would charge
    // the drift to whichever mode went second. The tiered store closes
    // after each of its turns, so no upload runs during the next one
    // alone, and opens again with its backlog for the next.
    let turns = 5;
    let turn = seconds / turns as f64;
    let server = moto.child.id().to_string();
    let alone = Store::open(cfg.scratch("tier-alone"), options(1 << 20)).unwrap();
    moto.bucket("append");
    let tiered_dir = cfg.scratch("tier-tiered");
    let (mut alone_rates, mut tiered_rates) = (Vec::new(), Vec::new());
    let (mut cpu_alone, mut cpu_tiered, mut server_cpu, mut uploaded) = (0.0, 0.0, 0.0, 0);
    for _ in 0..turns {
        let cpu = cpu_seconds("self");
        alone_rates.push(append_rate(&alone, turn));
        cpu_alone += cpu_seconds("self") - cpu;
        let tiered = Store::open_tiered(
            &tiered_dir,
            options(1 << 20),
            TierConfig::new(moto.tier("append")),
        )
        .unwrap();
        let (cpu, server_before) = (cpu_seconds("self"), cpu_seconds(&server));
        tiered_rates.push(append_rate(&tiered, turn));
        cpu_tiered += cpu_seconds("self") - cpu;
        server_cpu += cpu_seconds(&server) - server_before;
        uploaded += tiered.tier_stats().unwrap().uploaded_segments;
        tiered.close().unwrap();
    }
    alone.close().unwrap();
    let median = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    };
    let (rate_alone, rate_tiered) = (median(&mut alone_rates), median(&mut tiered_rates));
    emit("tier", "tier/append/alone", rate_alone, "events/s");
    emit("tier", "tier/append/tiered", rate_tiered, "events/s");
    emit(
        "tier",
        "tier/append/uploaded-meanwhile",
        uploaded as f64,
        "segments",
    );
    // Where the CPU went, per second of appending: this process (the
    // writer, plus the uploader when tiered) and the S3 server, which
    // shares this machine's cores.
    emit(
        "tier",
        "tier/append/cpu-alone",
        cpu_alone / seconds,
        "cores",
    );
    emit(
        "tier",
        "tier/append/cpu-tiered",
        cpu_tiered / seconds,
        "cores",
    );
    emit(
        "tier",
        "tier/append/cpu-server",
        server_cpu / seconds,
        "cores",
    );

    // Upload of a backlog of sealed segments, and the raw transfer.
    let mb: u64 = std::env::var("BENCH_TIER_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let path = cfg.scratch("tier-upload");
    let store = Store::open(&path, options(8 << 20)).unwrap();
    let evs = events(1024, 1000);
    for _ in 0..(mb << 20) / (1024 * 1000) {
        store.append_batch(1, &evs, None, false).unwrap();
    }
    let head = store.chain_head(1).unwrap();
    store.close().unwrap();
    moto.bucket("upload");
    let counted = Arc::new(Counting::new(moto.tier("upload")));
    let store =
        Store::open_tiered(&path, options(8 << 20), TierConfig::new(counted.clone())).unwrap();
    let start = Instant::now();
    store.sync_tier().unwrap();
    let took = start.elapsed().as_secs_f64();
    let bytes = store.tier_stats().unwrap().uploaded_bytes;
    store.close().unwrap();
    emit("tier", "tier/upload", bytes as f64 / 1e6 / took, "MB/s");
    // What the store put from its open to its close: besides the
    // segments, their indexes, the manifest and the log's tiles (hash
    // tiles and entry bundles, one of each per 256 events): more than the
    // rate above counts, in many more requests.
    emit(
        "tier",
        "tier/upload-put-mb",
        counted.put_bytes.load(Ordering::Relaxed) as f64 / 1e6,
        "MB",
    );
    emit(
        "tier",
        "tier/upload-puts",
        counted.puts.load(Ordering::Relaxed) as f64,
        "objects",
    );

    moto.bucket("raw");
    let raw = moto.tier("raw");
    let mut files: Vec<_> = std::fs::read_dir(path.join("streams").join(format!("{:020}", 1)))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    let start = Instant::now();
    let mut raw_bytes = 0u64;
    for (i, file) in files.iter().enumerate() {
        let data = std::fs::read(file).unwrap();
        raw_bytes += data.len() as u64;
        raw.put(&format!("objects/{i}"), data).unwrap();
    }
    emit(
        "tier",
        "tier/raw-put",
        raw_bytes as f64 / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );
    let start = Instant::now();
    let mut got = 0u64;
    for i in 0..files.len() {
        got += raw
            .get(&format!("objects/{i}"))
            .unwrap()
            .unwrap()
            .bytes
            .len() as u64;
    }
    emit(
        "tier",
        "tier/raw-get",
        got as f64 / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );

    // Verify straight from the bucket.
    let start = Instant::now();
    let remote = Store::open_tier_read_only(moto.tier("upload"), Options::default()).unwrap();
    let report = remote.verify_against(1, &head).unwrap();
    emit(
        "tier",
        "tier/verify",
        report.bytes as f64 / 1e6 / start.elapsed().as_secs_f64(),
        "MB/s",
    );
    drop(remote);

    // A cold read of one event from a segment only the bucket holds: the
    // writer reopened with a cache that keeps nothing (its local copies go
    // at open), reading one event of each sealed segment once.
    let counting = Arc::new(Counting::new(moto.tier("upload")));
    let mut config = TierConfig::new(counting.clone());
    config.local_cache_bytes = Some(0);
    let store = Store::open_tiered(&path, options(8 << 20), config).unwrap();
    assert!(store.tier_stats().unwrap().evicted_segments > 0);
    let per_segment = head.next_offset / files.len() as u64;
    let mut times = Vec::new();
    let mut gets = Vec::new();
    for i in 0..files.len() as u64 - 1 {
        let offset = i * per_segment + per_segment / 2;
        let before = counting.gets.load(Ordering::Relaxed);
        let start = Instant::now();
        let read = store.read_from(1, offset, 1).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        gets.push((counting.gets.load(Ordering::Relaxed) - before) as f64);
        assert_eq!(read.len(), 1);
    }
    store.close().unwrap();
    times.sort_by(f64::total_cmp);
    gets.sort_by(f64::total_cmp);
    emit("tier", "tier/cold-read", times[times.len() / 2], "ms");
    emit("tier", "tier/cold-read-gets", gets[gets.len() / 2], "GETs");
}
