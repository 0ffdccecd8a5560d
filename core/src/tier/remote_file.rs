//! A segment or index object read by ranged GETs, as a read-only
//! [`ByteFile`].
//!
//! Reads are served from the last blocks fetched. A read that starts where
//! the previous one ended doubles the next fetch (up to 4 MiB), so a scan
//! costs few requests while a random read fetches little. A reader that
//! knows what it will read (from a checkpoint up to the next: the walk to
//! one event; a whole segment: a verify) says so first, and that span
//! comes with one request, or 4 MiB blocks for a longer one.
//!
//! A span said to come (`fetch_soon`: a verify's segment, and its next
//! one) is fetched on a thread of its own, block after block, each while
//! the reader works on the one before; a scan that has doubled its
//! fetches to 4 MiB reads ahead the same way. The bucket's latency and
//! the reader's hashing overlap instead of adding up. Each file has one
//! block at most on its way (and a replaced one runs to its end); it is
//! dropped once a read passes it, and one that failed is fetched again
//! when the reader gets there.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::mpsc;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Tier;
use crate::io::ByteFile;

const MIN_FETCH: u64 = 64 << 10;
const MAX_FETCH: u64 = 4 << 20;
const KEPT_BLOCKS: usize = 2;

/// Called when the object turns out to be gone (a prune deleted it after
/// the manifest listing it was read, or it was removed from outside), to
/// read the manifest again; fails if it could not.
pub(crate) type OnMissing = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

pub(crate) struct RemoteFile {
    tier: Arc<dyn Tier>,
    key: String,
    len: u64,
    cache: Mutex<Cache>,
    on_missing: Option<OnMissing>,
}

impl std::fmt::Debug for RemoteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteFile")
            .field("key", &self.key)
            .field("len", &self.len)
            .finish()
    }
}

#[derive(Debug, Default)]
struct Cache {
    /// (start, bytes), most recent last.
    blocks: VecDeque<(u64, Arc<Vec<u8>>)>,
    next_sequential: u64,
    fetch: u64,
    /// The span the next read is said to start (`will_read`): it sizes
    /// the fetch of the next miss, whichever way that is served.
    planned: Option<Range<u64>>,
    /// Whether sequential reads have doubled the fetches to the largest.
    scanning: bool,
    /// The block after the last one fetched, on its way.
    ahead: Option<Ahead>,
}

impl Cache {
    /// The block kept that holds the byte at `pos`.
    fn block_holding(&self, pos: u64) -> Option<&(u64, Arc<Vec<u8>>)> {
        self.blocks
            .iter()
            .find(|(start, b)| *start <= pos && pos < start + b.len() as u64)
    }
}

/// A block being fetched by a thread of its own.
#[derive(Debug)]
struct Ahead {
    range: Range<u64>,
    /// The end of the span said to come (`fetch_soon`) that this block is
    /// part of, so the block after it is fetched in turn (0: none).
    span_end: u64,
    /// The process that started the fetch: a child `fork` made has the
    /// channel but not the thread, and would wait for it forever.
    pid: u32,
    fetched: mpsc::Receiver<io::Result<Vec<u8>>>,
}

impl Ahead {
    /// Whether this process's thread is fetching it (see `pid`).
    fn is_ours(&self) -> bool {
        self.pid == std::process::id()
    }
}

impl RemoteFile {
    /// The object `key`, whose length the manifest gives (the bytes past
    /// it, if the object is longer, are never read).
    pub(crate) fn new(tier: Arc<dyn Tier>, key: String, len: u64) -> Self {
        RemoteFile {
            tier,
            key,
            len,
            cache: Mutex::new(Cache {
                // The first read (a header, at 0) continues nothing.
                next_sequential: u64::MAX,
                fetch: MIN_FETCH,
                ..Cache::default()
            }),
            on_missing: None,
        }
    }

    /// Calls `hook` (before the read's `NotFound` error returns) when the
    /// object is gone.
    pub(crate) fn with_on_missing(mut self, hook: OnMissing) -> Self {
        self.on_missing = Some(hook);
        self
    }

    /// The object's key under the tier's prefix.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    fn block_at(&self, pos: u64) -> io::Result<(u64, Arc<Vec<u8>>)> {
        let mut cache = self.cache.lock();
        if let Some(hit) = cache.block_holding(pos) {
            return Ok(hit.clone());
        }
        let plan = cache.planned.take().filter(|span| span.contains(&pos));
        if let Some(ahead) = cache.ahead.take() {
            if !ahead.is_ours() {
                // Dropped: its thread is the parent's.
            } else if ahead.range.contains(&pos) {
                let bytes = match ahead.fetched.recv() {
                    Ok(Ok(bytes)) => bytes,
                    // Made again now the reader wants it: a passing fault
                    // met before anyone asked is not the reader's error.
                    _ => self.tier.get_range(&self.key, ahead.range.clone())?,
                };
                return self.keep(&mut cache, ahead.range, bytes, ahead.span_end);
            } else if pos < ahead.range.start {
                // A read elsewhere before the reader gets to it.
                cache.ahead = Some(ahead);
            }
        }
        (cache.fetch, cache.scanning) = match plan {
            Some(span) => ((span.end - pos).clamp(MIN_FETCH, MAX_FETCH), false),
            None if pos == cache.next_sequential => {
                let fetch = (cache.fetch * 2).min(MAX_FETCH);
                (fetch, fetch == MAX_FETCH)
            }
            None => (MIN_FETCH, false),
        };
        let end = pos.saturating_add(cache.fetch).min(self.len);
        let bytes = self.tier.get_range(&self.key, pos..end)?;
        self.keep(&mut cache, pos..end, bytes, 0)
    }

    /// Keeps the block `bytes` fetched for `range` (if it is whole), and
    /// starts fetching the next if the reader is expected to want it: the
    /// span said to come (to `span_end`) goes on, or a scan does.
    fn keep(
        &self,
        cache: &mut Cache,
        range: Range<u64>,
        bytes: Vec<u8>,
        span_end: u64,
    ) -> io::Result<(u64, Arc<Vec<u8>>)> {
        if bytes.len() as u64 != range.end - range.start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} is shorter than its manifest says", self.key),
            ));
        }
        let block = (range.start, Arc::new(bytes));
        cache.next_sequential = range.end;
        cache.blocks.push_back(block.clone());
        if cache.blocks.len() > KEPT_BLOCKS {
            cache.blocks.pop_front();
        }
        let (next, span_end) = if range.end < span_end {
            ((span_end - range.end).clamp(MIN_FETCH, MAX_FETCH), span_end)
        } else if cache.scanning {
            (MAX_FETCH, 0)
        } else {
            (0, 0)
        };
        if next > 0 && range.end < self.len {
            let next = range.end..range.end.saturating_add(next).min(self.len);
            cache.ahead = self.fetch_ahead(next, span_end);
        }
        Ok(block)
    }

    /// Starts fetching `range` on a thread of its own; `None` if no thread
    /// could be started (the reader then fetches it when it gets there).
    fn fetch_ahead(&self, range: Range<u64>, span_end: u64) -> Option<Ahead> {
        let (send, fetched) = mpsc::sync_channel(1);
        let tier = self.tier.clone();
        let key = self.key.clone();
        let span = range.clone();
        std::thread::Builder::new()
            .name("stratalog-fetch".into())
            .spawn(move || {
                // The reader may have gone on without it: nobody to tell.
                let _ = send.send(tier.get_range(&key, span));
            })
            .ok()?;
        Some(Ahead {
            range,
            span_end,
            pid: std::process::id(),
            fetched,
        })
    }
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "a segment in the object store is never written",
    )
}

impl ByteFile for RemoteFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.len)
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        if pos.saturating_add(buf.len() as u64) > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read past the end of {}", self.key),
            ));
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = pos + done as u64;
            let (start, block) = match self.block_at(at) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if let Some(on_missing) = &self.on_missing {
                        // Unsure whether a prune took it: not NotFound,
                        // which readers take as the bucket's last word.
                        if let Err(why) = on_missing() {
                            return Err(io::Error::other(format!(
                                "{e}; and reading its manifest again failed: {why}"
                            )));
                        }
                    }
                    return Err(e);
                }
                found => found?,
            };
            let from = (at - start) as usize;
            let n = (block.len() - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&block[from..from + n]);
            done += n;
        }
        Ok(())
    }

    fn write_all_at(&self, _data: &[u8], _pos: u64) -> io::Result<()> {
        Err(read_only())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&self, _len: u64) -> io::Result<()> {
        Err(read_only())
    }

    fn will_read(&self, range: Range<u64>) -> bool {
        self.cache.lock().planned = Some(range);
        true
    }

    fn forget_cached(&self) {
        let mut cache = self.cache.lock();
        cache.blocks.clear();
        cache.ahead = None;
        cache.planned = None;
        cache.scanning = false;
    }

    fn fetch_soon(&self, range: Range<u64>) {
        let mut cache = self.cache.lock();
        let start = range.start;
        let held = cache.block_holding(start).is_some();
        let coming = cache
            .ahead
            .as_ref()
            .is_some_and(|a| a.range.contains(&start) && a.is_ours());
        if held || coming || start >= range.end.min(self.len) {
            return;
        }
        let fetch = (range.end - start).clamp(MIN_FETCH, MAX_FETCH);
        cache.scanning = false;
        let first = start..start.saturating_add(fetch).min(self.len);
        cache.ahead = self.fetch_ahead(first, range.end);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::super::memory::MemoryTier;
    use super::super::{Object, ObjectInfo, Put};
    use super::*;

    const KEY: &str = "streams/1/object";

    fn object(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// The object `KEY` of `bucket`, `len` bytes long.
    fn remote(bucket: &MemoryTier, len: usize) -> RemoteFile {
        RemoteFile::new(Arc::new(bucket.clone()), KEY.into(), len as u64)
    }

    fn bucket_with(bytes: &[u8]) -> MemoryTier {
        let bucket = MemoryTier::new();
        bucket.put(KEY, bytes.to_vec()).unwrap();
        bucket
    }

    /// Reads `file` from `from` to its end, `chunk` bytes at a time, as a
    /// record reader's windows do.
    fn read_on(file: &RemoteFile, from: u64, chunk: usize) -> Vec<u8> {
        let len = file.len().unwrap();
        let mut out = Vec::new();
        let mut pos = from;
        while pos < len {
            let mut buf = vec![0; chunk.min((len - pos) as usize)];
            file.read_exact_at(&mut buf, pos).unwrap();
            out.extend_from_slice(&buf);
            pos += buf.len() as u64;
        }
        out
    }

    /// Waits (a few seconds at most) for the GETs of the object to reach `n`.
    fn wait_for_gets(bucket: &MemoryTier, n: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while bucket.gets_of(KEY) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        bucket.gets_of(KEY)
    }

    #[test]
    fn a_span_said_to_come_is_fetched_block_after_block_before_it_is_read() {
        let bytes = object((10 << 20) + 5);
        let bucket = bucket_with(&bytes);
        let file = remote(&bucket, bytes.len());
        file.fetch_soon(0..bytes.len() as u64);
        let mut header = [0u8; 80];
        file.read_exact_at(&mut header, 0).unwrap();
        assert_eq!(header[..], bytes[..80]);
        // The second block is on its way before the reader gets there.
        assert_eq!(wait_for_gets(&bucket, 2), 2);
        assert_eq!(read_on(&file, 80, 256 << 10), bytes[80..]);
        // 4 MiB, 4 MiB, and the rest: nothing fetched twice.
        assert_eq!(bucket.gets_of(KEY), 3);
        assert!(file.cache.lock().ahead.is_none());

        // A plan said and never used (the verify's own) leaves nothing
        // behind: a one-event read elsewhere later fetches its span alone.
        let file = remote(&bucket, bytes.len());
        file.fetch_soon(0..bytes.len() as u64);
        assert!(file.will_read(80..bytes.len() as u64));
        file.read_exact_at(&mut header, 0).unwrap();
        let before = wait_for_gets(&bucket, 5);
        assert_eq!(before, 5, "the first block and the one after it");
        let at = 9 << 20;
        assert!(file.will_read(at..at + 1000));
        let mut event = [0u8; 1000];
        file.read_exact_at(&mut event, at).unwrap();
        assert_eq!(event[..], bytes[at as usize..at as usize + 1000]);
        let cache = file.cache.lock();
        assert!(cache.ahead.is_none() && cache.planned.is_none());
        assert_eq!(cache.blocks.back().map(|b| b.1.len()), Some(64 << 10));
        drop(cache);
        assert_eq!(bucket.gets_of(KEY), before + 1);
    }

    #[test]
    fn a_span_said_to_be_read_sizes_one_fetch_and_no_more() {
        // The walk to one event: one GET, even when the event is in it
        // before the span's end, and nothing fetched ahead.
        let bytes = object(1 << 20);
        let bucket = bucket_with(&bytes);
        let file = remote(&bucket, bytes.len());
        assert!(file.will_read(100_000..400_000));
        let mut buf = [0u8; 500];
        file.read_exact_at(&mut buf, 100_000).unwrap();
        assert_eq!(buf[..], bytes[100_000..100_500]);
        let cache = file.cache.lock();
        assert!(cache.ahead.is_none());
        assert_eq!(cache.blocks.back().map(|b| b.1.len()), Some(300_000));
        drop(cache);
        assert_eq!(bucket.gets_of(KEY), 1);
    }

    #[test]
    fn a_span_said_to_come_soon_is_on_its_way_before_any_read() {
        let bytes = object((5 << 20) + 3);
        let bucket = bucket_with(&bytes);
        let file = remote(&bucket, bytes.len());
        file.fetch_soon(0..bytes.len() as u64);
        assert_eq!(wait_for_gets(&bucket, 1), 1);
        // Said again (the reader's own plan), nothing more is fetched.
        file.fetch_soon(0..bytes.len() as u64);
        assert!(file.will_read(80..bytes.len() as u64));
        let mut header = [0u8; 80];
        file.read_exact_at(&mut header, 0).unwrap();
        assert_eq!(header[..], bytes[..80]);
        assert_eq!(read_on(&file, 80, 256 << 10), bytes[80..]);
        assert_eq!(bucket.gets_of(KEY), 2);
        // Nothing is fetched for a span already held, or empty.
        file.fetch_soon(4 << 20..bytes.len() as u64);
        file.fetch_soon(7..7);
        assert!(file.cache.lock().ahead.is_none());
    }

    #[test]
    fn a_scan_reads_ahead_once_its_fetches_reach_the_largest() {
        let bytes = object(24 << 20);
        let bucket = bucket_with(&bytes);
        let file = remote(&bucket, bytes.len());
        let mut head = vec![0u8; 9 << 20];
        for (i, chunk) in head.chunks_mut(64 << 10).enumerate() {
            file.read_exact_at(chunk, (i as u64) << 16).unwrap();
        }
        assert!(file.cache.lock().ahead.is_some(), "no block is on its way");
        head.extend(read_on(&file, 9 << 20, 64 << 10));
        assert!(head == bytes);
        // 64 KiB doubling to 4 MiB covers 8 MiB less 64 KiB in seven
        // fetches; then four 4 MiB blocks and the last 64 KiB, each
        // fetched ahead, none twice.
        assert_eq!(bucket.gets_of(KEY), 7 + 5);
        // Random reads fetch little, and nothing ahead.
        let file = remote(&bucket, bytes.len());
        let before = bucket.gets_of(KEY);
        for pos in [20 << 20, 3 << 20, 11 << 20] {
            let mut buf = [0u8; 100];
            file.read_exact_at(&mut buf, pos).unwrap();
            assert_eq!(buf[..], bytes[pos as usize..pos as usize + 100]);
            assert!(file.cache.lock().ahead.is_none());
        }
        assert_eq!(bucket.gets_of(KEY) - before, 3);
    }

    /// The in-memory bucket, with GETs of ranges past the first held back
    /// until `open`.
    #[derive(Debug)]
    struct Gated {
        bucket: MemoryTier,
        open: AtomicBool,
        first_done: AtomicBool,
        /// The next GET let through fails (once), as a dropped connection.
        fail_next: AtomicBool,
    }

    fn gated(bucket: &MemoryTier) -> Arc<Gated> {
        Arc::new(Gated {
            bucket: bucket.clone(),
            open: AtomicBool::new(false),
            first_done: AtomicBool::new(false),
            fail_next: AtomicBool::new(false),
        })
    }

    impl Tier for Gated {
        fn url(&self) -> &str {
            "memory://gated"
        }
        fn get(&self, key: &str) -> io::Result<Option<Object>> {
            self.bucket.get(key)
        }
        fn get_range(&self, key: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
            if self.first_done.swap(true, Ordering::SeqCst) {
                while !self.open.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if self.fail_next.swap(false, Ordering::SeqCst) {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "dropped"));
                }
            }
            self.bucket.get_range(key, range)
        }
        fn head(&self, key: &str) -> io::Result<Option<ObjectInfo>> {
            self.bucket.head(key)
        }
        fn put_create(&self, key: &str, bytes: Vec<u8>) -> io::Result<Put> {
            self.bucket.put_create(key, bytes)
        }
        fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> io::Result<Put> {
            self.bucket.put_update(key, bytes, etag)
        }
        fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
            self.bucket.put(key, bytes)
        }
        fn list_dirs(&self, dir: &str) -> io::Result<Vec<String>> {
            self.bucket.list_dirs(dir)
        }
        fn list_objects(&self, dir: &str) -> io::Result<Vec<String>> {
            self.bucket.list_objects(dir)
        }
        fn delete(&self, key: &str) -> io::Result<()> {
            self.bucket.delete(key)
        }
    }

    #[test]
    fn a_block_fetched_ahead_of_an_object_since_deleted_is_not_found_when_read() {
        let bytes = object(6 << 20);
        let bucket = bucket_with(&bytes);
        let gated = gated(&bucket);
        let missing = Arc::new(AtomicBool::new(false));
        let seen = missing.clone();
        let file = RemoteFile::new(gated.clone(), KEY.into(), bytes.len() as u64).with_on_missing(
            Arc::new(move || {
                seen.store(true, Ordering::SeqCst);
                Ok(())
            }),
        );
        file.fetch_soon(0..bytes.len() as u64);
        let mut buf = vec![0u8; 4 << 20];
        file.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(buf, bytes[..4 << 20]);
        // A prune deletes the object while the next block is on its way.
        bucket.delete(KEY).unwrap();
        gated.open.store(true, Ordering::SeqCst);
        let err = file.read_exact_at(&mut buf[..100], 5 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(missing.load(Ordering::SeqCst));
    }

    #[test]
    fn an_object_gone_whose_manifest_cannot_be_read_again_is_not_not_found() {
        let bytes = object(1 << 20);
        let bucket = bucket_with(&bytes);
        let file = RemoteFile::new(Arc::new(bucket.clone()), KEY.into(), bytes.len() as u64)
            .with_on_missing(Arc::new(|| Err(io::Error::other("timed out"))));
        bucket.delete(KEY).unwrap();
        let err = file.read_exact_at(&mut [0u8; 10], 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other, "{err}");
        assert!(err.to_string().contains("timed out"), "{err}");
    }

    #[test]
    fn a_block_whose_fetch_ahead_failed_is_fetched_again_when_read() {
        let bytes = object(6 << 20);
        let bucket = bucket_with(&bytes);
        let gated = gated(&bucket);
        gated.fail_next.store(true, Ordering::SeqCst);
        let file = RemoteFile::new(gated.clone(), KEY.into(), bytes.len() as u64);
        file.fetch_soon(0..bytes.len() as u64);
        let mut buf = vec![0u8; 4 << 20];
        file.read_exact_at(&mut buf, 0).unwrap();
        // The block after it fails on its way; the read of it fetches it
        // again and gets the bytes.
        gated.open.store(true, Ordering::SeqCst);
        assert_eq!(
            wait_for_gets(&bucket, 1),
            1,
            "the failed GET reached no object"
        );
        assert_eq!(read_on(&file, 4 << 20, 64 << 10), bytes[4 << 20..]);
        assert!(!gated.fail_next.load(Ordering::SeqCst));
        assert_eq!(bucket.gets_of(KEY), 2);
    }
}
