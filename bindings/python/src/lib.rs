//! `stratalog._native`: the thin native layer of the Python package.
//!
//! Every operation is a call of `stratalog-client`, the safe face of the C
//! ABI in `include/stratalog.h` that the Node binding shares; nothing here
//! uses `stratalog-core` and nothing here is `unsafe`. This crate only
//! converts between Python values and the client's. The idiomatic API
//! (ChainHead, exceptions, context managers, the CLI) is pure Python in
//! `python/stratalog`.
//!
//! Rules this module keeps:
//! - Every call that may touch the disk runs with the GIL released
//!   (`detach::detach`, which also keeps a daemon thread's call from
//!   crashing the interpreter's exit), so other Python threads keep
//!   running.
//! - Failures become the exception class of their status through
//!   `stratalog._errors._from_native`.
//! - Reads copy each event once: from the library's buffer straight into a
//!   Python `bytes`.

mod convert;
mod detach;
mod error;
mod iter;
mod proofs;
mod store;

use pyo3::prelude::*;
use stratalog_client as client;

use crate::convert::{hash32, head_tuple, HeadTuple};
use crate::error::IntoPyErr;

/// The library's version string, from stratalog_version().
#[pyfunction]
fn version() -> &'static str {
    client::version()
}

/// The name of a status code, e.g. "STRATALOG_STATUS_CLOSED".
#[pyfunction]
fn status_name(code: i32) -> &'static str {
    client::status_name(code)
}

/// The text form "<next_offset>:<64 hex digits>" of a head.
#[pyfunction]
fn head_to_text(next_offset: u64, hash: &[u8]) -> PyResult<String> {
    Ok(client::head_text(&client::Head {
        next_offset,
        hash: hash32(hash)?,
    }))
}

/// Parses the text form of a head into (next_offset, hash).
#[pyfunction]
fn head_parse<'py>(py: Python<'py>, text: &str) -> PyResult<HeadTuple<'py>> {
    let head = client::parse_head(text).map_err(|e| e.into_pyerr(py))?;
    Ok(head_tuple(py, head))
}

/// The native layer of the `stratalog` package. Use `stratalog`, not this.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::NativeStore>()?;
    m.add_class::<iter::EventIter>()?;
    m.add_class::<proofs::NativeSigningKey>()?;
    m.add_function(wrap_pyfunction!(proofs::verify_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(proofs::verify_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(proofs::verify_witnessed_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(proofs::verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(proofs::verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(status_name, m)?)?;
    m.add_function(wrap_pyfunction!(head_to_text, m)?)?;
    m.add_function(wrap_pyfunction!(head_parse, m)?)?;
    m.add("HEAD_TEXT_SIZE", stratalog_client::HEAD_TEXT_SIZE)?;
    m.add("LEAF_DATA_SIZE", 40u32)?;
    detach::register(m)?;
    Ok(())
}
