//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in a store operation.
///
/// Variants are stable: the C ABI maps each to a status code that is never
/// reused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an I/O failure.
    #[error("I/O error: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// Bytes on disk are not what was written: a checksum, a marker or the
    /// structure of a record or file is wrong.
    #[error("corruption in stream {stream} at offset {offset} ({file}): {reason}")]
    Corruption {
        stream: u64,
        offset: u64,
        file: PathBuf,
        reason: String,
    },

    /// Records are individually intact but do not form the hash chain, or the
    /// stream does not contain the history a caller-supplied head summarizes.
    #[error("chain mismatch in stream {stream} at offset {offset}: {reason}")]
    ChainMismatch {
        stream: u64,
        offset: u64,
        reason: String,
    },

    /// `expected_offset` did not match the stream's next offset; nothing was
    /// written.
    #[error("offset mismatch: expected next offset {expected}, stream is at {actual}")]
    OffsetMismatch { expected: u64, actual: u64 },

    /// A read asked for an offset past the end of the stream.
    #[error("offset {offset} is out of range: stream {stream} ends at {next_offset}")]
    OffsetOutOfRange {
        stream: u64,
        offset: u64,
        next_offset: u64,
    },

    /// An argument was rejected before anything was done.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An event exceeds the store's maximum event size.
    #[error("event of {size} bytes exceeds the maximum event size of {max} bytes")]
    EventTooLarge { size: u64, max: u64 },

    /// Another process (or another handle) holds the store's write lock.
    #[error("store {0} is locked by another writer")]
    Locked(PathBuf),

    /// The store was opened read-only.
    #[error("store is read-only")]
    ReadOnly,

    /// The store has been closed.
    #[error("store is closed")]
    Closed,

    /// An earlier fsync or write failed, so the state of the stream's file on
    /// disk is unknown; the stream refuses appends until the store is reopened.
    #[error("stream {stream} is poisoned by an earlier I/O failure ({cause}); reopen the store")]
    Poisoned { stream: u64, cause: String },

    /// The handle was opened by another process (this one is a child made
    /// by `fork()`): writing through it would fork the chain.
    #[error("this store was opened by process {opened_by}, and this process is a fork of it: writing through the parent's handle would fork the chain; open the store again in this process (after the parent closed it)")]
    Forked { opened_by: u32 },

    /// A wait ended at its deadline before the stream grew past `offset`.
    #[error("timed out waiting for stream {stream} to grow past offset {offset}")]
    Timeout { stream: u64, offset: u64 },

    /// A proof, signed note, checkpoint or receipt does not check out.
    #[error("verification failed: {0}")]
    Verification(String),

    /// Signing this checkpoint would give the origin two signed views of
    /// its log that are not consistent (a smaller size than one signed
    /// before, or a tree that does not extend the one signed before): what
    /// a store restored from an old backup would do.
    #[error("refused to sign a checkpoint for origin {origin:?}: {reason}")]
    CheckpointRefused { origin: String, reason: String },

    /// A witness did not cosign a checkpoint: unreachable, refused it
    /// (an HTTP status), or answered with no valid cosignature.
    #[error("witness {witness} did not cosign: {reason}")]
    WitnessFailed { witness: String, reason: String },

    /// The offset asked for lies before the stream's first retained
    /// offset: a prune removed it.
    #[error("offset {offset} of stream {stream} was pruned: the first retained offset is {first_offset}")]
    Pruned {
        stream: u64,
        offset: u64,
        first_offset: u64,
    },
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    /// The same error again, for each of several operations one failure
    /// ended. An `io::Error` is not `Clone`: its OS error code is kept when
    /// it has one (callers report the errno), its kind and text otherwise.
    pub(crate) fn replicate(&self) -> Self {
        match self {
            Error::Io { context, source } => Error::Io {
                context: context.clone(),
                source: match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                },
            },
            Error::Corruption {
                stream,
                offset,
                file,
                reason,
            } => Error::Corruption {
                stream: *stream,
                offset: *offset,
                file: file.clone(),
                reason: reason.clone(),
            },
            Error::ChainMismatch {
                stream,
                offset,
                reason,
            } => Error::ChainMismatch {
                stream: *stream,
                offset: *offset,
                reason: reason.clone(),
            },
            Error::OffsetMismatch { expected, actual } => Error::OffsetMismatch {
                expected: *expected,
                actual: *actual,
            },
            Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset,
            } => Error::OffsetOutOfRange {
                stream: *stream,
                offset: *offset,
                next_offset: *next_offset,
            },
            Error::InvalidArgument(msg) => Error::InvalidArgument(msg.clone()),
            Error::EventTooLarge { size, max } => Error::EventTooLarge {
                size: *size,
                max: *max,
            },
            Error::Locked(path) => Error::Locked(path.clone()),
            Error::ReadOnly => Error::ReadOnly,
            Error::Closed => Error::Closed,
            Error::Poisoned { stream, cause } => Error::Poisoned {
                stream: *stream,
                cause: cause.clone(),
            },
            Error::Forked { opened_by } => Error::Forked {
                opened_by: *opened_by,
            },
            Error::Timeout { stream, offset } => Error::Timeout {
                stream: *stream,
                offset: *offset,
            },
            Error::Verification(reason) => Error::Verification(reason.clone()),
            Error::CheckpointRefused { origin, reason } => Error::CheckpointRefused {
                origin: origin.clone(),
                reason: reason.clone(),
            },
            Error::WitnessFailed { witness, reason } => Error::WitnessFailed {
                witness: witness.clone(),
                reason: reason.clone(),
            },
            Error::Pruned {
                stream,
                offset,
                first_offset,
            } => Error::Pruned {
                stream: *stream,
                offset: *offset,
                first_offset: *first_offset,
            },
        }
    }
}

/// Attaches what was being done to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(what(), e))
    }
}
