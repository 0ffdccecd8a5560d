//! A segment or index object read by ranged GETs, as a read-only
//! [`ByteFile`].
//!
//! Reads are served from the last blocks fetched. A read that starts where
//! the previous one ended doubles the next fetch (up to 4 MiB), so a scan
//! costs few requests while a random read fetches little. A reader that
//! knows what it will read (from a checkpoint up to the next: the walk to
//! one event) says so first, and that span comes with one request.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Tier;
use crate::io::ByteFile;

const MIN_FETCH: u64 = 64 << 10;
const MAX_FETCH: u64 = 4 << 20;
const KEPT_BLOCKS: usize = 2;

/// Called when the object turns out to be gone: a prune deleted it after
/// the manifest listing it was read.
pub(crate) type OnMissing = Arc<dyn Fn() + Send + Sync>;

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
    /// The span the next read is said to start (`will_read`).
    planned: Option<Range<u64>>,
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
        if let Some(hit) = cache
            .blocks
            .iter()
            .find(|(start, b)| *start <= pos && pos < start + b.len() as u64)
            .cloned()
        {
            return Ok(hit);
        }
        cache.fetch = match cache.planned.take() {
            Some(span) if span.contains(&pos) => (span.end - pos).clamp(MIN_FETCH, MAX_FETCH),
            _ if pos == cache.next_sequential => (cache.fetch * 2).min(MAX_FETCH),
            _ => MIN_FETCH,
        };
        let end = pos.saturating_add(cache.fetch).min(self.len);
        let bytes = self.tier.get_range(&self.key, pos..end)?;
        if bytes.len() as u64 != end - pos {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} is shorter than its manifest says", self.key),
            ));
        }
        let block = (pos, Arc::new(bytes));
        cache.next_sequential = end;
        cache.blocks.push_back(block.clone());
        if cache.blocks.len() > KEPT_BLOCKS {
            cache.blocks.pop_front();
        }
        Ok(block)
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
                        on_missing();
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
}
