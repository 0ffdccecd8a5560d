//! # stratalog-ffi
//!
//! The C ABI of stratalog: `libstratalog.so`, `libstratalog.a` and the
//! generated header `include/stratalog.h`. The Python and Node bindings
//! reach it through the safe client crate `stratalog-client`.
//!
//! Conventions, for every function:
//! - Fallible functions return a [`stratalog_status`]; `STRATALOG_STATUS_OK`
//!   is 0. On failure, [`stratalog_last_error`] and
//!   [`stratalog_last_error_detail`] describe it (thread-local).
//! - Outputs are written only on success, except the verify report, which is
//!   also written on CORRUPTION and CHAIN_MISMATCH.
//! - Input pointers are borrowed for the call only.
//! - No function unwinds into C: a panic becomes `STRATALOG_STATUS_PANIC`.
//!
//! Layout: one module per C type with the functions that make or use it;
//! every raw pointer is checked and cast in `args`, every body runs under
//! the guard in `error`.
//!
//! To regenerate the header after changing this crate:
//! `STRATALOG_BLESS=1 cargo test -p stratalog-ffi --test header`.

mod append;
mod args;
mod backup_manifest;
mod consumer_cursor;
mod error;
mod events;
mod group;
mod head;
mod iter;
mod last_error;
mod options;
mod proofs;
mod retention;
mod signing_key;
mod slice;
mod stats;
mod store;
mod stream_list;
mod tier;
mod torn;
mod verify;
mod version;
mod wait;

pub use append::{
    stratalog_append_batch, stratalog_fsync, STRATALOG_FSYNC_DEFAULT, STRATALOG_FSYNC_NO,
    STRATALOG_FSYNC_YES,
};
pub use backup_manifest::{
    stratalog_backed_up_stream, stratalog_backup_manifest, stratalog_backup_manifest_free,
    stratalog_backup_manifest_get, stratalog_backup_manifest_len, stratalog_backup_manifest_read,
};
pub use consumer_cursor::{stratalog_cursor_commit, stratalog_cursor_get};
pub use error::{stratalog_error_detail, stratalog_status};
pub use events::{
    stratalog_events, stratalog_events_first_offset, stratalog_events_free, stratalog_events_get,
    stratalog_events_len, stratalog_read_from,
};
pub use group::{
    stratalog_append_batches, stratalog_batch, stratalog_batch_error, stratalog_batch_outcome,
};
pub use head::{
    stratalog_chain_head, stratalog_first_head, stratalog_head, stratalog_head_parse,
    stratalog_head_to_hex, STRATALOG_HEAD_TEXT_SIZE,
};
pub use iter::{
    stratalog_iter, stratalog_iter_extend, stratalog_iter_free, stratalog_iter_new,
    stratalog_iter_next, stratalog_iter_next_batch,
};
pub use last_error::{
    stratalog_last_error, stratalog_last_error_detail, stratalog_last_error_offsets,
    stratalog_last_error_status,
};
pub use options::{
    stratalog_compression, stratalog_compression_name, stratalog_compression_parse,
    stratalog_options, stratalog_options_default,
};
pub use proofs::{
    stratalog_checkpoint, stratalog_consistency_proof, stratalog_export_tiles,
    stratalog_inclusion_proof, stratalog_leaf_data, stratalog_proof, stratalog_proof_data,
    stratalog_proof_free, stratalog_proof_len, stratalog_receipt, stratalog_tree_root,
    stratalog_verify_checkpoint, stratalog_verify_checkpoint_for, stratalog_verify_consistency,
    stratalog_verify_inclusion, stratalog_verify_receipt, stratalog_verify_receipt_for,
    stratalog_verify_witnessed_checkpoint, stratalog_verify_witnessed_checkpoint_for,
    stratalog_witness_checkpoint, STRATALOG_LEAF_DATA_SIZE, STRATALOG_SIZE_CURRENT,
};
pub use retention::{
    stratalog_backup, stratalog_first_offset, stratalog_prune, stratalog_prune_keep_bytes,
    stratalog_prune_keep_last, stratalog_prune_keep_newer, stratalog_seek_time,
};
pub use signing_key::{
    stratalog_signing_key, stratalog_signing_key_cosigner_vkey, stratalog_signing_key_free,
    stratalog_signing_key_from_text, stratalog_signing_key_generate, stratalog_signing_key_load,
    stratalog_signing_key_save, stratalog_signing_key_to_text, stratalog_signing_key_vkey,
    stratalog_string_free,
};
pub use slice::stratalog_slice;
pub use stats::{stratalog_get_stream_stats, stratalog_stream_stats};
pub use store::{
    stratalog_close, stratalog_is_read_only, stratalog_open, stratalog_open_in_memory,
    stratalog_open_read_only, stratalog_open_read_only_with, stratalog_shutdown, stratalog_store,
    stratalog_store_options, stratalog_sync, stratalog_sync_stream,
};
pub use stream_list::{
    stratalog_stream_list, stratalog_stream_list_data, stratalog_stream_list_free,
    stratalog_stream_list_get, stratalog_stream_list_len, stratalog_streams,
};
pub use tier::{
    stratalog_get_tier_stats, stratalog_sync_tier, stratalog_tier_last_error, stratalog_tier_stats,
};
pub use torn::{stratalog_torn_tail, stratalog_torn_tails};
pub use verify::{
    stratalog_verify, stratalog_verify_against, stratalog_verify_report, STRATALOG_NO_OFFSET,
};
pub use version::{stratalog_status_str, stratalog_version, stratalog_version_number};
pub use wait::stratalog_wait;
