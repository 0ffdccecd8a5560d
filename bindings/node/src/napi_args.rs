//! Reading a raw Node-API call: its arguments in one `napi_get_cb_info`,
//! the bytes of Uint8Array arguments without a copy, and exporting such
//! functions. Every `unsafe` here is what Node-API requires.

use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{JsValue, Null, Object, ToNapiValue};
use napi::{sys, Env, JsError};

/// Arguments read without a heap allocation; more go through a Vec.
const INLINE_ARGS: usize = 64;

/// A Node-API callback.
pub(crate) type Callback =
    unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Sets `functions` on the module's exports as plain Node-API functions.
pub(crate) fn export(
    env: &Env,
    exports: &Object,
    functions: &[(&std::ffi::CStr, Callback)],
) -> napi::Result<()> {
    for &(name, callback) in functions {
        let mut function = ptr::null_mut();
        // SAFETY: a live env during module init; `name` is NUL-terminated
        // and `function` writable.
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.count_bytes() as isize,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            )
        };
        // SAFETY: as above; `exports` is the module's exports object.
        if status != sys::Status::napi_ok
            || unsafe {
                sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), function)
            } != sys::Status::napi_ok
        {
            return Err(napi::Error::from_reason(format!(
                "cannot export {}",
                name.to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// Runs a callback's body; an error or a panic becomes a thrown JS error
/// (a panic must not unwind into Node).
pub(crate) fn guarded(
    env: sys::napi_env,
    name: &str,
    body: impl FnOnce() -> napi::Result<sys::napi_value> + std::panic::UnwindSafe,
) -> sys::napi_value {
    let error = match std::panic::catch_unwind(body) {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(_) => napi::Error::from_reason(format!("stratalog: internal error in {name} (a bug)")),
    };
    // SAFETY: the env of the current call; no JS ran, nothing is pending.
    unsafe { JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

/// The arguments of a Node-API call, without a heap allocation for up to
/// `INLINE_ARGS` of them.
pub(crate) struct CallArgs {
    inline: [sys::napi_value; INLINE_ARGS],
    heap: Vec<sys::napi_value>,
}

impl CallArgs {
    pub(crate) fn new() -> Self {
        CallArgs {
            inline: [ptr::null_mut(); INLINE_ARGS],
            heap: Vec::new(),
        }
    }

    /// # Safety
    /// `env` and `info` are those of the current Node-API call.
    pub(crate) unsafe fn read(
        &mut self,
        env: sys::napi_env,
        info: sys::napi_callback_info,
    ) -> napi::Result<&[sys::napi_value]> {
        let mut argc = INLINE_ARGS;
        // SAFETY: `inline` has room for `argc` values.
        check_napi(unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                self.inline.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        })?;
        if argc <= INLINE_ARGS {
            return Ok(&self.inline[..argc]);
        }
        self.heap.resize(argc, ptr::null_mut());
        let mut again = argc;
        // SAFETY: `heap` has room for `again` values.
        check_napi(unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut again,
                self.heap.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        })?;
        Ok(&self.heap[..again.min(argc)])
    }
}

/// Where the events are: the elements of `array` if it is an array, else
/// (`array` undefined) the values of `spread`. None if one is not a
/// Uint8Array (or is too large), or `array` is neither. The pointers are
/// valid during the current call, as long as no JS runs.
///
/// # Safety
/// The values are values of the live `env` of the current call.
pub(crate) unsafe fn event_views<'a>(
    env: sys::napi_env,
    array: sys::napi_value,
    spread: &[sys::napi_value],
) -> napi::Result<Option<Vec<&'a [u8]>>> {
    let mut elements = Vec::new();
    // SAFETY: per the contract.
    let values = if unsafe { is_array(env, array) }? {
        let mut len = 0u32;
        // SAFETY: `array` is an array of this env; `len` writable.
        check_napi(unsafe { sys::napi_get_array_length(env, array, &mut len) })?;
        elements.reserve(len as usize);
        // Every element first: napi_get_element runs getters, which could
        // detach or free the memory of a view already taken. Taking the
        // views afterwards runs no JS, so they stay valid for the call.
        for i in 0..len {
            let mut element = ptr::null_mut();
            // SAFETY: as above; `element` writable.
            check_napi(unsafe { sys::napi_get_element(env, array, i, &mut element) })?;
            elements.push(element);
        }
        &elements[..]
    } else {
        // SAFETY: a value of this call's env.
        if !unsafe { is_undefined(env, array) }? {
            // Not a real array (a Proxy of one, say): the JS layer reads it.
            return Ok(None);
        }
        spread
    };
    let mut events = Vec::with_capacity(values.len());
    for &value in values {
        // SAFETY: a value of this call's env.
        match unsafe { uint8_view(env, value) } {
            Some(view) => events.push(view),
            None => return Ok(None),
        }
    }
    Ok(Some(events))
}

fn check_napi(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::from(status),
            "a Node-API call failed while reading the events",
        ))
    }
}

/// # Safety
/// `value` is a value of the live `env`.
unsafe fn is_array(env: sys::napi_env, value: sys::napi_value) -> napi::Result<bool> {
    let mut result = false;
    // SAFETY: per the contract; `result` writable.
    check_napi(unsafe { sys::napi_is_array(env, value, &mut result) })?;
    Ok(result)
}

/// # Safety
/// `value` is a value of the live `env`.
unsafe fn is_undefined(env: sys::napi_env, value: sys::napi_value) -> napi::Result<bool> {
    let mut kind = sys::ValueType::napi_undefined;
    // SAFETY: per the contract; `kind` writable.
    check_napi(unsafe { sys::napi_typeof(env, value, &mut kind) })?;
    Ok(kind == sys::ValueType::napi_undefined)
}

/// # Safety
/// `env` is the live env of the current call.
pub(crate) unsafe fn null(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    // SAFETY: per the contract.
    unsafe { Null::to_napi_value(env, Null) }
}

/// The bytes of `value` if it is a Uint8Array (a Buffer is one) of at most
/// 2^32 - 1 bytes, else None.
///
/// # Safety
/// `value` is a value of the live `env` of the current call, and the view
/// is used only while no JS runs (JS could detach or free its memory).
unsafe fn uint8_view<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a [u8]> {
    // SAFETY: per the contract.
    let (data, len) = unsafe { typed_array(env, value, sys::TypedarrayType::uint8_array) }?;
    u32::try_from(len).ok()?;
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: Node-API reports `len` bytes at `data` for a Uint8Array,
    // valid while no JS runs (the contract).
    Some(unsafe { std::slice::from_raw_parts(data.cast_const().cast::<u8>(), len) })
}

/// `value`'s data pointer and element count if it is a typed array of
/// `kind`, else None.
///
/// # Safety
/// `value` is a value of the live `env` of the current call.
pub(crate) unsafe fn typed_array(
    env: sys::napi_env,
    value: sys::napi_value,
    kind: sys::napi_typedarray_type,
) -> Option<(*mut c_void, usize)> {
    let mut actual = 0;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: per the contract; outputs writable. A value that is not a
    // typed array makes the call return napi_invalid_arg, nothing else.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut actual,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    (status == sys::Status::napi_ok && actual == kind).then_some((data, len))
}
