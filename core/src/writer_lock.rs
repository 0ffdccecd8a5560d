//! The writer lock: an exclusive `flock` on `<store>/LOCK`, one per store.
//!
//! `flock` belongs to the open file description, and every process forked
//! while this process holds the lock gets a copy of that description: a
//! child started by `Command` (or Python's `subprocess`) from any thread
//! holds it from its fork until its exec closes it, and a child forked and
//! left running (`multiprocessing`) until it exits. Closing our descriptor
//! alone would leave the lock held by those copies, so a store closed and
//! reopened (here or in another process) would look locked with no writer
//! anywhere.
//!
//! Invariant: the process that took the lock releases it explicitly
//! (`LOCK_UN` acts on the description, so every copy lets go at once)
//! before closing its descriptor. A forked child never does: its handle is
//! a copy of its parent's, whose lock must outlive the child's close.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::fork::Owner;
use crate::layout;

/// The exclusive lock on a store directory; released when dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
    owner: Owner,
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
        match file.try_lock() {
            Ok(()) => Ok(WriterLock {
                file,
                owner: Owner::current(),
            }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked(root.to_path_buf())),
            Err(TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", lock_path.display()), e))
            }
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        if self.owner.is_current() {
            // A failure leaves the lock to the close that follows, as
            // before; there is no one to tell from a drop.
            let _ = self.file.unlock();
        }
    }
}
