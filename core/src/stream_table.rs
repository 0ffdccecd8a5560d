//! The store's streams by id, each recovered on its first use.
//!
//! Opening a store lists `streams/` and nothing more, so its cost does not
//! grow with the number of streams; a stream's directory is read and its
//! tail recovered (`open_stream`) when an operation first needs it.
//!
//! Invariants kept here:
//! - A stream is recovered at most once, under its entry's lock; every
//!   caller gets the same `Stream`, and none sees it before recovery ended.
//!   A recovery that fails is not remembered: the next use tries again.
//! - Nothing reads or appends to a stream that was not recovered: the only
//!   way to a `Stream` is through `get` or `get_or_create`.
//! - Torn tails are reported as recovery finds them, in that order (in
//!   id order when every stream is recovered at once).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::error::Result;
use crate::io::StorageDir;
use crate::layout;
use crate::options::Options;
use crate::stream::{open_stream, Stream, TornTail};

/// Streams `recover_all` recovers at once, at most.
const RECOVERING_AT_ONCE: usize = 8;

#[derive(Debug)]
struct Entry {
    stream: OnceLock<Arc<Stream>>,
    /// Held while recovering, so two first uses recover once.
    recovering: Mutex<()>,
}

impl Entry {
    fn unrecovered() -> Arc<Self> {
        Arc::new(Entry {
            stream: OnceLock::new(),
            recovering: Mutex::new(()),
        })
    }

    fn with(stream: Stream) -> Arc<Self> {
        let entry = Entry::unrecovered();
        let _ = entry.stream.set(Arc::new(stream));
        entry
    }
}

#[derive(Debug)]
pub(crate) struct StreamTable {
    dir: Arc<dyn StorageDir>,
    options: Arc<Options>,
    writable: bool,
    entries: RwLock<BTreeMap<u64, Arc<Entry>>>,
    torn_tails: Mutex<Vec<TornTail>>,
}

impl StreamTable {
    /// The streams whose directories `names` (the entries of `streams/`)
    /// hold, none of them recovered yet.
    pub(crate) fn listed(
        dir: Arc<dyn StorageDir>,
        options: Arc<Options>,
        writable: bool,
        names: &[String],
    ) -> Self {
        let entries = names
            .iter()
            .filter_map(|n| layout::parse_stream_dir(n))
            .map(|id| (id, Entry::unrecovered()))
            .collect();
        StreamTable {
            dir,
            options,
            writable,
            entries: RwLock::new(entries),
            torn_tails: Mutex::new(Vec::new()),
        }
    }

    /// The stream `id` if it has a directory or was created in this open,
    /// recovered.
    pub(crate) fn get(&self, id: u64) -> Result<Option<Arc<Stream>>> {
        let Some(entry) = self.entries.read().get(&id).cloned() else {
            return Ok(None);
        };
        self.recovered(id, &entry).map(Some)
    }

    /// The stream `id`, created empty (in memory; its first append makes
    /// its files) if it does not exist.
    pub(crate) fn get_or_create(&self, id: u64) -> Result<Arc<Stream>> {
        if let Some(stream) = self.get(id)? {
            return Ok(stream);
        }
        let entry = self
            .entries
            .write()
            .entry(id)
            .or_insert_with(|| {
                Entry::with(Stream::empty(id, self.dir.clone(), self.options.clone()))
            })
            .clone();
        self.recovered(id, &entry)
    }

    fn recovered(&self, id: u64, entry: &Entry) -> Result<Arc<Stream>> {
        let (stream, torn) = self.recover(id, entry)?;
        if let Some(torn) = torn {
            self.torn_tails.lock().push(torn);
        }
        Ok(stream)
    }

    /// The stream of `entry`, recovered now if it was not yet, with the
    /// torn tail that recovery found (for the caller to report).
    fn recover(&self, id: u64, entry: &Entry) -> Result<(Arc<Stream>, Option<TornTail>)> {
        if let Some(stream) = entry.stream.get() {
            return Ok((stream.clone(), None));
        }
        let _recovering = entry.recovering.lock();
        if let Some(stream) = entry.stream.get() {
            return Ok((stream.clone(), None));
        }
        let (stream, torn) =
            open_stream(self.dir.clone(), self.options.clone(), id, self.writable)?;
        Ok((entry.stream.get_or_init(|| Arc::new(stream)).clone(), torn))
    }

    /// Adds the streams whose directories appeared in `streams/` since the
    /// store listed it (for a read-only store: the writer, in another
    /// process, made them after this one opened), unrecovered like those
    /// found at open. Streams already known are left as they are.
    pub(crate) fn relist(&self) -> Result<()> {
        let root = layout::streams_dir();
        let names = match self.dir.list(&root) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(crate::Error::io(
                    format!("listing {}", self.dir.display(&root).display()),
                    e,
                ))
            }
        };
        let mut entries = self.entries.write();
        for id in names.iter().filter_map(|n| layout::parse_stream_dir(n)) {
            entries.entry(id).or_insert_with(Entry::unrecovered);
        }
        Ok(())
    }

    /// Recovers every stream now: what a writer does when the store was
    /// not closed cleanly, so that every torn tail is found (and reported,
    /// in id order) at open, and what a read-only store does. Several
    /// streams at once: in a bucket each recovery waits for a round trip,
    /// and thousands of them one after another would make the open wait
    /// for thousands. Once one fails no more are begun, and the failure of
    /// the lowest id among those tried is returned.
    pub(crate) fn recover_all(&self) -> Result<()> {
        let entries = self.entries_now();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let outcomes = Mutex::new(Vec::with_capacity(entries.len()));
        let worker = || {
            while !failed.load(Ordering::Acquire) {
                let Some((id, entry)) = entries.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                let outcome = self.recover(*id, entry).map(|(_, torn)| torn);
                if outcome.is_err() {
                    failed.store(true, Ordering::Release);
                }
                outcomes.lock().push((*id, outcome));
            }
        };
        let helpers = RECOVERING_AT_ONCE.min(entries.len()).saturating_sub(1);
        crate::threads::with_helpers(helpers, "stratalog-open", worker);
        let mut outcomes = outcomes.into_inner();
        outcomes.sort_unstable_by_key(|(id, _)| *id);
        let mut first_error = None;
        let mut torn_tails = self.torn_tails.lock();
        for (_, outcome) in outcomes {
            match outcome {
                Ok(torn) => torn_tails.extend(torn),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Ids of the streams holding at least one segment, in increasing
    /// order. A stream not recovered yet is looked up in its directory
    /// rather than recovered.
    pub(crate) fn existing_ids(&self) -> Result<Vec<u64>> {
        let entries = self.entries_now();
        let mut ids = Vec::with_capacity(entries.len());
        for (id, entry) in entries {
            let exists = match entry.stream.get() {
                Some(stream) => stream.exists(),
                None => self.has_segment(id)?,
            };
            if exists {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The entries as they are now, so work on them runs without the lock.
    fn entries_now(&self) -> Vec<(u64, Arc<Entry>)> {
        self.entries
            .read()
            .iter()
            .map(|(id, e)| (*id, e.clone()))
            .collect()
    }

    fn has_segment(&self, id: u64) -> Result<bool> {
        let rel = layout::stream_dir(id);
        match self.dir.list(&rel) {
            Ok(names) => Ok(names
                .iter()
                .any(|n| layout::parse_segment_name(n).is_some())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(crate::Error::io(
                format!("listing {}", self.dir.display(&rel).display()),
                e,
            )),
        }
    }

    /// The streams recovered so far: the only ones that can hold appends
    /// of this open, or waiters.
    pub(crate) fn recovered_streams(&self) -> Vec<Arc<Stream>> {
        self.entries
            .read()
            .values()
            .filter_map(|e| e.stream.get().cloned())
            .collect()
    }

    /// Empties the table (the store is closing), returning the streams
    /// that were recovered.
    pub(crate) fn take_recovered(&self) -> Vec<Arc<Stream>> {
        std::mem::take(&mut *self.entries.write())
            .into_values()
            .filter_map(|e| e.stream.get().cloned())
            .collect()
    }

    pub(crate) fn torn_tails(&self) -> Vec<TornTail> {
        self.torn_tails.lock().clone()
    }
}
