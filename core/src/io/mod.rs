//! The narrow byte-level I/O surface the engine is written against.
//!
//! Two implementations: [`disk`] (real files, `pread`/`pwrite`, `fdatasync`)
//! and [`memory`] (the same contract over
//! in-memory buffers); [`pool`] wraps either to bound the descriptors a
//! store keeps open. The engine never touches `std::fs` outside this
//! module and the store's lock file, so both modes run the same code.
//!
//! Contract every implementation keeps:
//! - `write_atomic` makes a file appear with its whole contents or not at
//!   all, durably (temp file, fsync, rename, fsync of the directory).
//!   `write_cache` is the same without the fsyncs, for caches that are
//!   checked before use.
//! - `create_dir` is durable when it returns (the parent is fsynced).
//! - `sync_data` returns every error; after it succeeds, every byte written
//!   to that file before the call is durable.
//!
//! Nothing is memory-mapped: a file truncated by another process while
//! mapped kills the reader with SIGBUS, and maps of a large store keep its
//! pages in the process's RSS. Positioned reads turn the first into an
//! error and keep the second bounded by what readers hold.

use std::fmt::Debug;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::hash::ChainHead;

pub mod disk;
#[cfg(feature = "fault-injection")]
pub mod faulty;
pub mod memory;
pub mod overlay;
pub mod pool;
pub mod watch;

/// A segment's header as a directory knows it without reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHeader {
    /// Where the segment starts the chain.
    pub base: ChainHead,
    /// The header's bytes, when the directory keeps all of it. Not trusted
    /// more than the file: the header the file holds is checked against
    /// them whenever it is read.
    pub bytes: Option<Vec<u8>>,
}

/// One open file.
pub trait ByteFile: Send + Sync + Debug {
    /// The current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file holds no bytes.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fills `buf` from `pos`; a short file is `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()>;
    /// `len` bytes from `pos` in a new buffer; a short file is
    /// `UnexpectedEof`. Readers refill a window this way for every few
    /// hundred KiB they scan, so the disk implementation reads straight
    /// into fresh capacity: zero-filling it first would cost as much again
    /// as the read.
    fn read_vec_at(&self, len: usize, pos: u64) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }
    /// Writes all of `data` at `pos`.
    fn write_all_at(&self, data: &[u8], pos: u64) -> io::Result<()>;
    /// Makes every completed write durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Asks the OS to start writing `[pos, pos + len)` to disk without
    /// waiting, so a later `sync_data` finds little left to do. A hint:
    /// durability still comes only from `sync_data`.
    fn start_writeback(&self, _pos: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// Cuts the file to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Says the bytes of `range` are about to be read in order, so a file
    /// that pays per request (an object in a bucket) can fetch them with
    /// one (or, a long span, in large blocks, each fetched while the one
    /// before is read). Returns whether it does: the reader then keeps
    /// within the span where it can. A hint: reads work the same without
    /// it.
    fn will_read(&self, _range: Range<u64>) -> bool {
        false
    }
    /// Says the bytes of `range` will be read in order before long (a
    /// scan's next file), so a file that pays per request may start
    /// fetching them now, as `will_read` says them. A hint, as that is.
    fn fetch_soon(&self, _range: Range<u64>) {}
    /// Forgets what it keeps of the file's bytes in memory (a file that
    /// pays per request keeps what it fetched), so a reader that found
    /// them damaged reads them again as the file is now, as it would a
    /// local file's.
    fn forget_cached(&self) {}
}

/// A directory tree holding one store. Paths are relative to its root.
pub trait StorageDir: Send + Sync + Debug {
    /// Creates `rel` (and missing parents) durably; existing is fine.
    fn create_dir(&self, rel: &Path) -> io::Result<()>;
    /// The names of the entries of `rel`; a missing directory is `NotFound`.
    fn list(&self, rel: &Path) -> io::Result<Vec<String>>;
    /// Opens an existing file, for reading and, if `writable`, writing.
    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>>;
    /// Creates or replaces `rel` with `contents`, atomically and durably.
    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()>;
    /// Creates or replaces `rel` with `contents` for a cache whose readers
    /// check it before use (the tail marker): atomically for readers (a
    /// temp file, then a rename) but without waiting for the disk, so after
    /// a power loss the old contents, the new ones, none, or torn ones may
    /// be found. The default is [`StorageDir::write_atomic`], which is
    /// stricter.
    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.write_atomic(rel, contents)
    }
    /// Makes every completed write to every file of the file system that
    /// holds the store durable, in one call (`syncfs`), when that reports
    /// write-back errors as `sync_data` does. `Ok(false)`: not available
    /// here, sync file by file instead. Cheaper than thousands of
    /// `sync_data` calls when thousands of files are dirty.
    fn sync_all_files(&self) -> io::Result<bool> {
        Ok(false)
    }
    /// Calls `wake` whenever an entry of directory `rel` is created,
    /// removed or written, from now on. `Ok(false)`: notifications are not
    /// available here, so a follower polls.
    fn watch_dir(&self, _rel: &Path, _wake: watch::Wake) -> io::Result<bool> {
        Ok(false)
    }
    /// Takes an exclusive lock on file `rel` (created if missing), held
    /// until the returned guard is dropped, against other processes as
    /// well; blocks while another holds it. `Ok(None)`: nothing outside
    /// this process can reach the store, so no lock is needed.
    fn lock_file(&self, _rel: &Path) -> io::Result<Option<std::fs::File>> {
        Ok(None)
    }
    /// Renames file `from` to `to`, replacing `to`; durable only once the
    /// directory is synced ([`StorageDir::sync_dir`]). Handles opened on
    /// `from` must be dropped first.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the entries of directory `rel` durable (files created, renamed
    /// or removed in it), as an fsync of the directory does.
    fn sync_dir(&self, rel: &Path) -> io::Result<()>;
    /// Where `rel` lives on the local file system, for a directory that is
    /// one (a backup hard-links sealed segments between two such).
    fn local_path(&self, _rel: &Path) -> Option<PathBuf> {
        None
    }
    /// File `rel` was put in place by a layer below this directory (a
    /// tiered store's copy fetched from the bucket): handles this
    /// directory keeps for the path go, so its next use opens the new file.
    fn forget_handles(&self, _rel: &Path) {}
    /// What this directory knows of the header of segment file `rel`
    /// without reading the file (a tier's manifest lists the segments only
    /// the bucket holds); `None` otherwise.
    fn known_segment_header(&self, _rel: &Path) -> Option<KnownHeader> {
        None
    }
    /// Reads a whole (small) file.
    fn read(&self, rel: &Path) -> io::Result<Vec<u8>>;
    /// Removes a file; a missing file is fine.
    fn remove(&self, rel: &Path) -> io::Result<()>;
    /// The path to show a person for `rel`.
    fn display(&self, rel: &Path) -> PathBuf;
}

/// Suffix of a file being written by `write_atomic`; leftovers after a crash
/// are garbage a writer removes.
pub const TEMP_SUFFIX: &str = ".tmp";

/// The temporary name of one write of `rel` by this process (`n` tells
/// its writes apart): `<name>.<pid>-<n>.tmp`. Two writers of one file (an
/// uploader rebuilding an index while a reader caches it, or two
/// processes) must not write, or rename away, each other's temporary file.
pub(crate) fn unique_temp_path(rel: &Path, n: u64) -> PathBuf {
    let mut name = rel.as_os_str().to_owned();
    name.push(format!(".{}-{n}{TEMP_SUFFIX}", std::process::id()));
    PathBuf::from(name)
}

/// Whether `name` is a temporary file of a write this process may still be
/// making (`unique_temp_path`): a writer opening a stream removes the
/// leftovers of others, never these. One a crashed process left under a
/// number this one reuses stays until another process opens the stream.
pub(crate) fn is_own_temp(name: &str) -> bool {
    let own = format!(".{}-", std::process::id());
    name.strip_suffix(TEMP_SUFFIX)
        .and_then(|stem| stem.rsplit_once(&own))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn temp_path(rel: &Path) -> PathBuf {
    let mut name = rel.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}
