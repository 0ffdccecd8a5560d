//! Threads for waits, off the libuv pool.
//!
//! A wait can last forever. On the pool (four threads by default) four
//! waits starve every other operation, the append that would end them
//! included, and `process.exit()` hangs on the pool's work in flight. So
//! each wait runs on a thread of this module's: one kept idle from an
//! earlier wait (a follower waits again as soon as it has read), or a new
//! one. An idle thread ends after [`IDLE_FOR`].
//!
//! Invariant: a thread's sender is in [`IDLE`] only while the thread waits
//! for work on it. Whoever takes the sender out sends it a task; a thread
//! that finds its sender gone when its idle time ends was taken, and
//! receives that task instead of ending.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

type Task = Box<dyn FnOnce() + Send>;

/// How long a thread with nothing to do is kept.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// The idle threads: an id and the sender that gives the thread work.
static IDLE: Mutex<Vec<(u64, Sender<Task>)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Runs `task` on a waiter thread.
pub(crate) fn run(task: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut task: Task = Box::new(task);
    loop {
        let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let Some((_, sender)) = idle else {
            break;
        };
        // Fails only if that thread died (a task that panicked ends its
        // thread before it is idle again, so never in practice).
        match sender.send(task) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => task = back,
        }
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("stratalog-wait".into())
        .spawn(move || serve(id, task))
        .map(|_| ())
}

fn serve(id: u64, first: Task) {
    let (sender, work) = mpsc::channel::<Task>();
    let mut task = first;
    loop {
        task();
        IDLE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, sender.clone()));
        task = match work.recv_timeout(IDLE_FOR) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
                match idle.iter().position(|(i, _)| *i == id) {
                    Some(at) => {
                        idle.swap_remove(at);
                        return;
                    }
                    // Taken just now: its task is on the way.
                    None => {
                        drop(idle);
                        match work.recv() {
                            Ok(next) => next,
                            Err(_) => return,
                        }
                    }
                }
            }
            // Cannot happen: this thread holds a sender.
            Err(RecvTimeoutError::Disconnected) => return,
        };
    }
}
