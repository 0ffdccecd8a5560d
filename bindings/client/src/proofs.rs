//! Signing keys, Merkle roots and proofs, checkpoints, receipts, tiles, and
//! their checks with no store, over the C ABI.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{self, NonNull};

use stratalog::{stratalog_proof, stratalog_signing_key, STRATALOG_SIZE_CURRENT};

use crate::error::{check, Error, Result};
use crate::store::Store;
use crate::text::c_text;

fn size_arg(size: Option<u64>) -> u64 {
    size.unwrap_or(STRATALOG_SIZE_CURRENT)
}

/// Takes a string the library handed out, and frees it.
///
/// # Safety
/// `text` is a string from this library, not freed before.
pub(crate) unsafe fn take_text(text: *mut c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: per the contract.
    let owned = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: per the contract, freed once.
    unsafe { stratalog::stratalog_string_free(text) };
    owned
}

/// Calls `f` with a place for a string the library hands out.
fn text_out(f: impl FnOnce(*mut *mut c_char) -> stratalog::stratalog_status) -> Result<String> {
    let mut out: *mut c_char = ptr::null_mut();
    check(f(&mut out))?;
    // SAFETY: written by the library on success.
    Ok(unsafe { take_text(out) })
}

/// An Ed25519 key that signs checkpoints. Freed when dropped.
#[derive(Debug)]
pub struct SigningKey {
    handle: NonNull<stratalog_signing_key>,
}

// SAFETY: the key is immutable after creation; the library only reads it.
unsafe impl Send for SigningKey {}
// SAFETY: as above.
unsafe impl Sync for SigningKey {}

impl Drop for SigningKey {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { stratalog::stratalog_signing_key_free(self.handle.as_ptr()) }
    }
}

impl SigningKey {
    fn made(
        f: impl FnOnce(*mut *mut stratalog_signing_key) -> stratalog::stratalog_status,
    ) -> Result<SigningKey> {
        let mut out: *mut stratalog_signing_key = ptr::null_mut();
        check(f(&mut out))?;
        NonNull::new(out)
            .map(|handle| SigningKey { handle })
            .ok_or_else(|| Error::invalid("the library returned no key"))
    }

    /// A new key from the OS random source.
    pub fn generate(name: &str) -> Result<SigningKey> {
        let name = c_text("key name", name)?;
        // SAFETY: NUL-terminated name; `out` writable.
        SigningKey::made(|out| unsafe {
            stratalog::stratalog_signing_key_generate(name.as_ptr(), out)
        })
    }

    /// The key the private key text holds.
    pub fn from_text(text: &str) -> Result<SigningKey> {
        let text = c_text("key text", text)?;
        // SAFETY: NUL-terminated text; `out` writable.
        SigningKey::made(|out| unsafe {
            stratalog::stratalog_signing_key_from_text(text.as_ptr(), out)
        })
    }

    /// The key in a key file.
    pub fn load(path: &str) -> Result<SigningKey> {
        let path = c_text("path", path)?;
        // SAFETY: NUL-terminated path; `out` writable.
        SigningKey::made(|out| unsafe { stratalog::stratalog_signing_key_load(path.as_ptr(), out) })
    }

    /// Writes a new key file (mode 0600; never overwrites).
    pub fn save(&self, path: &str) -> Result<()> {
        let path = c_text("path", path)?;
        // SAFETY: live key; NUL-terminated path.
        check(unsafe { stratalog::stratalog_signing_key_save(self.raw(), path.as_ptr()) })
    }

    /// The verifier key text.
    pub fn vkey(&self) -> Result<String> {
        // SAFETY: live key; `out` writable.
        text_out(|out| unsafe { stratalog::stratalog_signing_key_vkey(self.raw(), out) })
    }

    /// The verifier key of this key as a witness's cosigner (type 0x04).
    pub fn cosigner_vkey(&self) -> Result<String> {
        // SAFETY: live key; `out` writable.
        text_out(|out| unsafe { stratalog::stratalog_signing_key_cosigner_vkey(self.raw(), out) })
    }

    /// The private key text. Secret.
    pub fn to_text(&self) -> Result<String> {
        // SAFETY: live key; `out` writable.
        text_out(|out| unsafe { stratalog::stratalog_signing_key_to_text(self.raw(), out) })
    }

    pub(crate) fn raw(&self) -> *const stratalog_signing_key {
        self.handle.as_ptr()
    }
}

/// Takes a proof the library handed out as its hashes, and frees it.
fn proof_out(
    f: impl FnOnce(*mut *mut stratalog_proof) -> stratalog::stratalog_status,
) -> Result<Vec<[u8; 32]>> {
    let mut out: *mut stratalog_proof = ptr::null_mut();
    check(f(&mut out))?;
    // SAFETY: a live proof from the library, read then freed once.
    unsafe {
        let len = stratalog::stratalog_proof_len(out);
        let data = stratalog::stratalog_proof_data(out);
        let hashes = if len == 0 || data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data.cast::<[u8; 32]>(), len).to_vec()
        };
        stratalog::stratalog_proof_free(out);
        Ok(hashes)
    }
}

impl Store {
    /// The Merkle root over the first `size` events (`None`: all).
    pub fn tree_root(&self, stream: u64, size: Option<u64>) -> Result<[u8; 32]> {
        let mut root = [0u8; 32];
        // SAFETY: live handle; `root` writable.
        check(unsafe {
            stratalog::stratalog_tree_root(self.raw(), stream, size_arg(size), &mut root)
        })?;
        Ok(root)
    }

    /// The 40-byte leaf data of event `offset`.
    pub fn leaf_data(&self, stream: u64, offset: u64) -> Result<[u8; 40]> {
        let mut data = [0u8; 40];
        // SAFETY: live handle; `data` writable.
        check(unsafe { stratalog::stratalog_leaf_data(self.raw(), stream, offset, &mut data) })?;
        Ok(data)
    }

    /// The inclusion proof of event `offset` in the tree of `size` events.
    pub fn inclusion_proof(
        &self,
        stream: u64,
        offset: u64,
        size: Option<u64>,
    ) -> Result<Vec<[u8; 32]>> {
        // SAFETY: live handle; `out` writable.
        proof_out(|out| unsafe {
            stratalog::stratalog_inclusion_proof(self.raw(), stream, offset, size_arg(size), out)
        })
    }

    /// The consistency proof from `old_size` events to `size`.
    pub fn consistency_proof(
        &self,
        stream: u64,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<Vec<[u8; 32]>> {
        // SAFETY: live handle; `out` writable.
        proof_out(|out| unsafe {
            stratalog::stratalog_consistency_proof(
                self.raw(),
                stream,
                old_size,
                size_arg(size),
                out,
            )
        })
    }

    /// A signed checkpoint note.
    pub fn checkpoint(
        &self,
        stream: u64,
        key: &SigningKey,
        size: Option<u64>,
        origin: Option<&str>,
    ) -> Result<String> {
        let origin = origin.map(|o| c_text("origin", o)).transpose()?;
        let origin_ptr = origin.as_ref().map_or(ptr::null(), |o| o.as_ptr());
        // SAFETY: live handles; `origin` NULL or NUL-terminated; `out` writable.
        text_out(|out| unsafe {
            stratalog::stratalog_checkpoint(
                self.raw(),
                stream,
                key.raw(),
                size_arg(size),
                origin_ptr,
                out,
            )
        })
    }

    /// A signed checkpoint cosigned by every witness
    /// ("<verifier key> <URL>" each).
    pub fn witness_checkpoint(
        &self,
        stream: u64,
        key: &SigningKey,
        witnesses: &[&str],
        size: Option<u64>,
        origin: Option<&str>,
    ) -> Result<String> {
        let specs = witnesses
            .iter()
            .map(|w| c_text("witness", w))
            .collect::<Result<Vec<_>>>()?;
        let pointers: Vec<*const c_char> = specs.iter().map(|s| s.as_ptr()).collect();
        let origin = origin.map(|o| c_text("origin", o)).transpose()?;
        let origin_ptr = origin.as_ref().map_or(ptr::null(), |o| o.as_ptr());
        // SAFETY: live handles; `pointers` holds that many NUL-terminated
        // strings alive for the call; `origin` NULL or NUL-terminated.
        text_out(|out| unsafe {
            stratalog::stratalog_witness_checkpoint(
                self.raw(),
                stream,
                key.raw(),
                pointers.as_ptr(),
                pointers.len(),
                size_arg(size),
                origin_ptr,
                out,
            )
        })
    }

    /// An offline receipt (tlog-proof) for event `offset`.
    pub fn receipt(
        &self,
        stream: u64,
        offset: u64,
        key: &SigningKey,
        size: Option<u64>,
    ) -> Result<String> {
        // SAFETY: live handles; `out` writable.
        text_out(|out| unsafe {
            stratalog::stratalog_receipt(self.raw(), stream, offset, key.raw(), size_arg(size), out)
        })
    }

    /// Writes the tree as a tlog-tiles directory; returns the checkpoint.
    pub fn export_tiles(
        &self,
        stream: u64,
        key: &SigningKey,
        dir: &str,
        size: Option<u64>,
    ) -> Result<String> {
        let dir = c_text("dir", dir)?;
        // SAFETY: live handles; NUL-terminated dir; `out` writable.
        text_out(|out| unsafe {
            stratalog::stratalog_export_tiles(
                self.raw(),
                stream,
                key.raw(),
                dir.as_ptr(),
                size_arg(size),
                out,
            )
        })
    }
}

/// The origin a verifier expects, as a C string or NULL (any).
fn c_origin(origin: Option<&str>) -> Result<Option<CString>> {
    origin.map(|o| c_text("origin", o)).transpose()
}

fn origin_ptr(origin: &Option<CString>) -> *const c_char {
    origin.as_ref().map_or(ptr::null(), |o| o.as_ptr())
}

/// Checks a receipt for `event` against the verifier key, and that its
/// checkpoint is of log `origin` when one is given; returns the event's
/// offset.
pub fn verify_receipt(
    receipt: &str,
    vkey: &str,
    origin: Option<&str>,
    event: &[u8],
) -> Result<u64> {
    let (receipt, vkey) = (c_text("receipt", receipt)?, c_text("vkey", vkey)?);
    let origin = c_origin(origin)?;
    let mut offset = 0u64;
    // SAFETY: NUL-terminated texts (or NULL); `event` readable; `offset`
    // writable.
    check(unsafe {
        stratalog::stratalog_verify_receipt_for(
            receipt.as_ptr(),
            vkey.as_ptr(),
            origin_ptr(&origin),
            event.as_ptr(),
            event.len(),
            &mut offset,
        )
    })?;
    Ok(offset)
}

/// Checks a signed checkpoint, and that it is of log `origin` when one
/// is given; returns its size and root.
pub fn verify_checkpoint(note: &str, vkey: &str, origin: Option<&str>) -> Result<(u64, [u8; 32])> {
    let (note, vkey) = (c_text("checkpoint", note)?, c_text("vkey", vkey)?);
    let origin = c_origin(origin)?;
    let (mut size, mut root) = (0u64, [0u8; 32]);
    // SAFETY: NUL-terminated texts (or NULL); outputs writable.
    check(unsafe {
        stratalog::stratalog_verify_checkpoint_for(
            note.as_ptr(),
            vkey.as_ptr(),
            origin_ptr(&origin),
            &mut size,
            &mut root,
        )
    })?;
    Ok((size, root))
}

/// Checks an inclusion proof.
pub fn verify_inclusion(
    leaf_index: u64,
    size: u64,
    root: &[u8; 32],
    proof: &[[u8; 32]],
    leaf_data: &[u8],
) -> Result<()> {
    // SAFETY: every pointer readable for the lengths given.
    check(unsafe {
        stratalog::stratalog_verify_inclusion(
            leaf_index,
            size,
            root,
            proof.as_ptr().cast(),
            proof.len(),
            leaf_data.as_ptr(),
            leaf_data.len(),
        )
    })
}

/// Checks a consistency proof.
pub fn verify_consistency(
    old_size: u64,
    size: u64,
    old_root: &[u8; 32],
    root: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<()> {
    // SAFETY: every pointer readable for the lengths given.
    check(unsafe {
        stratalog::stratalog_verify_consistency(
            old_size,
            size,
            old_root,
            root,
            proof.as_ptr().cast(),
            proof.len(),
        )
    })
}

/// Checks a checkpoint signed by `vkey` and cosigned by at least
/// `min_cosignatures` of the witnesses, and that it is of log `origin`
/// when one is given; returns its size and root.
pub fn verify_witnessed_checkpoint(
    note: &str,
    vkey: &str,
    origin: Option<&str>,
    witness_vkeys: &[&str],
    min_cosignatures: usize,
) -> Result<(u64, [u8; 32])> {
    let (note, vkey) = (c_text("checkpoint", note)?, c_text("vkey", vkey)?);
    let origin = c_origin(origin)?;
    let keys = witness_vkeys
        .iter()
        .map(|k| c_text("witness vkey", k))
        .collect::<Result<Vec<_>>>()?;
    let pointers: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let (mut size, mut root) = (0u64, [0u8; 32]);
    // SAFETY: NUL-terminated texts alive for the call; outputs writable.
    check(unsafe {
        stratalog::stratalog_verify_witnessed_checkpoint_for(
            note.as_ptr(),
            vkey.as_ptr(),
            origin_ptr(&origin),
            pointers.as_ptr(),
            pointers.len(),
            min_cosignatures,
            &mut size,
            &mut root,
        )
    })?;
    Ok((size, root))
}
