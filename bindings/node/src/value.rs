//! Values crossing between Rust and JavaScript.

use std::sync::Arc;

use napi::bindgen_prelude::{
    BigInt, Buffer, JsValue, Null, Object, ToNapiValue, TypeName, Uint32Array, ValueType,
};
use napi::{sys, Env, JsError};
use stratalog::{stratalog_head, stratalog_verify_report, STRATALOG_HEAD_TEXT_SIZE};

use crate::error::{check, Failure};
use crate::handle::Shared;
use crate::store::NativeStore;

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A u64 for JavaScript: a number up to 2^53 - 1, a bigint above.
#[derive(Debug, Clone, Copy)]
pub(crate) struct U64(pub u64);

impl ToNapiValue for U64 {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        if val.0 <= MAX_SAFE_INTEGER {
            // Exact: the value fits the 53-bit mantissa.
            // SAFETY: forwarded with the caller's env.
            unsafe { f64::to_napi_value(env, val.0 as f64) }
        } else {
            // SAFETY: forwarded with the caller's env.
            unsafe { BigInt::to_napi_value(env, BigInt::from(val.0)) }
        }
    }
}

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

/// The result of an operation, computed off the JS thread and turned into a
/// JavaScript value on it.
#[derive(Debug)]
pub enum Output {
    Undefined,
    /// End of an iterator: `null`.
    End,
    Store(Arc<Shared>),
    Head(stratalog_head),
    Report(stratalog_verify_report),
    Chunk(Chunk),
    Streams(Vec<u64>),
    /// The outcomes of an ordered group of appends: per batch, its head or
    /// its error (as a value, not thrown).
    Group(Vec<Result<stratalog_head, Failure>>),
}

impl TypeName for Output {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for Output {
    unsafe fn to_napi_value(raw: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw);
        // SAFETY (every arm): `raw` is the live env of the current call.
        unsafe {
            match val {
                Output::Undefined => <()>::to_napi_value(raw, ()),
                Output::End => Null::to_napi_value(raw, Null),
                Output::Store(shared) => NativeStore::to_napi_value(raw, NativeStore::new(shared)),
                Output::Head(head) => head_value(&env, &head),
                Output::Report(report) => Ok(report_object(&env, &report)?.raw()),
                Output::Chunk(chunk) => {
                    let mut object = Object::new(&env)?;
                    object.set("first", U64(chunk.first))?;
                    object.set("data", Buffer::from(chunk.data))?;
                    object.set("lengths", Uint32Array::new(chunk.lengths))?;
                    Ok(object.raw())
                }
                Output::Streams(ids) => {
                    Vec::<U64>::to_napi_value(raw, ids.into_iter().map(U64).collect())
                }
                Output::Group(outcomes) => {
                    let mut array = env.create_array(outcomes.len() as u32)?;
                    for (i, outcome) in outcomes.into_iter().enumerate() {
                        match outcome {
                            Ok(head) => array.set(i as u32, head_string(&env, &head)?)?,
                            Err(failure) => {
                                let error = JsError::from(failure.into_js(&env)).into_unknown(env);
                                array.set(i as u32, error)?
                            }
                        }
                    }
                    Ok(array.raw())
                }
            }
        }
    }
}

/// The text form of a head, "<next_offset>:<64 hex digits>", from the
/// library's stratalog_head_to_hex().
pub(crate) fn head_text(head: &stratalog_head) -> Result<String, Failure> {
    let mut buf = [0u8; STRATALOG_HEAD_TEXT_SIZE];
    // SAFETY: `head` is a valid head and `buf` holds buf.len() writable bytes.
    check(unsafe { stratalog::stratalog_head_to_hex(head, buf.as_mut_ptr().cast(), buf.len()) })?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// A head as JS sees it from the addon: its text form, one string, which
/// index.js turns into a ChainHead. A string is the cheapest value to hand
/// over: an object with a 32-byte Buffer cost a malloc'd backing store and
/// three named-property stores per append, more than the rest of a small
/// synchronous append.
pub(crate) fn head_string(env: &Env, head: &stratalog_head) -> napi::Result<String> {
    head_text(head).map_err(|f| f.into_js(env))
}

/// [`head_string`] as a JS value.
pub(crate) fn head_value(env: &Env, head: &stratalog_head) -> napi::Result<sys::napi_value> {
    // SAFETY: the live env of the current call.
    unsafe { String::to_napi_value(env.raw(), head_string(env, head)?) }
}

fn report_object<'env>(
    env: &'env Env,
    report: &stratalog_verify_report,
) -> napi::Result<Object<'env>> {
    let mut object = Object::new(env)?;
    object.set("events", U64(report.events))?;
    object.set("bytes", U64(report.bytes))?;
    object.set("checkpoints", U64(report.checkpoints))?;
    object.set("segments", U64(report.segments))?;
    object.set("head", head_string(env, &report.head)?)?;
    Ok(object)
}
