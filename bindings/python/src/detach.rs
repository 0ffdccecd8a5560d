//! Releasing the GIL for library calls, safely at interpreter exit.
//!
//! A daemon thread that is in a library call when the interpreter
//! finalizes (a tail thread blocked in `wait()`, say) comes back to take
//! the GIL, and CPython before 3.14 ends such a thread with
//! `pthread_exit`: a forced unwind through this module's frames, which
//! crashes the process at exit. So the module registers an `atexit` hook,
//! which runs before finalization begins:
//! - it raises [`EXITING`]; a call that returns after that on another
//!   thread than the one exiting never takes the GIL again: its thread is
//!   parked for good (the process is ending, and CPython 3.14 parks such
//!   threads itself). The exiting thread goes on as usual: `atexit` hooks
//!   that run after this one may still use a store;
//! - it lets every thread already on its way back ([`RETURNING`]) take the
//!   GIL and leave this module's frames before it returns.
//!
//! Invariant: a thread counts itself in `RETURNING` before it reads
//! `EXITING`, and the hook raises `EXITING` before it reads `RETURNING`,
//! so each such thread is either parked or waited for.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static EXITING: AtomicBool = AtomicBool::new(false);
static RETURNING: AtomicUsize = AtomicUsize::new(0);
/// The thread that runs the hook, and then finalizes.
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// How long the hook waits for threads on their way back.
const RETURN_WAIT: Duration = Duration::from_secs(1);

/// `py.detach(f)`, except at interpreter exit (see the module's doc).
pub(crate) fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    let out = py.detach(|| {
        let out = f();
        RETURNING.fetch_add(1, Ordering::SeqCst);
        if EXITING.load(Ordering::SeqCst)
            && EXITING_THREAD.get() != Some(&std::thread::current().id())
        {
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
    let _ = EXITING_THREAD.set(std::thread::current().id());
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
