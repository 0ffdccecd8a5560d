//! # stratalog-core
//!
//! An embeddable, append-only, tamper-evident event log. A [`Store`] is a
//! directory of streams; each stream is a sequence of events whose n-th
//! event has offset n. Every record carries CRC32 checksums and the SHA-256
//! chain hash before it:
//!
//! ```text
//! h(-1) = 32 zero bytes
//! h(n)  = SHA-256(h(n-1) || u64_le(n) || payload(n))
//! ```
//!
//! so any edit, deletion, reordering or insertion is found by
//! [`Store::verify`], and truncation or rollback by [`Store::verify_against`]
//! a [`ChainHead`] kept elsewhere. The on-disk format is specified in
//! `docs/FORMAT.md`.
//!
//! ```
//! use stratalog_core::{Options, Store};
//!
//! let store = Store::open_in_memory(Options::default())?;
//! let head = store.append_batch(7, &[b"alpha".as_slice(), b"beta"], None, false)?;
//! assert_eq!(head.next_offset, 2);
//! assert_eq!(store.read_from(7, 0, 1 << 20)?, vec![&b"alpha"[..], &b"beta"[..]]);
//! store.verify_against(7, &head)?;
//! # Ok::<(), stratalog_core::Error>(())
//! ```
//!
//! Layers call downwards only: [`Store`] -> stream -> segment -> record ->
//! [`io`].

mod backup_manifest;
mod codec;
mod consumer_cursor;
mod error;
mod fork;
mod hash;
pub mod io;
mod layout;
mod marker;
pub mod merkle;
mod note;
mod offline;
mod options;
mod prune_anchor;
mod record;
mod segment;
mod signed_record;
mod store;
mod stream;
mod stream_table;
mod threads;
pub mod tier;
mod tiles;
mod tree;
mod witness;
mod writer_lock;

pub use backup_manifest::{BackedUpStream, BackupManifest};
pub use bytes::Bytes;
pub use consumer_cursor::MAX_CURSOR_NAME;
pub use error::{Error, Result};
pub use hash::{chain_step, from_hex, to_hex, ChainHead, Hash, GENESIS_HASH};
pub use note::checkpoint::Checkpoint;
pub use note::key::{SigningKey, VerifierKey};
pub use note::receipt::RECEIPT_HEADER;
pub use offline::{
    verify_checkpoint, verify_consistency, verify_inclusion, verify_receipt,
    verify_witnessed_checkpoint,
};
pub use options::{Compression, Options, MAX_EVENT_SIZE_LIMIT, MIN_OPEN_FILES};
pub use store::{Retention, Store};
pub use stream::{Batch, EventIter, StreamStats, TornTail, VerifyReport};
pub use tier::{Tier, TierConfig, TierStats};
pub use witness::Witness;

/// Format constants a verifier outside this crate needs (see docs/FORMAT.md).
pub mod format {
    pub use crate::record::{HEADER_LEN as RECORD_HEADER_LEN, OVERHEAD as RECORD_OVERHEAD};
    pub use crate::segment::{FORMAT_VERSION, HEADER_LEN as SEGMENT_HEADER_LEN};
}

/// The README's Rust examples, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
