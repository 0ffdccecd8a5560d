//! Values crossing between Rust and JavaScript: u64 arguments, chunks of
//! events, heads and reports.

use napi::bindgen_prelude::{BigInt, JsValue, Object, ToNapiValue};
use napi::{sys, Env};
use stratalog_client::{self as client, Head, VerifyReport};

use crate::error::Failure;
use crate::number::U64;

/// A `bigint` argument as a u64; anything negative or above 2^64 - 1 is a
/// `RangeError` (the JS layer already turned numbers into bigints).
pub(crate) fn to_u64(name: &str, value: &BigInt) -> Result<u64, Failure> {
    match value.get_u64() {
        (false, v, true) => Ok(v),
        _ => Err(Failure::range(format!(
            "{name} must be an integer from 0 to 2^64 - 1"
        ))),
    }
}

/// A batch of events copied out of the library: their bytes back to back in
/// `data`, and each one's length. Event `i` has offset `first + i`.
#[derive(Debug, Default)]
pub struct Chunk {
    pub(crate) first: u64,
    pub(crate) data: Vec<u8>,
    pub(crate) lengths: Vec<u32>,
}

impl Chunk {
    /// Appends one event (the single copy from library memory).
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            Failure::range(format!(
                "an event of {} bytes is larger than a JavaScript Buffer can hold",
                bytes.len()
            ))
        })?;
        self.data.extend_from_slice(bytes);
        self.lengths.push(len);
        Ok(())
    }
}

/// A head as JS sees it from the addon: its text form, one string, which
/// index.js turns into a ChainHead. A string is the cheapest value to hand
/// over: an object with a 32-byte Buffer cost a malloc'd backing store and
/// three named-property stores per append, more than the rest of a small
/// synchronous append.
pub(crate) fn head_string(head: &Head) -> String {
    client::head_text(head)
}

/// [`head_string`] as a JS value.
pub(crate) fn head_value(env: &Env, head: &Head) -> napi::Result<sys::napi_value> {
    // SAFETY: the live env of the current call.
    unsafe { String::to_napi_value(env.raw(), head_string(head)) }
}

/// A verify report as `{ events, bytes, checkpoints, segments, head }`.
pub(crate) fn report_value(env: &Env, report: &VerifyReport) -> napi::Result<sys::napi_value> {
    let mut object = Object::new(env)?;
    object.set("events", U64(report.events))?;
    object.set("bytes", U64(report.bytes))?;
    object.set("checkpoints", U64(report.checkpoints))?;
    object.set("segments", U64(report.segments))?;
    object.set("head", head_string(&report.head))?;
    Ok(object.raw())
}
