//! Noticing a fork: a store handle belongs to the process that opened it.
//!
//! A child made by `fork()` inherits the parent's handle, its file
//! descriptors and its idea of each stream's head. If both appended, each
//! would write its own event at the same offset of the same file, and one
//! acknowledged event would silently replace the other. So a handle
//! refuses writes in any process but the one that opened it.
//!
//! The check costs an atomic load: the first open registers a
//! `pthread_atfork` handler that bumps a generation counter in every child,
//! and each handle compares the generation it was opened in with the
//! current one. No system call runs per append.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Runs in the child right after a fork; an atomic add is async-signal-safe.
#[cfg(target_os = "linux")]
extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The process's fork generation, registering the handler on first use:
/// 0 in the process that first opened a store, one more in each child
/// forked after that.
pub(crate) fn generation() -> u64 {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        #[cfg(target_os = "linux")]
        // SAFETY: `in_child` is a plain function that only touches an
        // atomic; registering it has no other precondition. A failure
        // (ENOMEM) leaves fork detection off, which the docs cannot hide,
        // so it is ignored rather than failing every open.
        unsafe {
            let _ = libc::pthread_atfork(None, None, Some(in_child));
        }
    });
    GENERATION.load(Ordering::Relaxed)
}

/// Who opened a handle: the generation and, for messages, the process id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    generation: u64,
    pid: u32,
}

impl Owner {
    pub(crate) fn current() -> Self {
        Owner {
            generation: generation(),
            pid: std::process::id(),
        }
    }

    /// Whether the calling process is the one that opened the handle.
    pub(crate) fn is_current(&self) -> bool {
        GENERATION.load(Ordering::Relaxed) == self.generation
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }
}
