//! The writer lock: an exclusive `flock` on `<store>/LOCK`, one per store.
//!
//! `flock` belongs to the open file description, and every process forked
//! while this process holds the lock gets a copy of that description. A
//! child started by `Command` (or Python's `subprocess`) from any thread
//! holds the copy from its fork until its exec closes it; a child forked
//! and left running (`multiprocessing`) holds it until it exits or closes
//! the inherited handle. So a store this process closed can look locked
//! for a moment after the close, with no other writer anywhere.
//!
//! Invariant: a `WriterLock` is the only holder of the lock in this process.
//! The process remembers each lock file (by device and inode) that it held
//! and whether it still holds it: one small entry per store it ever
//! locked. When a lock it held and has released is busy, the holder is
//! most likely a copy of its own old descriptor, so the open waits a
//! little for the child's exec before saying `Locked` (if another process
//! took the lock meanwhile, `Locked` only comes 2 s later). A lock this
//! process never held, or holds now, is `Locked` at once.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};
use crate::layout;

/// How long a lock this process released may stay busy before the open
/// says `Locked`: far beyond any fork-to-exec, short beside a user's wait.
const RELEASED_LOCK_WAIT: Duration = Duration::from_secs(2);
const FIRST_RETRY: Duration = Duration::from_millis(1);
const LONGEST_RETRY: Duration = Duration::from_millis(50);

/// A lock file's identity: device and inode, so a store removed and made
/// again at the same path is a new lock.
type LockId = (u64, u64);

/// The lock files this process has held: `true` while a `WriterLock` holds
/// one, `false` once it has been released.
static HELD: Mutex<BTreeMap<LockId, bool>> = Mutex::new(BTreeMap::new());

fn held_before(id: LockId) -> Option<bool> {
    let held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    held.get(&id).copied()
}

fn set_held(id: LockId, now: bool) {
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    held.insert(id, now);
}

/// The exclusive lock on a store directory; released when dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    // Closed after `drop` below has marked the lock released, so an open
    // in another thread that finds it busy meanwhile waits for the close.
    #[allow(dead_code)]
    file: File,
    id: Option<LockId>,
}

impl WriterLock {
    /// Takes the lock of the store at `root`, or `Locked` if another
    /// writer holds it.
    pub(crate) fn take(root: &Path) -> Result<WriterLock> {
        let lock_path: PathBuf = root.join(layout::LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .context(|| format!("opening {}", lock_path.display()))?;
        let id = lock_id(&file);
        let started = Instant::now();
        let mut pause = FIRST_RETRY;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    if let Some(id) = id {
                        set_held(id, true);
                    }
                    return Ok(WriterLock { file, id });
                }
                Err(TryLockError::WouldBlock) => {
                    let released_by_us = id.and_then(held_before) == Some(false);
                    if !released_by_us || started.elapsed() >= RELEASED_LOCK_WAIT {
                        return Err(Error::Locked(root.to_path_buf()));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(LONGEST_RETRY);
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("locking {}", lock_path.display()), e))
                }
            }
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            set_held(id, false);
        }
    }
}

#[cfg(unix)]
fn lock_id(file: &File) -> Option<LockId> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// Elsewhere a busy lock is always `Locked` at once.
#[cfg(not(unix))]
fn lock_id(_file: &File) -> Option<LockId> {
    None
}
