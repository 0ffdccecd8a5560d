//! Every raw pointer from C passes through here: each NULL check, each read
//! of caller memory, each write to an output and each cast between an
//! opaque handle and its Box. The `unsafe` functions state the contract the
//! exported function's caller promised; everything they return is safe to
//! use.

use std::ffi::{c_char, CStr};
use std::mem::size_of;
use std::ptr::NonNull;
use std::slice;

use crate::error::Fail;

/// An output pointer that was checked non-NULL. Writing to it is safe: the
/// `unsafe` of [`out`] is where the caller's promise was taken.
#[derive(Debug)]
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL, and writable per the contract accepted in `out`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An output pointer that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points to writable memory for one `T`, for as long as
/// the returned value lives.
pub(crate) unsafe fn out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Fail> {
    NonNull::new(ptr).map(Out).ok_or_else(|| Fail::null(name))
}

/// An output pointer the caller may leave NULL.
///
/// # Safety
/// As [`out`].
pub(crate) unsafe fn optional_out<T>(ptr: *mut T) -> Option<Out<T>> {
    NonNull::new(ptr).map(Out)
}

/// An output array of `count` values.
#[derive(Debug)]
pub(crate) struct OutArray<T> {
    first: NonNull<T>,
    count: usize,
}

impl<T> OutArray<T> {
    /// Writes element `i`; an index past the end is ignored (never written).
    pub(crate) fn write(&self, i: usize, value: T) {
        if i < self.count {
            // SAFETY: `i < count`, and the array is writable per the
            // contract accepted in `out_array`.
            unsafe { self.first.as_ptr().add(i).write(value) }
        }
    }
}

/// `count` writable values at `ptr` (NULL only when `count` is 0).
///
/// # Safety
/// When `count > 0`, `ptr` is NULL or points to `count` writable `T`.
pub(crate) unsafe fn out_array<T>(
    ptr: *mut T,
    count: usize,
    name: &str,
) -> Result<OutArray<T>, Fail> {
    check_count::<T>(count)?;
    match NonNull::new(ptr) {
        Some(first) => Ok(OutArray { first, count }),
        None if count == 0 => Ok(OutArray {
            first: NonNull::dangling(),
            count,
        }),
        None => Err(Fail::null(name)),
    }
}

/// Reads a plain value (a struct of integers and arrays, for which every
/// bit pattern is valid) that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points to a readable `T`, and every bit pattern is a
/// valid `T`.
pub(crate) unsafe fn value<T: Copy>(ptr: *const T, name: &str) -> Result<T, Fail> {
    // SAFETY: per the contract.
    unsafe { optional(ptr) }.ok_or_else(|| Fail::null(name))
}

/// Reads a plain value the caller may leave NULL (meaning "none").
///
/// # Safety
/// As [`value`].
pub(crate) unsafe fn optional<T: Copy>(ptr: *const T) -> Option<T> {
    // SAFETY: per the contract, NULL or readable.
    unsafe { ptr.as_ref() }.copied()
}

/// Reads one field of a C struct as the integer type it is stored as, so a
/// value outside an enum's range is an error rather than undefined
/// behaviour.
///
/// # Safety
/// `field` points into a readable struct, at an initialized `T`.
pub(crate) unsafe fn field<T: Copy>(field: *const T) -> T {
    // SAFETY: per the contract.
    unsafe { field.read() }
}

/// The object behind an opaque handle the library handed out.
///
/// # Safety
/// `ptr` is NULL or a live handle from [`hand_out`] not being freed.
pub(crate) unsafe fn object<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Fail> {
    // SAFETY: per the contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Fail::null(name))
}

/// The object behind an opaque handle, or `None` for NULL.
///
/// # Safety
/// As [`object`].
pub(crate) unsafe fn optional_object<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: per the contract.
    unsafe { ptr.as_ref() }
}

/// The object behind an opaque handle, for a call that changes it.
///
/// # Safety
/// As [`object`], and no other reference to the object exists during the
/// call (the handle is used by one thread at a time).
pub(crate) unsafe fn object_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: per the contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Fail::null(name))
}

/// Gives the caller a new opaque handle owning `value`.
pub(crate) fn hand_out<T>(out: Out<*mut T>, value: T) {
    out.write(Box::into_raw(Box::new(value)));
}

/// Takes back and drops a handle from [`hand_out`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or a live handle from [`hand_out`], freed only once and
/// not in use by any other thread.
pub(crate) unsafe fn take<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: per the contract, the Box this pointer came from.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}

/// A NUL-terminated UTF-8 string that must not be NULL.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated string that stays
/// unchanged for `'a`.
pub(crate) unsafe fn text<'a>(text: *const c_char, name: &str) -> Result<&'a str, Fail> {
    if text.is_null() {
        return Err(Fail::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|_| Fail::invalid(format!("{name} is not valid UTF-8")))
}

/// A NUL-terminated UTF-8 path, not empty.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn path<'a>(path: *const c_char) -> Result<&'a str, Fail> {
    // SAFETY: per the contract.
    let text = unsafe { text(path, "path")? };
    if text.is_empty() {
        return Err(Fail::invalid("path is empty"));
    }
    Ok(text)
}

/// Copies `text` and a NUL into the caller's buffer of `len` bytes; a
/// buffer too small is an error and is left unwritten.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
pub(crate) unsafe fn write_text(buf: *mut c_char, len: usize, text: &str) -> Result<(), Fail> {
    let Some(buf) = NonNull::new(buf.cast::<u8>()) else {
        return Err(Fail::null("buf"));
    };
    if text.len() >= len {
        return Err(Fail::invalid(format!(
            "buffer of {len} bytes is too small for the {} bytes of {text}",
            text.len() + 1
        )));
    }
    // SAFETY: `buf` holds `len > text.len()` writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.as_ptr(), text.len());
        buf.as_ptr().add(text.len()).write(0);
    }
    Ok(())
}

/// `len` bytes at `data`; NULL is accepted for an empty string only.
/// `what` names the argument in an error; it is formatted only on failure
/// (this runs once per appended event).
///
/// # Safety
/// When `len > 0`, `data` is NULL or points to `len` readable bytes that stay
/// unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    data: *const u8,
    len: usize,
    what: impl std::fmt::Display,
) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Fail::null(&what.to_string()));
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("{what}: length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller, len <= isize::MAX.
    Ok(unsafe { slice::from_raw_parts(data, len) })
}

/// `count` plain values at `ptr` (NULL only when `count` is 0).
///
/// # Safety
/// When `count > 0`, `ptr` is NULL or points to `count` readable `T` that
/// stay unchanged for `'a`, and every bit pattern is a valid `T`.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    count: usize,
    name: &str,
) -> Result<&'a [T], Fail> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Fail::null(&format!("{name} (with count > 0)")));
    }
    check_count::<T>(count)?;
    // SAFETY: non-NULL, `count` readable values per the caller, and the
    // total size fits in isize.
    Ok(unsafe { slice::from_raw_parts(ptr, count) })
}

fn check_count<T>(count: usize) -> Result<(), Fail> {
    if count > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(Fail::invalid(format!("count {count} is too large")));
    }
    Ok(())
}
