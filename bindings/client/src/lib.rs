//! # stratalog-client
//!
//! The one place where the language bindings touch the C ABI. Every
//! `unsafe` call into `include/stratalog.h` lives in this crate, behind
//! types that own what the library hands out and free it once: [`Store`]
//! (a handle any number of threads may share), [`Events`] and [`Iter`].
//! Failures are captured as [`Error`] on the thread that made the call,
//! right after it, because the library keeps its last error per thread.
//!
//! The Python and Node native modules build on this and keep only the
//! conversion to their own values; the rules (what an fsync default means,
//! which batch a group's fsync failure fails, how a verify failure is
//! reported) are the library's, not theirs.

mod error;
mod events;
mod proofs;
mod store;
mod text;
mod tier;

pub use error::{Error, Pruned, Result};
pub use events::{Events, Iter};
pub use proofs::{
    verify_checkpoint, verify_consistency, verify_inclusion, verify_receipt,
    verify_witnessed_checkpoint, SigningKey,
};
pub use store::{Fsync, GroupBatch, Store, TornTail};
pub use stratalog::STRATALOG_HEAD_TEXT_SIZE as HEAD_TEXT_SIZE;
pub use stratalog::{
    stratalog_backed_up_stream as BackedUpStream, stratalog_compression as Compression,
    stratalog_error_detail as ErrorDetail, stratalog_head as Head, stratalog_options as Options,
    stratalog_status as Status, stratalog_stream_stats as StreamStats,
    stratalog_verify_report as VerifyReport,
};
pub use text::{compression_name, head_text, parse_compression, parse_head, status_name, version};
pub use tier::{Tier, TierStats};

/// The head of a stream with no events: offset 0 and 32 zero bytes.
pub const EMPTY_HEAD: Head = Head {
    next_offset: 0,
    hash: [0; 32],
};
