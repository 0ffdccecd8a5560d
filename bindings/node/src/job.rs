//! Work for the libuv thread pool.
//!
//! Every operation that can touch the disk is a [`Job`]: a closure run by
//! `compute` on a pool thread (where the library call is made, and where
//! its thread-local error is captured right after it), whose result becomes
//! a JavaScript value or error in `resolve`, on the JS thread.

use napi::bindgen_prelude::{
    AsyncTask, Buffer, JsValue, Null, Object, ToNapiValue, TypeName, Uint32Array, ValueType,
};
use napi::{sys, Env, JsError, Task};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use stratalog_client::{BackedUpStream, Error, Head, Status, StreamStats, VerifyReport};

use crate::error::Failure;
use crate::number::U64;
use crate::value::{head_string, head_value, report_value, Chunk};
use crate::waiters;

/// Makes a JS value on the JS thread, for results this module does not
/// know (a new store).
pub(crate) type Build = Box<dyn FnOnce(sys::napi_env) -> napi::Result<sys::napi_value> + Send>;

/// The result of an operation, computed off the JS thread and turned into a
/// JavaScript value on it.
pub enum Output {
    Undefined,
    /// End of an iterator: `null`.
    End,
    /// A yes or no (a boolean).
    Bool(bool),
    Built(Build),
    Head(Head),
    Report(VerifyReport),
    Stats(StreamStats),
    Chunk(Chunk),
    Streams(Vec<u64>),
    /// An offset (a number while exact, else a bigint).
    Offset(u64),
    /// Bytes: a root, leaf data, proof hashes back to back (a Buffer).
    Bytes(Vec<u8>),
    /// A note or receipt (a string).
    Text(String),
    /// The head of each stream of a backup: `[stream, head text]` pairs.
    Heads(Vec<(u64, Head)>),
    /// A backup's manifest: `null`, or `{ stream, firstOffset, head }` per
    /// stream.
    Manifest(Option<Vec<BackedUpStream>>),
    /// The outcomes of an ordered group of appends: per batch, its head or
    /// its error (as a value, not thrown).
    Group(Vec<Result<Head, Failure>>),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Output")
    }
}

impl TypeName for Output {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for Output {
    unsafe fn to_napi_value(raw: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw);
        // SAFETY (every arm): `raw` is the live env of the current call.
        unsafe {
            match val {
                Output::Undefined => <()>::to_napi_value(raw, ()),
                Output::End => Null::to_napi_value(raw, Null),
                Output::Bool(yes) => bool::to_napi_value(raw, yes),
                Output::Built(build) => build(raw),
                Output::Head(head) => head_value(&env, &head),
                Output::Report(report) => report_value(&env, &report),
                Output::Stats(stats) => {
                    let mut object = Object::new(&env)?;
                    object.set("segments", U64(stats.segments))?;
                    object.set("bytes", U64(stats.bytes))?;
                    object.set("firstOffset", U64(stats.first_offset))?;
                    object.set("nextOffset", U64(stats.next_offset))?;
                    Ok(object.raw())
                }
                Output::Chunk(chunk) => {
                    let mut object = Object::new(&env)?;
                    object.set("first", U64(chunk.first))?;
                    object.set("data", Buffer::from(chunk.data))?;
                    object.set("lengths", Uint32Array::new(chunk.lengths))?;
                    Ok(object.raw())
                }
                Output::Offset(offset) => U64::to_napi_value(raw, U64(offset)),
                Output::Bytes(bytes) => Buffer::to_napi_value(raw, Buffer::from(bytes)),
                Output::Text(text) => String::to_napi_value(raw, text),
                Output::Streams(ids) => {
                    Vec::<U64>::to_napi_value(raw, ids.into_iter().map(U64).collect())
                }
                Output::Heads(heads) => {
                    let mut array = env.create_array(heads.len() as u32)?;
                    for (i, (stream, head)) in heads.into_iter().enumerate() {
                        let mut pair = env.create_array(2)?;
                        pair.set(0, U64(stream))?;
                        pair.set(1, head_string(&head))?;
                        array.set(i as u32, pair)?;
                    }
                    Ok(array.raw())
                }
                Output::Manifest(None) => Null::to_napi_value(raw, Null),
                Output::Manifest(Some(streams)) => {
                    let mut array = env.create_array(streams.len() as u32)?;
                    for (i, entry) in streams.into_iter().enumerate() {
                        let mut object = Object::new(&env)?;
                        object.set("stream", U64(entry.stream))?;
                        object.set("firstOffset", U64(entry.first_offset))?;
                        object.set("head", head_string(&entry.head))?;
                        array.set(i as u32, object)?;
                    }
                    Ok(array.raw())
                }
                Output::Group(outcomes) => {
                    let mut array = env.create_array(outcomes.len() as u32)?;
                    for (i, outcome) in outcomes.into_iter().enumerate() {
                        match outcome {
                            Ok(head) => array.set(i as u32, head_string(&head))?,
                            Err(failure) => {
                                let error = JsError::from(failure.into_js(&env)).into_unknown(env);
                                array.set(i as u32, error)?
                            }
                        }
                    }
                    Ok(array.raw())
                }
            }
        }
    }
}

type Work = Box<dyn FnOnce(&[Buffer]) -> Result<Output, Failure> + Send>;

/// One operation, run once on the libuv pool.
pub struct Job {
    work: Option<Work>,
    /// Bytes the work reads (the events of appends). The Job owns the
    /// references to the JS Buffers, so they stay alive until the Job is
    /// dropped on the JS thread after `resolve`.
    inputs: Vec<Buffer>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("pending", &self.work.is_some())
            .finish()
    }
}

impl Job {
    pub(crate) fn spawn(
        work: impl FnOnce() -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        AsyncTask::new(Job {
            work: Some(Box::new(move |_: &[Buffer]| work())),
            inputs: Vec::new(),
        })
    }

    /// A job that reads `inputs` on the pool thread. They must be Buffers
    /// no JavaScript code writes to while the job runs (the JS layer passes
    /// fresh copies it keeps to itself).
    pub(crate) fn spawn_with(
        inputs: Vec<Buffer>,
        work: impl FnOnce(&[Buffer]) -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        AsyncTask::new(Job {
            work: Some(Box::new(work)),
            inputs,
        })
    }
}

/// Runs `work` on a waiter thread (waiters.rs), not the libuv pool, for
/// work that may block as long as it likes; returns a Promise of its
/// result, settled on the JS thread as a Job's is.
///
/// The Promise always settles: a thread that cannot be started rejects it
/// at once, and a panic in `work` rejects it with STRATALOG_PANIC (an
/// unsettled one would keep the event loop alive for ever).
pub(crate) fn spawn_waiting<'env>(
    env: &'env Env,
    work: impl FnOnce() -> Result<Output, Failure> + Send + 'static,
) -> napi::Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    // Whoever takes it settles it: the waiter thread, or this call if the
    // thread never starts.
    let unsettled = Arc::new(Mutex::new(Some(deferred)));
    let settles = Arc::clone(&unsettled);
    let started = waiters::run(move || {
        let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
            Err(Failure::Library(Error::new(
                Status::Panic,
                "the wait panicked (this is a bug)",
            )))
        });
        if let Some(deferred) = settles.lock().unwrap_or_else(|e| e.into_inner()).take() {
            deferred.resolve(move |env: Env| result.map_err(|failure| failure.into_js(&env)));
        }
    });
    if let Err(e) = started {
        if let Some(deferred) = unsettled.lock().unwrap_or_else(|e| e.into_inner()).take() {
            deferred.reject(napi::Error::from_reason(format!(
                "cannot start a thread to wait on: {e}"
            )));
        }
    }
    Ok(promise)
}

impl Task for Job {
    type Output = Result<Output, Failure>;
    type JsValue = Output;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // napi runs compute once per task; a second run has nothing to do.
        Ok(match self.work.take() {
            Some(work) => work(&self.inputs),
            None => Ok(Output::Undefined),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Output> {
        output.map_err(|failure| failure.into_js(&env))
    }
}
