//! What reads hand out: an owned batch ([`Events`]) and a lazy iterator
//! ([`Iter`]). Neither borrows the store.

use std::ptr::NonNull;

use stratalog::{stratalog_events, stratalog_iter, stratalog_status};

use crate::error::{check, Error, Result};

/// An owned batch of events read from a stream.
#[derive(Debug)]
pub struct Events {
    raw: NonNull<stratalog_events>,
}

// SAFETY: the library lets a batch be read from several threads at once
// and freed from any thread.
unsafe impl Send for Events {}
// SAFETY: as above.
unsafe impl Sync for Events {}

impl Events {
    /// # Safety
    /// `raw` is NULL or a batch the caller owns and hands over.
    pub(crate) unsafe fn from_raw(raw: *mut stratalog_events) -> Result<Events> {
        NonNull::new(raw)
            .map(|raw| Events { raw })
            .ok_or_else(|| Error::new(stratalog_status::Panic, "read returned no batch"))
    }

    pub fn len(&self) -> usize {
        // SAFETY: a live batch.
        unsafe { stratalog::stratalog_events_len(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The offset of the first event; event i has `first_offset() + i`.
    pub fn first_offset(&self) -> u64 {
        // SAFETY: a live batch.
        unsafe { stratalog::stratalog_events_first_offset(self.raw.as_ptr()) }
    }

    /// Event `i`, or None past the end.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (mut data, mut len) = (std::ptr::null(), 0usize);
        // SAFETY: a live batch; outputs writable.
        let status =
            unsafe { stratalog::stratalog_events_get(self.raw.as_ptr(), i, &mut data, &mut len) };
        // SAFETY: on OK, `data` points at `len` bytes owned by the batch,
        // which `&self` keeps alive and nobody writes.
        (status == stratalog_status::Ok).then(|| unsafe { std::slice::from_raw_parts(data, len) })
    }

    /// Every event, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        // SAFETY: a live batch we own, freed once.
        unsafe { stratalog::stratalog_events_free(self.raw.as_ptr()) };
    }
}

/// A lazy iterator over one stream's events, reading a bounded window at a
/// time. Used by one thread at a time (`&mut self`).
#[derive(Debug)]
pub struct Iter {
    raw: NonNull<stratalog_iter>,
}

// SAFETY: an iterator may move between threads; `&mut self` on `next`
// keeps it to one at a time, as the library requires.
unsafe impl Send for Iter {}
// SAFETY: no method takes `&self`: a shared reference can do nothing with
// the iterator, so sharing one between threads is harmless.
unsafe impl Sync for Iter {}

impl Iter {
    /// # Safety
    /// `raw` is NULL or an iterator the caller owns and hands over.
    pub(crate) unsafe fn from_raw(raw: *mut stratalog_iter) -> Result<Iter> {
        NonNull::new(raw)
            .map(|raw| Iter { raw })
            .ok_or_else(|| Error::new(stratalog_status::Panic, "iter_new returned no iterator"))
    }

    /// Takes the iterator on to its stream's head as it is now, from where
    /// it stopped (after a `wait`), verifying on from its own position.
    pub fn extend(&mut self, store: &crate::Store) -> Result<()> {
        // SAFETY: live handle; a live iterator used by this thread only.
        check(unsafe { stratalog::stratalog_iter_extend(store.raw(), self.raw.as_ptr()) })
    }

    /// The next event and its offset; `None` after the last one or after
    /// a failure. The bytes are valid until the next call.
    pub fn next_event(&mut self) -> Result<Option<(u64, &[u8])>> {
        let (mut has, mut offset, mut data, mut len) = (false, 0u64, std::ptr::null(), 0usize);
        // SAFETY: a live iterator used by this thread only; outputs writable.
        check(unsafe {
            stratalog::stratalog_iter_next(
                self.raw.as_ptr(),
                &mut has,
                &mut offset,
                &mut data,
                &mut len,
            )
        })?;
        if !has {
            return Ok(None);
        }
        // SAFETY: `data` points at `len` bytes the iterator owns until its
        // next call, which `&mut self` cannot make while this borrow lives.
        Ok(Some((offset, unsafe {
            std::slice::from_raw_parts(data, len)
        })))
    }
}

impl Drop for Iter {
    fn drop(&mut self) {
        // SAFETY: a live iterator we own, freed once.
        unsafe { stratalog::stratalog_iter_free(self.raw.as_ptr()) };
    }
}
