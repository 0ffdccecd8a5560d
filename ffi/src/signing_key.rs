//! stratalog_signing_key: an Ed25519 key that signs checkpoints, and the
//! strings the library hands out (stratalog_string_free()).

use std::ffi::{c_char, CString};

use stratalog_core::SigningKey;

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};

/// An Ed25519 signing key with its name (C2SP signed-note). Opaque; free it
/// with stratalog_signing_key_free(). The library never prints its key
/// material.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct stratalog_signing_key {
    pub(crate) key: SigningKey,
}

/// The key behind a handle.
///
/// # Safety
/// `key` is NULL or a live handle.
pub(crate) unsafe fn key<'a>(key: *const stratalog_signing_key) -> Result<&'a SigningKey, Fail> {
    // SAFETY: per the contract.
    Ok(&unsafe { args::object(key, "key")? }.key)
}

/// Hands `text` to the caller as a new NUL-terminated string (free with
/// stratalog_string_free()).
pub(crate) fn hand_out_text(out: args::Out<*mut c_char>, text: &str) -> Result<(), Fail> {
    let text = CString::new(text).map_err(|_| Fail::invalid("text holds a NUL character"))?;
    out.write(text.into_raw());
    Ok(())
}

/// A new key named `name` (e.g. "example.com/audit-log": no spaces, no
/// '+') from the operating system's random source, into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (a bad name), IO (no randomness).
///
/// # Safety
/// `name` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_generate(
    name: *const c_char,
    out: *mut *mut stratalog_signing_key,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (name, out) = unsafe { (args::text(name, "name")?, args::out(out, "out")?) };
        let key = SigningKey::generate(name)?;
        args::hand_out(out, stratalog_signing_key { key });
        Ok(())
    })
}

/// The key that the private key text `text`
/// ("PRIVATE+KEY+<name>+<hex id>+<base64>") holds, into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (not such a text, or its ID does
/// not match its key).
///
/// # Safety
/// `text` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_from_text(
    text: *const c_char,
    out: *mut *mut stratalog_signing_key,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (text, out) = unsafe { (args::text(text, "text")?, args::out(out, "out")?) };
        let key = SigningKey::from_text(text)?;
        args::hand_out(out, stratalog_signing_key { key });
        Ok(())
    })
}

/// The key in the key file at `path` (the private key text), into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT, IO.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_load(
    path: *const c_char,
    out: *mut *mut stratalog_signing_key,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (path, out) = unsafe { (args::path(path)?, args::out(out, "out")?) };
        let key = SigningKey::from_file(path)?;
        args::hand_out(out, stratalog_signing_key { key });
        Ok(())
    })
}

/// Writes the key to a new key file at `path`, readable by its owner only
/// (mode 0600), durably. An existing file is never overwritten (IO, EEXIST).
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT, IO.
///
/// # Safety
/// `key` is NULL or a live handle; `path` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_save(
    key: *const stratalog_signing_key,
    path: *const c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (key, path) = unsafe { (self::key(key)?, args::path(path)?) };
        key.save(path)?;
        Ok(())
    })
}

/// The verifier key text ("<name>+<hex id>+<base64>") that checks this
/// key's signatures: give it to whoever verifies. `*out` receives a new
/// string (free with stratalog_string_free()).
///
/// Errors: NULL_ARGUMENT.
///
/// # Safety
/// `key` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_vkey(
    key: *const stratalog_signing_key,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (key, out) = unsafe { (self::key(key)?, args::out(out, "out")?) };
        hand_out_text(out, &key.vkey())
    })
}

/// The verifier key of this key as a witness's cosigner (signature type
/// 0x04, C2SP tlog-cosignature), for a witness that runs with it.
/// `*out` receives a new string (free with stratalog_string_free()).
///
/// Errors: NULL_ARGUMENT.
///
/// # Safety
/// `key` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_cosigner_vkey(
    key: *const stratalog_signing_key,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (key, out) = unsafe { (self::key(key)?, args::out(out, "out")?) };
        hand_out_text(out, &key.cosigner().to_string())
    })
}

/// The private key text ("PRIVATE+KEY+..."), the key file's contents.
/// `*out` receives a new string (free with stratalog_string_free(), after
/// wiping it if it matters). Keep it secret.
///
/// Errors: NULL_ARGUMENT.
///
/// # Safety
/// `key` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_to_text(
    key: *const stratalog_signing_key,
    out: *mut *mut c_char,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let (key, out) = unsafe { (self::key(key)?, args::out(out, "out")?) };
        hand_out_text(out, &key.to_text())
    })
}

/// Frees a key. NULL is a no-op.
///
/// # Safety
/// `key` is NULL or a live handle; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn stratalog_signing_key_free(key: *mut stratalog_signing_key) {
    // SAFETY: a live handle from this library, freed once.
    guard_value((), || drop(unsafe { args::take(key) }))
}

/// Frees a string the library handed out. NULL is a no-op.
///
/// # Safety
/// `text` is NULL or a string from this library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn stratalog_string_free(text: *mut c_char) {
    guard_value((), || {
        if !text.is_null() {
            // SAFETY: a CString this library handed out with into_raw.
            drop(unsafe { CString::from_raw(text) });
        }
    })
}
