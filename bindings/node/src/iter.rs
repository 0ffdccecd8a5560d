//! `NativeIter`: a library iterator read a chunk at a time on the pool.

use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use stratalog_client::{Error, Iter, Status, Store};

use crate::error::Failure;
use crate::job::{Job, Output};
use crate::value::Chunk;

/// Events a chunk holds at most, whatever their size.
const MAX_CHUNK_EVENTS: u32 = 1 << 16;
/// The most a chunk reserves before it has read anything (a chunk asked
/// for more grows past it as events arrive).
const MAX_RESERVE: u64 = 4 << 20;

#[derive(Debug, Default)]
struct IterState {
    /// Made by the first chunk, on the pool: positioning it reads the disk.
    iter: Option<Iter>,
    /// Exhausted, failed or closed: every later chunk is the end.
    done: bool,
}

impl IterState {
    fn free(&mut self) {
        self.done = true;
        self.iter = None;
    }
}

/// Reads up to `max_bytes` (or `max_events` events) from the iterator;
/// an empty chunk means the end.
fn read_chunk(
    store: &Store,
    state: &mut IterState,
    stream: u64,
    start: u64,
    max_bytes: u64,
    max_events: u32,
) -> Result<Chunk, Failure> {
    // A closed store fails with STRATALOG_CLOSED, like every other
    // operation, although the library's iterator itself outlives it.
    if store.is_closed() {
        return Err(Error::new(Status::Closed, "the store is closed").into());
    }
    let iter = match &mut state.iter {
        Some(iter) => iter,
        slot => slot.insert(store.iter(stream, start)?),
    };
    // Room for a whole chunk up front: the events are copied once, never
    // again by the vector growing.
    let mut chunk = Chunk {
        data: Vec::with_capacity(max_bytes.min(MAX_RESERVE) as usize),
        ..Chunk::default()
    };
    let mut count: u32 = 0;
    while let Some((offset, event)) = iter.next_event()? {
        if count == 0 {
            chunk.first = offset;
        } else if offset != chunk.first.wrapping_add(u64::from(count)) {
            let message = format!(
                "stratalog iterator skipped from offset {} to {offset}",
                chunk.first.wrapping_add(u64::from(count) - 1)
            );
            return Err(Error::new(Status::Panic, message).into());
        }
        chunk.push(event)?;
        count += 1;
        if chunk.data.len() as u64 >= max_bytes || count >= max_events {
            return Ok(chunk);
        }
    }
    state.done = true;
    Ok(chunk)
}

/// The native half of `store.iterate()`: each `next()` resolves to a chunk
/// `{ first, data, lengths }` or to `null` at the end.
#[napi]
#[derive(Debug)]
pub struct NativeIter {
    store: Arc<Store>,
    state: Arc<Mutex<IterState>>,
    stream: u64,
    start: u64,
}

impl NativeIter {
    pub(crate) fn new(store: Arc<Store>, stream: u64, start: u64) -> Self {
        NativeIter {
            store,
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
        let store = Arc::clone(&self.store);
        let state = Arc::clone(&self.state);
        let (stream, start) = (self.stream, self.start);
        let max_events = max_events.clamp(1, MAX_CHUNK_EVENTS);
        Job::spawn(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.done {
                return Ok(Output::End);
            }
            match read_chunk(
                &store,
                &mut state,
                stream,
                start,
                u64::from(max_bytes),
                max_events,
            ) {
                Ok(chunk) if chunk.lengths.is_empty() => Ok(Output::End),
                Ok(chunk) => Ok(Output::Chunk(chunk)),
                Err(failure) => {
                    // The library's iterator reports nothing after a failure.
                    state.free();
                    Err(failure)
                }
            }
        })
    }

    /// Takes an iterator that reached its end on to the stream's head as it
    /// is now, on the pool, verifying on from where it stopped (instead of
    /// again from the nearest checkpoint, as a new iterator would): what a
    /// follower does after a wait says the stream grew. Resolves to true,
    /// and later chunks read on; to false, doing nothing, for an iterator
    /// that failed, was closed or never read (make a new one).
    #[napi]
    pub fn extend(&self) -> AsyncTask<Job> {
        let store = Arc::clone(&self.store);
        let state = Arc::clone(&self.state);
        Job::spawn(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(iter) = state.iter.as_mut() else {
                return Ok(Output::Bool(false));
            };
            let extended = if store.is_closed() {
                Err(Error::new(Status::Closed, "the store is closed"))
            } else {
                iter.extend(&store)
            };
            match extended {
                Ok(()) => {
                    state.done = false;
                    Ok(Output::Bool(true))
                }
                Err(error) => {
                    // Like a failed chunk: the iterator reports nothing after.
                    state.free();
                    Err(error.into())
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
