//! `_native.EventIter`: a lazy iterator of (offset, bytes).

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use stratalog_client::Iter;

use crate::detach::detach;
use crate::error::IntoPyErr;

/// A lazy iterator of (offset, bytes) over one stream, reading a bounded
/// window at a time (constant memory). It does not borrow the store: it keeps
/// going to the head it saw when it was made, even after the store is closed.
/// Not for two threads at once (a concurrent next() raises RuntimeError).
#[pyclass(module = "stratalog._native", name = "EventIter")]
#[derive(Debug)]
pub(crate) struct EventIter {
    it: Option<Iter>,
    /// It reached the head it saw; `Store.extend_iter` may take it on.
    at_end: bool,
}

impl EventIter {
    pub(crate) fn new(iter: Iter) -> Self {
        EventIter {
            it: Some(iter),
            at_end: false,
        }
    }

    /// The iterator, still there after its end (not after a failure or
    /// close), to be taken on to a newer head.
    pub(crate) fn resumable(&mut self) -> Option<&mut Iter> {
        self.at_end = false;
        self.it.as_mut()
    }
}

#[pymethods]
impl EventIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<(u64, Bound<'py, PyBytes>)>> {
        let Some(iter) = self.it.as_mut().filter(|_| !self.at_end) else {
            return Ok(None);
        };
        // The bytes stay the iterator's until its next step: copied once,
        // into the `bytes` below, while `&mut self` keeps it from moving.
        // The GIL is let go only for a step that reads (and hashes) a
        // batch; most take an event the last one read.
        let step = if iter.has_buffered() {
            iter.next_event()
        } else {
            detach(py, || iter.next_event())
        };
        let out = match step {
            Ok(Some((offset, event))) => Ok(Some((offset, PyBytes::new(py, event)))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.into_pyerr(py)),
        };
        // After the end or a failure the iterator only ever reports the
        // end; after the end, `Store.extend_iter` may take it on.
        match out {
            Ok(Some(_)) => {}
            Ok(None) => self.at_end = true,
            Err(_) => self.it = None,
        }
        out
    }

    /// Frees the iterator now instead of when it is collected.
    fn close(&mut self) {
        self.it = None;
    }

    /// Whether the iterator is exhausted, failed or closed.
    #[getter]
    fn closed(&self) -> bool {
        self.it.is_none() || self.at_end
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
