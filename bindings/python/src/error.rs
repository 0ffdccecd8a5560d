//! A client error becomes the exception `stratalog._errors` builds for its
//! status.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use stratalog_client::Error;

pub(crate) trait IntoPyErr {
    fn into_pyerr(self, py: Python<'_>) -> PyErr;
}

impl IntoPyErr for Error {
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
                    d.first_offset,
                ))
            });
        match built {
            Ok(exception) => PyErr::from_value(exception),
            Err(err) => err,
        }
    }
}
