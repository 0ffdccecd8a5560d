//! stratalog_head: a stream's chain head, from the store and as text.

use std::ffi::c_char;

use stratalog_core::ChainHead;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// Bytes stratalog_head_to_hex() needs, NUL included: up to 20 digits of
/// next_offset, ':', 64 hex digits, NUL.
pub const STRATALOG_HEAD_TEXT_SIZE: usize = 86;

/// A stream's chain head: how many events it holds and the chain hash of the
/// last one (32 zero bytes for an empty stream). Keep a head where the
/// store's owner cannot rewrite it; stratalog_verify_against() later proves
/// the stream still holds that history. Text form: stratalog_head_to_hex().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_head {
    /// Number of events; the offset the next event will get.
    pub next_offset: u64,
    /// SHA-256 chain hash of event next_offset - 1.
    pub hash: [u8; 32],
}

impl stratalog_head {
    pub(crate) const EMPTY: stratalog_head = stratalog_head {
        next_offset: 0,
        hash: [0; 32],
    };
}

impl From<ChainHead> for stratalog_head {
    fn from(h: ChainHead) -> Self {
        stratalog_head {
            next_offset: h.next_offset,
            hash: h.hash,
        }
    }
}

impl From<stratalog_head> for ChainHead {
    fn from(h: stratalog_head) -> Self {
        ChainHead {
            next_offset: h.next_offset,
            hash: h.hash,
        }
    }
}

/// The chain head of `stream`, from memory (no I/O). A stream that does not
/// exist has the empty head (0 and 32 zero bytes).
///
/// Errors: NULL_ARGUMENT, CLOSED, CORRUPTION (the stream's active segment is
/// damaged).
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_chain_head(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_head,
) -> stratalog_status {
    // SAFETY: per the contract.
    unsafe { head_into(store, out, |store| store.chain_head(stream)) }
}

/// The head the events `stream` still holds continue: its first offset F
/// and the chain hash of event F - 1, which the prune anchor keeps; the
/// empty head (0 and 32 zero bytes) for a stream never pruned or that does
/// not exist. The first segment must start from it (its header is read
/// once, then kept), as a read from there checks. The retained events
/// check out from it alone, as a whole stream does from the empty head:
/// an export of a pruned stream carries it.
///
/// Errors: NULL_ARGUMENT, CLOSED, CORRUPTION (the stream is damaged),
/// CHAIN_MISMATCH (the first segment does not start from the anchor's
/// hash), IO.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_first_head(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_head,
) -> stratalog_status {
    // SAFETY: per the contract.
    unsafe { head_into(store, out, |store| store.first_head(stream)) }
}

/// Writes the head `get` gives of a live `store` to `out`.
///
/// # Safety
/// As stratalog_chain_head().
unsafe fn head_into(
    store: *const stratalog_store,
    out: *mut stratalog_head,
    get: impl FnOnce(&stratalog_core::Store) -> stratalog_core::Result<ChainHead>,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        out.write(get(store)?.into());
        Ok(())
    })
}

/// Writes the text form of a head, "<next_offset>:<64 lowercase hex digits>"
/// and a NUL, into `buf` of `buf_len` bytes. STRATALOG_HEAD_TEXT_SIZE bytes
/// are always enough.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (buffer too small; nothing written).
///
/// # Safety
/// `head` is NULL or points to a stratalog_head; `buf` is NULL or points to
/// `buf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn stratalog_head_to_hex(
    head: *const stratalog_head,
    buf: *mut c_char,
    buf_len: usize,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract; every bit pattern is a valid head.
        let head: ChainHead = unsafe { args::value(head, "head")? }.into();
        let text = head.to_string();
        debug_assert!(text.len() < STRATALOG_HEAD_TEXT_SIZE);
        // SAFETY: per the contract.
        unsafe { args::write_text(buf, buf_len, &text) }
    })
}

/// Parses the text form of a head ("<next_offset>:<64 hex digits>", either
/// case, surrounding whitespace ignored) into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (not a head; an empty stream's head
/// must have the zero hash).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_head_parse(
    text: *const c_char,
    out: *mut stratalog_head,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let text = unsafe { args::text(text, "head text")? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        let head: ChainHead = text.parse()?;
        out.write(head.into());
        Ok(())
    })
}
