//! Python values to the client's and back: events, options, heads,
//! reports.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};
use stratalog_client::{self as client, Head, Options, Store, VerifyReport};

use crate::error::IntoPyErr;

pub(crate) type HeadTuple<'py> = (u64, Bound<'py, PyBytes>);
pub(crate) type ReportTuple<'py> = (u64, u64, u64, u64, u64, Bound<'py, PyBytes>);
/// (segment_size, checkpoint_interval, compression name, max_event_size,
/// fsync, max_open_files, timestamps)
pub(crate) type OptionsTuple = (u64, u64, &'static str, u64, bool, u64, bool);
/// (segments, bytes, first_offset, next_offset)
pub(crate) type StatsTuple = (u64, u64, u64, u64);

pub(crate) fn hash32(hash: &[u8]) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(hash).map_err(|_| {
        PyValueError::new_err(format!(
            "a chain hash is 32 bytes, not {} bytes",
            hash.len()
        ))
    })
}

pub(crate) fn head_tuple(py: Python<'_>, head: Head) -> HeadTuple<'_> {
    (head.next_offset, PyBytes::new(py, &head.hash))
}

pub(crate) fn report_tuple(py: Python<'_>, r: VerifyReport) -> ReportTuple<'_> {
    (
        r.events,
        r.bytes,
        r.checkpoints,
        r.segments,
        r.head.next_offset,
        PyBytes::new(py, &r.head.hash),
    )
}

pub(crate) fn options_tuple(o: &Options) -> OptionsTuple {
    (
        o.segment_size,
        o.checkpoint_interval,
        client::compression_name(o.compression),
        o.max_event_size,
        o.fsync,
        o.max_open_files,
        o.timestamps,
    )
}

/// The library's defaults with the given fields replaced; the codec name
/// is parsed by the library.
pub(crate) fn make_options(
    py: Python<'_>,
    segment_size: Option<u64>,
    checkpoint_interval: Option<u64>,
    compression: Option<&str>,
    max_event_size: Option<u64>,
    fsync: Option<bool>,
    max_open_files: Option<u64>,
) -> PyResult<Options> {
    let mut opts = Store::default_options();
    if let Some(v) = segment_size {
        opts.segment_size = v;
    }
    if let Some(v) = checkpoint_interval {
        opts.checkpoint_interval = v;
    }
    if let Some(name) = compression {
        opts.compression = client::parse_compression(name).map_err(|e| e.into_pyerr(py))?;
    }
    if let Some(v) = max_event_size {
        opts.max_event_size = v;
    }
    if let Some(v) = fsync {
        opts.fsync = v;
    }
    if let Some(v) = max_open_files {
        opts.max_open_files = v;
    }
    Ok(opts)
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
pub(crate) fn event_bytes<'py>(
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

/// The events of a batch: an iterable of bytes-like objects, never one.
pub(crate) fn collect_events<'py>(
    events: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
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
