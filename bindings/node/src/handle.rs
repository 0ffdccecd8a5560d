//! The guarded `stratalog_store*`.
//!
//! The C ABI lets any number of threads use a handle at once, except
//! stratalog_close(), which must be the last call on it. JavaScript can call
//! `close()` while operations run on the libuv pool, so the pointer lives in
//! an `RwLock<Option<..>>`: every operation holds a read guard for the
//! duration of its C call, and `close()` takes the write lock (waiting for
//! the calls in flight to return), syncs, frees the handle and leaves `None`,
//! which later operations report as `STRATALOG_CLOSED`. The `Arc` around it
//! is shared by the JS object and every task in flight, so a store that is
//! garbage-collected without `close()` is closed by the last one to let go.

use std::fmt;
use std::ptr::NonNull;
use std::sync::{PoisonError, RwLock};

use stratalog::stratalog_store;

use crate::error::{check, Failure};

struct StorePtr(NonNull<stratalog_store>);

// SAFETY: the C ABI documents a stratalog_store as usable from any number of
// threads at once; the only exclusive call, stratalog_close(), is made under
// the write lock (or from Drop, when nothing else can reach the handle).
unsafe impl Send for StorePtr {}
// SAFETY: as above.
unsafe impl Sync for StorePtr {}

/// An open store handle shared by a JS `Store` and its operations in flight.
pub struct Shared {
    handle: RwLock<Option<StorePtr>>,
    /// The store's default durability (its `fsync` option).
    default_fsync: bool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("closed", &self.is_closed())
            .field("default_fsync", &self.default_fsync)
            .finish()
    }
}

impl Shared {
    /// Takes ownership of a handle returned by a stratalog_open*() call.
    pub(crate) fn new(ptr: NonNull<stratalog_store>) -> Self {
        let mut options = stratalog::stratalog_options {
            segment_size: 0,
            checkpoint_interval: 0,
            compression: stratalog::stratalog_compression::None,
            max_event_size: 0,
            fsync: false,
        };
        // SAFETY: `ptr` is a live handle and `options` is writable. The call
        // fails only for NULL arguments, in which case fsync stays false.
        let status = unsafe { stratalog::stratalog_store_options(ptr.as_ptr(), &mut options) };
        Shared {
            handle: RwLock::new(Some(StorePtr(ptr))),
            default_fsync: status == stratalog::stratalog_status::Ok && options.fsync,
        }
    }

    pub(crate) fn default_fsync(&self) -> bool {
        self.default_fsync
    }

    /// Runs `f` with the live handle, holding a read guard so that `close()`
    /// cannot free it meanwhile; `STRATALOG_CLOSED` once it is closed.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(*mut stratalog_store) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(ptr) => f(ptr.0.as_ptr()),
            None => Err(Failure::Closed),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.handle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Waits for the calls in flight, syncs and releases the writer lock
    /// (stratalog_shutdown()), then frees the handle. The handle is freed
    /// even if the sync failed; that failure is returned. A second close is
    /// a no-op.
    pub(crate) fn close(&self) -> Result<(), Failure> {
        let mut guard = self.handle.write().unwrap_or_else(PoisonError::into_inner);
        let Some(ptr) = guard.take() else {
            return Ok(());
        };
        // SAFETY: live handle; no other thread holds it (write lock).
        let synced = check(unsafe { stratalog::stratalog_shutdown(ptr.0.as_ptr()) });
        // SAFETY: live handle, used by no other thread, never used again.
        unsafe { stratalog::stratalog_close(ptr.0.as_ptr()) };
        synced
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let slot = self
            .handle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(ptr) = slot.take() {
            // SAFETY: the last reference is going away: nothing else can use
            // the handle. A sync failure here has no one to be reported to.
            unsafe { stratalog::stratalog_close(ptr.0.as_ptr()) };
        }
    }
}
