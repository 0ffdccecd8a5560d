//! Merkle roots and proofs of a stream, signed checkpoints, receipts and
//! tiles; and checking them with no store (stratalog_verify_receipt() and
//! the other free functions).

use std::ffi::c_char;
use std::ptr;

use stratalog_core::{Hash, Witness};

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};
use crate::signing_key::{self, hand_out_text, stratalog_signing_key};
use crate::store::{self as handle, stratalog_store};

/// As a tree size: the stream's whole length when the call runs.
pub const STRATALOG_SIZE_CURRENT: u64 = u64::MAX;

/// Bytes of a leaf's data: u64_le(offset) || h(offset).
pub const STRATALOG_LEAF_DATA_SIZE: usize = 40;

fn size_arg(size: u64) -> Option<u64> {
    (size != STRATALOG_SIZE_CURRENT).then_some(size)
}

/// A list of 32-byte hashes: an inclusion or consistency proof. Opaque;
/// free it with stratalog_proof_free().
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_proof {
    hashes: Vec<Hash>,
}

/// Number of hashes in the proof (0 for NULL).
///
/// # Safety
/// `proof` is NULL or a live proof.
#[no_mangle]
pub unsafe extern "C" fn stratalog_proof_len(proof: *const stratalog_proof) -> usize {
    // SAFETY: per the contract.
    guard_value(0, || {
        unsafe { args::optional_object(proof) }.map_or(0, |p| p.hashes.len())
    })
}

/// The proof's hashes, stratalog_proof_len() * 32 bytes back to back, from
/// the bottom of the tree up; owned by the proof. NULL for a NULL or empty
/// proof.
///
/// # Safety
/// `proof` is NULL or a live proof.
#[no_mangle]
pub unsafe extern "C" fn stratalog_proof_data(proof: *const stratalog_proof) -> *const u8 {
    guard_value(ptr::null(), || {
        // SAFETY: per the contract.
        match unsafe { args::optional_object(proof) } {
            Some(p) if !p.hashes.is_empty() => p.hashes.as_ptr().cast(),
            _ => ptr::null(),
        }
    })
}

/// Frees a proof. NULL is a no-op.
///
/// # Safety
/// `proof` is NULL or a live proof; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_proof_free(proof: *mut stratalog_proof) {
    // SAFETY: a live proof from this library, freed once.
    guard_value((), || drop(unsafe { args::take(proof) }))
}

/// The RFC 6962 root of `stream`'s Merkle tree over its first `size` events
/// (STRATALOG_SIZE_CURRENT: all of them) into `out` (32 bytes). The empty
/// tree's root is SHA-256 of nothing.
///
/// Errors: NULL_ARGUMENT, OFFSET_OUT_OF_RANGE (size past the end), CLOSED,
/// CORRUPTION, CHAIN_MISMATCH, IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_tree_root(
    store: *const stratalog_store,
    stream: u64,
    size: u64,
    out: *mut [u8; 32],
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        out.write(store.tree_root(stream, size_arg(size))?);
        Ok(())
    })
}

/// The 40-byte leaf data of event `offset`, u64_le(offset) || h(offset),
/// into `out`: what stratalog_verify_inclusion() takes.
///
/// Errors: NULL_ARGUMENT, OFFSET_OUT_OF_RANGE, CLOSED, CORRUPTION,
/// CHAIN_MISMATCH, IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or 40 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_leaf_data(
    store: *const stratalog_store,
    stream: u64,
    offset: u64,
    out: *mut [u8; STRATALOG_LEAF_DATA_SIZE],
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        out.write(store.leaf_data(stream, offset)?);
        Ok(())
    })
}

/// The inclusion proof of event `offset` in the tree of the first `size`
/// events (STRATALOG_SIZE_CURRENT: all of them) into `*out` (free with
/// stratalog_proof_free()).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (offset >= size),
/// OFFSET_OUT_OF_RANGE (size past the end), CLOSED, CORRUPTION,
/// CHAIN_MISMATCH, IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_inclusion_proof(
    store: *const stratalog_store,
    stream: u64,
    offset: u64,
    size: u64,
    out: *mut *mut stratalog_proof,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        let hashes = store.inclusion_proof(stream, offset, size_arg(size))?;
        args::hand_out(out, stratalog_proof { hashes });
        Ok(())
    })
}

/// The consistency proof from the tree of the first `old_size` events to
/// the tree of the first `size` (STRATALOG_SIZE_CURRENT: all of them) into
/// `*out` (free with stratalog_proof_free()).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (old_size > size),
/// OFFSET_OUT_OF_RANGE, CLOSED, CORRUPTION, CHAIN_MISMATCH, IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_consistency_proof(
    store: *const stratalog_store,
    stream: u64,
    old_size: u64,
    size: u64,
    out: *mut *mut stratalog_proof,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, out) = unsafe { (handle::store(store)?, args::out(out, "out")?) };
        let hashes = store.consistency_proof(stream, old_size, size_arg(size))?;
        args::hand_out(out, stratalog_proof { hashes });
        Ok(())
    })
}

/// An optional NUL-terminated string.
///
/// # Safety
/// As [`args::text`].
unsafe fn optional_text<'a>(text: *const c_char, name: &str) -> Result<Option<&'a str>, Fail> {
    if text.is_null() {
        return Ok(None);
    }
    // SAFETY: per the contract.
    unsafe { args::text(text, name) }.map(Some)
}

/// A signed C2SP checkpoint note of `stream`'s tree of the first `size`
/// events (STRATALOG_SIZE_CURRENT: all of them), signed by `key`, into
/// `*out` (a new string; free with stratalog_string_free()). `origin`
/// NULL means "<key name>/<stream>". The store never signs two
/// inconsistent checkpoints for one origin: it records the last one
/// durably and refuses (CHECKPOINT_REFUSED) a smaller size or a tree that
/// does not extend it. Nor does it sign events a crash can take: a writer
/// first makes them durable (an fsync if needed) and, with a tier, waits
/// until the bucket holds them (sealing the active segment if needed); so
/// do stratalog_witness_checkpoint(), stratalog_receipt() and
/// stratalog_export_tiles(). A reader of a bucket, with no directory to
/// record what it signed in, refuses (INVALID_ARGUMENT).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (a bad origin),
/// OFFSET_OUT_OF_RANGE, CHECKPOINT_REFUSED, CLOSED, CORRUPTION,
/// CHAIN_MISMATCH, IO (also the bucket's, as stratalog_sync_tier()),
/// LOCKED (the tier was taken over), POISONED, FORKED (in a forked child,
/// when the events still need the fsync or the upload).
///
/// # Safety
/// `store` and `key` are NULL or live handles; `origin` is NULL or
/// NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_checkpoint(
    store: *const stratalog_store,
    stream: u64,
    key: *const stratalog_signing_key,
    size: u64,
    origin: *const c_char,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, key, origin, out) = unsafe {
            (
                handle::store(store)?,
                signing_key::key(key)?,
                optional_text(origin, "origin")?,
                args::out(out, "out")?,
            )
        };
        let note = store.checkpoint(stream, key, size_arg(size), origin)?;
        hand_out_text(out, &note)
    })
}

/// An offline receipt (C2SP tlog-proof) for event `offset` against a
/// checkpoint of the first `size` events (STRATALOG_SIZE_CURRENT: all of
/// them) signed by `key`, into `*out` (free with stratalog_string_free()).
/// stratalog_verify_receipt() checks it with the event and the verifier key
/// alone.
///
/// Errors: as stratalog_checkpoint(), and INVALID_ARGUMENT (offset >= size).
///
/// # Safety
/// `store` and `key` are NULL or live handles; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_receipt(
    store: *const stratalog_store,
    stream: u64,
    offset: u64,
    key: *const stratalog_signing_key,
    size: u64,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, key, out) = unsafe {
            (
                handle::store(store)?,
                signing_key::key(key)?,
                args::out(out, "out")?,
            )
        };
        let receipt = store.receipt(stream, offset, key, size_arg(size))?;
        hand_out_text(out, &receipt)
    })
}

/// Writes `stream`'s tree of the first `size` events (STRATALOG_SIZE_CURRENT:
/// all of them) under directory `dir` as a static C2SP tlog-tiles log: the
/// signed `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
/// `tile/entries/<N>[.p/<W>]`, whose entries are the 40-byte leaf data.
/// `checkpoint` NULL or a place for the signed checkpoint (free with
/// stratalog_string_free()).
///
/// Errors: as stratalog_checkpoint().
///
/// # Safety
/// `store` and `key` are NULL or live handles; `dir` is NULL or
/// NUL-terminated; `checkpoint` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_export_tiles(
    store: *const stratalog_store,
    stream: u64,
    key: *const stratalog_signing_key,
    dir: *const c_char,
    size: u64,
    checkpoint: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, key, dir, out) = unsafe {
            (
                handle::store(store)?,
                signing_key::key(key)?,
                args::path(dir)?,
                args::optional_out(checkpoint),
            )
        };
        let note = store.export_tiles(stream, key, std::path::Path::new(dir), size_arg(size))?;
        match out {
            Some(out) => hand_out_text(out, &note),
            None => Ok(()),
        }
    })
}

/// `count` hashes of 32 bytes at `data`.
///
/// # Safety
/// As [`args::array`].
unsafe fn hashes<'a>(data: *const u8, count: usize, name: &str) -> Result<&'a [Hash], Fail> {
    // SAFETY: per the contract; [u8; 32] has alignment 1.
    unsafe { args::array(data.cast::<Hash>(), count, name) }
}

/// Checks, with no store, that `receipt` (from stratalog_receipt()) proves
/// that `event` (`event_len` bytes) is in the log whose checkpoint the
/// verifier key `vkey` signed. `offset` NULL or a place for the event's
/// offset, written on success. It does not check which log (origin) the
/// checkpoint is of: stratalog_verify_receipt_for() does.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (vkey is not a verifier key),
/// VERIFICATION_FAILED (the message says what does not check out).
///
/// # Safety
/// `receipt` and `vkey` are NULL or NUL-terminated; `event` is NULL (when
/// `event_len` is 0) or `event_len` readable bytes; `offset` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_receipt(
    receipt: *const c_char,
    vkey: *const c_char,
    event: *const u8,
    event_len: usize,
    offset: *mut u64,
) -> stratalog_status {
    // SAFETY: the same contract, with no origin.
    unsafe { stratalog_verify_receipt_for(receipt, vkey, ptr::null(), event, event_len, offset) }
}

/// stratalog_verify_receipt(), and that the receipt's checkpoint is of the
/// log `origin` (its first line, e.g. "example.com/log/1"; NULL: any).
/// One key may sign many logs (a store's streams), so a verifier that
/// knows which log it expects says so here.
///
/// Errors: as stratalog_verify_receipt(); VERIFICATION_FAILED names both
/// origins when they differ.
///
/// # Safety
/// As stratalog_verify_receipt(); `origin` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_receipt_for(
    receipt: *const c_char,
    vkey: *const c_char,
    origin: *const c_char,
    event: *const u8,
    event_len: usize,
    offset: *mut u64,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (receipt, vkey, origin, event, out) = unsafe {
            (
                args::text(receipt, "receipt")?,
                args::text(vkey, "vkey")?,
                optional_text(origin, "origin")?,
                args::bytes(event, event_len, "event")?,
                args::optional_out(offset),
            )
        };
        let (index, checkpoint) = stratalog_core::verify_receipt(receipt, vkey, event)?;
        checkpoint.expect_origin(origin)?;
        if let Some(out) = out {
            out.write(index);
        }
        Ok(())
    })
}

/// Checks, with no store, a signed checkpoint note against the verifier key
/// `vkey`; on success writes its tree size and root (each output may be
/// NULL). It does not check which log (origin) the note is of:
/// stratalog_verify_checkpoint_for() does.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (vkey), VERIFICATION_FAILED.
///
/// # Safety
/// `note` and `vkey` are NULL or NUL-terminated; `size` is NULL or
/// writable; `root` is NULL or 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_checkpoint(
    note: *const c_char,
    vkey: *const c_char,
    size: *mut u64,
    root: *mut [u8; 32],
) -> stratalog_status {
    // SAFETY: the same contract, with no origin.
    unsafe { stratalog_verify_checkpoint_for(note, vkey, ptr::null(), size, root) }
}

/// stratalog_verify_checkpoint(), and that the note is of the log `origin`
/// (its first line; NULL: any). One key may sign many logs (a store's
/// streams), so a verifier that knows which log it expects says so here.
///
/// Errors: as stratalog_verify_checkpoint(); VERIFICATION_FAILED names both
/// origins when they differ.
///
/// # Safety
/// As stratalog_verify_checkpoint(); `origin` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_checkpoint_for(
    note: *const c_char,
    vkey: *const c_char,
    origin: *const c_char,
    size: *mut u64,
    root: *mut [u8; 32],
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (note, vkey, origin, size_out, root_out) = unsafe {
            (
                args::text(note, "note")?,
                args::text(vkey, "vkey")?,
                optional_text(origin, "origin")?,
                args::optional_out(size),
                args::optional_out(root),
            )
        };
        let checkpoint = stratalog_core::verify_checkpoint(note, vkey)?;
        checkpoint.expect_origin(origin)?;
        write_checkpoint(&checkpoint, size_out, root_out);
        Ok(())
    })
}

/// Writes a checked checkpoint's size and root to the outputs given.
fn write_checkpoint(
    checkpoint: &stratalog_core::Checkpoint,
    size: Option<args::Out<u64>>,
    root: Option<args::Out<[u8; 32]>>,
) {
    if let Some(out) = size {
        out.write(checkpoint.size);
    }
    if let Some(out) = root {
        out.write(checkpoint.root);
    }
}

/// Checks, with no store, that `proof` (`proof_count` hashes of 32 bytes)
/// proves the leaf with data `leaf_data` (`leaf_len` bytes; for a stream,
/// the 40 bytes of stratalog_leaf_data()) is number `leaf_index` in the
/// tree of `size` leaves whose root is `root`.
///
/// Errors: NULL_ARGUMENT, VERIFICATION_FAILED.
///
/// # Safety
/// `root` is NULL or 32 readable bytes; `proof` is NULL (when
/// `proof_count` is 0) or `proof_count * 32` readable bytes; `leaf_data`
/// is NULL (when `leaf_len` is 0) or `leaf_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_inclusion(
    leaf_index: u64,
    size: u64,
    root: *const [u8; 32],
    proof: *const u8,
    proof_count: usize,
    leaf_data: *const u8,
    leaf_len: usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (root, proof, leaf) = unsafe {
            (
                args::value(root, "root")?,
                hashes(proof, proof_count, "proof")?,
                args::bytes(leaf_data, leaf_len, "leaf_data")?,
            )
        };
        stratalog_core::verify_inclusion(leaf_index, size, &root, proof, leaf)?;
        Ok(())
    })
}

/// Checks, with no store, that `proof` (`proof_count` hashes of 32 bytes)
/// proves the tree of `old_size` leaves with root `old_root` is a prefix of
/// the tree of `size` leaves with root `root`.
///
/// Errors: NULL_ARGUMENT, VERIFICATION_FAILED.
///
/// # Safety
/// `old_root` and `root` are NULL or 32 readable bytes; `proof` is NULL
/// (when `proof_count` is 0) or `proof_count * 32` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_consistency(
    old_size: u64,
    size: u64,
    old_root: *const [u8; 32],
    root: *const [u8; 32],
    proof: *const u8,
    proof_count: usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (old_root, root, proof) = unsafe {
            (
                args::value(old_root, "old_root")?,
                args::value(root, "root")?,
                hashes(proof, proof_count, "proof")?,
            )
        };
        stratalog_core::verify_consistency(old_size, size, &old_root, &root, proof)?;
        Ok(())
    })
}

/// `count` NUL-terminated strings at `texts`.
///
/// # Safety
/// `texts` is NULL (when `count` is 0) or `count` pointers, each NULL or
/// NUL-terminated.
unsafe fn texts<'a>(
    texts: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<&'a str>, Fail> {
    // SAFETY: per the contract.
    let pointers = unsafe { args::array(texts, count, name)? };
    pointers
        .iter()
        // SAFETY: per the contract.
        .map(|&p| unsafe { args::text(p, name) })
        .collect()
}

/// A signed checkpoint, as stratalog_checkpoint() makes it, cosigned by
/// each of `witness_count` witnesses (C2SP tlog-witness), into `*out` (free
/// with stratalog_string_free()). Each witness is the text
/// "<verifier key> <submission URL prefix>", the key of type 0x04 (e.g.
/// "w.example+1a2b3c4d+BA... https://w.example/w"). Each gets the
/// checkpoint with a consistency proof from the last size it cosigned for
/// the origin (remembered in the store), over HTTP(S); its cosignature is
/// checked and appended.
///
/// Errors: as stratalog_checkpoint(); INVALID_ARGUMENT (a witness text);
/// WITNESS_FAILED (the first witness that did not cosign, named in the
/// message).
///
/// # Safety
/// `store` and `key` are NULL or live handles; `witnesses` is NULL (when
/// `witness_count` is 0) or that many NUL-terminated strings; `origin` is
/// NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_witness_checkpoint(
    store: *const stratalog_store,
    stream: u64,
    key: *const stratalog_signing_key,
    witnesses: *const *const c_char,
    witness_count: usize,
    size: u64,
    origin: *const c_char,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (store, key, specs, origin, out) = unsafe {
            (
                handle::store(store)?,
                signing_key::key(key)?,
                texts(witnesses, witness_count, "witnesses")?,
                optional_text(origin, "origin")?,
                args::out(out, "out")?,
            )
        };
        let witnesses = specs
            .iter()
            .map(|s| Witness::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let note = store.witness_checkpoint(stream, key, &witnesses, size_arg(size), origin)?;
        hand_out_text(out, &note)
    })
}

/// Checks, with no store, a checkpoint signed by the log key `vkey` and
/// cosigned by at least `min_cosignatures` of the `witness_count` witness
/// verifier keys (type 0x04) at `witness_vkeys`; on success writes its
/// tree size and root (each output may be NULL). It does not check which
/// log (origin) the note is of: stratalog_verify_witnessed_checkpoint_for()
/// does.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (a key), VERIFICATION_FAILED.
///
/// # Safety
/// `note` and `vkey` are NULL or NUL-terminated; `witness_vkeys` is NULL
/// (when `witness_count` is 0) or that many NUL-terminated strings; `size`
/// is NULL or writable; `root` is NULL or 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_witnessed_checkpoint(
    note: *const c_char,
    vkey: *const c_char,
    witness_vkeys: *const *const c_char,
    witness_count: usize,
    min_cosignatures: usize,
    size: *mut u64,
    root: *mut [u8; 32],
) -> stratalog_status {
    // SAFETY: the same contract, with no origin.
    unsafe {
        stratalog_verify_witnessed_checkpoint_for(
            note,
            vkey,
            ptr::null(),
            witness_vkeys,
            witness_count,
            min_cosignatures,
            size,
            root,
        )
    }
}

/// stratalog_verify_witnessed_checkpoint(), and that the note is of the log
/// `origin` (its first line; NULL: any).
///
/// Errors: as stratalog_verify_witnessed_checkpoint(); VERIFICATION_FAILED
/// names both origins when they differ.
///
/// # Safety
/// As stratalog_verify_witnessed_checkpoint(); `origin` is NULL or
/// NUL-terminated.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn stratalog_verify_witnessed_checkpoint_for(
    note: *const c_char,
    vkey: *const c_char,
    origin: *const c_char,
    witness_vkeys: *const *const c_char,
    witness_count: usize,
    min_cosignatures: usize,
    size: *mut u64,
    root: *mut [u8; 32],
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (note, vkey, origin, witnesses, size_out, root_out) = unsafe {
            (
                args::text(note, "note")?,
                args::text(vkey, "vkey")?,
                optional_text(origin, "origin")?,
                texts(witness_vkeys, witness_count, "witness_vkeys")?,
                args::optional_out(size),
                args::optional_out(root),
            )
        };
        let checkpoint =
            stratalog_core::verify_witnessed_checkpoint(note, vkey, &witnesses, min_cosignatures)?;
        checkpoint.expect_origin(origin)?;
        write_checkpoint(&checkpoint, size_out, root_out);
        Ok(())
    })
}
