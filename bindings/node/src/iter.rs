//! `NativeIter`: a stratalog_iter read a chunk at a time on the pool.

use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use stratalog::stratalog_iter;

use crate::error::{check, Failure};
use crate::handle::Shared;
use crate::job::Job;
use crate::value::{Chunk, Output};

/// Events a chunk holds at most, whatever their size.
const MAX_CHUNK_EVENTS: u32 = 1 << 16;
/// The most a chunk reserves before it has read anything (a chunk asked
/// for more grows past it as events arrive).
const MAX_RESERVE: u64 = 4 << 20;

#[derive(Debug)]
struct IterPtr(NonNull<stratalog_iter>);

// SAFETY: an iterator may be used from any thread, one at a time; the Mutex
// around IterState provides the one-at-a-time.
unsafe impl Send for IterPtr {}

#[derive(Debug, Default)]
struct IterState {
    /// Made by the first chunk, on the pool (stratalog_iter_new).
    ptr: Option<IterPtr>,
    /// Exhausted, failed or closed: every later chunk is the end.
    done: bool,
}

impl IterState {
    fn free(&mut self) {
        self.done = true;
        if let Some(ptr) = self.ptr.take() {
            // SAFETY: a live iterator, freed once, used by no other thread
            // (the caller holds the Mutex).
            unsafe { stratalog::stratalog_iter_free(ptr.0.as_ptr()) };
        }
    }
}

impl Drop for IterState {
    fn drop(&mut self) {
        self.free();
    }
}

/// Reads up to `max_bytes` (or MAX_CHUNK_EVENTS events) from the iterator;
/// an empty chunk means the end.
fn read_chunk(
    shared: &Shared,
    state: &mut IterState,
    stream: u64,
    start: u64,
    max_bytes: u64,
    max_events: u32,
) -> Result<Chunk, Failure> {
    // The read guard makes a closed store fail with STRATALOG_CLOSED, like
    // every other operation, although the iterator itself outlives it.
    shared.with(|store| {
        let iter = match &state.ptr {
            Some(ptr) => ptr.0.as_ptr(),
            None => {
                let mut out = ptr::null_mut();
                // SAFETY: live handle (read guard held); `out` is writable.
                check(unsafe { stratalog::stratalog_iter_new(store, stream, start, &mut out) })?;
                let ptr = NonNull::new(out).ok_or_else(|| Failure::Library {
                    status: stratalog::stratalog_status::Panic,
                    message: "stratalog returned success without an iterator".to_owned(),
                    detail: None,
                })?;
                state.ptr = Some(IterPtr(ptr));
                ptr.as_ptr()
            }
        };
        // Room for a whole chunk up front: the events are copied once,
        // never again by the vector growing.
        let mut chunk = Chunk {
            data: Vec::with_capacity(max_bytes.min(MAX_RESERVE) as usize),
            ..Chunk::default()
        };
        let mut count: u32 = 0;
        loop {
            let mut has_event = false;
            let mut offset = 0u64;
            let mut data: *const u8 = ptr::null();
            let mut len = 0usize;
            // SAFETY: a live iterator used by this thread only (Mutex held);
            // the outputs are writable.
            check(unsafe {
                stratalog::stratalog_iter_next(
                    iter,
                    &mut has_event,
                    &mut offset,
                    &mut data,
                    &mut len,
                )
            })?;
            if !has_event {
                state.done = true;
                break;
            }
            if count == 0 {
                chunk.first = offset;
            } else if offset != chunk.first.wrapping_add(u64::from(count)) {
                return Err(Failure::Library {
                    status: stratalog::stratalog_status::Panic,
                    message: format!(
                        "stratalog iterator skipped from offset {} to {offset}",
                        chunk.first.wrapping_add(u64::from(count) - 1)
                    ),
                    detail: None,
                });
            }
            // SAFETY: `len` readable bytes at `data` (never NULL), valid
            // until the next stratalog_iter_next(); copied at once.
            chunk.push(unsafe { std::slice::from_raw_parts(data, len) })?;
            count += 1;
            if chunk.data.len() as u64 >= max_bytes || count >= max_events {
                break;
            }
        }
        Ok(chunk)
    })
}

/// The native half of `store.iterate()`: each `next()` resolves to a chunk
/// `{ first, data, lengths }` or to `null` at the end.
#[napi]
#[derive(Debug)]
pub struct NativeIter {
    shared: Arc<Shared>,
    state: Arc<Mutex<IterState>>,
    stream: u64,
    start: u64,
}

impl NativeIter {
    pub(crate) fn new(shared: Arc<Shared>, stream: u64, start: u64) -> Self {
        NativeIter {
            shared,
            state: Arc::new(Mutex::new(IterState::default())),
            stream,
            start,
        }
    }
}

#[napi]
impl NativeIter {
    /// The next chunk of about `max_bytes` bytes, on the pool. Calls are
    /// serialized: a chunk is read only after the previous one.
    #[napi]
    pub fn next(&self, max_bytes: u32, max_events: u32) -> AsyncTask<Job> {
        let shared = Arc::clone(&self.shared);
        let state = Arc::clone(&self.state);
        let (stream, start) = (self.stream, self.start);
        let max_events = max_events.clamp(1, MAX_CHUNK_EVENTS);
        Job::spawn(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.done {
                return Ok(Output::End);
            }
            match read_chunk(
                &shared,
                &mut state,
                stream,
                start,
                u64::from(max_bytes),
                max_events,
            ) {
                Ok(chunk) if chunk.lengths.is_empty() => Ok(Output::End),
                Ok(chunk) => Ok(Output::Chunk(chunk)),
                Err(failure) => {
                    // The C iterator reports nothing after a failure.
                    state.free();
                    Err(failure)
                }
            }
        })
    }

    /// Frees the iterator; later chunks are the end. Waits for a chunk in
    /// flight, if any.
    #[napi]
    pub fn close(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .free();
    }
}
