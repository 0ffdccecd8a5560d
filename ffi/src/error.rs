//! Status codes, the thread-local last error, and the panic guard every
//! exported function runs its body in.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use stratalog_core::Error;

/// What a fallible function returned. `STRATALOG_STATUS_OK` (0) is success;
/// everything else is a failure, described further by stratalog_last_error()
/// and stratalog_last_error_detail(). The numbers are part of the ABI: they
/// never change and are never reused.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum stratalog_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument was rejected before anything was done (bad options, a
    /// path that is not UTF-8, an index out of range, an empty batch, ...).
    InvalidArgument = 2,
    /// The operating system reported an I/O failure; see `os_error` in
    /// stratalog_error_detail for the errno.
    Io = 3,
    /// Bytes on disk are not what was written (a checksum, a marker or the
    /// structure of a record or file is wrong).
    Corruption = 4,
    /// Records are intact but do not form the hash chain, or the stream does
    /// not hold the history a given head summarizes.
    ChainMismatch = 5,
    /// The expected offset of an append did not match the stream's next
    /// offset; nothing was written. See stratalog_last_error_offsets().
    OffsetMismatch = 6,
    /// A read started past the end of the stream.
    OffsetOutOfRange = 7,
    /// An event exceeds the store's maximum event size.
    EventTooLarge = 8,
    /// Another process or another handle holds the store's write lock.
    Locked = 9,
    /// The store was opened read-only.
    ReadOnly = 10,
    /// The store was shut down (stratalog_shutdown()).
    Closed = 11,
    /// The library panicked (a bug in stratalog); the message says where.
    /// The handle is still usable.
    Panic = 12,
    /// An earlier fsync or write failed on this stream, so the state of its
    /// file is unknown; the stream refuses appends until the store is
    /// reopened.
    Poisoned = 13,
    /// The handle was opened by another process: this one is a child made
    /// by fork(), and writing through its parent's handle would fork the
    /// chain. Reads still work; closing the child's copy writes nothing and
    /// keeps the parent's lock. Open the store again in the child instead.
    Forked = 14,
    /// stratalog_wait() reached its timeout before the stream grew past the
    /// offset.
    Timeout = 15,
    /// A proof, signed note, checkpoint or receipt does not check out (the
    /// message says which part and why).
    VerificationFailed = 16,
    /// stratalog_checkpoint() (or a receipt or tiles export, which sign
    /// one) refused to sign: a smaller size than one signed before for the
    /// origin, or a tree that does not extend the one signed before (a
    /// store restored from an old backup). Signing it would fork the log.
    CheckpointRefused = 17,
    /// stratalog_witness_checkpoint(): a witness did not cosign (it could
    /// not be reached, answered with an HTTP error such as 422 for a
    /// checkpoint inconsistent with what it saw, or sent no valid
    /// cosignature); the message names it.
    WitnessFailed = 18,
    /// The offset asked for was removed by stratalog_prune(): it lies before
    /// the stream's first retained offset (in the detail's
    /// `first_offset`).
    Pruned = 19,
}

impl stratalog_status {
    pub(crate) const ALL: [stratalog_status; 20] = [
        stratalog_status::Ok,
        stratalog_status::NullArgument,
        stratalog_status::InvalidArgument,
        stratalog_status::Io,
        stratalog_status::Corruption,
        stratalog_status::ChainMismatch,
        stratalog_status::OffsetMismatch,
        stratalog_status::OffsetOutOfRange,
        stratalog_status::EventTooLarge,
        stratalog_status::Locked,
        stratalog_status::ReadOnly,
        stratalog_status::Closed,
        stratalog_status::Panic,
        stratalog_status::Poisoned,
        stratalog_status::Forked,
        stratalog_status::Timeout,
        stratalog_status::VerificationFailed,
        stratalog_status::CheckpointRefused,
        stratalog_status::WitnessFailed,
        stratalog_status::Pruned,
    ];

    /// The static NUL-terminated name, e.g. `"STRATALOG_STATUS_OK"`.
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            stratalog_status::Ok => c"STRATALOG_STATUS_OK",
            stratalog_status::NullArgument => c"STRATALOG_STATUS_NULL_ARGUMENT",
            stratalog_status::InvalidArgument => c"STRATALOG_STATUS_INVALID_ARGUMENT",
            stratalog_status::Io => c"STRATALOG_STATUS_IO",
            stratalog_status::Corruption => c"STRATALOG_STATUS_CORRUPTION",
            stratalog_status::ChainMismatch => c"STRATALOG_STATUS_CHAIN_MISMATCH",
            stratalog_status::OffsetMismatch => c"STRATALOG_STATUS_OFFSET_MISMATCH",
            stratalog_status::OffsetOutOfRange => c"STRATALOG_STATUS_OFFSET_OUT_OF_RANGE",
            stratalog_status::EventTooLarge => c"STRATALOG_STATUS_EVENT_TOO_LARGE",
            stratalog_status::Locked => c"STRATALOG_STATUS_LOCKED",
            stratalog_status::ReadOnly => c"STRATALOG_STATUS_READ_ONLY",
            stratalog_status::Closed => c"STRATALOG_STATUS_CLOSED",
            stratalog_status::Panic => c"STRATALOG_STATUS_PANIC",
            stratalog_status::Poisoned => c"STRATALOG_STATUS_POISONED",
            stratalog_status::Forked => c"STRATALOG_STATUS_FORKED",
            stratalog_status::Timeout => c"STRATALOG_STATUS_TIMEOUT",
            stratalog_status::VerificationFailed => c"STRATALOG_STATUS_VERIFICATION_FAILED",
            stratalog_status::CheckpointRefused => c"STRATALOG_STATUS_CHECKPOINT_REFUSED",
            stratalog_status::WitnessFailed => c"STRATALOG_STATUS_WITNESS_FAILED",
            stratalog_status::Pruned => c"STRATALOG_STATUS_PRUNED",
        }
    }
}

/// Structured detail of the last failure on the calling thread, filled by
/// stratalog_last_error_detail(). Fields that do not apply to `status` are 0.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_error_detail {
    /// The status the failing call returned.
    pub status: stratalog_status,
    /// STRATALOG_STATUS_IO: the errno of the failure (0 if the OS gave none).
    pub os_error: i32,
    /// CORRUPTION, CHAIN_MISMATCH, OFFSET_OUT_OF_RANGE, POISONED, TIMEOUT,
    /// PRUNED: the stream.
    pub stream: u64,
    /// CORRUPTION, CHAIN_MISMATCH: the offset where verification failed;
    /// OFFSET_OUT_OF_RANGE, PRUNED: the offset asked for; TIMEOUT: the offset
    /// waited past.
    pub offset: u64,
    /// OFFSET_MISMATCH: the offset the caller expected.
    pub expected_offset: u64,
    /// OFFSET_MISMATCH: the stream's actual next offset.
    pub actual_offset: u64,
    /// OFFSET_OUT_OF_RANGE: where the stream ends (its next offset).
    pub next_offset: u64,
    /// EVENT_TOO_LARGE: the size of the rejected event.
    pub size: u64,
    /// EVENT_TOO_LARGE: the store's maximum event size.
    pub max_size: u64,
    /// PRUNED: the stream's first retained offset.
    pub first_offset: u64,
}

impl stratalog_error_detail {
    /// A detail with every field 0 but `status` (for Rust callers).
    pub const fn new(status: stratalog_status) -> Self {
        stratalog_error_detail {
            status,
            os_error: 0,
            stream: 0,
            offset: 0,
            expected_offset: 0,
            actual_offset: 0,
            next_offset: 0,
            size: 0,
            max_size: 0,
            first_offset: 0,
        }
    }
}

/// A failure on its way to the caller: status, message and detail.
#[derive(Debug)]
pub(crate) struct Fail {
    pub detail: stratalog_error_detail,
    pub message: String,
}

impl Fail {
    pub(crate) fn new(status: stratalog_status, message: impl Into<String>) -> Self {
        Fail {
            detail: stratalog_error_detail::new(status),
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Self {
        Fail::new(
            stratalog_status::NullArgument,
            format!("{what} must not be NULL"),
        )
    }

    /// Worded as core words its own (`Error::InvalidArgument`), so a
    /// caller sees one style whichever layer refused.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into()).into()
    }

    /// The failure of one part of the arguments (`context`: "batches[3]"),
    /// said after the kind of failure, which stays first.
    pub(crate) fn within(self, context: &str) -> Self {
        let invalid = Error::InvalidArgument(String::new()).to_string();
        let message = match self.message.strip_prefix(&invalid) {
            Some(rest) => format!("{invalid}{context}: {rest}"),
            None => format!("{context}: {}", self.message),
        };
        Fail { message, ..self }
    }

    pub(crate) fn status(&self) -> stratalog_status {
        self.detail.status
    }

    /// The message as a C string (an interior NUL, which no message should
    /// hold, becomes '?').
    pub(crate) fn message_cstring(&self) -> CString {
        let bytes: Vec<u8> = self
            .message
            .bytes()
            .map(|b| if b == 0 { b'?' } else { b })
            .collect();
        CString::new(bytes).unwrap_or_default()
    }

    fn panic(payload: &(dyn Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_owned());
        Fail::new(
            stratalog_status::Panic,
            format!("stratalog panicked (this is a bug): {what}"),
        )
    }
}

impl From<Error> for Fail {
    fn from(err: Error) -> Self {
        use stratalog_status as S;
        let message = err.to_string();
        let mut d = stratalog_error_detail::new(S::InvalidArgument);
        match &err {
            Error::Io { source, .. } => {
                d.status = S::Io;
                d.os_error = os_error(source);
            }
            Error::Corruption { stream, offset, .. } => {
                d.status = S::Corruption;
                d.stream = *stream;
                d.offset = *offset;
            }
            Error::ChainMismatch { stream, offset, .. } => {
                d.status = S::ChainMismatch;
                d.stream = *stream;
                d.offset = *offset;
            }
            Error::OffsetMismatch { expected, actual } => {
                d.status = S::OffsetMismatch;
                d.expected_offset = *expected;
                d.actual_offset = *actual;
            }
            Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset,
            } => {
                d.status = S::OffsetOutOfRange;
                d.stream = *stream;
                d.offset = *offset;
                d.next_offset = *next_offset;
            }
            Error::InvalidArgument(_) => d.status = S::InvalidArgument,
            Error::EventTooLarge { size, max } => {
                d.status = S::EventTooLarge;
                d.size = *size;
                d.max_size = *max;
            }
            Error::Locked(_) => d.status = S::Locked,
            Error::ReadOnly => d.status = S::ReadOnly,
            Error::Closed => d.status = S::Closed,
            Error::Poisoned { stream, .. } => {
                d.status = S::Poisoned;
                d.stream = *stream;
            }
            Error::Forked { .. } => d.status = S::Forked,
            Error::Timeout { stream, offset } => {
                d.status = S::Timeout;
                d.stream = *stream;
                d.offset = *offset;
            }
            Error::Verification(_) => d.status = S::VerificationFailed,
            Error::CheckpointRefused { .. } => d.status = S::CheckpointRefused,
            Error::WitnessFailed { .. } => d.status = S::WitnessFailed,
            Error::Pruned {
                stream,
                offset,
                first_offset,
            } => {
                d.status = S::Pruned;
                d.stream = *stream;
                d.offset = *offset;
                d.first_offset = *first_offset;
            }
            // A variant added to the core later: the message still says
            // what happened; IO is the closest general category.
            _ => d.status = S::Io,
        }
        Fail { detail: d, message }
    }
}

/// The errno of an I/O error: the OS code when there is one, otherwise the
/// closest errno for the error's kind (0 when none fits).
fn os_error(err: &io::Error) -> i32 {
    if let Some(code) = err.raw_os_error() {
        return code;
    }
    match err.kind() {
        io::ErrorKind::NotFound => libc::ENOENT,
        io::ErrorKind::NotADirectory => libc::ENOTDIR,
        io::ErrorKind::PermissionDenied => libc::EACCES,
        io::ErrorKind::AlreadyExists => libc::EEXIST,
        io::ErrorKind::InvalidInput => libc::EINVAL,
        io::ErrorKind::WouldBlock => libc::EAGAIN,
        io::ErrorKind::Interrupted => libc::EINTR,
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData => libc::EIO,
        io::ErrorKind::OutOfMemory => libc::ENOMEM,
        _ => 0,
    }
}

struct LastError {
    detail: stratalog_error_detail,
    message: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Records `fail` as this thread's last error.
pub(crate) fn set_last_error(fail: Fail) {
    let message = fail.message_cstring();
    let entry = LastError {
        detail: fail.detail,
        message,
    };
    // During thread teardown the slot may be gone; then there is nobody left
    // to read the error anyway.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(entry);
        }
    });
}

/// Runs `f` on this thread's last error, if any.
pub(crate) fn with_last_error<R>(
    f: impl FnOnce(&stratalog_error_detail, &CString) -> R,
) -> Option<R> {
    LAST_ERROR
        .try_with(|slot| {
            let slot = slot.try_borrow().ok()?;
            slot.as_ref().map(|e| f(&e.detail, &e.message))
        })
        .ok()
        .flatten()
}

/// Runs a fallible body: catches panics, records failures, returns the status.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Fail>) -> stratalog_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => stratalog_status::Ok,
        Ok(Err(fail)) => {
            let status = fail.status();
            set_last_error(fail);
            status
        }
        Err(payload) => {
            set_last_error(Fail::panic(payload.as_ref()));
            drop_payload(payload);
            stratalog_status::Panic
        }
    }
}

/// Runs an infallible body that returns a value; a panic is recorded as the
/// last error and `fallback` returned.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(Fail::panic(payload.as_ref()));
            drop_payload(payload);
            fallback
        }
    }
}

/// Drops a panic payload; a payload whose destructor panics is leaked rather
/// than allowed to unwind into C.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
}

/// Used by stratalog_last_error() when there was no failure yet.
pub(crate) const NO_ERROR: *const c_char = c"".as_ptr();

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

    fn last() -> (stratalog_error_detail, String) {
        with_last_error(|d, m| (*d, m.to_str().unwrap().to_owned())).unwrap()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("boom at the core"));
        assert_eq!(status, stratalog_status::Panic);
        let (detail, message) = last();
        assert_eq!(detail.status, stratalog_status::Panic);
        assert!(message.contains("boom at the core"), "{message}");

        let value = guard_value(7u32, || panic!("{}", String::from("formatted")));
        assert_eq!(value, 7);
        assert!(last().1.contains("formatted"));
    }

    #[test]
    fn a_part_of_the_arguments_is_named_after_the_kind_of_failure() {
        let fail = Fail::invalid("fsync is 7").within("batches[2]");
        assert_eq!(fail.message, "invalid argument: batches[2]: fsync is 7");
        assert_eq!(fail.status(), stratalog_status::InvalidArgument);
        let fail = Fail::null("events").within("batches[0]");
        assert_eq!(fail.message, "batches[0]: events must not be NULL");
        assert_eq!(fail.status(), stratalog_status::NullArgument);
    }

    #[test]
    fn a_message_with_nul_bytes_is_kept_readable() {
        let status = guard(|| Err(Fail::invalid("a\0b")));
        assert_eq!(status, stratalog_status::InvalidArgument);
        assert_eq!(last().1, "invalid argument: a?b");
    }

    #[test]
    fn every_core_error_maps_to_its_status_and_detail() {
        use stratalog_status as S;
        let cases: Vec<(Error, S)> = vec![
            (
                Error::Io {
                    context: "x".into(),
                    source: io::Error::from_raw_os_error(libc::ENOSPC),
                },
                S::Io,
            ),
            (
                Error::Corruption {
                    stream: 3,
                    offset: 9,
                    file: PathBuf::from("f.seg"),
                    reason: "bad".into(),
                },
                S::Corruption,
            ),
            (
                Error::ChainMismatch {
                    stream: 3,
                    offset: 9,
                    reason: "bad".into(),
                },
                S::ChainMismatch,
            ),
            (
                Error::OffsetMismatch {
                    expected: 5,
                    actual: 2,
                },
                S::OffsetMismatch,
            ),
            (
                Error::OffsetOutOfRange {
                    stream: 3,
                    offset: 9,
                    next_offset: 4,
                },
                S::OffsetOutOfRange,
            ),
            (Error::InvalidArgument("no".into()), S::InvalidArgument),
            (Error::EventTooLarge { size: 10, max: 5 }, S::EventTooLarge),
            (Error::Locked(PathBuf::from("d")), S::Locked),
            (Error::ReadOnly, S::ReadOnly),
            (Error::Closed, S::Closed),
            (
                Error::Poisoned {
                    stream: 3,
                    cause: "fsync".into(),
                },
                S::Poisoned,
            ),
            (Error::Forked { opened_by: 42 }, S::Forked),
            (
                Error::Timeout {
                    stream: 3,
                    offset: 9,
                },
                S::Timeout,
            ),
            (Error::Verification("bad".into()), S::VerificationFailed),
            (
                Error::CheckpointRefused {
                    origin: "o".into(),
                    reason: "r".into(),
                },
                S::CheckpointRefused,
            ),
            (
                Error::WitnessFailed {
                    witness: "w".into(),
                    reason: "r".into(),
                },
                S::WitnessFailed,
            ),
            (
                Error::Pruned {
                    stream: 3,
                    offset: 1,
                    first_offset: 64,
                },
                S::Pruned,
            ),
        ];
        for (err, want) in cases {
            let text = err.to_string();
            let fail = Fail::from(err);
            assert_eq!(fail.status(), want, "{text}");
            assert_eq!(fail.message, text);
            let d = fail.detail;
            match want {
                S::Io => assert_eq!(d.os_error, libc::ENOSPC),
                S::Corruption | S::ChainMismatch | S::Timeout => {
                    assert_eq!((d.stream, d.offset), (3, 9))
                }
                S::OffsetMismatch => assert_eq!((d.expected_offset, d.actual_offset), (5, 2)),
                S::OffsetOutOfRange => assert_eq!((d.stream, d.offset, d.next_offset), (3, 9, 4)),
                S::EventTooLarge => assert_eq!((d.size, d.max_size), (10, 5)),
                S::Poisoned => assert_eq!(d.stream, 3),
                S::Pruned => assert_eq!((d.stream, d.offset, d.first_offset), (3, 1, 64)),
                _ => assert_eq!(d, stratalog_error_detail::new(want)),
            }
        }
    }

    #[test]
    fn io_errors_without_an_os_code_get_the_closest_errno() {
        let err = io::Error::new(io::ErrorKind::NotFound, "gone");
        assert_eq!(os_error(&err), libc::ENOENT);
        let err = io::Error::other("who knows");
        assert_eq!(os_error(&err), 0);
    }

    #[test]
    fn status_names_are_unique_and_numbers_dense() {
        for (i, s) in stratalog_status::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            let name = s.name().to_str().unwrap();
            assert!(name.starts_with("STRATALOG_STATUS_"));
            let others = stratalog_status::ALL
                .iter()
                .filter(|o| o.name() == s.name());
            assert_eq!(others.count(), 1);
        }
    }
}
