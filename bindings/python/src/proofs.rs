//! Signing keys, Merkle roots and proofs, checkpoints, receipts and tiles:
//! `_native.SigningKey`, the proof methods of `_native.Store`, and the
//! checks that need no store. Every call that may touch the disk, or hash
//! more than a few bytes, runs with the GIL released.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use stratalog_client::{self as client, Error};

use crate::detach::detach;
use crate::error::IntoPyErr;

/// An Ed25519 key that signs checkpoints. Its Debug and the Python repr
/// never show key material.
#[pyclass(frozen, module = "stratalog._native", name = "SigningKey")]
#[derive(Debug)]
pub(crate) struct NativeSigningKey {
    pub(crate) key: client::SigningKey,
}

fn made(
    py: Python<'_>,
    f: impl FnOnce() -> Result<client::SigningKey, Error> + Send,
) -> PyResult<NativeSigningKey> {
    let key = detach(py, f).map_err(|e| e.into_pyerr(py))?;
    Ok(NativeSigningKey { key })
}

#[pymethods]
impl NativeSigningKey {
    /// A new key named `name` from the OS random source.
    #[staticmethod]
    fn generate(py: Python<'_>, name: &str) -> PyResult<Self> {
        made(py, || client::SigningKey::generate(name))
    }

    /// The key a private key text ("PRIVATE+KEY+...") holds.
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<Self> {
        made(py, || client::SigningKey::from_text(text))
    }

    /// The key in the key file at `path`.
    #[staticmethod]
    fn load(py: Python<'_>, path: &str) -> PyResult<Self> {
        made(py, || client::SigningKey::load(path))
    }

    /// Writes a new key file (mode 0600, never overwrites).
    fn save(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        detach(py, || self.key.save(path)).map_err(|e| e.into_pyerr(py))
    }

    /// The verifier key text.
    fn vkey(&self, py: Python<'_>) -> PyResult<String> {
        self.key.vkey().map_err(|e| e.into_pyerr(py))
    }

    /// The verifier key of this key as a witness's cosigner (type 0x04,
    /// C2SP tlog-cosignature).
    fn cosigner_vkey(&self, py: Python<'_>) -> PyResult<String> {
        self.key.cosigner_vkey().map_err(|e| e.into_pyerr(py))
    }

    /// The private key text. Secret.
    fn to_text(&self, py: Python<'_>) -> PyResult<String> {
        self.key.to_text().map_err(|e| e.into_pyerr(py))
    }
}

fn hash_arg(what: &str, value: &[u8]) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(value).map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be 32 bytes, not {} bytes",
            value.len()
        ))
    })
}

/// A proof: a sequence of 32-byte hashes (bytes-like), never one bytes
/// object or a str.
fn proof_arg(proof: &Bound<'_, PyAny>) -> PyResult<Vec<[u8; 32]>> {
    if proof.is_instance_of::<PyString>() || proof.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "a proof is a sequence of 32-byte hashes (e.g. a list of bytes), not one str or bytes",
        ));
    }
    let mut out = Vec::new();
    for (i, item) in proof.try_iter()?.enumerate() {
        let item = item?;
        let bytes: Vec<u8> = if let Ok(b) = item.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if item.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!(
                "proof hash {i} is a str, not bytes"
            )));
        } else {
            item.extract::<Vec<u8>>()
                .map_err(|_| PyTypeError::new_err(format!("proof hash {i} must be bytes")))?
        };
        out.push(hash_arg(&format!("proof hash {i}"), &bytes)?);
    }
    Ok(out)
}

pub(crate) fn proof_list<'py>(py: Python<'py>, proof: &[[u8; 32]]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, proof.iter().map(|h| PyBytes::new(py, h)))
}

/// Checks a receipt for `event` (and its log, given `origin`); returns the
/// event's offset.
#[pyfunction]
#[pyo3(signature = (receipt, vkey, event, origin=None))]
pub(crate) fn verify_receipt(
    py: Python<'_>,
    receipt: &str,
    vkey: &str,
    event: &Bound<'_, PyAny>,
    origin: Option<&str>,
) -> PyResult<u64> {
    let event = crate::convert::event_bytes(event, None)?;
    let bytes = event.as_bytes();
    detach(py, || client::verify_receipt(receipt, vkey, origin, bytes))
        .map_err(|e| e.into_pyerr(py))
}

/// Checks a signed checkpoint (and its log, given `origin`); returns
/// (size, root).
#[pyfunction]
#[pyo3(signature = (note, vkey, origin=None))]
pub(crate) fn verify_checkpoint<'py>(
    py: Python<'py>,
    note: &str,
    vkey: &str,
    origin: Option<&str>,
) -> PyResult<(u64, Bound<'py, PyBytes>)> {
    let (size, root) = detach(py, || client::verify_checkpoint(note, vkey, origin))
        .map_err(|e| e.into_pyerr(py))?;
    Ok((size, PyBytes::new(py, &root)))
}

/// Checks a checkpoint signed by `vkey` and cosigned by at least
/// `min_cosignatures` of the witnesses `witness_vkeys` (and its log, given
/// `origin`); returns (size, root).
#[pyfunction]
#[pyo3(signature = (note, vkey, witness_vkeys, min_cosignatures, origin=None))]
pub(crate) fn verify_witnessed_checkpoint<'py>(
    py: Python<'py>,
    note: &str,
    vkey: &str,
    witness_vkeys: Vec<String>,
    min_cosignatures: usize,
    origin: Option<&str>,
) -> PyResult<(u64, Bound<'py, PyBytes>)> {
    let keys: Vec<&str> = witness_vkeys.iter().map(String::as_str).collect();
    let (size, root) = detach(py, || {
        client::verify_witnessed_checkpoint(note, vkey, origin, &keys, min_cosignatures)
    })
    .map_err(|e| e.into_pyerr(py))?;
    Ok((size, PyBytes::new(py, &root)))
}

/// Checks an inclusion proof.
#[pyfunction]
pub(crate) fn verify_inclusion(
    py: Python<'_>,
    leaf_index: u64,
    size: u64,
    root: &[u8],
    proof: &Bound<'_, PyAny>,
    leaf_data: &[u8],
) -> PyResult<()> {
    let root = hash_arg("root", root)?;
    let proof = proof_arg(proof)?;
    detach(py, || {
        client::verify_inclusion(leaf_index, size, &root, &proof, leaf_data)
    })
    .map_err(|e| e.into_pyerr(py))
}

/// Checks a consistency proof.
#[pyfunction]
pub(crate) fn verify_consistency(
    py: Python<'_>,
    old_size: u64,
    size: u64,
    old_root: &[u8],
    root: &[u8],
    proof: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let old_root = hash_arg("old_root", old_root)?;
    let root = hash_arg("root", root)?;
    let proof = proof_arg(proof)?;
    detach(py, || {
        client::verify_consistency(old_size, size, &old_root, &root, &proof)
    })
    .map_err(|e| e.into_pyerr(py))
}
