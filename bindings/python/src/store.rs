//! `_native.Store`: an open store, every call made with the GIL released.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use stratalog_client::{Error, Fsync, Head, Status, Store, Tier};

use crate::convert::{
    collect_events, event_bytes, hash32, head_tuple, make_options, options_tuple, report_tuple,
    HeadTuple, OptionsTuple, ReportTuple, StatsTuple,
};
use crate::detach::detach;
use crate::error::IntoPyErr;
use crate::iter::EventIter;
use crate::proofs::{proof_list, NativeSigningKey};

/// `Store.tier_stats()`'s tuple.
type TierStatsTuple = (u64, u64, u64, u64, u64, u64, u64, bool, Option<String>);

/// An open store. Closing it (from any thread) makes later calls raise
/// ClosedError; the handle itself is freed when the object is collected.
#[pyclass(frozen, module = "stratalog._native", name = "Store")]
#[derive(Debug)]
pub(crate) struct NativeStore {
    store: Store,
}

impl NativeStore {
    /// Runs `f` on the store with the GIL released.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Store) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        detach(py, || f(&self.store)).map_err(|e| e.into_pyerr(py))
    }

    fn opened(
        py: Python<'_>,
        open: impl FnOnce() -> Result<Store, Error> + Send,
    ) -> PyResult<Self> {
        let store = detach(py, open).map_err(|e| e.into_pyerr(py))?;
        Ok(NativeStore { store })
    }

    fn append_owned<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        owned: &[Bound<'py, PyBytes>],
        expected_offset: Option<u64>,
        fsync: Option<bool>,
    ) -> PyResult<HeadTuple<'py>> {
        // `owned` keeps every bytes object alive, and bytes are immutable,
        // until after the call.
        let events: Vec<&[u8]> = owned.iter().map(|b| b.as_bytes()).collect();
        let head = self.run(py, |s| {
            s.append(stream, &events, expected_offset, Fsync::from(fsync))
        })?;
        Ok(head_tuple(py, head))
    }
}

#[pymethods]
impl NativeStore {
    /// Opens (creating if needed) the store in directory `path` for writing.
    #[staticmethod]
    #[pyo3(signature = (path, *, segment_size=None, checkpoint_interval=None, compression=None, max_event_size=None, fsync=None, max_open_files=None, timestamps=false, tier=None, tier_options=Vec::new(), local_cache_bytes=None, tier_takeover=false, tier_lease_ms=None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        path: &str,
        segment_size: Option<u64>,
        checkpoint_interval: Option<u64>,
        compression: Option<&str>,
        max_event_size: Option<u64>,
        fsync: Option<bool>,
        max_open_files: Option<u64>,
        timestamps: bool,
        tier: Option<String>,
        tier_options: Vec<(String, String)>,
        local_cache_bytes: Option<u64>,
        tier_takeover: bool,
        tier_lease_ms: Option<u64>,
    ) -> PyResult<Self> {
        let mut opts = make_options(
            py,
            segment_size,
            checkpoint_interval,
            compression,
            max_event_size,
            fsync,
            max_open_files,
        )?;
        opts.timestamps = timestamps;
        let tier = Tier {
            url: tier,
            options: tier_options,
            local_cache_bytes,
            takeover: tier_takeover,
            lease_ms: tier_lease_ms,
        };
        NativeStore::opened(py, || Store::open_tiered(path, &opts, &tier))
    }

    /// Opens a new, empty store held in memory.
    #[staticmethod]
    #[pyo3(signature = (*, segment_size=None, checkpoint_interval=None, compression=None, max_event_size=None, fsync=None, timestamps=false))]
    fn open_in_memory(
        py: Python<'_>,
        segment_size: Option<u64>,
        checkpoint_interval: Option<u64>,
        compression: Option<&str>,
        max_event_size: Option<u64>,
        fsync: Option<bool>,
        timestamps: bool,
    ) -> PyResult<Self> {
        let mut opts = make_options(
            py,
            segment_size,
            checkpoint_interval,
            compression,
            max_event_size,
            fsync,
            None,
        )?;
        opts.timestamps = timestamps;
        NativeStore::opened(py, || Store::open_in_memory(&opts))
    }

    /// Opens an existing store for reading only (no lock, never writes).
    #[staticmethod]
    #[pyo3(signature = (path, *, max_event_size=None, max_open_files=None, tier_options=None))]
    fn open_read_only(
        py: Python<'_>,
        path: &str,
        max_event_size: Option<u64>,
        max_open_files: Option<u64>,
        tier_options: Option<Vec<(String, String)>>,
    ) -> PyResult<Self> {
        let opts = make_options(py, None, None, None, max_event_size, None, max_open_files)?;
        match tier_options {
            None => NativeStore::opened(py, || Store::open_read_only(path, &opts)),
            Some(pairs) => {
                NativeStore::opened(py, || Store::open_tier_read_only(path, &opts, &pairs))
            }
        }
    }

    /// Seals every stream's unsealed events and waits (without the GIL)
    /// until the tier's bucket holds everything appended before the call.
    fn sync_tier(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.sync_tier())
    }

    /// The tier's uploader state: (pending_segments, pending_bytes,
    /// uploaded_segments, uploaded_bytes, evicted_segments,
    /// copied_back_segments, epoch, fenced, last_error or None).
    fn tier_stats(&self, py: Python<'_>) -> PyResult<TierStatsTuple> {
        let s = self.run(py, |s| s.tier_stats())?;
        Ok((
            s.pending_segments,
            s.pending_bytes,
            s.uploaded_segments,
            s.uploaded_bytes,
            s.evicted_segments,
            s.copied_back_segments,
            s.epoch,
            s.fenced,
            s.last_error,
        ))
    }

    /// Appends `events` (an iterable of bytes-like objects) atomically;
    /// returns the new head as (next_offset, hash). `fsync` None is the
    /// store's default.
    #[pyo3(signature = (stream, events, expected_offset=None, fsync=None))]
    fn append_batch<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        events: &Bound<'py, PyAny>,
        expected_offset: Option<u64>,
        fsync: Option<bool>,
    ) -> PyResult<HeadTuple<'py>> {
        let owned = collect_events(events)?;
        self.append_owned(py, stream, &owned, expected_offset, fsync)
    }

    /// Appends one bytes-like event; returns the new head.
    #[pyo3(signature = (stream, event, expected_offset=None, fsync=None))]
    fn append<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        event: &Bound<'py, PyAny>,
        expected_offset: Option<u64>,
        fsync: Option<bool>,
    ) -> PyResult<HeadTuple<'py>> {
        let owned = [event_bytes(event, None)?];
        self.append_owned(py, stream, &owned, expected_offset, fsync)
    }

    /// The chain head of `stream` as (next_offset, hash).
    fn chain_head<'py>(&self, py: Python<'py>, stream: u64) -> PyResult<HeadTuple<'py>> {
        let head = self.run(py, |s| s.chain_head(stream))?;
        Ok(head_tuple(py, head))
    }

    /// Verifies `stream`; returns (events, bytes, checkpoints, segments,
    /// head_next_offset, head_hash).
    fn verify<'py>(&self, py: Python<'py>, stream: u64) -> PyResult<ReportTuple<'py>> {
        let report = self.run(py, |s| s.verify(stream))?;
        Ok(report_tuple(py, report))
    }

    /// Verifies `stream` and that it still holds the history of the head
    /// (next_offset, hash).
    fn verify_against<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        next_offset: u64,
        hash: &[u8],
    ) -> PyResult<ReportTuple<'py>> {
        let head = Head {
            next_offset,
            hash: hash32(hash)?,
        };
        let report = self.run(py, |s| s.verify_against(stream, &head))?;
        Ok(report_tuple(py, report))
    }

    /// Events of `stream` from `offset` on, up to about `max_bytes` (at
    /// least one event if there is one), as a list of bytes.
    fn read_from<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        offset: u64,
        max_bytes: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let batch = self.run(py, |s| s.read_from(stream, offset, max_bytes))?;
        PyList::new(py, batch.iter().map(|event| PyBytes::new(py, event)))
    }

    /// A lazy iterator of (offset, bytes) over `stream` from `start` to the
    /// head as it is now; raises at once if `start` is past the end.
    fn iter(&self, py: Python<'_>, stream: u64, start: u64) -> PyResult<EventIter> {
        let iter = self.run(py, |s| s.iter(stream, start))?;
        Ok(EventIter::new(iter))
    }

    /// Takes `events`, an iterator of this store that reached its end, on
    /// to the stream's head as it is now, verifying on from where it
    /// stopped. False, doing nothing, for an iterator that failed or was
    /// closed: make a new one.
    fn extend_iter(&self, py: Python<'_>, mut events: PyRefMut<'_, EventIter>) -> PyResult<bool> {
        let Some(iter) = events.resumable() else {
            return Ok(false);
        };
        self.run(py, |s| iter.extend(s))?;
        Ok(true)
    }

    /// Ids of the streams that hold at least one event, increasing.
    fn streams(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.run(py, Store::streams)
    }

    /// The unfinished batches the open found at the ends of streams, as
    /// (stream, segment path, kept_len, dropped_bytes).
    fn torn_tails(&self) -> Vec<(u64, String, u64, u64)> {
        self.store
            .torn_tails()
            .iter()
            .map(|t| (t.stream, t.segment.clone(), t.kept_len, t.dropped_bytes))
            .collect()
    }

    /// Where consumer `name` of `stream` committed it had processed up to.
    fn cursor(&self, py: Python<'_>, stream: u64, name: &str) -> PyResult<u64> {
        self.run(py, |s| s.cursor(stream, name))
    }

    /// Commits, durably, that consumer `name` of `stream` has processed
    /// every event before `offset`.
    fn commit_cursor(&self, py: Python<'_>, stream: u64, name: &str, offset: u64) -> PyResult<()> {
        self.run(py, |s| s.commit_cursor(stream, name, offset))
    }

    /// Waits until `stream`'s next offset passes `offset` and returns it;
    /// `timeout` in seconds (None: forever). The GIL is released while
    /// waiting, in slices, so that Ctrl-C (a pending signal) interrupts it.
    #[pyo3(signature = (stream, offset, timeout=None))]
    fn wait(
        &self,
        py: Python<'_>,
        stream: u64,
        offset: u64,
        timeout: Option<f64>,
    ) -> PyResult<u64> {
        const SLICE: Duration = Duration::from_millis(100);
        let deadline = match timeout {
            None => None,
            Some(t) if t.is_finite() && t >= 0.0 => {
                Instant::now().checked_add(Duration::from_secs_f64(t.min(1e9)))
            }
            Some(t) => {
                return Err(PyValueError::new_err(format!(
                    "timeout must be a finite number >= 0, not {t}"
                )))
            }
        };
        loop {
            let slice = match deadline {
                None => SLICE,
                Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
            };
            match detach(py, || self.store.wait(stream, offset, Some(slice))) {
                Ok(next) => return Ok(next),
                Err(e)
                    if e.status == Status::Timeout
                        && deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    py.check_signals()?;
                }
                Err(e) => return Err(e.into_pyerr(py)),
            }
        }
    }

    /// Removes the sealed segments of `stream` below `before`; returns the
    /// stream's first offset afterwards.
    fn prune(&self, py: Python<'_>, stream: u64, before: u64) -> PyResult<u64> {
        self.run(py, |s| s.prune(stream, before))
    }

    /// Prunes `stream` to keep at least its last `count` events; returns
    /// the first offset.
    fn prune_keep_last(&self, py: Python<'_>, stream: u64, count: u64) -> PyResult<u64> {
        self.run(py, |s| s.prune_keep_last(stream, count))
    }

    /// Prunes `stream` to at most `max_bytes` bytes of segments (the
    /// active one always stays); returns the first offset.
    fn prune_keep_bytes(&self, py: Python<'_>, stream: u64, max_bytes: u64) -> PyResult<u64> {
        self.run(py, |s| s.prune_keep_bytes(stream, max_bytes))
    }

    /// Prunes `stream` to keep every batch recorded at or after `unix_ms`
    /// (Unix milliseconds); returns the first offset.
    fn prune_keep_newer(&self, py: Python<'_>, stream: u64, unix_ms: u64) -> PyResult<u64> {
        self.run(py, |s| s.prune_keep_newer(stream, unix_ms))
    }

    /// The first offset of `stream` from which every recorded batch time is
    /// at least `unix_ms` (Unix milliseconds).
    fn seek_time(&self, py: Python<'_>, stream: u64, unix_ms: u64) -> PyResult<u64> {
        self.run(py, |s| s.seek_time(stream, unix_ms))
    }

    /// The first offset `stream` still holds (0 unless pruned).
    fn first_offset(&self, py: Python<'_>, stream: u64) -> PyResult<u64> {
        self.run(py, |s| s.first_offset(stream))
    }

    /// The manifest of the backup this store is, as [(stream, first_offset,
    /// (next_offset, hash))], or None for a store that is not a backup.
    fn backup_manifest<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<Vec<(u64, u64, HeadTuple<'py>)>>> {
        let manifest = self.run(py, |s| s.backup_manifest())?;
        Ok(manifest.map(|streams| {
            streams
                .into_iter()
                .map(|e| (e.stream, e.first_offset, head_tuple(py, e.head)))
                .collect()
        }))
    }

    /// The head `stream`'s retained events continue, as (next_offset, hash).
    fn first_head<'py>(&self, py: Python<'py>, stream: u64) -> PyResult<HeadTuple<'py>> {
        let head = self.run(py, |s| s.first_head(stream))?;
        Ok(head_tuple(py, head))
    }

    /// Backs the store up into directory `dest`; returns the head of every
    /// stream in the backup as [(stream, (next_offset, hash))].
    fn backup<'py>(&self, py: Python<'py>, dest: &str) -> PyResult<Vec<(u64, HeadTuple<'py>)>> {
        let heads = self.run(py, |s| s.backup_heads(dest))?;
        Ok(heads
            .into_iter()
            .map(|(stream, head)| (stream, head_tuple(py, head)))
            .collect())
    }

    /// (segments, bytes, first_offset, next_offset) of `stream`.
    fn stats(&self, py: Python<'_>, stream: u64) -> PyResult<StatsTuple> {
        let s = self.run(py, |s| s.stats(stream))?;
        Ok((s.segments, s.bytes, s.first_offset, s.next_offset))
    }

    /// Makes every append so far durable: to `stream`, or to every stream.
    #[pyo3(signature = (stream=None))]
    fn sync(&self, py: Python<'_>, stream: Option<u64>) -> PyResult<()> {
        self.run(py, |s| s.sync(stream))
    }

    /// The options the store was opened with: (segment_size,
    /// checkpoint_interval, compression name, max_event_size, fsync,
    /// max_open_files, timestamps).
    fn options(&self, py: Python<'_>) -> PyResult<OptionsTuple> {
        let options = self.store.options().map_err(|e| e.into_pyerr(py))?;
        Ok(options_tuple(options))
    }

    /// Syncs and closes the store. Idempotent. Waits for calls in progress
    /// on other threads; later calls raise ClosedError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, Store::close)
    }

    /// The Merkle root of the first `size` events (None: all).
    #[pyo3(signature = (stream, size=None))]
    fn tree_root<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        size: Option<u64>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let root = self.run(py, |s| s.tree_root(stream, size))?;
        Ok(PyBytes::new(py, &root))
    }

    /// The 40-byte leaf data of event `offset`.
    fn leaf_data<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        offset: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.run(py, |s| s.leaf_data(stream, offset))?;
        Ok(PyBytes::new(py, &data))
    }

    /// The inclusion proof of event `offset` in the tree of `size` events.
    #[pyo3(signature = (stream, offset, size=None))]
    fn inclusion_proof<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        offset: u64,
        size: Option<u64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let proof = self.run(py, |s| s.inclusion_proof(stream, offset, size))?;
        proof_list(py, &proof)
    }

    /// The consistency proof from `old_size` events to `size`.
    #[pyo3(signature = (stream, old_size, size=None))]
    fn consistency_proof<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        old_size: u64,
        size: Option<u64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let proof = self.run(py, |s| s.consistency_proof(stream, old_size, size))?;
        proof_list(py, &proof)
    }

    /// A signed checkpoint note of the first `size` events.
    #[pyo3(signature = (stream, key, size=None, origin=None))]
    fn checkpoint(
        &self,
        py: Python<'_>,
        stream: u64,
        key: &NativeSigningKey,
        size: Option<u64>,
        origin: Option<&str>,
    ) -> PyResult<String> {
        self.run(py, |s| s.checkpoint(stream, &key.key, size, origin))
    }

    /// A signed checkpoint cosigned by every witness ("<vkey> <URL>" each),
    /// after submitting it to each over HTTP (C2SP tlog-witness).
    #[pyo3(signature = (stream, key, witnesses, size=None, origin=None))]
    fn witness_checkpoint(
        &self,
        py: Python<'_>,
        stream: u64,
        key: &NativeSigningKey,
        witnesses: Vec<String>,
        size: Option<u64>,
        origin: Option<&str>,
    ) -> PyResult<String> {
        let specs: Vec<&str> = witnesses.iter().map(String::as_str).collect();
        self.run(py, |s| {
            s.witness_checkpoint(stream, &key.key, &specs, size, origin)
        })
    }

    /// An offline receipt (tlog-proof) of event `offset`.
    #[pyo3(signature = (stream, offset, key, size=None))]
    fn receipt(
        &self,
        py: Python<'_>,
        stream: u64,
        offset: u64,
        key: &NativeSigningKey,
        size: Option<u64>,
    ) -> PyResult<String> {
        self.run(py, |s| s.receipt(stream, offset, &key.key, size))
    }

    /// Writes the tree as a tlog-tiles directory; returns the checkpoint.
    #[pyo3(signature = (stream, key, dir, size=None))]
    fn export_tiles(
        &self,
        py: Python<'_>,
        stream: u64,
        key: &NativeSigningKey,
        dir: &str,
        size: Option<u64>,
    ) -> PyResult<String> {
        self.run(py, |s| s.export_tiles(stream, &key.key, dir, size))
    }

    /// Whether close() was called.
    #[getter]
    fn closed(&self) -> bool {
        self.store.is_closed()
    }

    /// Whether the store was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.store.is_read_only()
    }
}
