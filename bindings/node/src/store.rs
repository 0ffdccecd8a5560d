//! `NativeStore`: one method per C ABI operation. The JS layer (index.js)
//! validates and normalizes arguments (numbers become bigints, events one
//! contiguous Buffer) and builds the public `Store` API on top.

use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, Object, Uint32Array};
use napi::Env;
use napi_derive::napi;
use stratalog::{
    stratalog_compression, stratalog_head, stratalog_options, stratalog_store,
    stratalog_verify_report, STRATALOG_NO_OFFSET,
};

use crate::append::{
    append_group, append_packed, expected_offset, offsets, AppendTarget, GroupBatch,
};
use crate::error::{check, Failure};
use crate::handle::Shared;
use crate::iter::NativeIter;
use crate::job::Job;
use crate::value::{to_u64, Chunk, Output};

/// The options of one batch of `appendGroup`.
#[napi(object)]
#[derive(Debug)]
pub struct GroupOptions {
    pub expected_offset: Option<BigInt>,
    pub fsync: Option<bool>,
}

/// Options for opening a store; every field is optional (library defaults).
#[napi(object)]
#[derive(Debug)]
pub struct OpenOptions {
    pub segment_size: Option<BigInt>,
    pub checkpoint_interval: Option<BigInt>,
    /// "none", "lz4" or "zstd".
    pub compression: Option<String>,
    pub max_event_size: Option<BigInt>,
    pub fsync: Option<bool>,
}

enum Mode {
    Write(CString),
    ReadOnly(CString),
    Memory,
}

fn c_path(path: String) -> Result<CString, Failure> {
    CString::new(path).map_err(|_| Failure::invalid_value("path must not contain NUL bytes"))
}

fn c_options(options: Option<OpenOptions>) -> Result<stratalog_options, Failure> {
    let mut opts = stratalog_options {
        segment_size: 0,
        checkpoint_interval: 0,
        compression: stratalog_compression::None,
        max_event_size: 0,
        fsync: false,
    };
    // SAFETY: `opts` is writable.
    check(unsafe { stratalog::stratalog_options_default(&mut opts) })?;
    let Some(o) = options else {
        return Ok(opts);
    };
    if let Some(v) = &o.segment_size {
        opts.segment_size = to_u64("segmentSize", v)?;
    }
    if let Some(v) = &o.checkpoint_interval {
        opts.checkpoint_interval = to_u64("checkpointInterval", v)?;
    }
    if let Some(v) = &o.max_event_size {
        opts.max_event_size = to_u64("maxEventSize", v)?;
    }
    if let Some(c) = &o.compression {
        opts.compression = match c.as_str() {
            "none" => stratalog_compression::None,
            "lz4" => stratalog_compression::Lz4,
            "zstd" => stratalog_compression::Zstd,
            other => {
                return Err(Failure::invalid_value(format!(
                    "compression must be 'none', 'lz4' or 'zstd', got '{other}'"
                )))
            }
        };
    }
    if let Some(f) = o.fsync {
        opts.fsync = f;
    }
    Ok(opts)
}

/// Opens a store; runs on a pool thread for the disk modes.
fn open_store(mode: Mode, opts: stratalog_options) -> Result<Arc<Shared>, Failure> {
    let mut out: *mut stratalog_store = ptr::null_mut();
    // SAFETY: paths are NUL-terminated, `opts` and `out` point to valid memory.
    let status = unsafe {
        match &mode {
            Mode::Write(path) => stratalog::stratalog_open(path.as_ptr(), &opts, &mut out),
            Mode::ReadOnly(path) => {
                stratalog::stratalog_open_read_only_with(path.as_ptr(), &opts, &mut out)
            }
            Mode::Memory => stratalog::stratalog_open_in_memory(&opts, &mut out),
        }
    };
    check(status)?;
    match NonNull::new(out) {
        Some(ptr) => Ok(Arc::new(Shared::new(ptr))),
        // The library writes a handle on success; report a broken promise
        // as the bug it would be rather than crash.
        None => Err(Failure::Library {
            status: stratalog::stratalog_status::Panic,
            message: "stratalog returned success without a store handle".to_owned(),
            detail: None,
        }),
    }
}

pub(crate) fn empty_head() -> stratalog_head {
    stratalog_head {
        next_offset: 0,
        hash: [0; 32],
    }
}

fn empty_report() -> stratalog_verify_report {
    stratalog_verify_report {
        events: 0,
        bytes: 0,
        checkpoints: 0,
        segments: 0,
        head: empty_head(),
        failed_offset: STRATALOG_NO_OFFSET,
    }
}

/// A head given as `nextOffset` and a 32-byte hash.
pub(crate) fn head_from(next_offset: &BigInt, hash: &[u8]) -> Result<stratalog_head, Failure> {
    let next_offset = to_u64("head.nextOffset", next_offset)?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| {
        Failure::invalid_value(format!("head.hash must be 32 bytes, got {}", hash.len()))
    })?;
    Ok(stratalog_head { next_offset, hash })
}

/// Frees a stratalog_events batch when dropped.
struct Events(*mut stratalog::stratalog_events);

impl Drop for Events {
    fn drop(&mut self) {
        // SAFETY: a batch from stratalog_read_from() (or NULL), freed once.
        unsafe { stratalog::stratalog_events_free(self.0) };
    }
}

/// Copies a batch into a [`Chunk`] (the one copy a read makes).
fn copy_events(batch: &Events) -> Result<Chunk, Failure> {
    // SAFETY (all calls): `batch.0` is a live batch; outputs are writable.
    let count = unsafe { stratalog::stratalog_events_len(batch.0) };
    let first = unsafe { stratalog::stratalog_events_first_offset(batch.0) };
    let mut events = Vec::with_capacity(count);
    let mut total = 0usize;
    for i in 0..count {
        let mut data: *const u8 = ptr::null();
        let mut len = 0usize;
        check(unsafe { stratalog::stratalog_events_get(batch.0, i, &mut data, &mut len) })?;
        total = total.saturating_add(len);
        events.push((data, len));
    }
    let mut chunk = Chunk {
        first,
        data: Vec::with_capacity(total),
        lengths: Vec::with_capacity(count),
    };
    for (data, len) in events {
        // SAFETY: the batch owns `len` readable bytes at `data` (never NULL)
        // until it is freed, after this function returns.
        chunk.push(unsafe { std::slice::from_raw_parts(data, len) })?;
    }
    Ok(chunk)
}

/// An open store: the native half of the JS `Store`.
#[napi]
#[derive(Debug)]
pub struct NativeStore {
    shared: Arc<Shared>,
    target: AppendTarget,
}

impl NativeStore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        NativeStore {
            target: AppendTarget::new(Arc::clone(&shared)),
            shared,
        }
    }
}

#[napi]
impl NativeStore {
    /// Opens (creating if needed) a store for writing, on the pool.
    #[napi]
    pub fn open(
        env: Env,
        path: String,
        options: Option<OpenOptions>,
    ) -> napi::Result<AsyncTask<Job>> {
        let prepared = c_path(path).and_then(|p| Ok((p, c_options(options)?)));
        let (path, opts) = prepared.map_err(|f| f.into_js(&env))?;
        Ok(Job::spawn(move || {
            open_store(Mode::Write(path), opts).map(Output::Store)
        }))
    }

    /// Opens a store for writing on the calling (JS) thread.
    #[napi]
    pub fn open_sync(
        env: Env,
        path: String,
        options: Option<OpenOptions>,
    ) -> napi::Result<NativeStore> {
        c_path(path)
            .and_then(|p| open_store(Mode::Write(p), c_options(options)?))
            .map(NativeStore::new)
            .map_err(|f| f.into_js(&env))
    }

    /// A new empty store in memory (no disk, so synchronous).
    #[napi]
    pub fn open_in_memory(env: Env, options: Option<OpenOptions>) -> napi::Result<NativeStore> {
        c_options(options)
            .and_then(|opts| open_store(Mode::Memory, opts))
            .map(NativeStore::new)
            .map_err(|f| f.into_js(&env))
    }

    /// Opens an existing store read-only, on the pool.
    #[napi]
    pub fn open_read_only(
        env: Env,
        path: String,
        options: Option<OpenOptions>,
    ) -> napi::Result<AsyncTask<Job>> {
        let prepared = c_path(path).and_then(|p| Ok((p, c_options(options)?)));
        let (path, opts) = prepared.map_err(|f| f.into_js(&env))?;
        Ok(Job::spawn(move || {
            open_store(Mode::ReadOnly(path), opts).map(Output::Store)
        }))
    }

    /// Appends the events packed in `data` (event i is the next `lengths[i]`
    /// bytes) atomically. `data` must be a Buffer no JS code writes to.
    #[napi]
    pub fn append_batch(
        &self,
        env: Env,
        stream: BigInt,
        data: Buffer,
        lengths: Uint32Array,
        expected_offset: Option<BigInt>,
        fsync: Option<bool>,
    ) -> napi::Result<AsyncTask<Job>> {
        // A typed array crosses in one piece (a JS array would cost one
        // napi_get_element per event); copied here, on the JS thread.
        let lengths: Vec<usize> = lengths.iter().map(|&l| l as usize).collect();
        let args = (|| {
            let (stream, expected) = offsets(&stream, expected_offset.as_ref())?;
            let total: u64 = lengths.iter().map(|&l| l as u64).sum();
            if total != data.len() as u64 {
                return Err(Failure::invalid_value(format!(
                    "event lengths add up to {total} bytes, but data holds {}",
                    data.len()
                )));
            }
            Ok((stream, expected))
        })();
        let (stream, expected) = args.map_err(|f| f.into_js(&env))?;
        let fsync = fsync.unwrap_or_else(|| self.shared.default_fsync());
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn_with(vec![data], move |inputs| {
            let bytes = inputs.first().map_or(&[][..], |b| &b[..]);
            append_packed(&shared, stream, expected, fsync, bytes, &lengths).map(Output::Head)
        }))
    }

    /// Appends batches to `stream` in their order (see `append_group`): the
    /// JS layer's queue of appends made while one to the stream was in
    /// flight. Batch i is `data[i]`, whose events' sizes are `lengths[i]`,
    /// appended with `options[i]`. Resolves to one head or Error per batch.
    #[napi]
    pub fn append_group(
        &self,
        env: Env,
        stream: BigInt,
        data: Vec<Buffer>,
        lengths: Vec<Uint32Array>,
        options: Vec<GroupOptions>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            let stream = to_u64("stream", &stream)?;
            if data.len() != lengths.len() || data.len() != options.len() {
                return Err(Failure::invalid_value(
                    "data, lengths and options need one entry per batch",
                ));
            }
            let mut group = Vec::with_capacity(data.len());
            for ((bytes, sizes), o) in data.iter().zip(&lengths).zip(&options) {
                if sizes.iter().map(|&l| u64::from(l)).sum::<u64>() != bytes.len() as u64 {
                    return Err(Failure::invalid_value(
                        "a batch's lengths do not add up to its data",
                    ));
                }
                group.push(GroupBatch {
                    lengths: sizes.iter().map(|&l| l as usize).collect(),
                    expected: expected_offset(o.expected_offset.as_ref()),
                    fsync: o.fsync.unwrap_or_else(|| self.shared.default_fsync()),
                });
            }
            Ok((stream, group))
        })();
        let (stream, group) = args.map_err(|f| f.into_js(&env))?;
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn_with(data, move |inputs| {
            Ok(Output::Group(append_group(&shared, stream, inputs, group)))
        }))
    }

    /// The first argument of the module's `appendEvents` for this store
    /// (see append.rs).
    #[napi]
    pub fn append_target<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        self.target.to_object(env)
    }

    /// Events from `offset` on, up to `max_bytes` (at least one if any).
    #[napi]
    pub fn read_from(
        &self,
        env: Env,
        stream: BigInt,
        offset: BigInt,
        max_bytes: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| {
            Ok((
                to_u64("stream", &stream)?,
                to_u64("offset", &offset)?,
                to_u64("maxBytes", &max_bytes)?,
            ))
        })();
        let (stream, offset, max_bytes) = args.map_err(|f: Failure| f.into_js(&env))?;
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn(move || {
            let batch = shared.with(|store| {
                let mut out = ptr::null_mut();
                // SAFETY: live handle (read guard held); `out` is writable.
                check(unsafe {
                    stratalog::stratalog_read_from(store, stream, offset, max_bytes, &mut out)
                })?;
                Ok(Events(out))
            })?;
            // The batch does not borrow the store: copy it without the guard.
            copy_events(&batch).map(Output::Chunk)
        }))
    }

    /// A lazy iterator over `stream` from `start`.
    #[napi]
    pub fn iter(&self, env: Env, stream: BigInt, start: BigInt) -> napi::Result<NativeIter> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("start", &start)?)))();
        let (stream, start) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(NativeIter::new(Arc::clone(&self.shared), stream, start))
    }

    /// The chain head of `stream`, from memory (synchronous).
    #[napi]
    pub fn chain_head(&self, env: Env, stream: BigInt) -> napi::Result<Output> {
        let result = to_u64("stream", &stream).and_then(|stream| {
            self.shared.with(|store| {
                let mut head = empty_head();
                // SAFETY: live handle (read guard held); `head` is writable.
                check(unsafe { stratalog::stratalog_chain_head(store, stream, &mut head) })?;
                Ok(Output::Head(head))
            })
        });
        result.map_err(|f| f.into_js(&env))
    }

    /// Verifies the whole stream, on the pool.
    #[napi]
    pub fn verify(&self, env: Env, stream: BigInt) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn(move || {
            shared.with(|store| {
                let mut report = empty_report();
                // SAFETY: live handle (read guard held); `report` is writable.
                check(unsafe { stratalog::stratalog_verify(store, stream, &mut report) })?;
                Ok(Output::Report(report))
            })
        }))
    }

    /// Verifies the stream and that it holds the history `head` summarizes.
    #[napi]
    pub fn verify_against(
        &self,
        env: Env,
        stream: BigInt,
        next_offset: BigInt,
        hash: Buffer,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, head_from(&next_offset, &hash)?)))();
        let (stream, head) = args.map_err(|f: Failure| f.into_js(&env))?;
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn(move || {
            shared.with(|store| {
                let mut report = empty_report();
                // SAFETY: live handle (read guard held); `head` is readable
                // and `report` writable.
                check(unsafe {
                    stratalog::stratalog_verify_against(store, stream, &head, &mut report)
                })?;
                Ok(Output::Report(report))
            })
        }))
    }

    /// The ids of the streams that hold events, on the pool.
    #[napi]
    pub fn streams(&self) -> AsyncTask<Job> {
        let shared = Arc::clone(&self.shared);
        Job::spawn(move || {
            shared.with(|store| {
                let mut list = ptr::null_mut();
                // SAFETY: live handle (read guard held); `list` is writable.
                check(unsafe { stratalog::stratalog_streams(store, &mut list) })?;
                // SAFETY (below): `list` is a live list until freed; its data
                // holds stratalog_stream_list_len() ids (NULL when empty).
                let ids = unsafe {
                    let len = stratalog::stratalog_stream_list_len(list);
                    let data = stratalog::stratalog_stream_list_data(list);
                    let ids = if data.is_null() || len == 0 {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(data, len).to_vec()
                    };
                    stratalog::stratalog_stream_list_free(list);
                    ids
                };
                Ok(Output::Streams(ids))
            })
        })
    }

    /// Makes every append so far durable, to `stream` or (undefined) to
    /// every stream, on the pool.
    #[napi]
    pub fn sync(&self, env: Env, stream: Option<BigInt>) -> napi::Result<AsyncTask<Job>> {
        let stream = stream
            .map(|s| to_u64("stream", &s))
            .transpose()
            .map_err(|f| f.into_js(&env))?;
        let shared = Arc::clone(&self.shared);
        Ok(Job::spawn(move || {
            shared.with(|store| {
                // SAFETY (both arms): live handle (read guard held).
                check(match stream {
                    Some(stream) => unsafe { stratalog::stratalog_sync_stream(store, stream) },
                    None => unsafe { stratalog::stratalog_sync(store) },
                })?;
                Ok(Output::Undefined)
            })
        }))
    }

    /// Whether the store was opened read-only (false once closed).
    #[napi(getter)]
    pub fn read_only(&self) -> bool {
        self.shared
            // SAFETY: live handle (read guard held).
            .with(|store| Ok(unsafe { stratalog::stratalog_is_read_only(store) }))
            .unwrap_or(false)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// The options the store was opened with.
    #[napi]
    pub fn options(&self, env: Env) -> napi::Result<StoreOptions> {
        let result = self.shared.with(|store| {
            let mut opts = stratalog_options {
                segment_size: 0,
                checkpoint_interval: 0,
                compression: stratalog_compression::None,
                max_event_size: 0,
                fsync: false,
            };
            // SAFETY: live handle (read guard held); `opts` is writable.
            check(unsafe { stratalog::stratalog_store_options(store, &mut opts) })?;
            Ok(StoreOptions {
                segment_size: BigInt::from(opts.segment_size),
                checkpoint_interval: BigInt::from(opts.checkpoint_interval),
                compression: match opts.compression {
                    stratalog_compression::None => "none",
                    stratalog_compression::Lz4 => "lz4",
                    stratalog_compression::Zstd => "zstd",
                }
                .to_owned(),
                max_event_size: BigInt::from(opts.max_event_size),
                fsync: opts.fsync,
            })
        });
        result.map_err(|f| f.into_js(&env))
    }

    /// Waits for the calls in flight, syncs, releases the writer lock and
    /// frees the handle. Later calls fail with STRATALOG_CLOSED. Throws if
    /// the final sync failed (the store is closed all the same).
    #[napi]
    pub fn close(&self, env: Env) -> napi::Result<()> {
        self.shared.close().map_err(|f| f.into_js(&env))
    }
}

/// The options of an open store, as `NativeStore.options()` returns them.
#[napi(object)]
#[derive(Debug)]
pub struct StoreOptions {
    pub segment_size: BigInt,
    pub checkpoint_interval: BigInt,
    pub compression: String,
    pub max_event_size: BigInt,
    pub fsync: bool,
}
