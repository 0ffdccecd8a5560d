//! `stratalog._native`: the thin native layer of the Python package.
//!
//! Every operation here is one or a few calls of the C ABI declared in
//! `include/stratalog.h`, reached through the `stratalog-ffi` crate linked as
//! an rlib. Nothing here uses `stratalog-core`: Python exercises the same ABI
//! as C and Node. The idiomatic API (ChainHead, exceptions, context managers,
//! the CLI) is pure Python in `python/stratalog`.
//!
//! Rules this module keeps:
//! - Every call that may touch the disk runs with the GIL released
//!   (`Python::detach`), so other Python threads keep running.
//! - The raw `stratalog_store*` sits behind a `RwLock`: operations hold a read
//!   lock for the duration of their C call, `close()` takes the write lock to
//!   free the handle. A closed store therefore fails with `ClosedError`, even
//!   when another thread closes it mid-call, and is never used after free.
//!   Locks are only ever taken with the GIL released, so a thread waiting for
//!   a lock never blocks the interpreter.
//! - The thread-local last error of the C library is read on the thread that
//!   failed, right after the failing call, and turned into the exception
//!   class of its status by `stratalog._errors._from_native`.
//! - Reads copy each event once: from the C batch (or iterator) straight into
//!   a Python `bytes`.

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::slice;
use std::sync::{PoisonError, RwLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyMemoryView, PyString};

use stratalog::{
    stratalog_append_batch, stratalog_chain_head, stratalog_close, stratalog_compression,
    stratalog_error_detail, stratalog_events, stratalog_events_free, stratalog_events_get,
    stratalog_events_len, stratalog_head, stratalog_head_parse, stratalog_head_to_hex,
    stratalog_is_read_only, stratalog_iter, stratalog_iter_free, stratalog_iter_new,
    stratalog_iter_next, stratalog_last_error, stratalog_last_error_detail, stratalog_open,
    stratalog_open_in_memory, stratalog_open_read_only_with, stratalog_options,
    stratalog_options_default, stratalog_read_from, stratalog_shutdown, stratalog_slice,
    stratalog_status, stratalog_status_str, stratalog_store, stratalog_store_options,
    stratalog_stream_list, stratalog_stream_list_data, stratalog_stream_list_free,
    stratalog_stream_list_len, stratalog_streams, stratalog_sync, stratalog_sync_stream,
    stratalog_verify, stratalog_verify_against, stratalog_verify_report, stratalog_version,
    STRATALOG_ANY_OFFSET, STRATALOG_HEAD_TEXT_SIZE,
};

// ---------------------------------------------------------------------------
// Errors

/// A failed call: its status, message and structured detail. Captured on
/// the thread that made the C call, right after it, because the C library
/// keeps the last error per thread.
#[derive(Debug)]
struct Failure {
    status: stratalog_status,
    message: String,
    detail: stratalog_error_detail,
}

fn empty_detail(status: stratalog_status) -> stratalog_error_detail {
    stratalog_error_detail {
        status,
        os_error: 0,
        stream: 0,
        offset: 0,
        expected_offset: 0,
        actual_offset: 0,
        next_offset: 0,
        size: 0,
        max_size: 0,
    }
}

impl Failure {
    /// What stratalog_last_error() and stratalog_last_error_detail() say
    /// about the call that just returned `status` on this thread.
    fn from_last_error(status: stratalog_status) -> Self {
        // SAFETY: never NULL, NUL-terminated, valid until the next failing
        // call on this thread; it is copied before any other call.
        let message = unsafe { CStr::from_ptr(stratalog_last_error()) }
            .to_string_lossy()
            .into_owned();
        let mut detail = empty_detail(status);
        // SAFETY: `detail` is valid writable memory for one detail struct.
        let filled = unsafe { stratalog_last_error_detail(&mut detail) };
        if !filled || detail.status != status {
            detail = empty_detail(status);
        }
        Failure {
            status,
            message,
            detail,
        }
    }

    /// A failure found by the binding itself, before calling the library.
    fn binding(status: stratalog_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            detail: empty_detail(status),
        }
    }

    fn closed() -> Self {
        Failure::binding(stratalog_status::Closed, "store is closed")
    }

    /// The exception `stratalog._errors._from_native` builds for it.
    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let d = self.detail;
        let built = FROM_NATIVE
            .import(py, "stratalog._errors", "_from_native")
            .and_then(|factory| {
                factory.call1((
                    self.status as i32,
                    self.message.as_str(),
                    d.os_error,
                    d.stream,
                    d.offset,
                    d.expected_offset,
                    d.actual_offset,
                    d.next_offset,
                    d.size,
                    d.max_size,
                ))
            });
        match built {
            Ok(exception) => PyErr::from_value(exception),
            Err(err) => err,
        }
    }
}

/// `Ok(())` for STRATALOG_STATUS_OK, the thread's last error otherwise.
fn check(status: stratalog_status) -> Result<(), Failure> {
    if status == stratalog_status::Ok {
        Ok(())
    } else {
        Err(Failure::from_last_error(status))
    }
}

// ---------------------------------------------------------------------------
// Owned C objects. Raw pointers are not Send; these wrappers are, so they can
// cross into and out of `Python::detach`. Each one's Send (and Sync) is
// justified by the C ABI's threading contract.

/// A live `stratalog_store*`, closed and freed when dropped.
#[derive(Debug)]
struct Handle(*mut stratalog_store);

// SAFETY: the C ABI lets one handle be used by any number of threads at once,
// except stratalog_close(), which must be the last call. Handle is dropped (and
// so closed) only by whoever owns it: NativeStore takes it out of its RwLock
// under the write lock, when no read lock (no other call) is held.
unsafe impl Send for Handle {}
// SAFETY: as above: shared use from many threads is allowed by the ABI.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a live handle from an open function, closed exactly once,
        // and no other thread uses it (see the Send impl).
        unsafe { stratalog_close(self.0) };
    }
}

/// An owned `stratalog_events*` batch, freed when dropped.
#[derive(Debug)]
struct Events(*mut stratalog_events);

// SAFETY: a batch does not borrow the store or the thread that made it, and
// the ABI says reading it from several threads at once is safe.
unsafe impl Send for Events {}

impl Drop for Events {
    fn drop(&mut self) {
        // SAFETY: a live batch from stratalog_read_from, freed once.
        unsafe { stratalog_events_free(self.0) };
    }
}

/// An owned `stratalog_stream_list*`, freed when dropped.
#[derive(Debug)]
struct StreamList(*mut stratalog_stream_list);

// SAFETY: a stream list is plain owned data that borrows nothing.
unsafe impl Send for StreamList {}

impl Drop for StreamList {
    fn drop(&mut self) {
        // SAFETY: a live list from stratalog_streams, freed once.
        unsafe { stratalog_stream_list_free(self.0) };
    }
}

/// An owned `stratalog_iter*`, freed when dropped.
#[derive(Debug)]
struct IterHandle(*mut stratalog_iter);

// SAFETY: an iterator does not borrow the store or its thread; the ABI only
// forbids two threads using it at once. EventIter advances it only through
// `&mut self` (PyO3's borrow flag makes a concurrent __next__ fail with
// RuntimeError instead of running), and never shares the pointer otherwise.
unsafe impl Send for IterHandle {}
// SAFETY: shared references (`&IterHandle`) are only used to copy the
// pointer inside `&mut EventIter` methods; see Send.
unsafe impl Sync for IterHandle {}

impl Drop for IterHandle {
    fn drop(&mut self) {
        // SAFETY: a live iterator from stratalog_iter_new, freed once.
        unsafe { stratalog_iter_free(self.0) };
    }
}

/// Borrowed event slices handed to stratalog_append_batch.
#[derive(Debug)]
struct Slices(Vec<stratalog_slice>);

// SAFETY: the slices point into `bytes` objects the caller keeps alive (and
// that are immutable) for the whole call; the library only reads them.
unsafe impl Send for Slices {}
// SAFETY: as above, read-only.
unsafe impl Sync for Slices {}

/// The pointer of an IterHandle, copied into a detached call.
#[derive(Debug, Clone, Copy)]
struct IterPtr(*mut stratalog_iter);

// SAFETY: see IterHandle: only the thread holding the exclusive borrow of
// the EventIter uses it, for the duration of one call.
unsafe impl Send for IterPtr {}

impl IterPtr {
    fn get(self) -> *mut stratalog_iter {
        self.0
    }
}

/// A pointer to bytes owned by an iterator, valid until its next advance.
#[derive(Debug, Clone, Copy)]
struct IterBytes {
    data: *const u8,
    len: usize,
}

// SAFETY: the bytes belong to the iterator, which the calling thread holds
// exclusively until they are copied (see IterHandle).
unsafe impl Send for IterBytes {}

// ---------------------------------------------------------------------------
// Argument conversion

fn empty_head() -> stratalog_head {
    stratalog_head {
        next_offset: 0,
        hash: [0; 32],
    }
}

fn empty_report() -> stratalog_verify_report {
    stratalog_verify_report {
        events: 0,
        bytes: 0,
        checkpoints: 0,
        segments: 0,
        head: empty_head(),
        failed_offset: 0,
    }
}

fn hash32(hash: &[u8]) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(hash).map_err(|_| {
        PyValueError::new_err(format!(
            "a chain hash is 32 bytes, not {} bytes",
            hash.len()
        ))
    })
}

fn c_string(what: &str, text: &str) -> Result<CString, Failure> {
    CString::new(text).map_err(|_| {
        Failure::binding(
            stratalog_status::InvalidArgument,
            format!("invalid argument: {what} contains a NUL character"),
        )
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// One event as an immutable `bytes`: `bytes` itself without a copy, any
/// other bytes-like object (bytearray, memoryview, array, mmap, ...) copied
/// once, so that no other thread can change it while the GIL is released.
fn event_bytes<'py>(
    item: &Bound<'py, PyAny>,
    index: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    let what = match index {
        Some(i) => format!("event {i}"),
        None => "event".to_owned(),
    };
    if item.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{what} is a str, but events are bytes: encode it first (e.g. text.encode())"
        )));
    }
    match PyMemoryView::from(item) {
        Ok(view) => Ok(view.call_method0("tobytes")?.cast_into::<PyBytes>()?),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be bytes, bytearray or memoryview, not {}",
            type_name(item)
        ))),
    }
}

fn collect_events<'py>(events: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    if events.is_instance_of::<PyString>()
        || events.is_instance_of::<PyBytes>()
        || events.is_instance_of::<PyByteArray>()
        || events.is_instance_of::<PyMemoryView>()
    {
        return Err(PyTypeError::new_err(format!(
            "events must be a sequence of bytes objects, not a single {}; use append() for one event",
            type_name(events)
        )));
    }
    let mut out = Vec::with_capacity(events.len().unwrap_or(0));
    for (i, item) in events.try_iter()?.enumerate() {
        out.push(event_bytes(&item?, Some(i))?);
    }
    Ok(out)
}

fn expected(expected_offset: Option<u64>) -> PyResult<u64> {
    match expected_offset {
        None => Ok(STRATALOG_ANY_OFFSET),
        Some(STRATALOG_ANY_OFFSET) => Err(PyValueError::new_err(
            "expected_offset 2**64-1 is reserved (it means 'any offset'); pass None instead",
        )),
        Some(offset) => Ok(offset),
    }
}

fn compression(code: u32) -> PyResult<stratalog_compression> {
    match code {
        0 => Ok(stratalog_compression::None),
        1 => Ok(stratalog_compression::Lz4),
        2 => Ok(stratalog_compression::Zstd),
        other => Err(PyValueError::new_err(format!(
            "unknown compression code {other} (0 none, 1 lz4, 2 zstd)"
        ))),
    }
}

/// The library's defaults with the given fields replaced.
fn make_options(
    py: Python<'_>,
    segment_size: Option<u64>,
    checkpoint_interval: Option<u64>,
    compression_code: Option<u32>,
    max_event_size: Option<u64>,
    fsync: Option<bool>,
) -> PyResult<stratalog_options> {
    let mut opts = stratalog_options {
        segment_size: 0,
        checkpoint_interval: 0,
        compression: stratalog_compression::None,
        max_event_size: 0,
        fsync: false,
    };
    // SAFETY: `opts` is valid writable memory for one options struct; the
    // call cannot fail with a non-NULL pointer.
    let status = unsafe { stratalog_options_default(&mut opts) };
    if status != stratalog_status::Ok {
        return Err(Failure::from_last_error(status).into_pyerr(py));
    }
    if let Some(v) = segment_size {
        opts.segment_size = v;
    }
    if let Some(v) = checkpoint_interval {
        opts.checkpoint_interval = v;
    }
    if let Some(code) = compression_code {
        opts.compression = compression(code)?;
    }
    if let Some(v) = max_event_size {
        opts.max_event_size = v;
    }
    if let Some(v) = fsync {
        opts.fsync = v;
    }
    Ok(opts)
}

type HeadTuple<'py> = (u64, Bound<'py, PyBytes>);
type ReportTuple<'py> = (u64, u64, u64, u64, u64, Bound<'py, PyBytes>);
type OptionsTuple = (u64, u64, u32, u64, bool);

fn head_tuple(py: Python<'_>, head: stratalog_head) -> HeadTuple<'_> {
    (head.next_offset, PyBytes::new(py, &head.hash))
}

fn report_tuple(py: Python<'_>, r: stratalog_verify_report) -> ReportTuple<'_> {
    (
        r.events,
        r.bytes,
        r.checkpoints,
        r.segments,
        r.head.next_offset,
        PyBytes::new(py, &r.head.hash),
    )
}

// ---------------------------------------------------------------------------
// Store

/// An open store: the C handle behind a RwLock (None once closed).
#[pyclass(frozen, module = "stratalog._native", name = "Store")]
#[derive(Debug)]
struct NativeStore {
    handle: RwLock<Option<Handle>>,
    read_only: bool,
}

impl NativeStore {
    fn new(handle: Handle) -> Self {
        // SAFETY: a live handle just returned by an open function.
        let read_only = unsafe { stratalog_is_read_only(handle.0) };
        NativeStore {
            handle: RwLock::new(Some(handle)),
            read_only,
        }
    }

    /// Runs `f` on the live handle with the GIL released and a read lock
    /// held; ClosedError when the store was closed.
    fn run<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(*mut stratalog_store) -> Result<T, Failure> + Send,
    {
        py.detach(|| {
            let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
            match guard.as_ref() {
                Some(handle) => f(handle.0),
                None => Err(Failure::closed()),
            }
        })
        .map_err(|failure| failure.into_pyerr(py))
    }

    fn open_with<F>(py: Python<'_>, open: F) -> PyResult<Self>
    where
        F: FnOnce(*mut *mut stratalog_store) -> stratalog_status + Send,
    {
        let handle = py
            .detach(move || {
                let mut out: *mut stratalog_store = ptr::null_mut();
                check(open(&mut out))?;
                Ok(Handle(out))
            })
            .map_err(|failure: Failure| failure.into_pyerr(py))?;
        Ok(NativeStore::new(handle))
    }
}

#[pymethods]
impl NativeStore {
    /// Opens (creating if needed) the store in directory `path` for writing.
    #[staticmethod]
    #[pyo3(signature = (path, *, segment_size=None, checkpoint_interval=None, compression=None, max_event_size=None, fsync=None))]
    fn open(
        py: Python<'_>,
        path: &str,
        segment_size: Option<u64>,
        checkpoint_interval: Option<u64>,
        compression: Option<u32>,
        max_event_size: Option<u64>,
        fsync: Option<bool>,
    ) -> PyResult<Self> {
        let opts = make_options(
            py,
            segment_size,
            checkpoint_interval,
            compression,
            max_event_size,
            fsync,
        )?;
        let path = c_string("path", path).map_err(|f| f.into_pyerr(py))?;
        NativeStore::open_with(py, move |out| {
            // SAFETY: `path` is NUL-terminated, `opts` and `out` are valid
            // for the call.
            unsafe { stratalog_open(path.as_ptr(), &opts, out) }
        })
    }

    /// Opens a new, empty store held in memory.
    #[staticmethod]
    #[pyo3(signature = (*, segment_size=None, checkpoint_interval=None, compression=None, max_event_size=None, fsync=None))]
    fn open_in_memory(
        py: Python<'_>,
        segment_size: Option<u64>,
        checkpoint_interval: Option<u64>,
        compression: Option<u32>,
        max_event_size: Option<u64>,
        fsync: Option<bool>,
    ) -> PyResult<Self> {
        let opts = make_options(
            py,
            segment_size,
            checkpoint_interval,
            compression,
            max_event_size,
            fsync,
        )?;
        NativeStore::open_with(py, move |out| {
            // SAFETY: `opts` and `out` are valid for the call.
            unsafe { stratalog_open_in_memory(&opts, out) }
        })
    }

    /// Opens an existing store for reading only (no lock, never writes).
    #[staticmethod]
    #[pyo3(signature = (path, *, max_event_size=None))]
    fn open_read_only(py: Python<'_>, path: &str, max_event_size: Option<u64>) -> PyResult<Self> {
        let opts = make_options(py, None, None, None, max_event_size, None)?;
        let path = c_string("path", path).map_err(|f| f.into_pyerr(py))?;
        NativeStore::open_with(py, move |out| {
            // SAFETY: `path` is NUL-terminated, `opts` and `out` are valid
            // for the call.
            unsafe { stratalog_open_read_only_with(path.as_ptr(), &opts, out) }
        })
    }

    /// Appends `events` (an iterable of bytes-like objects) atomically;
    /// returns the new head as (next_offset, hash).
    #[pyo3(signature = (stream, events, expected_offset=None, fsync=false))]
    fn append_batch<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        events: &Bound<'py, PyAny>,
        expected_offset: Option<u64>,
        fsync: bool,
    ) -> PyResult<HeadTuple<'py>> {
        let expected = expected(expected_offset)?;
        let owned = collect_events(events)?;
        self.append_owned(py, stream, &owned, expected, fsync)
    }

    /// Appends one bytes-like event; returns the new head.
    #[pyo3(signature = (stream, event, expected_offset=None, fsync=false))]
    fn append<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        event: &Bound<'py, PyAny>,
        expected_offset: Option<u64>,
        fsync: bool,
    ) -> PyResult<HeadTuple<'py>> {
        let expected = expected(expected_offset)?;
        let owned = [event_bytes(event, None)?];
        self.append_owned(py, stream, &owned, expected, fsync)
    }

    /// The chain head of `stream` as (next_offset, hash).
    fn chain_head<'py>(&self, py: Python<'py>, stream: u64) -> PyResult<HeadTuple<'py>> {
        let head = self.run(py, |h| {
            let mut head = empty_head();
            // SAFETY: a live handle (read lock held), `head` writable.
            check(unsafe { stratalog_chain_head(h, stream, &mut head) })?;
            Ok(head)
        })?;
        Ok(head_tuple(py, head))
    }

    /// Verifies `stream`; returns (events, bytes, checkpoints, segments,
    /// head_next_offset, head_hash).
    fn verify<'py>(&self, py: Python<'py>, stream: u64) -> PyResult<ReportTuple<'py>> {
        let report = self.run(py, |h| {
            let mut report = empty_report();
            // SAFETY: a live handle (read lock held), `report` writable.
            check(unsafe { stratalog_verify(h, stream, &mut report) })?;
            Ok(report)
        })?;
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
        let head = stratalog_head {
            next_offset,
            hash: hash32(hash)?,
        };
        let report = self.run(py, move |h| {
            let mut report = empty_report();
            // SAFETY: a live handle (read lock held), `head` readable,
            // `report` writable.
            check(unsafe { stratalog_verify_against(h, stream, &head, &mut report) })?;
            Ok(report)
        })?;
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
        let batch = self.run(py, |h| {
            let mut out: *mut stratalog_events = ptr::null_mut();
            // SAFETY: a live handle (read lock held), `out` writable.
            check(unsafe { stratalog_read_from(h, stream, offset, max_bytes, &mut out) })?;
            Ok(Events(out))
        })?;
        // The batch does not borrow the store: the lock is already released.
        // SAFETY: a live batch.
        let count = unsafe { stratalog_events_len(batch.0) };
        let mut items = Vec::with_capacity(count);
        for i in 0..count {
            let mut data: *const u8 = ptr::null();
            let mut len: usize = 0;
            // SAFETY: a live batch, `i` in range, outputs writable.
            check(unsafe { stratalog_events_get(batch.0, i, &mut data, &mut len) })
                .map_err(|f| f.into_pyerr(py))?;
            // SAFETY: the library guarantees `len` readable bytes at `data`
            // (never NULL), owned by `batch`, which outlives this copy.
            items.push(PyBytes::new(py, unsafe {
                slice::from_raw_parts(data, len)
            }));
        }
        PyList::new(py, items)
    }

    /// A lazy iterator of (offset, bytes) over `stream` from `start` to the
    /// head as it is now.
    fn iter(&self, py: Python<'_>, stream: u64, start: u64) -> PyResult<EventIter> {
        let it = self.run(py, |h| {
            let mut out: *mut stratalog_iter = ptr::null_mut();
            // SAFETY: a live handle (read lock held), `out` writable.
            check(unsafe { stratalog_iter_new(h, stream, start, &mut out) })?;
            Ok(IterHandle(out))
        })?;
        Ok(EventIter { it: Some(it) })
    }

    /// Ids of the streams that hold at least one event, increasing.
    fn streams(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.run(py, |h| {
            let mut out: *mut stratalog_stream_list = ptr::null_mut();
            // SAFETY: a live handle (read lock held), `out` writable.
            check(unsafe { stratalog_streams(h, &mut out) })?;
            let list = StreamList(out);
            // SAFETY: a live list.
            let len = unsafe { stratalog_stream_list_len(list.0) };
            if len == 0 {
                return Ok(Vec::new());
            }
            // SAFETY: a live non-empty list: `len` ids at a non-NULL pointer,
            // valid until the list is freed (after this copy).
            let data = unsafe { stratalog_stream_list_data(list.0) };
            if data.is_null() {
                return Ok(Vec::new());
            }
            // SAFETY: see above.
            Ok(unsafe { slice::from_raw_parts(data, len) }.to_vec())
        })
    }

    /// Makes every append so far durable: to `stream`, or to every stream.
    #[pyo3(signature = (stream=None))]
    fn sync(&self, py: Python<'_>, stream: Option<u64>) -> PyResult<()> {
        self.run(py, |h| match stream {
            // SAFETY (both arms): a live handle (read lock held).
            Some(stream) => check(unsafe { stratalog_sync_stream(h, stream) }),
            None => check(unsafe { stratalog_sync(h) }),
        })
    }

    /// The options the store was opened with: (segment_size,
    /// checkpoint_interval, compression code, max_event_size, fsync).
    fn options(&self, py: Python<'_>) -> PyResult<OptionsTuple> {
        self.run(py, |h| {
            let mut opts = stratalog_options {
                segment_size: 0,
                checkpoint_interval: 0,
                compression: stratalog_compression::None,
                max_event_size: 0,
                fsync: false,
            };
            // SAFETY: a live handle (read lock held), `opts` writable.
            check(unsafe { stratalog_store_options(h, &mut opts) })?;
            Ok((
                opts.segment_size,
                opts.checkpoint_interval,
                opts.compression as u32,
                opts.max_event_size,
                opts.fsync,
            ))
        })
    }

    /// Syncs, closes and frees the store. Idempotent. Waits for calls in
    /// progress on other threads; later calls raise ClosedError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| {
            // Shut down first (under the read lock, like any call): the
            // library syncs and releases the writer lock, and calls that start
            // from now on fail with CLOSED.
            let shutdown = {
                let guard = self.handle.read().unwrap_or_else(PoisonError::into_inner);
                match guard.as_ref() {
                    None => return Ok(()),
                    // SAFETY: a live handle (read lock held).
                    Some(handle) => check(unsafe { stratalog_shutdown(handle.0) }),
                }
            };
            // Then free it, once no call holds the read lock any more.
            let taken = self
                .handle
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            drop(taken);
            shutdown
        })
        .map_err(|failure| failure.into_pyerr(py))
    }

    /// Whether close() was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| {
            self.handle
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .is_none()
        })
    }

    /// Whether the store was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }
}

impl NativeStore {
    fn append_owned<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        owned: &[Bound<'py, PyBytes>],
        expected: u64,
        fsync: bool,
    ) -> PyResult<HeadTuple<'py>> {
        // `owned` keeps every bytes object alive (and bytes are immutable)
        // until this function returns, after the call below.
        let slices = Slices(
            owned
                .iter()
                .map(|b| {
                    let bytes = b.as_bytes();
                    stratalog_slice {
                        data: bytes.as_ptr(),
                        len: bytes.len(),
                    }
                })
                .collect(),
        );
        let head = self.run(py, |h| {
            let events = &slices;
            let mut head = empty_head();
            // SAFETY: a live handle (read lock held); `events.0` holds
            // `len` slices pointing at live immutable bytes; `head` writable.
            check(unsafe {
                stratalog_append_batch(
                    h,
                    stream,
                    events.0.as_ptr(),
                    events.0.len(),
                    expected,
                    fsync,
                    &mut head,
                )
            })?;
            Ok(head)
        })?;
        Ok(head_tuple(py, head))
    }
}

// ---------------------------------------------------------------------------
// Iterator

/// A lazy iterator of (offset, bytes) over one stream, reading a bounded
/// window at a time (constant memory). It does not borrow the store: it keeps
/// going to the head it saw when it was made, even after the store is closed.
/// Not for two threads at once (a concurrent next() raises RuntimeError).
#[pyclass(module = "stratalog._native", name = "EventIter")]
#[derive(Debug)]
struct EventIter {
    it: Option<IterHandle>,
}

#[pymethods]
impl EventIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(
        mut slf: PyRefMut<'py, Self>,
        py: Python<'py>,
    ) -> PyResult<Option<(u64, Bound<'py, PyBytes>)>> {
        let Some(raw) = slf.it.as_ref().map(|h| IterPtr(h.0)) else {
            return Ok(None);
        };
        let step: Result<(bool, u64, IterBytes), Failure> = py.detach(move || {
            let iter = raw.get();
            let mut has_event = false;
            let mut offset = 0u64;
            let mut data: *const u8 = ptr::null();
            let mut len = 0usize;
            // SAFETY: a live iterator used by this thread only (the PyRefMut
            // borrow excludes every other caller); outputs writable.
            check(unsafe {
                stratalog_iter_next(iter, &mut has_event, &mut offset, &mut data, &mut len)
            })?;
            Ok((has_event, offset, IterBytes { data, len }))
        });
        match step {
            Err(failure) => {
                // After a failure the iterator only ever reports the end.
                slf.it = None;
                Err(failure.into_pyerr(py))
            }
            Ok((false, _, _)) => {
                slf.it = None;
                Ok(None)
            }
            Ok((true, offset, bytes)) => {
                // SAFETY: `len` readable bytes at `data` (never NULL), owned by
                // the iterator until its next advance, which cannot happen
                // before this copy (we hold the exclusive borrow).
                let event = unsafe { slice::from_raw_parts(bytes.data, bytes.len) };
                Ok(Some((offset, PyBytes::new(py, event))))
            }
        }
    }

    /// Frees the iterator now instead of when it is collected.
    fn close(&mut self) {
        self.it = None;
    }

    /// Whether the iterator is exhausted, failed or closed.
    #[getter]
    fn closed(&self) -> bool {
        self.it.is_none()
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.it = None;
        false
    }
}

// ---------------------------------------------------------------------------
// Module functions

/// The library's version string, from stratalog_version().
#[pyfunction]
fn version() -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { CStr::from_ptr(stratalog_version()) }
        .to_string_lossy()
        .into_owned()
}

/// The name of a status code, e.g. "STRATALOG_STATUS_CLOSED".
#[pyfunction]
fn status_name(code: i32) -> String {
    // SAFETY: a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(stratalog_status_str(code)) }
        .to_string_lossy()
        .into_owned()
}

/// The text form "<next_offset>:<64 hex digits>" of a head.
#[pyfunction]
fn head_to_text(py: Python<'_>, next_offset: u64, hash: &[u8]) -> PyResult<String> {
    let head = stratalog_head {
        next_offset,
        hash: hash32(hash)?,
    };
    let mut buf: [c_char; STRATALOG_HEAD_TEXT_SIZE] = [0; STRATALOG_HEAD_TEXT_SIZE];
    // SAFETY: `head` readable, `buf` writable for its length.
    check(unsafe { stratalog_head_to_hex(&head, buf.as_mut_ptr(), buf.len()) })
        .map_err(|f| f.into_pyerr(py))?;
    // SAFETY: on success the buffer holds a NUL-terminated string.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

/// Parses the text form of a head into (next_offset, hash).
#[pyfunction]
fn head_parse<'py>(py: Python<'py>, text: &str) -> PyResult<HeadTuple<'py>> {
    let text = c_string("head text", text).map_err(|f| f.into_pyerr(py))?;
    let mut head = empty_head();
    // SAFETY: `text` NUL-terminated, `head` writable.
    check(unsafe { stratalog_head_parse(text.as_ptr(), &mut head) })
        .map_err(|f| f.into_pyerr(py))?;
    Ok(head_tuple(py, head))
}

/// The native layer of the `stratalog` package. Use `stratalog`, not this.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeStore>()?;
    m.add_class::<EventIter>()?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(status_name, m)?)?;
    m.add_function(wrap_pyfunction!(head_to_text, m)?)?;
    m.add_function(wrap_pyfunction!(head_parse, m)?)?;
    m.add("HEAD_TEXT_SIZE", STRATALOG_HEAD_TEXT_SIZE)?;
    Ok(())
}
