//! # stratalog-node
//!
//! The native half of the `stratalog` npm package: a thin napi-rs addon over
//! the C ABI of stratalog (the `extern "C"` functions of `stratalog-ffi`,
//! declared in include/stratalog.h). It never touches `stratalog-core`.
//!
//! - Appends enter through `appendEvents` (append.rs), a raw Node-API
//!   function that takes the events as call arguments; appends queued
//!   behind one in flight to the same stream go to the pool as one ordered
//!   group (`appendGroup`).
//! - Every call that can touch the disk is a [`job::Job`] on the libuv pool
//!   and returns a Promise; the library's thread-local error is captured on
//!   the pool thread right after the failing call.
//! - The `stratalog_store*` is guarded by [`handle::Shared`], so `close()`
//!   while operations are in flight never frees a handle in use.
//! - Reads copy each event once, from library memory into one contiguous
//!   Buffer per chunk; the JS layer slices it into per-event views.
//!
//! Argument validation, the public `Store`/`ChainHead` classes, async
//! iteration and the TypeScript types live in index.js / index.d.ts.

mod append;
mod error;
mod handle;
mod iter;
mod job;
mod store;
mod value;

use std::ffi::{CStr, CString};

use napi::bindgen_prelude::{BigInt, Buffer, Object};
use napi::Env;
use napi_derive::napi;

use crate::error::{check, Failure};
use crate::value::{head_text, Output};

pub use crate::iter::NativeIter;
pub use crate::job::Job;
pub use crate::store::{NativeStore, OpenOptions, StoreOptions};

/// Adds the functions written against Node-API directly (append.rs).
#[napi(module_exports)]
pub fn register_raw_functions(exports: Object, env: Env) -> napi::Result<()> {
    append::register(&env, &exports)
}

/// The text form of a head, "<next_offset>:<64 lowercase hex digits>".
#[napi]
pub fn head_to_text(env: Env, next_offset: BigInt, hash: Buffer) -> napi::Result<String> {
    store::head_from(&next_offset, &hash)
        .and_then(|head| head_text(&head))
        .map_err(|f| f.into_js(&env))
}

/// Parses the text form of a head (either case, whitespace around) and
/// returns it as the library writes it.
#[napi]
pub fn parse_head(env: Env, text: String) -> napi::Result<Output> {
    let result = CString::new(text)
        .map_err(|_| Failure::invalid_value("a head's text must not contain NUL bytes"))
        .and_then(|text| {
            let mut head = stratalog::stratalog_head {
                next_offset: 0,
                hash: [0; 32],
            };
            // SAFETY: `text` is NUL-terminated and `head` is writable.
            check(unsafe { stratalog::stratalog_head_parse(text.as_ptr(), &mut head) })?;
            Ok(Output::Head(head))
        });
    result.map_err(|f| f.into_js(&env))
}

/// The library's version, e.g. "0.1.0".
#[napi]
pub fn version() -> String {
    // SAFETY: stratalog_version() returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(stratalog::stratalog_version()) }
        .to_string_lossy()
        .into_owned()
}
