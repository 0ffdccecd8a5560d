//! Plain C structs passed by value or through caller-owned memory.

use std::ptr;

use stratalog_core::{ChainHead, Compression, Options, VerifyReport};

use crate::error::Fail;

/// Pass as `expected_offset` to stratalog_append_batch() to append whatever
/// the stream's next offset is.
pub const STRATALOG_ANY_OFFSET: u64 = u64::MAX;

/// `failed_offset` of a stratalog_verify_report when verification succeeded.
pub const STRATALOG_NO_OFFSET: u64 = u64::MAX;

/// Bytes stratalog_head_to_hex() needs, NUL included: up to 20 digits of
/// next_offset, ':', 64 hex digits, NUL.
pub const STRATALOG_HEAD_TEXT_SIZE: usize = 86;

/// Compression of new records. A payload is stored compressed only when that
/// makes it smaller; the chain hash always covers the raw bytes, so it does
/// not depend on this setting.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum stratalog_compression {
    /// Store payloads as they are.
    None = 0,
    /// LZ4 block compression.
    Lz4 = 1,
    /// Zstandard.
    Zstd = 2,
}

/// How a store is configured. Initialize with stratalog_options_default() and
/// then change the fields you care about; the library only reads it during
/// the call it is passed to.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_options {
    /// A segment file is rotated before a batch would grow it past this many
    /// bytes (at least 4096). Default 64 MiB.
    pub segment_size: u64,
    /// A checkpoint record is written before every event whose offset is a
    /// non-zero multiple of this (at least 1); it bounds the work of a random
    /// read. Default 256. Recorded in each new segment's header.
    pub checkpoint_interval: u64,
    /// Compression of new records. Default STRATALOG_COMPRESSION_NONE.
    pub compression: stratalog_compression,
    /// Largest event accepted by appends, between 1 and 4294967287. Default
    /// 16 MiB. Recorded in each new segment's header; reads follow the limit
    /// each segment records, never this one.
    pub max_event_size: u64,
    /// The store's default durability, for callers (bindings) that append
    /// without saying. stratalog_append_batch() always takes an explicit
    /// fsync argument. Default false.
    pub fsync: bool,
}

impl stratalog_options {
    pub(crate) fn from_core(o: &Options) -> Self {
        stratalog_options {
            segment_size: o.segment_size,
            checkpoint_interval: o.checkpoint_interval,
            compression: match o.compression {
                Compression::Lz4 => stratalog_compression::Lz4,
                Compression::Zstd => stratalog_compression::Zstd,
                Compression::None => stratalog_compression::None,
            },
            max_event_size: o.max_event_size,
            fsync: o.fsync,
        }
    }
}

/// Reads options from C memory (NULL means the defaults). Fields are read
/// one by one as plain integers, so a compression value or a bool outside
/// the valid range is an error rather than undefined behaviour.
///
/// # Safety
/// `opts` is NULL or points to a readable `stratalog_options`.
pub(crate) unsafe fn read_options(opts: *const stratalog_options) -> Result<Options, Fail> {
    if opts.is_null() {
        return Ok(Options::default());
    }
    // SAFETY: the caller guarantees `opts` points to a readable struct; each
    // field is read as an integer type for which every bit pattern is valid.
    let (segment_size, checkpoint_interval, compression, max_event_size, fsync) = unsafe {
        (
            ptr::addr_of!((*opts).segment_size).read(),
            ptr::addr_of!((*opts).checkpoint_interval).read(),
            ptr::addr_of!((*opts).compression).cast::<u32>().read(),
            ptr::addr_of!((*opts).max_event_size).read(),
            ptr::addr_of!((*opts).fsync).cast::<u8>().read(),
        )
    };
    let compression = match compression {
        0 => Compression::None,
        1 => Compression::Lz4,
        2 => Compression::Zstd,
        other => {
            return Err(Fail::invalid(format!(
                "options.compression must be STRATALOG_COMPRESSION_NONE, _LZ4 or _ZSTD, got {other}"
            )))
        }
    };
    Ok(Options {
        segment_size,
        checkpoint_interval,
        compression,
        fsync: fsync != 0,
        max_event_size,
    })
}

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

/// A stream's chain head: how many events it holds and the chain hash of the
/// last one (32 zero bytes for an empty stream). Keep a head where the
/// store's owner cannot rewrite it; stratalog_verify_against() later proves
/// the stream still holds that history. Text form: stratalog_head_to_hex().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_head {
    /// Number of events; the offset the next event will get.
    pub next_offset: u64,
    /// SHA-256 chain hash of event next_offset - 1.
    pub hash: [u8; 32],
}

impl From<ChainHead> for stratalog_head {
    fn from(h: ChainHead) -> Self {
        stratalog_head {
            next_offset: h.next_offset,
            hash: h.hash,
        }
    }
}

impl From<stratalog_head> for ChainHead {
    fn from(h: stratalog_head) -> Self {
        ChainHead {
            next_offset: h.next_offset,
            hash: h.hash,
        }
    }
}

/// What stratalog_verify() and stratalog_verify_against() checked.
///
/// On success every field is filled and failed_offset is STRATALOG_NO_OFFSET.
/// On STRATALOG_STATUS_CORRUPTION or STRATALOG_STATUS_CHAIN_MISMATCH the
/// report is written too: failed_offset is the offset where verification
/// failed and every other field is 0. On any other status it is not written.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_verify_report {
    /// Events checked (CRC, offset, chain link).
    pub events: u64,
    /// Raw payload bytes hashed.
    pub bytes: u64,
    /// Checkpoint records checked against the chain.
    pub checkpoints: u64,
    /// Segment files read.
    pub segments: u64,
    /// The head the stored chain leads to.
    pub head: stratalog_head,
    /// STRATALOG_NO_OFFSET on success; on CORRUPTION or CHAIN_MISMATCH the
    /// offset where verification failed.
    pub failed_offset: u64,
}

impl From<VerifyReport> for stratalog_verify_report {
    fn from(r: VerifyReport) -> Self {
        stratalog_verify_report {
            events: r.events,
            bytes: r.bytes,
            checkpoints: r.checkpoints,
            segments: r.segments,
            head: r.head.into(),
            failed_offset: STRATALOG_NO_OFFSET,
        }
    }
}

impl stratalog_verify_report {
    pub(crate) fn failed_at(offset: u64) -> Self {
        stratalog_verify_report {
            events: 0,
            bytes: 0,
            checkpoints: 0,
            segments: 0,
            head: stratalog_head {
                next_offset: 0,
                hash: [0; 32],
            },
            failed_offset: offset,
        }
    }
}
