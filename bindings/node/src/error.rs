//! Failures, and how they become JavaScript errors.
//!
//! A stratalog call that fails leaves its message and detail in thread-local
//! storage of the thread that made the call. [`Failure::last`] copies them out
//! right after the call, on that thread (a libuv worker for async calls), and
//! the copy travels to the JS thread, where [`Failure::into_js`] builds the
//! `Error` object: `err.code` is `STRATALOG_<STATUS>`, `err.message` the
//! library's message, plus the structured detail that applies.

use std::ffi::CStr;

use napi::bindgen_prelude::{JsObjectValue, JsValue, Object, ToNapiValue};
use napi::{Env, JsError, JsRangeError, JsTypeError};
use stratalog::{stratalog_batch_outcome, stratalog_error_detail, stratalog_status};

use crate::value::U64;

/// What went wrong, in a form that can cross threads.
#[derive(Debug, Clone)]
pub enum Failure {
    /// A stratalog call returned `status`; `message` and `detail` are what
    /// the library recorded for it on the calling thread.
    Library {
        status: stratalog_status,
        message: String,
        detail: Option<stratalog_error_detail>,
    },
    /// The store (or iterator) was closed by this binding before the call.
    Closed,
    /// An argument has the wrong type (`TypeError`).
    Type { code: &'static str, message: String },
    /// An argument is out of range (`RangeError`).
    Range(String),
}

impl Failure {
    /// The last failure of the calling thread. Call it on the thread that
    /// made the failing call, before any other stratalog call.
    pub(crate) fn last(status: stratalog_status) -> Self {
        // SAFETY: stratalog_last_error() returns a NUL-terminated string owned
        // by the library, valid until the next failing call on this thread;
        // it is copied before anything else runs here.
        let message = unsafe {
            let text = stratalog::stratalog_last_error();
            if text.is_null() {
                String::new()
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            }
        };
        let mut detail = empty_detail(status);
        // SAFETY: `detail` is a valid, writable stratalog_error_detail.
        let found = unsafe { stratalog::stratalog_last_error_detail(&mut detail) };
        Failure::Library {
            status,
            message,
            detail: (found && detail.status == status).then_some(detail),
        }
    }

    /// The failure of batch `index` of the group the calling thread just
    /// appended with stratalog_append_batches(). Call it on that thread
    /// before its next group.
    pub(crate) fn of_batch(index: usize, outcome: &stratalog_batch_outcome) -> Self {
        // SAFETY: stratalog_batch_error() returns a NUL-terminated string
        // owned by the library, valid until the next group on this thread;
        // it is copied at once.
        let message = unsafe {
            CStr::from_ptr(stratalog::stratalog_batch_error(index))
                .to_string_lossy()
                .into_owned()
        };
        Failure::Library {
            status: outcome.status,
            message,
            detail: Some(outcome.detail),
        }
    }

    pub(crate) fn invalid_value(message: impl Into<String>) -> Self {
        Failure::Type {
            code: "ERR_INVALID_ARG_VALUE",
            message: message.into(),
        }
    }

    pub(crate) fn range(message: impl Into<String>) -> Self {
        Failure::Range(message.into())
    }

    /// The JavaScript error for this failure, to be thrown or to reject a
    /// promise with. Runs on the JS thread.
    pub(crate) fn into_js(self, env: &Env) -> napi::Error {
        match build(self, env) {
            Ok(error) => error,
            Err(error) => error,
        }
    }
}

/// Turns a stratalog status into `Ok` or the calling thread's last failure.
pub(crate) fn check(status: stratalog_status) -> Result<(), Failure> {
    if status == stratalog_status::Ok {
        Ok(())
    } else {
        Err(Failure::last(status))
    }
}

pub(crate) fn empty_detail(status: stratalog_status) -> stratalog_error_detail {
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
    }
}

/// `STRATALOG_STATUS_OFFSET_MISMATCH` becomes `STRATALOG_OFFSET_MISMATCH`.
fn code_of(status: stratalog_status) -> String {
    // SAFETY: stratalog_status_str() returns a static NUL-terminated string,
    // never NULL.
    let name = unsafe { CStr::from_ptr(stratalog::stratalog_status_str(status as i32)) };
    let name = name.to_string_lossy();
    match name.strip_prefix("STRATALOG_STATUS_") {
        Some(rest) => format!("STRATALOG_{rest}"),
        None => name.into_owned(),
    }
}

fn build(failure: Failure, env: &Env) -> Result<napi::Error, napi::Error> {
    match failure {
        Failure::Library {
            status,
            message,
            detail,
        } => library_error(env, status, message, detail),
        Failure::Closed => library_error(
            env,
            stratalog_status::Closed,
            "the store is closed".to_owned(),
            None,
        ),
        Failure::Type { code, message } => {
            let error = JsTypeError::from(napi::Error::new(code, message));
            Ok(napi::Error::from(error.into_unknown(*env)))
        }
        Failure::Range(message) => {
            let error = JsRangeError::from(napi::Error::new("ERR_OUT_OF_RANGE", message));
            Ok(napi::Error::from(error.into_unknown(*env)))
        }
    }
}

fn library_error(
    env: &Env,
    status: stratalog_status,
    message: String,
    detail: Option<stratalog_error_detail>,
) -> Result<napi::Error, napi::Error> {
    let error = JsError::from(napi::Error::new(code_of(status), message)).into_unknown(*env);
    let mut object = error.coerce_to_object()?;
    object.set_named_property("status", status as i32)?;
    if let Some(d) = detail {
        set_detail(&mut object, status, &d)?;
    }
    Ok(napi::Error::from(object.to_unknown()))
}

fn set<V: ToNapiValue>(object: &mut Object<'_>, name: &str, value: V) -> napi::Result<()> {
    object.set_named_property(name, value)
}

/// The fields of the detail that apply to `status` (see stratalog.h).
fn set_detail(
    object: &mut Object<'_>,
    status: stratalog_status,
    d: &stratalog_error_detail,
) -> napi::Result<()> {
    use stratalog_status as S;
    match status {
        S::Io => set(object, "osError", d.os_error),
        S::Corruption | S::ChainMismatch => {
            set(object, "stream", U64(d.stream))?;
            set(object, "offset", U64(d.offset))
        }
        S::OffsetMismatch => {
            set(object, "expectedOffset", U64(d.expected_offset))?;
            set(object, "actualOffset", U64(d.actual_offset))
        }
        S::OffsetOutOfRange => {
            set(object, "stream", U64(d.stream))?;
            set(object, "offset", U64(d.offset))?;
            set(object, "nextOffset", U64(d.next_offset))
        }
        S::EventTooLarge => {
            set(object, "size", U64(d.size))?;
            set(object, "maxSize", U64(d.max_size))
        }
        S::Poisoned => set(object, "stream", U64(d.stream)),
        _ => Ok(()),
    }
}
