//! Waiting for a stream to grow: a reader sleeps until an append takes the
//! stream past an offset, the store closes, or a deadline passes.
//!
//! Invariant: an append publishes its new head before it takes `lock` to
//! wake sleepers, and a sleeper checks the head while holding `lock`, so a
//! wakeup is never lost between the check and the sleep. A follower (a
//! read-only store, whose appends happen in another process) refreshes the
//! stream under `lock` before each check, and is woken by the file system
//! watcher taking `lock` the same way, or by its polling interval. Its
//! refresh takes steps (`follow.rs`) until the stream is past the offset
//! waited for or all that is committed is in: it never sleeps while more
//! is committed than it has taken in and the stream is not past the offset.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::Stream;
use crate::error::{Error, Result};

/// How a follower waits: what to do before each check (keep the file
/// system watch on the stream's directory) and the longest sleep between
/// checks when no notification comes.
pub(crate) struct Follow<'a> {
    pub(crate) before_check: &'a dyn Fn(),
    pub(crate) poll: Duration,
}

#[derive(Debug, Default)]
pub(super) struct Waiters {
    lock: Mutex<()>,
    grown: Condvar,
}

impl Stream {
    /// Wakes everyone waiting on this stream (after an append published its
    /// head, or when the store closes).
    pub(crate) fn wake_waiters(&self) {
        let _guard = self.waiters.lock.lock();
        self.waiters.grown.notify_all();
    }

    /// For read-only stores: takes in everything committed (`refresh`),
    /// and wakes this stream's waiters if the stream grew.
    pub(crate) fn take_in_all(&self) -> Result<()> {
        if self.refresh()? {
            self.waiters.grown.notify_all();
        }
        Ok(())
    }

    /// Waits until the stream's next offset is greater than `offset` and
    /// returns it; [`Error::Closed`] once `closed` says so, and
    /// [`Error::Timeout`] at `deadline` (`None`: never). With `follow`,
    /// the stream is refreshed from its files before each check
    /// (`follow.rs`) and checked at least every `follow.poll`.
    pub(crate) fn wait_past(
        &self,
        offset: u64,
        deadline: Option<Instant>,
        closed: impl Fn() -> bool,
        follow: Option<Follow<'_>>,
    ) -> Result<u64> {
        let mut guard = self.waiters.lock.lock();
        loop {
            if let Some(follow) = &follow {
                // Not under `lock`: the watcher's thread takes `lock` to
                // wake us, and setting up a watch waits for that thread.
                parking_lot::MutexGuard::unlocked(&mut guard, follow.before_check);
                if self.refresh_past(offset)? {
                    // Others waiting on this stream see it too.
                    self.waiters.grown.notify_all();
                }
            }
            let next = self.chain_head()?.next_offset;
            if next > offset {
                return Ok(next);
            }
            if closed() {
                return Err(Error::Closed);
            }
            let wake_by = match (&follow, deadline) {
                (Some(f), Some(d)) => Some(d.min(Instant::now() + f.poll)),
                (Some(f), None) => Some(Instant::now() + f.poll),
                (None, d) => d,
            };
            match wake_by {
                None => self.waiters.grown.wait(&mut guard),
                Some(wake_by) if deadline != Some(wake_by) => {
                    self.waiters.grown.wait_until(&mut guard, wake_by);
                }
                Some(deadline) => {
                    if self
                        .waiters
                        .grown
                        .wait_until(&mut guard, deadline)
                        .timed_out()
                    {
                        if follow.is_some() {
                            self.refresh_past(offset)?;
                        }
                        let next = self.chain_head()?.next_offset;
                        if next > offset {
                            return Ok(next);
                        }
                        return Err(Error::Timeout {
                            stream: self.id,
                            offset,
                        });
                    }
                }
            }
        }
    }
}
