//! Releasing the GIL for library calls, safely at interpreter exit.
//!
//! A daemon thread that is in a library call when the interpreter
//! finalizes (a tail thread blocked in `wait()`, say) comes back to take
//! the GIL, and CPython before 3.14 ends such a thread with
//! `pthread_exit`: a forced unwind through this module's frames, which
//! crashes the process at exit. So the module registers an `atexit` hook,
//! which runs before finalization begins:
//! - it raises [`EXITING`]; a call that returns after that on a daemon
//!   thread never takes the GIL again: its thread is parked for good (the
//!   process is ending, and CPython 3.14 parks daemon threads itself).
//!   Other threads go on as usual: the exiting thread, and threads that
//!   `atexit` hooks running after this one start and join, may still use
//!   a store;
//! - it lets every thread already on its way back ([`RETURNING`]) take the
//!   GIL and leave this module's frames before it returns.
//!
//! Invariant: a daemon thread counts itself in `RETURNING` before it reads
//! `EXITING`, and the hook raises `EXITING` before it reads `RETURNING`,
//! so each such thread is either parked or waited for.
//!
//! A program that runs the `atexit` hooks itself and goes on
//! (`atexit._run_exitfuncs()`) parks its daemon threads' next library
//! calls: that is what the hooks are for, the end of the process.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static EXITING: AtomicBool = AtomicBool::new(false);
static RETURNING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is a daemon thread, learnt on its first call.
    static DAEMON: Cell<Option<bool>> = const { Cell::new(None) };
}

/// How long the hook waits for threads on their way back.
const RETURN_WAIT: Duration = Duration::from_secs(1);

/// Whether the calling thread, which holds the GIL, is a daemon thread
/// (one CPython does not wait for, and ends at finalization). A thread
/// Python did not start counts as one, as `threading` counts it.
fn is_daemon(py: Python<'_>) -> bool {
    DAEMON.with(|known| {
        if let Some(daemon) = known.get() {
            return daemon;
        }
        let daemon = py
            .import("threading")
            .and_then(|threading| threading.call_method0("current_thread"))
            .and_then(|thread| thread.getattr("daemon"))
            .and_then(|daemon| daemon.extract::<bool>())
            .unwrap_or(false);
        known.set(Some(daemon));
        daemon
    })
}

/// `py.detach(f)`, except at interpreter exit (see the module's doc).
pub(crate) fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    // Only a daemon thread can be ended by finalization: the others call
    // the library as usual, at no cost beyond this one lookup.
    if !is_daemon(py) {
        return py.detach(f);
    }
    let out = py.detach(|| {
        let out = f();
        RETURNING.fetch_add(1, Ordering::SeqCst);
        if EXITING.load(Ordering::SeqCst) {
            RETURNING.fetch_sub(1, Ordering::SeqCst);
            loop {
                std::thread::park();
            }
        }
        out
    });
    RETURNING.fetch_sub(1, Ordering::SeqCst);
    out
}

/// The `atexit` hook.
#[pyfunction]
fn before_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + RETURN_WAIT;
    while RETURNING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        py.detach(|| std::thread::sleep(Duration::from_millis(1)));
    }
}

/// Registers the hook with `atexit`.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(before_exit, module)?;
    module
        .py()
        .import("atexit")?
        .call_method1("register", (hook,))?;
    Ok(())
}
