//! Waiting for a stream to grow: a reader sleeps until an append takes the
//! stream past an offset, the store closes, or a deadline passes.
//!
//! Invariant: an append publishes its new head before it takes `lock` to
//! wake sleepers, and a sleeper checks the head while holding `lock`, so a
//! wakeup is never lost between the check and the sleep.

use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::Stream;
use crate::error::{Error, Result};

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

    /// Waits until the stream's next offset is greater than `offset` and
    /// returns it; [`Error::Closed`] once `closed` says so, and
    /// [`Error::Timeout`] at `deadline` (`None`: never).
    pub fn wait_past(
        &self,
        offset: u64,
        deadline: Option<Instant>,
        closed: impl Fn() -> bool,
    ) -> Result<u64> {
        let mut guard = self.waiters.lock.lock();
        loop {
            let next = self.chain_head()?.next_offset;
            if next > offset {
                return Ok(next);
            }
            if closed() {
                return Err(Error::Closed);
            }
            match deadline {
                None => self.waiters.grown.wait(&mut guard),
                Some(deadline) => {
                    if self
                        .waiters
                        .grown
                        .wait_until(&mut guard, deadline)
                        .timed_out()
                    {
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
