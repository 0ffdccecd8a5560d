//! A [`Tier`] held in memory, with the semantics of a bucket that supports
//! conditional writes: for tests, and for faults a real server cannot be
//! made to produce on cue.

use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Object, ObjectInfo, Put, Tier};

#[derive(Debug, Clone)]
struct Stored {
    bytes: Arc<Vec<u8>>,
    etag: String,
    modified_unix_ms: u64,
}

/// An in-memory bucket. Clones share their objects and their network, as
/// two processes of one machine do; [`MemoryTier::view`] shares only the
/// objects, as another machine does.
#[derive(Debug, Clone, Default)]
pub struct MemoryTier {
    objects: Arc<Mutex<BTreeMap<String, Stored>>>,
    versions: Arc<AtomicU64>,
    /// While set, every call through this network fails as an unreachable
    /// bucket does.
    down: Arc<std::sync::atomic::AtomicBool>,
    /// While set, every delete fails (a bucket policy that forbids them,
    /// or a delete lost on the way); everything else works.
    deletes_fail: Arc<std::sync::atomic::AtomicBool>,
    /// GETs (whole and ranged) made through this network, in all and by key.
    gets: Arc<AtomicU64>,
    gets_by_key: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Listings made through this network.
    lists: Arc<AtomicU64>,
}

impl MemoryTier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The same bucket reached over a network of its own: `set_down` on one
    /// view leaves the others working.
    pub fn view(&self) -> Self {
        MemoryTier {
            objects: self.objects.clone(),
            versions: self.versions.clone(),
            down: Arc::default(),
            deletes_fail: Arc::default(),
            gets: Arc::default(),
            gets_by_key: Arc::default(),
            lists: Arc::default(),
        }
    }

    /// Listings (of objects or of sub-directories) made so far through
    /// this network.
    pub fn lists(&self) -> u64 {
        self.lists.load(Ordering::SeqCst)
    }

    /// GETs (whole and ranged) made so far through this network.
    pub fn gets(&self) -> u64 {
        self.gets.load(Ordering::SeqCst)
    }

    /// GETs (whole and ranged) of `key` made so far through this network.
    pub fn gets_of(&self, key: &str) -> u64 {
        self.gets_by_key.lock().get(key).copied().unwrap_or(0)
    }

    /// GETs (whole and ranged) of keys starting with `prefix` made so far
    /// through this network.
    pub fn gets_under(&self, prefix: &str) -> u64 {
        let by_key = self.gets_by_key.lock();
        by_key
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    fn count_get(&self, key: &str) {
        self.gets.fetch_add(1, Ordering::SeqCst);
        *self.gets_by_key.lock().entry(key.to_owned()).or_default() += 1;
    }

    /// Makes every call fail (`true`) or work again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Makes every delete fail (`true`) or work again (`false`).
    pub fn set_deletes_fail(&self, fail: bool) {
        self.deletes_fail.store(fail, Ordering::SeqCst);
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().keys().cloned().collect()
    }

    /// Replaces an object's bytes behind the writer's back (tests of
    /// tampering).
    pub fn overwrite(&self, key: &str, bytes: Vec<u8>) {
        let stored = self.stored(bytes);
        self.objects.lock().insert(key.to_owned(), stored);
    }

    fn stored(&self, bytes: Vec<u8>) -> Stored {
        let version = self.versions.fetch_add(1, Ordering::SeqCst) + 1;
        Stored {
            bytes: Arc::new(bytes),
            etag: format!("\"v{version}\""),
            modified_unix_ms: crate::tier::lease::unix_ms(),
        }
    }

    fn check_up(&self) -> io::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "memory tier is down",
            ));
        }
        Ok(())
    }
}

impl Tier for MemoryTier {
    fn url(&self) -> &str {
        "memory://"
    }

    fn get(&self, key: &str) -> io::Result<Option<Object>> {
        self.check_up()?;
        self.count_get(key);
        Ok(self.objects.lock().get(key).map(|s| Object {
            bytes: s.bytes.to_vec(),
            etag: Some(s.etag.clone()),
        }))
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
        self.check_up()?;
        self.count_get(key);
        let objects = self.objects.lock();
        let stored = objects
            .get(key)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{key} not found")))?;
        let len = stored.bytes.len() as u64;
        if range.start > range.end || range.end > len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{key} holds {len} bytes, not {range:?}"),
            ));
        }
        Ok(stored.bytes[range.start as usize..range.end as usize].to_vec())
    }

    fn head(&self, key: &str) -> io::Result<Option<ObjectInfo>> {
        self.check_up()?;
        Ok(self.objects.lock().get(key).map(|s| ObjectInfo {
            size: s.bytes.len() as u64,
            etag: Some(s.etag.clone()),
            modified_unix_ms: s.modified_unix_ms,
        }))
    }

    fn put_create(&self, key: &str, bytes: Vec<u8>) -> io::Result<Put> {
        self.check_up()?;
        let mut objects = self.objects.lock();
        if objects.contains_key(key) {
            return Ok(Put::Conflict);
        }
        let stored = self.stored(bytes);
        let etag = stored.etag.clone();
        objects.insert(key.to_owned(), stored);
        Ok(Put::Done(Some(etag)))
    }

    fn put_update(&self, key: &str, bytes: Vec<u8>, etag: &str) -> io::Result<Put> {
        self.check_up()?;
        let mut objects = self.objects.lock();
        match objects.get(key) {
            Some(s) if s.etag == etag => {}
            _ => return Ok(Put::Conflict),
        }
        let stored = self.stored(bytes);
        let new = stored.etag.clone();
        objects.insert(key.to_owned(), stored);
        Ok(Put::Done(Some(new)))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.check_up()?;
        let stored = self.stored(bytes);
        self.objects.lock().insert(key.to_owned(), stored);
        Ok(())
    }

    fn list_dirs(&self, dir: &str) -> io::Result<Vec<String>> {
        self.check_up()?;
        self.lists.fetch_add(1, Ordering::SeqCst);
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        let mut out: Vec<String> = self
            .objects
            .lock()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split_once('/').map(|(d, _)| d.to_owned()))
            .collect();
        out.dedup();
        Ok(out)
    }

    fn list_objects(&self, dir: &str) -> io::Result<Vec<String>> {
        self.check_up()?;
        self.lists.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(self
            .objects
            .lock()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        self.check_up()?;
        if self.deletes_fail.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the bucket refused the delete",
            ));
        }
        self.objects.lock().remove(key);
        Ok(())
    }
}
