//! Failures as values: status, message and structured detail, captured
//! before any other call on the thread can replace them.

use std::ffi::CStr;
use std::fmt;

use stratalog::{stratalog_batch_outcome, stratalog_error_detail, stratalog_status};

/// A failed call: what the library (or the binding, before calling it)
/// said went wrong.
#[derive(Debug, Clone)]
pub struct Error {
    pub status: stratalog_status,
    pub message: String,
    /// Fields that do not apply to `status` are 0.
    pub detail: stratalog_error_detail,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failure found before calling the library (a bad argument in the
    /// caller's language).
    pub fn new(status: stratalog_status, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
            detail: empty_detail(status),
        }
    }

    /// An argument refused before the call, worded as the library words
    /// its own ("invalid argument: ...").
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(
            stratalog_status::InvalidArgument,
            format!("invalid argument: {}", message.into()),
        )
    }

    /// The name of the status, e.g. "STRATALOG_STATUS_OFFSET_MISMATCH":
    /// what `err.code` says in Node and `exc.code` in Python.
    pub fn code(&self) -> &'static str {
        crate::text::status_name(self.status as i32)
    }

    /// What the library recorded about the call that just returned
    /// `status` on this thread.
    pub(crate) fn last(status: stratalog_status) -> Self {
        // SAFETY: never NULL, NUL-terminated, valid until the next failing
        // call on this thread; copied before any other call.
        let message = unsafe { CStr::from_ptr(stratalog::stratalog_last_error()) }
            .to_string_lossy()
            .into_owned();
        let mut detail = empty_detail(status);
        // SAFETY: `detail` is writable.
        let filled = unsafe { stratalog::stratalog_last_error_detail(&mut detail) };
        if !filled || detail.status != status {
            detail = empty_detail(status);
        }
        Error {
            status,
            message,
            detail,
        }
    }

    /// The failure of batch `index` of the group that just ran on this
    /// thread.
    pub(crate) fn of_batch(index: usize, outcome: &stratalog_batch_outcome) -> Self {
        // SAFETY: never NULL; valid until the next group on this thread,
        // and copied at once.
        let message = unsafe { CStr::from_ptr(stratalog::stratalog_batch_error(index)) }
            .to_string_lossy()
            .into_owned();
        Error {
            status: outcome.status,
            message,
            detail: outcome.detail,
        }
    }
}

/// What a PRUNED failure says: the read asked for `offset` of `stream`,
/// which now starts at `first_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub stream: u64,
    pub offset: u64,
    pub first_offset: u64,
}

impl Error {
    /// The detail of a PRUNED failure; `None` for any other status.
    pub fn pruned(&self) -> Option<Pruned> {
        (self.status == stratalog_status::Pruned).then_some(Pruned {
            stream: self.detail.stream,
            offset: self.detail.offset,
            first_offset: self.detail.first_offset,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for STRATALOG_STATUS_OK, the thread's last error otherwise.
pub(crate) fn check(status: stratalog_status) -> Result<()> {
    if status == stratalog_status::Ok {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

pub(crate) const fn empty_detail(status: stratalog_status) -> stratalog_error_detail {
    stratalog_error_detail::new(status)
}
