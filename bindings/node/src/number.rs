//! Numbers for JavaScript: a u64 becomes a number while it is exact, a
//! bigint above that. The leaf of the addon's modules.

use napi::bindgen_prelude::{BigInt, ToNapiValue};
use napi::sys;

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
