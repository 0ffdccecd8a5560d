//! # stratalog-node
//!
//! The native half of the `stratalog` npm package: a thin napi-rs addon
//! over `stratalog-client`, the safe face of the C ABI (include/stratalog.h)
//! that the Python binding shares. It never touches `stratalog-core`, and
//! its own `unsafe` is only what Node-API requires.
//!
//! Modules form a stack, each using only those above it:
//! `number` (u64 as a JS number or bigint), `error` (failures as JS
//! errors), `value` (arguments, chunks, heads), `waiters` (threads for
//! waits, which must not hold the libuv pool), `job` (work on the libuv
//! pool or a waiter thread, and its results), `napi_args` (raw Node-API calls), `iter`,
//! `append`, `store`, `proofs` (keys, roots, proofs, checkpoints,
//! receipts, tiles and their checks).
//!
//! - Appends enter through `appendEvents` (append.rs), a raw Node-API
//!   function that takes the events as call arguments; appends queued
//!   behind one in flight to the same stream go to the library as one
//!   ordered group (`appendGroup`).
//! - Every call that can touch the disk is a [`job::Job`] on the libuv pool
//!   and returns a Promise; the library's thread-local error is captured on
//!   the pool thread right after the failing call.
//! - Reads copy each event once, from library memory into one contiguous
//!   Buffer per chunk; the JS layer slices it into per-event views.
//!
//! Argument validation, the public `Store`/`ChainHead` classes, async
//! iteration and the TypeScript types live in the JS files and index.d.ts.

mod append;
mod error;
mod iter;
mod job;
mod napi_args;
mod number;
mod proofs;
mod store;
mod value;
mod waiters;

use napi::bindgen_prelude::{BigInt, Buffer, Object};
use napi::Env;
use napi_derive::napi;
use stratalog_client as client;

use crate::error::Failure;
use crate::job::Output;
use crate::value::head_string;

pub use crate::iter::NativeIter;
pub use crate::job::Job;
pub use crate::proofs::{
    verify_checkpoint, verify_consistency, verify_inclusion, verify_receipt,
    verify_witnessed_checkpoint, CheckedCheckpoint, NativeSigningKey,
};
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
        .map(|head| head_string(&head))
        .map_err(|f| f.into_js(&env))
}

/// Parses the text form of a head (either case, whitespace around) and
/// returns it as the library writes it.
#[napi]
pub fn parse_head(env: Env, text: String) -> napi::Result<Output> {
    client::parse_head(&text)
        .map(Output::Head)
        .map_err(|e| Failure::from(e).into_js(&env))
}

/// The library's version, e.g. "0.2.0".
#[napi]
pub fn version() -> &'static str {
    client::version()
}
