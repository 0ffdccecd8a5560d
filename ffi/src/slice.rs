//! stratalog_slice: a borrowed byte string from C, and a batch of them.

use crate::args;
use crate::error::Fail;

/// A borrowed byte string: `len` bytes at `data`. `data` may be NULL only
/// when `len` is 0. The library never keeps the pointer after the call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct stratalog_slice {
    /// The first byte (NULL allowed when len is 0).
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// The events of an append as byte slices.
///
/// # Safety
/// When `count > 0`, `events` is NULL or points to `count` readable slices
/// whose data point to `len` readable bytes (or are NULL), all unchanged
/// for `'a`.
pub(crate) unsafe fn events<'a>(
    events: *const stratalog_slice,
    count: usize,
) -> Result<Vec<&'a [u8]>, Fail> {
    // SAFETY: per the contract; every bit pattern of a slice is a value.
    let slices = unsafe { args::array(events, count, "events")? };
    slices
        .iter()
        .enumerate()
        // SAFETY: each slice's bytes are readable per the contract.
        .map(|(i, s)| unsafe { args::bytes(s.data, s.len, EventData(i)) })
        .collect()
}

/// The name of `events[i].data`, for an error message.
struct EventData(usize);

impl std::fmt::Display for EventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "events[{}].data", self.0)
    }
}
