//! The append path: `appendEvents(target, stream, expectedOffset, fsync,
//! undefined, ...events)`, a plain Node-API function rather than a napi-rs
//! method, because it takes its events as call arguments.
//!
//! Why arguments: a Node-API function receives all of its arguments in one
//! `napi_get_cb_info`, while reading elements out of a JS array costs a
//! `napi_get_element` each (a generic property lookup behind a `TryCatch`
//! and a handle scope). Profiled on 1000-event batches of 100 B, those
//! lookups were a quarter of the JS thread's time per append. index.js
//! spreads batches of up to `SPREAD_MAX` events; larger ones pass the array
//! itself in place of the `undefined` (`appendEvents(target, stream,
//! expectedOffset, fsync, events)`), where the per-event lookup is the
//! smaller cost.
//!
//! Either way the events are checked and copied here, on the JS thread,
//! into one buffer (the one copy an append makes, so the caller may reuse
//! its buffers at once) and the C call runs on the libuv pool. When an
//! event is not a Uint8Array, or is too large, the call returns `null` and
//! does nothing: the JS layer then says which event is wrong.
//!
//! `appendEventsSync`, with the same arguments, appends on the calling
//! thread and returns the head: no trip through the libuv pool, which on
//! small batches costs more than the append itself, and no copy: no JS runs
//! until it returns, so the views stay valid, and the library reads each
//! event once, so even a SharedArrayBuffer that another thread writes
//! meanwhile is stored and hashed as one version (see core's Encoder). It
//! backs `appendSync` and `appendBatchSync`.
//!
//! `target` is the object of [`AppendTarget`] a `NativeStore` hands out; it
//! is unwrapped with a type check, so any other value is refused with an
//! error, never cast.
//!
//! `packEvents(lengths, events | undefined, ...events)` checks and copies
//! the same way for the appends the JS layer queues behind one in flight;
//! those reach the pool through `NativeStore.appendGroup` ([`append_group`]).

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{
    AsyncTask, BigInt, Buffer, FromNapiValue, JsObjectValue, JsValue, Null, Object, ToNapiValue,
};
use napi::{sys, Env, JsError};
use stratalog::{
    stratalog_batch, stratalog_batch_outcome, stratalog_head, stratalog_slice, stratalog_status,
    STRATALOG_ANY_OFFSET,
};

use crate::error::{check, empty_detail, Failure};
use crate::handle::Shared;
use crate::job::Job;
use crate::store::empty_head;
use crate::value::{head_value, to_u64, Output};

/// Arguments before the events: target, stream, expectedOffset, fsync, and
/// the events array or `undefined`.
const FIXED_ARGS: usize = 5;

/// Arguments read without a heap allocation; more go through a Vec.
const INLINE_ARGS: usize = 64;

/// Copy buffers kept for reuse: at most this many, of at most
/// `SCRATCH_MAX_BYTES` capacity each.
const SCRATCH_KEEP: usize = 2;
const SCRATCH_MAX_BYTES: usize = 4 << 20;

/// Idle copy buffers: a fresh allocation per append cost more than the copy
/// into it for large batches (new pages fault in).
#[derive(Debug, Default)]
struct Scratch(Mutex<Vec<Vec<u8>>>);

impl Scratch {
    fn take(&self, size: usize) -> Vec<u8> {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match list.iter().position(|b| b.capacity() >= size) {
            Some(i) => list.swap_remove(i),
            None => Vec::with_capacity(size),
        }
    }

    fn give(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() <= SCRATCH_MAX_BYTES {
            let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if list.len() < SCRATCH_KEEP {
                buffer.clear();
                list.push(buffer);
            }
        }
    }
}

/// What an append needs of its store, wrapped into a JS object that
/// `appendEvents` receives as its first argument.
#[derive(Debug, Clone)]
pub(crate) struct AppendTarget {
    shared: Arc<Shared>,
    scratch: Arc<Scratch>,
}

impl AppendTarget {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        AppendTarget {
            shared,
            scratch: Arc::default(),
        }
    }

    /// A JS object wrapping a clone of this target.
    pub(crate) fn to_object<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut object = Object::new(env)?;
        object.wrap(self.clone(), None)?;
        Ok(object)
    }

    /// Copies `events` (data, length) into one buffer and returns the job
    /// that appends them.
    fn job(
        &self,
        stream: u64,
        expected: u64,
        fsync: bool,
        events: &[stratalog_slice],
    ) -> AsyncTask<Job> {
        let mut data = self.scratch.take(events.iter().map(|e| e.len).sum());
        // SAFETY: the views are of this call's arguments, still live.
        unsafe { copy_events(events, &mut data) };
        let lengths: Vec<usize> = events.iter().map(|e| e.len).collect();
        let shared = Arc::clone(&self.shared);
        let scratch = Arc::clone(&self.scratch);
        Job::spawn(move || {
            let result = append_packed(&shared, stream, expected, fsync, &data, &lengths);
            scratch.give(data);
            result.map(Output::Head)
        })
    }
}

/// Appends the events packed in `data` (event i is the next `lengths[i]`
/// bytes) as one batch and returns the new head; on a pool thread.
pub(crate) fn append_packed(
    shared: &Shared,
    stream: u64,
    expected: u64,
    fsync: bool,
    data: &[u8],
    lengths: &[usize],
) -> Result<stratalog_head, Failure> {
    append_slices(shared, stream, expected, fsync, &slices_of(data, lengths)?)
}

/// The events packed in `data` (event i is the next `lengths[i]` bytes) as
/// slices into it.
fn slices_of(data: &[u8], lengths: &[usize]) -> Result<Vec<stratalog_slice>, Failure> {
    let mut slices = Vec::with_capacity(lengths.len());
    let mut rest = data;
    for &len in lengths {
        let (event, tail) = rest
            .split_at_checked(len)
            .ok_or_else(|| Failure::invalid_value("event lengths run past the end of data"))?;
        slices.push(stratalog_slice {
            data: event.as_ptr(),
            len: event.len(),
        });
        rest = tail;
    }
    Ok(slices)
}

/// Appends the events `slices` point at as one batch and returns the new
/// head, on the calling thread.
fn append_slices(
    shared: &Shared,
    stream: u64,
    expected: u64,
    fsync: bool,
    slices: &[stratalog_slice],
) -> Result<stratalog_head, Failure> {
    let mut head = empty_head();
    shared.with(|store| {
        // SAFETY: live handle (read guard held); `slices` point at memory
        // alive for the call (the caller's contract); `head` is writable.
        check(unsafe {
            stratalog::stratalog_append_batch(
                store,
                stream,
                slices.as_ptr(),
                slices.len(),
                expected,
                fsync,
                &mut head,
            )
        })
    })?;
    Ok(head)
}

/// Copies the events into `data`, one after another.
///
/// # Safety
/// Each view points at `len` bytes of live memory (an argument of the
/// current call).
unsafe fn copy_events(events: &[stratalog_slice], data: &mut Vec<u8>) {
    for event in events {
        if event.len > 0 {
            // SAFETY: per the contract.
            data.extend_from_slice(unsafe { std::slice::from_raw_parts(event.data, event.len) });
        }
    }
}

/// Registers `appendEvents`, `appendEventsSync` and `packEvents` on the module's exports.
pub(crate) fn register(env: &Env, exports: &Object) -> napi::Result<()> {
    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;
    let functions: [(&std::ffi::CStr, Callback); 3] = [
        (c"appendEvents", append_events),
        (c"appendEventsSync", append_events_sync),
        (c"packEvents", pack_events),
    ];
    for (name, callback) in functions {
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

/// The Node-API callback of `appendEvents`.
unsafe extern "C" fn append_events(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the env and callback info of this call.
    guarded(env, "appendEvents", || unsafe {
        append_events_impl(env, info)
    })
}

/// The Node-API callback of `appendEventsSync`: `appendEvents` on the
/// calling thread, returning the new head (or throwing) instead of a
/// promise.
unsafe extern "C" fn append_events_sync(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the env and callback info of this call.
    guarded(env, "appendEventsSync", || unsafe {
        append_events_sync_impl(env, info)
    })
}

/// The Node-API callback of `packEvents(lengths, events | undefined,
/// ...events)`: the events copied into one new Buffer, their sizes written
/// to `lengths` (a Uint32Array of one entry per event); `null` when an
/// event is not a Uint8Array. For the appends the JS layer queues behind
/// one in flight.
unsafe extern "C" fn pack_events(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: the env and callback info of this call.
    guarded(env, "packEvents", || unsafe { pack_events_impl(env, info) })
}

/// Runs a callback's body; an error or a panic becomes a thrown JS error
/// (a panic must not unwind into Node).
fn guarded(
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

/// An append's checked arguments: where to, and views of its events (valid
/// during the current call only).
struct AppendCall<'a> {
    env: Env,
    target: &'a AppendTarget,
    stream: u64,
    expected: u64,
    fsync: bool,
    events: Vec<stratalog_slice>,
}

/// Reads the arguments of `appendEvents` / `appendEventsSync` and runs
/// `body` on them; returns `null` without running it when an event is not a
/// Uint8Array (or is too large).
///
/// # Safety
/// `env` and `info` are those of the current Node-API call.
unsafe fn with_append_call(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    usage: &str,
    body: impl FnOnce(AppendCall<'_>) -> napi::Result<sys::napi_value>,
) -> napi::Result<sys::napi_value> {
    let mut args = CallArgs::new();
    // SAFETY: per the contract.
    let args = unsafe { args.read(env, info) }?;
    if args.len() < FIXED_ARGS {
        return Err(napi::Error::new(napi::Status::InvalidArg, usage));
    }
    let rust_env = Env::from_raw(env);
    // SAFETY (the conversions below): values of this call's env.
    let target_object = unsafe { Object::from_napi_value(env, args[0]) }?;
    let target: &AppendTarget = target_object.unwrap::<AppendTarget>()?;
    let stream = unsafe { BigInt::from_napi_value(env, args[1]) }?;
    let expected = unsafe { Option::<BigInt>::from_napi_value(env, args[2]) }?;
    let fsync = unsafe { Option::<bool>::from_napi_value(env, args[3]) }?;
    let (stream, expected) =
        offsets(&stream, expected.as_ref()).map_err(|f| f.into_js(&rust_env))?;
    // SAFETY: values of this call's env.
    let Some(events) = unsafe { event_views(env, args[4], &args[FIXED_ARGS..]) }? else {
        // SAFETY: the env of this call.
        return unsafe { null(env) };
    };
    body(AppendCall {
        env: rust_env,
        target,
        stream,
        expected,
        fsync: fsync.unwrap_or_else(|| target.shared.default_fsync()),
        events,
    })
}

/// # Safety
/// `env` and `info` are those of the current Node-API call.
unsafe fn append_events_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    let usage =
        "appendEvents(target, stream, expectedOffset, fsync, events | undefined, ...events)";
    // SAFETY: per the contract.
    unsafe {
        with_append_call(env, info, usage, |call| {
            let task = call
                .target
                .job(call.stream, call.expected, call.fsync, &call.events);
            // SAFETY: the env of this call.
            AsyncTask::to_napi_value(env, task)
        })
    }
}

/// # Safety
/// `env` and `info` are those of the current Node-API call.
unsafe fn append_events_sync_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    let usage =
        "appendEventsSync(target, stream, expectedOffset, fsync, events | undefined, ...events)";
    // SAFETY: per the contract.
    unsafe {
        with_append_call(env, info, usage, |call| {
            // The events are appended straight from the caller's buffers:
            // nothing else runs on this thread until the append returns.
            let head = append_slices(
                &call.target.shared,
                call.stream,
                call.expected,
                call.fsync,
                &call.events,
            )
            .map_err(|f| f.into_js(&call.env))?;
            head_value(&call.env, &head)
        })
    }
}

/// # Safety
/// `env` and `info` are those of the current Node-API call.
unsafe fn pack_events_impl(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    let mut args = CallArgs::new();
    // SAFETY: per the contract.
    let args = unsafe { args.read(env, info) }?;
    if args.len() < 2 {
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            "packEvents(lengths, events | undefined, ...events)",
        ));
    }
    // SAFETY: values of this call's env.
    let Some(events) = unsafe { event_views(env, args[1], &args[2..]) }? else {
        // SAFETY: the env of this call.
        return unsafe { null(env) };
    };
    // SAFETY: a value of this call's env.
    let out = match unsafe { typed_array(env, args[0], sys::TypedarrayType::uint32_array) } {
        Some((out, count)) if count == events.len() => out,
        _ => {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "packEvents: lengths must be a Uint32Array with one entry per event",
            ))
        }
    };
    // SAFETY: `out` points at one u32 per event in a live Uint32Array
    // (typed arrays are aligned to their element size).
    let lengths = unsafe { std::slice::from_raw_parts_mut(out.cast::<u32>(), events.len()) };
    for (slot, event) in lengths.iter_mut().zip(&events) {
        // uint8_view admits no event of 2^32 bytes or more.
        *slot = event.len as u32;
    }
    let mut data = Vec::with_capacity(events.iter().map(|e| e.len).sum());
    // SAFETY: the views are of this call's arguments, still live.
    unsafe { copy_events(&events, &mut data) };
    drop(events);
    // SAFETY: the env of this call.
    unsafe { Buffer::to_napi_value(env, Buffer::from(data)) }
}

/// The arguments of a Node-API call, without a heap allocation for up to
/// `INLINE_ARGS` of them.
struct CallArgs {
    inline: [sys::napi_value; INLINE_ARGS],
    heap: Vec<sys::napi_value>,
}

impl CallArgs {
    fn new() -> Self {
        CallArgs {
            inline: [ptr::null_mut(); INLINE_ARGS],
            heap: Vec::new(),
        }
    }

    /// # Safety
    /// `env` and `info` are those of the current Node-API call.
    unsafe fn read(
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
unsafe fn event_views(
    env: sys::napi_env,
    array: sys::napi_value,
    spread: &[sys::napi_value],
) -> napi::Result<Option<Vec<stratalog_slice>>> {
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

/// The stream id and the expected offset (`STRATALOG_ANY_OFFSET` for none).
pub(crate) fn offsets(stream: &BigInt, expected: Option<&BigInt>) -> Result<(u64, u64), Failure> {
    Ok((to_u64("stream", stream)?, expected_offset(expected)?))
}

/// An expected offset, or `STRATALOG_ANY_OFFSET` for none.
pub(crate) fn expected_offset(expected: Option<&BigInt>) -> Result<u64, Failure> {
    match expected {
        None => Ok(STRATALOG_ANY_OFFSET),
        Some(v) => match to_u64("expectedOffset", v)? {
            STRATALOG_ANY_OFFSET => Err(Failure::range(
                "expectedOffset must be below 2^64 - 1 (reserved for 'any offset')",
            )),
            v => Ok(v),
        },
    }
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
unsafe fn null(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    // SAFETY: per the contract.
    unsafe { Null::to_napi_value(env, Null) }
}

/// `value` as (data, length) if it is a Uint8Array (a Buffer is one) of at
/// most 2^32 - 1 bytes, else None.
///
/// # Safety
/// `value` is a value of the live `env` of the current call.
unsafe fn uint8_view(env: sys::napi_env, value: sys::napi_value) -> Option<stratalog_slice> {
    // SAFETY: per the contract.
    let (data, len) = unsafe { typed_array(env, value, sys::TypedarrayType::uint8_array) }?;
    u32::try_from(len).ok()?;
    Some(stratalog_slice {
        data: data.cast_const().cast::<u8>(),
        len,
    })
}

/// `value`'s data pointer and element count if it is a typed array of
/// `kind`, else None.
///
/// # Safety
/// `value` is a value of the live `env` of the current call.
unsafe fn typed_array(
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

/// One batch of an ordered group: its events' lengths, its expected offset
/// (or why it has none), its durability.
pub(crate) struct GroupBatch {
    pub(crate) lengths: Vec<usize>,
    pub(crate) expected: Result<u64, Failure>,
    pub(crate) fsync: bool,
}

/// Appends `batches`, whose events are packed in `data` (one Buffer per
/// batch), to `stream` in their order, each atomically and with its own
/// outcome; on a pool thread. The group goes down whole to
/// stratalog_append_batches(), which owns the rule: one fsync covers every
/// durable batch, and if it fails every durable batch fails. A batch whose
/// arguments were already refused here keeps that failure.
pub(crate) fn append_group(
    shared: &Shared,
    stream: u64,
    data: &[Buffer],
    batches: Vec<GroupBatch>,
) -> Vec<Result<stratalog_head, Failure>> {
    let mut outcomes: Vec<Result<stratalog_head, Failure>> = Vec::with_capacity(batches.len());
    // Per batch sent down: its events and where its outcome goes.
    let mut sent: Vec<(Vec<stratalog_slice>, usize)> = Vec::with_capacity(batches.len());
    let mut group = Vec::with_capacity(batches.len());
    for (batch, events) in batches.into_iter().zip(data) {
        let slices = batch
            .expected
            .and_then(|expected| Ok((expected, slices_of(events, &batch.lengths)?)));
        match slices {
            Ok((expected, slices)) => {
                group.push((expected, batch.fsync));
                sent.push((slices, outcomes.len()));
                outcomes.push(Ok(empty_head()));
            }
            Err(failure) => outcomes.push(Err(failure)),
        }
    }
    if sent.is_empty() {
        return outcomes;
    }
    let c_batches: Vec<stratalog_batch> = sent
        .iter()
        .zip(&group)
        .map(|((slices, _), &(expected_offset, fsync))| stratalog_batch {
            events: slices.as_ptr(),
            count: slices.len(),
            expected_offset,
            fsync,
        })
        .collect();
    let mut results = vec![empty_outcome(); c_batches.len()];
    let ran = shared.with(|store| {
        // SAFETY: live handle (read guard held); every batch's slices point
        // into `data`, alive for the call; `results` has one writable
        // outcome per batch.
        check(unsafe {
            stratalog::stratalog_append_batches(
                store,
                stream,
                c_batches.as_ptr(),
                c_batches.len(),
                results.as_mut_ptr(),
            )
        })?;
        // Read each failed batch's message now, on this thread.
        Ok(results
            .iter()
            .enumerate()
            .map(|(i, r)| match r.status {
                stratalog_status::Ok => Ok(r.head),
                _ => Err(Failure::of_batch(i, r)),
            })
            .collect::<Vec<_>>())
    });
    match ran {
        Ok(results) => {
            for ((_, at), result) in sent.iter().zip(results) {
                outcomes[*at] = result;
            }
        }
        Err(failure) => {
            for (_, at) in &sent {
                outcomes[*at] = Err(failure.clone());
            }
        }
    }
    outcomes
}

fn empty_outcome() -> stratalog_batch_outcome {
    stratalog_batch_outcome {
        status: stratalog_status::Ok,
        head: empty_head(),
        detail: empty_detail(stratalog_status::Ok),
    }
}
