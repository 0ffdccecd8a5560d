//! stratalog_verify_report: what verification checked, and the two calls
//! that fill it.

use stratalog_core::{Error, VerifyReport};

use crate::args::{self, Out};
use crate::error::{guard, stratalog_status, Fail};
use crate::head::stratalog_head;
use crate::store::{self as handle, stratalog_store};

/// `failed_offset` of a stratalog_verify_report when verification succeeded.
pub const STRATALOG_NO_OFFSET: u64 = u64::MAX;

/// What stratalog_verify() and stratalog_verify_against() checked.
///
/// On success every field is filled and failed_offset is STRATALOG_NO_OFFSET.
/// On STRATALOG_STATUS_CORRUPTION or STRATALOG_STATUS_CHAIN_MISMATCH the
/// report is written too: failed_offset is the offset where verification
/// failed and every other field is 0. On any other status it is not written.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_verify_report {
    /// Events checked (CRC, offset, chain link).
    pub events: u64,
    /// Raw payload bytes hashed.
    pub bytes: u64,
    /// Checkpoint records checked against the chain.
    pub checkpoints: u64,
    /// Segment files read.
    pub segments: u64,
    /// The head the stored chain leads to.
    pub head: stratalog_head,
    /// STRATALOG_NO_OFFSET on success; on CORRUPTION or CHAIN_MISMATCH the
    /// offset where verification failed.
    pub failed_offset: u64,
}

impl From<VerifyReport> for stratalog_verify_report {
    fn from(r: VerifyReport) -> Self {
        stratalog_verify_report {
            events: r.events,
            bytes: r.bytes,
            checkpoints: r.checkpoints,
            segments: r.segments,
            head: r.head.into(),
            failed_offset: STRATALOG_NO_OFFSET,
        }
    }
}

impl stratalog_verify_report {
    fn failed_at(offset: u64) -> Self {
        stratalog_verify_report {
            events: 0,
            bytes: 0,
            checkpoints: 0,
            segments: 0,
            head: stratalog_head::EMPTY,
            failed_offset: offset,
        }
    }
}

/// Writes the report of a verification, which exists on success and on
/// damage found at an offset, and returns the failure, if any.
fn report(
    result: Result<VerifyReport, Error>,
    out: Option<Out<stratalog_verify_report>>,
) -> Result<(), Fail> {
    let (report, failure) = match result {
        Ok(report) => (Some(report.into()), None),
        Err(e) => {
            let report = match &e {
                Error::Corruption { offset, .. } | Error::ChainMismatch { offset, .. } => {
                    Some(stratalog_verify_report::failed_at(*offset))
                }
                _ => None,
            };
            (report, Some(Fail::from(e)))
        }
    };
    if let (Some(report), Some(out)) = (report, out) {
        out.write(report);
    }
    failure.map_or(Ok(()), Err)
}

/// Verifies `stream` from its first event: every checksum, offset, chain link,
/// checkpoint and segment boundary, and that the chain ends at the head the
/// store holds. A stream that does not exist verifies as empty.
///
/// `out` may be NULL. On success it receives the report (failed_offset is
/// STRATALOG_NO_OFFSET). On CORRUPTION (bytes fail a checksum or the structure
/// is broken) or CHAIN_MISMATCH (intact records do not form the chain) it is
/// written too, with failed_offset set to the offset of the first failure and
/// every other field 0. On any other status it is not written.
///
/// Errors: NULL_ARGUMENT, CORRUPTION, CHAIN_MISMATCH, IO, CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_verify_report,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::optional_out(out) };
        report(store.verify(stream), out)
    })
}

/// stratalog_verify(), and also proves that the stream still holds, unchanged,
/// the history `head` summarizes: that it has at least head->next_offset
/// events and that the chain hash after them equals head->hash. This detects
/// truncation, rollback and rewriting relative to a head kept elsewhere
/// (CHAIN_MISMATCH, with failed_offset set). `head` is borrowed for the call;
/// `out` behaves as in stratalog_verify().
///
/// Errors: NULL_ARGUMENT (store or head NULL), CORRUPTION, CHAIN_MISMATCH, IO,
/// CLOSED.
///
/// # Safety
/// `store` is NULL or a live handle; `head` is NULL or points to a
/// stratalog_head; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_verify_against(
    store: *const stratalog_store,
    stream: u64,
    head: *const stratalog_head,
    out: *mut stratalog_verify_report,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract; every bit pattern is a valid head.
        let head = unsafe { args::value(head, "head")? };
        // SAFETY: per the contract.
        let out = unsafe { args::optional_out(out) };
        report(store.verify_against(stream, &head.into()), out)
    })
}
