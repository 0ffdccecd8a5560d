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
///
/// It asks the library for events a batch at a time
/// (`stratalog_iter_next_batch`) and hands them out one by one, so a
/// caller that pays for each library call (Python releases the GIL around
/// it) pays once per batch: [`Iter::has_buffered`] says whether the next
/// event needs a call.
#[derive(Debug)]
pub struct Iter {
    raw: NonNull<stratalog_iter>,
    ahead: Ahead,
}

/// Events of the last batch not yet handed out.
#[derive(Debug)]
struct Ahead {
    first_offset: u64,
    /// Pointers into the library's iterator, valid until its next call,
    /// which only `Iter::next_event` makes, once these are handed out.
    data: Vec<*const u8>,
    lens: Vec<usize>,
    count: usize,
    next: usize,
}

/// Events per batch: enough that a call's cost vanishes per event.
const AHEAD_EVENTS: usize = 256;
/// Bytes per batch (the library's read window): the memory a batch keeps.
const AHEAD_BYTES: u64 = 256 << 10;

// SAFETY: an iterator may move between threads; `&mut self` on `next`
// keeps it to one at a time, as the library requires. The pointers it
// holds are into the library's iterator, which moves with it.
unsafe impl Send for Iter {}
// SAFETY: no method takes `&self` but `has_buffered`, which reads two
// counters: a shared reference can do nothing else with the iterator.
unsafe impl Sync for Iter {}

impl Iter {
    /// # Safety
    /// `raw` is NULL or an iterator the caller owns and hands over.
    pub(crate) unsafe fn from_raw(raw: *mut stratalog_iter) -> Result<Iter> {
        NonNull::new(raw)
            .map(|raw| Iter {
                raw,
                ahead: Ahead {
                    first_offset: 0,
                    data: vec![std::ptr::null(); AHEAD_EVENTS],
                    lens: vec![0; AHEAD_EVENTS],
                    count: 0,
                    next: 0,
                },
            })
            .ok_or_else(|| Error::new(stratalog_status::Panic, "iter_new returned no iterator"))
    }

    /// Takes the iterator on to its stream's head as it is now, from where
    /// it stopped (after a `wait`), verifying on from its own position.
    pub fn extend(&mut self, store: &crate::Store) -> Result<()> {
        // SAFETY: live handle; a live iterator used by this thread only.
        check(unsafe { stratalog::stratalog_iter_extend(store.raw(), self.raw.as_ptr()) })
    }

    /// Whether the next [`Iter::next_event`] is served from the last batch,
    /// without a library call (no I/O, no hashing).
    pub fn has_buffered(&self) -> bool {
        self.ahead.next < self.ahead.count
    }

    /// The next event and its offset; `None` after the last one or after
    /// a failure. The bytes are valid until the next call.
    pub fn next_event(&mut self) -> Result<Option<(u64, &[u8])>> {
        if !self.has_buffered() && !self.read_batch()? {
            return Ok(None);
        }
        let ahead = &mut self.ahead;
        let i = ahead.next;
        ahead.next += 1;
        // SAFETY: entry `i < count` of the batch the library wrote: `lens[i]`
        // bytes at `data[i]` (never NULL), owned by the library's iterator
        // until its next call, which `&mut self` cannot make while this
        // borrow lives.
        let event = unsafe { std::slice::from_raw_parts(ahead.data[i], ahead.lens[i]) };
        Ok(Some((ahead.first_offset + i as u64, event)))
    }

    /// Reads the next batch; false at the end.
    fn read_batch(&mut self) -> Result<bool> {
        let ahead = &mut self.ahead;
        let (mut count, mut first_offset) = (0usize, 0u64);
        let room = ahead.data.len().min(ahead.lens.len());
        // SAFETY: a live iterator used by this thread only; `data` and
        // `lens` hold `room` writable elements each. Every event of the
        // last batch was handed out, and those borrows have ended.
        check(unsafe {
            stratalog::stratalog_iter_next_batch(
                self.raw.as_ptr(),
                room,
                AHEAD_BYTES,
                &mut count,
                &mut first_offset,
                ahead.data.as_mut_ptr(),
                ahead.lens.as_mut_ptr(),
            )
        })
        .inspect_err(|_| ahead.count = 0)?;
        ahead.first_offset = first_offset;
        ahead.count = count.min(room);
        ahead.next = 0;
        Ok(ahead.count > 0)
    }
}

impl Drop for Iter {
    fn drop(&mut self) {
        // SAFETY: a live iterator we own, freed once.
        unsafe { stratalog::stratalog_iter_free(self.raw.as_ptr()) };
    }
}
