//! stratalog_stream_stats: what a stream holds, without reading records.

use stratalog_core::StreamStats;

use crate::args;
use crate::error::{guard, stratalog_status};
use crate::store::{self as handle, stratalog_store};

/// A stream's size and extent, filled by stratalog_get_stream_stats().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_stream_stats {
    /// Segment files, sealed and active.
    pub segments: u64,
    /// Bytes of those files: the whole of each sealed one, the committed
    /// part of the active one. Index files are not counted.
    pub bytes: u64,
    /// Offset of the first event the stream holds.
    pub first_offset: u64,
    /// Offset the next event will get: one past the last event.
    pub next_offset: u64,
}

impl From<StreamStats> for stratalog_stream_stats {
    fn from(s: StreamStats) -> Self {
        stratalog_stream_stats {
            segments: s.segments,
            bytes: s.bytes,
            first_offset: s.first_offset,
            next_offset: s.next_offset,
        }
    }
}

/// Fills `*out` with how many segments and bytes `stream` holds and which
/// offsets, as of now; no record is read. A stream that does not exist
/// has all zeros.
///
/// Errors: NULL_ARGUMENT, CLOSED, IO (the length of a segment file could
/// not be read).
///
/// # Safety
/// `store` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_get_stream_stats(
    store: *const stratalog_store,
    stream: u64,
    out: *mut stratalog_stream_stats,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { handle::store(store)? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        out.write(store.stream_stats(stream)?.into());
        Ok(())
    })
}
