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
//! its buffers at once) and the library call runs on the libuv pool. When
//! an event is not a Uint8Array, or is too large, the call returns `null`
//! and does nothing: the JS layer then says which event is wrong.
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
//! those reach the pool through `NativeStore.appendGroup` ([`append_group`]),
//! and the library decides, for the whole group, which batches one fsync
//! covers and what fails with it.

use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::{
    AsyncTask, BigInt, Buffer, FromNapiValue, JsObjectValue, Object, ToNapiValue,
};
use napi::{sys, Env};
use stratalog_client::{Fsync, GroupBatch, Head, Store};

use crate::error::Failure;
use crate::job::{Job, Output};
use crate::napi_args::{event_views, export, guarded, null, typed_array, CallArgs};
use crate::value::{head_value, to_u64};

/// Arguments before the events: target, stream, expectedOffset, fsync, and
/// the events array or `undefined`.
const FIXED_ARGS: usize = 5;

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
    store: Arc<Store>,
    scratch: Arc<Scratch>,
}

impl AppendTarget {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        AppendTarget {
            store,
            scratch: Arc::default(),
        }
    }

    /// A JS object wrapping a clone of this target.
    pub(crate) fn to_object<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut object = Object::new(env)?;
        object.wrap(self.clone(), None)?;
        Ok(object)
    }

    /// Copies `events` into one buffer and returns the job that appends
    /// them.
    fn job(
        &self,
        stream: u64,
        expected: Option<u64>,
        fsync: Fsync,
        events: &[&[u8]],
    ) -> AsyncTask<Job> {
        let mut data = self.scratch.take(events.iter().map(|e| e.len()).sum());
        for event in events {
            data.extend_from_slice(event);
        }
        let lengths: Vec<usize> = events.iter().map(|e| e.len()).collect();
        let store = Arc::clone(&self.store);
        let scratch = Arc::clone(&self.scratch);
        Job::spawn(move || {
            let result = append_packed(&store, stream, expected, fsync, &data, &lengths);
            scratch.give(data);
            result.map(Output::Head)
        })
    }
}

/// Appends the events packed in `data` (event i is the next `lengths[i]`
/// bytes) as one batch and returns the new head; on a pool thread.
pub(crate) fn append_packed(
    store: &Store,
    stream: u64,
    expected: Option<u64>,
    fsync: Fsync,
    data: &[u8],
    lengths: &[usize],
) -> Result<Head, Failure> {
    Ok(store.append(stream, &events_of(data, lengths)?, expected, fsync)?)
}

/// The events packed in `data` (event i is the next `lengths[i]` bytes).
fn events_of<'a>(data: &'a [u8], lengths: &[usize]) -> Result<Vec<&'a [u8]>, Failure> {
    let mut events = Vec::with_capacity(lengths.len());
    let mut rest = data;
    for &len in lengths {
        let (event, tail) = rest
            .split_at_checked(len)
            .ok_or_else(|| Failure::invalid_value("event lengths run past the end of data"))?;
        events.push(event);
        rest = tail;
    }
    Ok(events)
}

/// The stream id and the expected offset, if any.
pub(crate) fn offsets(
    stream: &BigInt,
    expected: Option<&BigInt>,
) -> Result<(u64, Option<u64>), Failure> {
    let expected = expected.map(|e| to_u64("expectedOffset", e)).transpose()?;
    Ok((to_u64("stream", stream)?, expected))
}

/// Registers `appendEvents`, `appendEventsSync` and `packEvents` on the
/// module's exports.
pub(crate) fn register(env: &Env, exports: &Object) -> napi::Result<()> {
    export(
        env,
        exports,
        &[
            (c"appendEvents", append_events),
            (c"appendEventsSync", append_events_sync),
            (c"packEvents", pack_events),
        ],
    )
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

/// An append's checked arguments: where to, and its events (views valid
/// during the current call only).
struct AppendCall<'a> {
    env: Env,
    target: &'a AppendTarget,
    stream: u64,
    expected: Option<u64>,
    fsync: Fsync,
    events: Vec<&'a [u8]>,
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
    // SAFETY: values of this call's env; no JS runs before `body` returns.
    let Some(events) = unsafe { event_views(env, args[4], &args[FIXED_ARGS..]) }? else {
        // SAFETY: the env of this call.
        return unsafe { null(env) };
    };
    body(AppendCall {
        env: rust_env,
        target,
        stream,
        expected,
        fsync: Fsync::from(fsync),
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
            let head = call
                .target
                .store
                .append(call.stream, &call.events, call.expected, call.fsync)
                .map_err(|e| Failure::from(e).into_js(&call.env))?;
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
    // SAFETY: values of this call's env; no JS runs while the views live.
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
        *slot = event.len() as u32;
    }
    let data: Vec<u8> = events.concat();
    drop(events);
    // SAFETY: the env of this call.
    unsafe { Buffer::to_napi_value(env, Buffer::from(data)) }
}

/// One batch of an ordered group: its events' lengths, its expected offset,
/// its durability.
pub(crate) struct QueuedBatch {
    pub(crate) lengths: Vec<usize>,
    pub(crate) expected: Option<u64>,
    pub(crate) fsync: Fsync,
}

/// Appends `batches`, whose events are packed in `data` (one Buffer per
/// batch), to `stream` in their order, each atomically and with its own
/// outcome; on a pool thread. The group goes down whole to the library,
/// which owns the rule: one fsync covers every durable batch, and if it
/// fails every durable batch fails. A call refused as a whole fails every
/// batch with its error.
pub(crate) fn append_group(
    store: &Store,
    stream: u64,
    data: &[Buffer],
    batches: &[QueuedBatch],
) -> Result<Vec<Result<Head, Failure>>, Failure> {
    let events = batches
        .iter()
        .zip(data)
        .map(|(b, bytes)| events_of(bytes, &b.lengths))
        .collect::<Result<Vec<_>, Failure>>()?;
    let group: Vec<GroupBatch<'_>> = batches
        .iter()
        .zip(&events)
        .map(|(b, events)| GroupBatch {
            events,
            expected_offset: b.expected,
            fsync: b.fsync,
        })
        .collect();
    match store.append_group(stream, &group) {
        Ok(outcomes) => Ok(outcomes
            .into_iter()
            .map(|o| o.map_err(Failure::from))
            .collect()),
        Err(error) => Ok(batches
            .iter()
            .map(|_| Err(Failure::from(error.clone())))
            .collect()),
    }
}
