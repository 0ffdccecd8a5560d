//! A bound on the file descriptors a store holds, whatever its number of
//! streams and segments.
//!
//! [`PooledDir`] wraps a [`StorageDir`]; every file it opens is a pooled
//! file that holds a descriptor only while the pool has room for it. When
//! more than `limit` are open, the least recently used are closed, and a
//! closed one opens again on its next use, by the same path. Callers see
//! one `ByteFile` that never goes away.
//!
//! Invariants kept here:
//! - A descriptor is closed by eviction only when no operation is using it:
//!   every operation clones the descriptor's `Arc` under the file's slot
//!   lock, and eviction takes a descriptor only from a slot it could lock
//!   and whose `Arc` nobody else holds. So eviction never cuts a read, a
//!   write or an fsync short, and the number of descriptors exceeds the
//!   limit by at most the operations running at that moment.
//! - Files with bytes not yet fsynced through the pool are evicted only
//!   when there are not enough clean ones. Closing one loses nothing: the
//!   bytes are in the OS page cache, and the next `sync_data` (through a
//!   fresh descriptor) writes them and reports a write-back error that
//!   happened meanwhile (Linux keeps an error no descriptor has seen for
//!   the next fsync of the file; docs/RELIABILITY.md says where that ends).
//! - The files a store renames over (`write_atomic`) are never pooled
//!   files that stay open: a segment is replaced only by a new `Segment`,
//!   which opens the new file.
//! - The process's own limit wins: an open that fails with `EMFILE` (the
//!   application holds many descriptors, or `ulimit -n` is below the
//!   pool's limit) lowers the limit to seven eighths of what the pool
//!   holds, closes down below it, and opens again; `ENFILE` (the system's
//!   table) closes the same way without lowering the limit. Either fails
//!   only when the pool has nothing idle left to close.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::{ByteFile, KnownHeader, StorageDir};

/// The fewest descriptors a pool may be limited to: a stream appends
/// through one and reads may hold a few more at once.
pub const MIN_OPEN_FILES: u64 = 8;

/// The shared budget of one store.
pub struct FilePool {
    /// Lowered, never raised, when the process runs out of descriptors.
    limit: AtomicUsize,
    /// Orders uses: a file's `last_used` is the clock when it was last used.
    clock: AtomicU64,
    /// Files holding a descriptor (some may have been dropped since).
    open: Mutex<Vec<Weak<Slot>>>,
}

impl fmt::Debug for FilePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePool")
            .field("limit", &self.limit.load(Ordering::Relaxed))
            .field("open", &self.open_count())
            .finish()
    }
}

impl FilePool {
    pub fn new(limit: u64) -> Arc<Self> {
        let limit = usize::try_from(limit.max(MIN_OPEN_FILES)).unwrap_or(usize::MAX);
        Arc::new(FilePool {
            limit: AtomicUsize::new(limit),
            clock: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        })
    }

    /// How many pooled files hold a descriptor now.
    pub fn open_count(&self) -> usize {
        self.open
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            // A slot locked now is being used or opened: counted as
            // holding one, and never waited for (its holder may be
            // shedding, which takes the list's lock).
            .filter(|slot| slot.file.try_lock().is_none_or(|file| file.is_some()))
            .count()
    }

    /// Closes the idle descriptors of files at `rel`.
    fn close_idle(&self, rel: &Path) {
        let closed: Vec<Arc<Descriptor>> = self
            .open
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|slot| slot.rel == rel)
            .filter_map(|slot| slot.take_idle())
            .collect();
        drop(closed);
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Records that `slot` now holds a descriptor and, when that puts the
    /// pool over its limit, closes the least recently used others. It
    /// closes an eighth of the limit at a time, so the sort it takes is
    /// paid once per that many opens.
    fn opened(&self, slot: &Arc<Slot>) {
        let limit = self.limit.load(Ordering::Relaxed);
        let mut open = self.open.lock();
        open.push(Arc::downgrade(slot));
        if open.len() <= limit {
            return;
        }
        drop(open);
        self.close_down_to(limit - limit / 8, Some(slot));
    }

    /// After an open failed for want of descriptors: closes down below what
    /// the pool holds now and, when the process's own limit was reached
    /// (`lower`), lowers the pool's to stay there. The system's table
    /// (`ENFILE`) fills and empties with other processes, so it lowers
    /// nothing. Returns whether it closed anything (so that opening again
    /// may succeed).
    fn shed(&self, lower: bool) -> bool {
        // Counted from the list, without locking a slot: the caller may
        // hold the one it is opening.
        let held = self
            .open
            .lock()
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count();
        let lowered = (held - held / 8).max(MIN_OPEN_FILES as usize);
        if lower {
            self.limit.fetch_min(lowered, Ordering::Relaxed);
        }
        self.close_down_to(lowered - lowered / 8, None) > 0
    }

    /// Closes the least recently used idle descriptors (clean ones first),
    /// never `keep`'s, until at most `target` are open; returns how many it
    /// closed.
    fn close_down_to(&self, target: usize, keep: Option<&Arc<Slot>>) -> usize {
        let mut closed = Vec::new();
        {
            let mut open = self.open.lock();
            let mut live: Vec<Arc<Slot>> = open.drain(..).filter_map(|w| w.upgrade()).collect();
            if live.len() > target {
                // Other threads touch these files while the sort runs, so
                // each key is read once: a key that changed between two
                // comparisons would break the total order `sort` requires
                // (it panics on one it notices).
                live.sort_by_cached_key(|s| (s.is_dirty(), s.last_used.load(Ordering::Relaxed)));
                let mut excess = live.len() - target;
                live.retain(|candidate| {
                    if excess == 0 || keep.is_some_and(|k| Arc::ptr_eq(candidate, k)) {
                        return true;
                    }
                    match candidate.take_idle() {
                        Some(file) => {
                            closed.push(file);
                            excess -= 1;
                            false
                        }
                        None => true,
                    }
                });
            }
            open.extend(live.iter().map(Arc::downgrade));
        }
        // The descriptors close here, outside the pool's lock.
        let count = closed.len();
        drop(closed);
        count
    }

    /// `open()`, again after shedding descriptors each time it fails for
    /// want of them, as long as shedding frees some.
    fn open_with_room<T>(&self, mut open: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        loop {
            match open() {
                Err(e) if out_of_descriptors(&e) && self.shed(is_emfile(&e)) => continue,
                result => return result,
            }
        }
    }
}

/// Whether an open failed for want of descriptors: the process's limit
/// (`EMFILE`) or the system's (`ENFILE`).
fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn is_emfile(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EMFILE)
}

/// A [`StorageDir`] whose files share one [`FilePool`].
#[derive(Debug)]
pub struct PooledDir {
    inner: Arc<dyn StorageDir>,
    pool: Arc<FilePool>,
}

impl PooledDir {
    pub fn new(inner: Arc<dyn StorageDir>, pool: Arc<FilePool>) -> Self {
        PooledDir { inner, pool }
    }
}

impl StorageDir for PooledDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        match self.inner.create_dir(rel) {
            // Out of descriptors at a directory fsync: the directories may
            // be made already, which a plain second try takes as done, so
            // the second try fsyncs every parent again after making room.
            Err(e) if out_of_descriptors(&e) => self.pool.open_with_room(|| {
                self.inner.create_dir(rel)?;
                rel.ancestors()
                    .skip(1)
                    .try_for_each(|parent| self.inner.sync_dir(parent))
            }),
            done => done,
        }
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        self.pool.open_with_room(|| self.inner.list(rel))
    }

    /// Opens the file now, so a missing file fails here as it would
    /// unpooled; later uses reopen it if the pool closed it meanwhile.
    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        let file = self
            .pool
            .open_with_room(|| self.inner.open(rel, writable))?;
        let slot = Arc::new(Slot {
            dir: self.inner.clone(),
            rel: rel.to_path_buf(),
            writable,
            pool: self.pool.clone(),
            file: Mutex::new(Some(Arc::new(Descriptor(file)))),
            last_used: AtomicU64::new(self.pool.tick()),
            writes: AtomicU64::new(0),
            synced_writes: AtomicU64::new(0),
        });
        self.pool.opened(&slot);
        Ok(Arc::new(PooledFile(slot)))
    }

    // What opens a descriptor of its own, even for a moment, makes room
    // as `open` does; a write_atomic or write_cache tried again writes the
    // same whole file.
    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.pool
            .open_with_room(|| self.inner.write_atomic(rel, contents))
    }

    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.pool
            .open_with_room(|| self.inner.write_cache(rel, contents))
    }

    fn sync_all_files(&self) -> io::Result<bool> {
        self.pool.open_with_room(|| self.inner.sync_all_files())
    }

    fn watch_dir(&self, rel: &Path, wake: super::watch::Wake) -> io::Result<bool> {
        self.inner.watch_dir(rel, wake)
    }

    fn lock_file(&self, rel: &Path) -> io::Result<Option<std::fs::File>> {
        self.pool.open_with_room(|| self.inner.lock_file(rel))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn local_path(&self, rel: &Path) -> Option<PathBuf> {
        self.inner.local_path(rel)
    }

    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.pool.open_with_room(|| self.inner.sync_dir(rel))
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        self.pool.open_with_room(|| self.inner.read(rel))
    }

    fn known_segment_header(&self, rel: &Path) -> Option<KnownHeader> {
        self.inner.known_segment_header(rel)
    }

    /// Closes the idle descriptors of `rel`; one in use stays with its
    /// operation and is closed by the pool's usual eviction.
    fn forget_handles(&self, rel: &Path) {
        self.pool.close_idle(rel);
    }

    /// Removes the file and closes the descriptor the pool holds for it
    /// (unless an operation is using it right now), so its space is freed
    /// and a later use of the path opens it again, through `inner`.
    fn remove(&self, rel: &Path) -> io::Result<()> {
        self.inner.remove(rel)?;
        self.pool.close_idle(rel);
        Ok(())
    }

    fn display(&self, rel: &Path) -> PathBuf {
        self.inner.display(rel)
    }
}

struct Slot {
    dir: Arc<dyn StorageDir>,
    rel: PathBuf,
    writable: bool,
    pool: Arc<FilePool>,
    /// The descriptor, while the pool lets this file keep one. Wrapped in
    /// an `Arc` of our own, whose count tells whether an operation is
    /// using it (the inner file's count also counts the directory's own
    /// references, for an in-memory one).
    file: Mutex<Option<Arc<Descriptor>>>,
    last_used: AtomicU64,
    /// Writes completed, and how many of them the last successful fsync
    /// covered: more of the first means bytes the OS may not have written.
    writes: AtomicU64,
    synced_writes: AtomicU64,
}

impl Slot {
    fn is_dirty(&self) -> bool {
        self.writes.load(Ordering::Acquire) > self.synced_writes.load(Ordering::Acquire)
    }

    /// The descriptor, if no operation is using it and no one holds the
    /// slot's lock: what eviction may close.
    fn take_idle(&self) -> Option<Arc<Descriptor>> {
        let mut file = self.file.try_lock()?;
        match &*file {
            Some(f) if Arc::strong_count(f) == 1 => file.take(),
            _ => None,
        }
    }
}

/// An open file of a slot.
struct Descriptor(Arc<dyn ByteFile>);

impl std::ops::Deref for Descriptor {
    type Target = dyn ByteFile;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

/// One file of a [`PooledDir`].
struct PooledFile(Arc<Slot>);

impl fmt::Debug for PooledFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledFile").field(&self.0.rel).finish()
    }
}

impl PooledFile {
    /// The descriptor for one operation, reopening the file if the pool
    /// closed it.
    fn acquire(&self) -> io::Result<Arc<Descriptor>> {
        let slot = &self.0;
        slot.last_used.store(slot.pool.tick(), Ordering::Relaxed);
        let mut guard = slot.file.lock();
        if let Some(file) = &*guard {
            return Ok(file.clone());
        }
        let file = slot
            .pool
            .open_with_room(|| slot.dir.open(&slot.rel, slot.writable))?;
        let file = Arc::new(Descriptor(file));
        *guard = Some(file.clone());
        drop(guard);
        slot.pool.opened(slot);
        Ok(file)
    }

    fn wrote(&self) {
        self.0.writes.fetch_add(1, Ordering::AcqRel);
    }
}

impl ByteFile for PooledFile {
    fn len(&self) -> io::Result<u64> {
        self.acquire()?.len()
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        self.acquire()?.read_exact_at(buf, pos)
    }

    fn read_vec_at(&self, len: usize, pos: u64) -> io::Result<Vec<u8>> {
        self.acquire()?.read_vec_at(len, pos)
    }

    fn write_all_at(&self, data: &[u8], pos: u64) -> io::Result<()> {
        let result = self.acquire()?.write_all_at(data, pos);
        // Counted after the write, so an fsync that began before it cannot
        // count it as covered; counted even when it failed, as part of it
        // may have been written.
        self.wrote();
        result
    }

    fn sync_data(&self) -> io::Result<()> {
        let covered = self.0.writes.load(Ordering::Acquire);
        self.acquire()?.sync_data()?;
        self.0.synced_writes.fetch_max(covered, Ordering::AcqRel);
        Ok(())
    }

    fn start_writeback(&self, pos: u64, len: u64) -> io::Result<()> {
        self.acquire()?.start_writeback(pos, len)
    }

    fn will_read(&self, range: Range<u64>) -> bool {
        // A hint: a file that cannot be opened now fails the read after it.
        self.acquire().is_ok_and(|file| file.will_read(range))
    }

    fn fetch_soon(&self, range: Range<u64>) {
        // Only to a file open already: a hint is no reason to take a
        // descriptor (nor to count as a use).
        let open = self.0.file.lock().clone();
        if let Some(file) = open {
            file.fetch_soon(range);
        }
    }

    fn forget_cached(&self) {
        let open = self.0.file.lock().clone();
        if let Some(file) = open {
            file.forget_cached();
        }
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        let result = self.acquire()?.truncate(len);
        self.wrote();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::memory::MemoryDir;

    fn pooled(limit: u64) -> (Arc<FilePool>, PooledDir) {
        let pool = FilePool::new(limit);
        let inner: Arc<dyn StorageDir> = Arc::new(MemoryDir::new());
        (pool.clone(), PooledDir::new(inner, pool))
    }

    fn create(dir: &PooledDir, name: &str, contents: &[u8]) -> Arc<dyn ByteFile> {
        dir.write_atomic(Path::new(name), contents).unwrap();
        dir.open(Path::new(name), true).unwrap()
    }

    #[test]
    fn never_holds_more_than_the_limit_and_reopens_what_it_closed() {
        let (pool, dir) = pooled(MIN_OPEN_FILES);
        let files: Vec<_> = (0..100)
            .map(|i| create(&dir, &format!("f{i}"), format!("file {i}").as_bytes()))
            .collect();
        assert!(pool.open_count() <= MIN_OPEN_FILES as usize);
        // Every file still reads, writes and syncs, closed or not.
        for (i, file) in files.iter().enumerate() {
            let want = format!("file {i}");
            assert_eq!(file.read_vec_at(want.len(), 0).unwrap(), want.as_bytes());
            file.write_all_at(b"!", want.len() as u64).unwrap();
            file.sync_data().unwrap();
            assert!(pool.open_count() <= MIN_OPEN_FILES as usize);
        }
        for (i, file) in files.iter().enumerate() {
            let want = format!("file {i}!");
            assert_eq!(file.len().unwrap(), want.len() as u64);
            assert_eq!(file.read_vec_at(want.len(), 0).unwrap(), want.as_bytes());
        }
    }

    /// Whether the pooled file named `name` holds a descriptor now.
    fn holds(pool: &FilePool, name: &str) -> bool {
        slot(pool, name).is_some_and(|s| s.file.lock().is_some())
    }

    fn slot(pool: &FilePool, name: &str) -> Option<Arc<Slot>> {
        pool.open
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .find(|s| s.rel == Path::new(name))
    }

    #[test]
    fn closes_the_least_recently_used_and_clean_ones_first() {
        let (pool, dir) = pooled(MIN_OPEN_FILES);
        let files: Vec<_> = (0..MIN_OPEN_FILES)
            .map(|i| create(&dir, &format!("f{i}"), b"x"))
            .collect();
        // f0 is the oldest but has unsynced bytes; f1 is the oldest clean
        // one; f2 was just used.
        files[0].write_all_at(b"y", 1).unwrap();
        files[2].len().unwrap();
        let _extra = create(&dir, "extra", b"z");
        assert!(
            holds(&pool, "f0"),
            "the dirty file was closed before clean ones"
        );
        assert!(
            !holds(&pool, "f1"),
            "the least recently used clean file stayed open"
        );
        assert!(holds(&pool, "f2"), "a file just used was closed");
        assert!(holds(&pool, "extra"), "the file just opened was closed");
        assert!(pool.open_count() <= MIN_OPEN_FILES as usize);
        // Syncing makes f0 clean, and so the next to go.
        files[0].sync_data().unwrap();
        let _newer: Vec<_> = (0..MIN_OPEN_FILES)
            .map(|i| create(&dir, &format!("g{i}"), b"x"))
            .collect();
        assert!(!holds(&pool, "f0"));
        assert_eq!(files[0].read_vec_at(2, 0).unwrap(), b"xy");
    }

    #[test]
    fn a_file_in_use_is_never_closed_under_it() {
        let (pool, dir) = pooled(MIN_OPEN_FILES);
        let busy = create(&dir, "busy", b"busy");
        // Hold the descriptor as a running operation does, then crowd the pool.
        let in_use = slot(&pool, "busy")
            .and_then(|s| s.file.lock().clone())
            .unwrap();
        let _others: Vec<_> = (0..50)
            .map(|i| create(&dir, &format!("f{i}"), b"x"))
            .collect();
        assert!(holds(&pool, "busy"), "closed while an operation held it");
        drop(in_use);
        assert_eq!(busy.read_vec_at(4, 0).unwrap(), b"busy");
        assert!(pool.open_count() <= MIN_OPEN_FILES as usize + 1);
    }

    /// Eviction sorts files by their last use while other threads use
    /// them: a sort that read the clock at each comparison saw keys change
    /// under it and panicked ("does not correctly implement a total order").
    #[test]
    fn evicting_while_other_threads_use_the_files_is_safe() {
        let (pool, dir) = pooled(1024);
        let dir = Arc::new(dir);
        let shared: Vec<_> = (0..1024)
            .map(|i| create(&dir, &format!("s{i}"), b"shared"))
            .collect();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for reader in 0..2 {
                let (shared, stop) = (&shared, &stop);
                scope.spawn(move || {
                    let mut i = reader;
                    while !stop.load(Ordering::Relaxed) {
                        let file = &shared[i % shared.len()];
                        assert_eq!(file.read_vec_at(6, 0).unwrap(), b"shared");
                        i = i.wrapping_mul(31).wrapping_add(7);
                    }
                });
            }
            // Stops the readers even if the crowding below panics.
            struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
            impl Drop for StopOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Relaxed);
                }
            }
            let _stop = StopOnDrop(&stop);
            for round in 0..20 {
                let _crowd: Vec<_> = (0..1024)
                    .map(|i| create(&dir, &format!("c{round}-{i}"), b"x"))
                    .collect();
            }
        });
        assert!(pool.open_count() <= 1024 + 2);
        for file in &shared {
            assert_eq!(file.read_vec_at(6, 0).unwrap(), b"shared");
        }
    }
}
