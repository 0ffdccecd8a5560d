//! Failures, and how they become JavaScript errors.
//!
//! A library failure arrives as a [`stratalog_client::Error`], captured on
//! the thread that made the call (a libuv worker for async calls); on the
//! JS thread [`Failure::into_js`] builds the `Error` object: `err.code` is
//! `STRATALOG_<STATUS>`, `err.message` the library's message, plus the
//! structured detail that applies.

use napi::bindgen_prelude::{JsObjectValue, JsValue, Object, ToNapiValue};
use napi::{Env, JsError, JsRangeError, JsTypeError};
use stratalog_client::{Error, ErrorDetail, Status};

use crate::number::U64;

/// What went wrong, in a form that can cross threads.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The library said no.
    Library(Error),
    /// An argument has the wrong type (`TypeError`).
    Type { code: &'static str, message: String },
    /// An argument is out of range (`RangeError`).
    Range(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Library(error)
    }
}

impl Failure {
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

/// `STRATALOG_STATUS_OFFSET_MISMATCH` becomes `STRATALOG_OFFSET_MISMATCH`.
fn code_of(error: &Error) -> String {
    let name = error.code();
    match name.strip_prefix("STRATALOG_STATUS_") {
        Some(rest) => format!("STRATALOG_{rest}"),
        None => name.to_owned(),
    }
}

fn build(failure: Failure, env: &Env) -> Result<napi::Error, napi::Error> {
    match failure {
        Failure::Library(error) => library_error(env, error),
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

fn library_error(env: &Env, error: Error) -> Result<napi::Error, napi::Error> {
    let code = code_of(&error);
    let js = JsError::from(napi::Error::new(code, error.message)).into_unknown(*env);
    let mut object = js.coerce_to_object()?;
    object.set_named_property("status", error.status as i32)?;
    set_detail(&mut object, error.status, &error.detail)?;
    Ok(napi::Error::from(object.to_unknown()))
}

fn set<V: ToNapiValue>(object: &mut Object<'_>, name: &str, value: V) -> napi::Result<()> {
    object.set_named_property(name, value)
}

/// The fields of the detail that apply to `status` (see stratalog.h).
fn set_detail(object: &mut Object<'_>, status: Status, d: &ErrorDetail) -> napi::Result<()> {
    if d.status != status {
        // A failure found by the binding or client, with no detail.
        return Ok(());
    }
    match status {
        Status::Io => set(object, "osError", d.os_error),
        Status::Corruption | Status::ChainMismatch | Status::Timeout => {
            set(object, "stream", U64(d.stream))?;
            set(object, "offset", U64(d.offset))
        }
        Status::OffsetMismatch => {
            set(object, "expectedOffset", U64(d.expected_offset))?;
            set(object, "actualOffset", U64(d.actual_offset))
        }
        Status::OffsetOutOfRange => {
            set(object, "stream", U64(d.stream))?;
            set(object, "offset", U64(d.offset))?;
            set(object, "nextOffset", U64(d.next_offset))
        }
        Status::EventTooLarge => {
            set(object, "size", U64(d.size))?;
            set(object, "maxSize", U64(d.max_size))
        }
        Status::Poisoned => set(object, "stream", U64(d.stream)),
        Status::Pruned => {
            set(object, "stream", U64(d.stream))?;
            set(object, "offset", U64(d.offset))?;
            set(object, "firstOffset", U64(d.first_offset))
        }
        _ => Ok(()),
    }
}
