//! `NativeStore`: one method per library operation. The JS layer
//! (index.js) validates and normalizes arguments (numbers become bigints,
//! events one contiguous Buffer) and builds the public `Store` API on top.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BigInt, Buffer, Object, ToNapiValue, Uint32Array};
use napi::Env;
use napi_derive::napi;
use stratalog_client::{self as client, Fsync, Head, Options, Store};

use crate::append::{append_group, append_packed, offsets, AppendTarget, QueuedBatch};
use crate::error::Failure;
use crate::iter::NativeIter;
use crate::job::{spawn_waiting, Job, Output};
use crate::value::to_u64;

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
    /// "none", "lz4" or "zstd" (parsed by the library).
    pub compression: Option<String>,
    pub max_event_size: Option<BigInt>,
    pub fsync: Option<bool>,
    pub max_open_files: Option<BigInt>,
    /// Whether each batch records its append time.
    pub timestamps: Option<bool>,
    /// The tier's URL ("s3://bucket/prefix").
    pub tier: Option<String>,
    /// The tier's options (object_store keys: endpoint, region, ...), as
    /// `[key, value]` pairs.
    pub tier_options: Option<Vec<Vec<String>>>,
    pub local_cache_bytes: Option<BigInt>,
    pub tier_takeover: Option<bool>,
    pub tier_lease_ms: Option<BigInt>,
}

/// What a tiered store's uploader is doing.
#[napi(object)]
#[derive(Debug)]
pub struct TierStats {
    pub pending_segments: BigInt,
    pub pending_bytes: BigInt,
    pub uploaded_segments: BigInt,
    pub uploaded_bytes: BigInt,
    pub evicted_segments: BigInt,
    pub copied_back_segments: BigInt,
    pub epoch: BigInt,
    pub fenced: bool,
    pub last_error: Option<String>,
}

/// The store options, and the tier (with its options) when one is given.
struct Opening {
    options: Options,
    tier: client::Tier,
    tier_options: Vec<(String, String)>,
}

fn opening(given: Option<OpenOptions>) -> Result<Opening, Failure> {
    let (tier_url, pairs, cache, takeover, lease) = match &given {
        Some(o) => (
            o.tier.clone(),
            o.tier_options.clone().unwrap_or_default(),
            o.local_cache_bytes
                .as_ref()
                .map(|v| to_u64("localCacheBytes", v))
                .transpose()?,
            o.tier_takeover.unwrap_or(false),
            o.tier_lease_ms
                .as_ref()
                .map(|v| to_u64("tierLeaseMs", v))
                .transpose()?,
        ),
        None => (None, Vec::new(), None, false, None),
    };
    let mut tier_options = Vec::with_capacity(pairs.len());
    for pair in pairs {
        match <[String; 2]>::try_from(pair) {
            Ok([key, value]) => tier_options.push((key, value)),
            Err(_) => {
                return Err(Failure::invalid_value(
                    "tierOptions holds [key, value] pairs",
                ))
            }
        }
    }
    let tier = client::Tier {
        url: tier_url,
        options: tier_options.clone(),
        local_cache_bytes: cache,
        takeover,
        lease_ms: lease,
    };
    Ok(Opening {
        options: options(given)?,
        tier,
        tier_options,
    })
}

impl Opening {
    fn open(&self, path: &str) -> Result<Store, client::Error> {
        Store::open_tiered(path, &self.options, &self.tier)
    }

    fn open_read_only(&self, path: &str) -> Result<Store, client::Error> {
        if path.contains("://") {
            Store::open_tier_read_only(path, &self.options, &self.tier_options)
        } else {
            Store::open_read_only(path, &self.options)
        }
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
    pub max_open_files: BigInt,
    pub timestamps: bool,
}

fn options(given: Option<OpenOptions>) -> Result<Options, Failure> {
    let mut opts = Store::default_options();
    let Some(o) = given else {
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
    if let Some(v) = &o.max_open_files {
        opts.max_open_files = to_u64("maxOpenFiles", v)?;
    }
    if let Some(name) = &o.compression {
        opts.compression = client::parse_compression(name)?;
    }
    if let Some(f) = o.fsync {
        opts.fsync = f;
    }
    if let Some(t) = o.timestamps {
        opts.timestamps = t;
    }
    Ok(opts)
}

/// A path the library can take: no NUL bytes (the JS layer refused the
/// other bad ones).
fn checked_path(path: String) -> Result<String, Failure> {
    if path.contains('\0') {
        return Err(Failure::invalid_value("path must not contain NUL bytes"));
    }
    Ok(path)
}

/// A head given as `nextOffset` and a 32-byte hash.
pub(crate) fn head_from(next_offset: &BigInt, hash: &[u8]) -> Result<Head, Failure> {
    let hash = <[u8; 32]>::try_from(hash)
        .map_err(|_| Failure::invalid_value("a chain hash is 32 bytes"))?;
    Ok(Head {
        next_offset: to_u64("nextOffset", next_offset)?,
        hash,
    })
}

/// An unfinished batch the open found at the end of a stream.
#[napi(object)]
#[derive(Debug)]
pub struct TornTail {
    pub stream: BigInt,
    pub segment: String,
    pub kept_length: BigInt,
    pub dropped_bytes: BigInt,
}

/// An open store as the result of a job: the `NativeStore` is made on the
/// JS thread.
fn opened(store: Result<Store, client::Error>) -> Result<Output, Failure> {
    let store = Arc::new(store?);
    Ok(Output::Built(Box::new(move |env| {
        // SAFETY: the live env `Output` is converted in.
        unsafe { NativeStore::to_napi_value(env, NativeStore::new(store)) }
    })))
}

/// An open store: the native half of the JS `Store`.
#[napi]
#[derive(Debug)]
pub struct NativeStore {
    store: Arc<Store>,
    target: AppendTarget,
}

impl NativeStore {
    fn new(store: Arc<Store>) -> Self {
        NativeStore {
            target: AppendTarget::new(Arc::clone(&store)),
            store,
        }
    }

    /// Runs `work` on the store on the pool.
    pub(crate) fn job(
        &self,
        work: impl FnOnce(&Store) -> Result<Output, Failure> + Send + 'static,
    ) -> AsyncTask<Job> {
        let store = Arc::clone(&self.store);
        Job::spawn(move || work(&store))
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
        let args = checked_path(path).and_then(|p| Ok((p, opening(options)?)));
        let (path, opening) = args.map_err(|f| f.into_js(&env))?;
        Ok(Job::spawn(move || opened(opening.open(&path))))
    }

    /// Opens a store for writing on the calling (JS) thread.
    #[napi]
    pub fn open_sync(
        env: Env,
        path: String,
        options: Option<OpenOptions>,
    ) -> napi::Result<NativeStore> {
        checked_path(path)
            .and_then(|path| Ok(opening(options)?.open(&path)?))
            .map(|store| NativeStore::new(Arc::new(store)))
            .map_err(|f| f.into_js(&env))
    }

    /// A new empty store in memory (no disk, so synchronous).
    #[napi]
    pub fn open_in_memory(env: Env, options: Option<OpenOptions>) -> napi::Result<NativeStore> {
        opening(options)
            .and_then(|o| Ok(Store::open_in_memory_with(&o.options, &o.tier)?))
            .map(|store| NativeStore::new(Arc::new(store)))
            .map_err(|f| f.into_js(&env))
    }

    /// Opens an existing store read-only, on the pool.
    #[napi]
    pub fn open_read_only(
        env: Env,
        path: String,
        options: Option<OpenOptions>,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = checked_path(path).and_then(|p| Ok((p, opening(options)?)));
        let (path, opening) = args.map_err(|f| f.into_js(&env))?;
        Ok(Job::spawn(move || opened(opening.open_read_only(&path))))
    }

    /// Seals every stream's unsealed events and waits, on the pool, until
    /// the tier's bucket holds everything appended before the call.
    #[napi]
    pub fn sync_tier(&self) -> AsyncTask<Job> {
        self.job(|s| {
            s.sync_tier()?;
            Ok(Output::Undefined)
        })
    }

    /// What the tier's uploader is doing now (no I/O: synchronous).
    #[napi]
    pub fn tier_stats(&self, env: Env) -> napi::Result<TierStats> {
        let s = self
            .store
            .tier_stats()
            .map_err(|e| Failure::from(e).into_js(&env))?;
        Ok(TierStats {
            pending_segments: BigInt::from(s.pending_segments),
            pending_bytes: BigInt::from(s.pending_bytes),
            uploaded_segments: BigInt::from(s.uploaded_segments),
            uploaded_bytes: BigInt::from(s.uploaded_bytes),
            evicted_segments: BigInt::from(s.evicted_segments),
            copied_back_segments: BigInt::from(s.copied_back_segments),
            epoch: BigInt::from(s.epoch),
            fenced: s.fenced,
            last_error: s.last_error,
        })
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
        let fsync = Fsync::from(fsync);
        let store = Arc::clone(&self.store);
        Ok(Job::spawn_with(vec![data], move |inputs| {
            let bytes = inputs.first().map_or(&[][..], |b| &b[..]);
            append_packed(&store, stream, expected, fsync, bytes, &lengths).map(Output::Head)
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
                let (_, expected) = offsets(&BigInt::from(0u64), o.expected_offset.as_ref())?;
                group.push(QueuedBatch {
                    lengths: sizes.iter().map(|&l| l as usize).collect(),
                    expected,
                    fsync: Fsync::from(o.fsync),
                });
            }
            Ok((stream, group))
        })();
        let (stream, group) = args.map_err(|f| f.into_js(&env))?;
        let store = Arc::clone(&self.store);
        Ok(Job::spawn_with(data, move |inputs| {
            append_group(&store, stream, inputs, &group).map(Output::Group)
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
        Ok(self.job(move |store| {
            let batch = store.read_from(stream, offset, max_bytes)?;
            let mut chunk = crate::value::Chunk {
                first: batch.first_offset(),
                ..Default::default()
            };
            for event in batch.iter() {
                chunk.push(event)?;
            }
            Ok(Output::Chunk(chunk))
        }))
    }

    /// A lazy iterator over `stream` from `start`; it is positioned (and a
    /// start past the end refused) by its first chunk, on the pool.
    #[napi]
    pub fn iter(&self, env: Env, stream: BigInt, start: BigInt) -> napi::Result<NativeIter> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("start", &start)?)))();
        let (stream, start) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(NativeIter::new(Arc::clone(&self.store), stream, start))
    }

    /// The chain head of `stream`, from memory (synchronous).
    #[napi]
    pub fn chain_head(&self, env: Env, stream: BigInt) -> napi::Result<Output> {
        let result = to_u64("stream", &stream)
            .and_then(|stream| Ok(Output::Head(self.store.chain_head(stream)?)));
        result.map_err(|f| f.into_js(&env))
    }

    /// The manifest of the backup this store is (`null`: not a backup), on
    /// the pool.
    #[napi]
    pub fn backup_manifest(&self) -> AsyncTask<Job> {
        self.job(|store| Ok(Output::Manifest(store.backup_manifest()?)))
    }

    /// The head `stream`'s retained events continue, on the pool (it may
    /// recover the stream and read its first segment's header).
    #[napi]
    pub fn first_head(&self, env: Env, stream: BigInt) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Head(store.first_head(stream)?))))
    }

    /// Verifies the whole stream, on the pool.
    #[napi]
    pub fn verify(&self, env: Env, stream: BigInt) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Report(store.verify(stream)?))))
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
        Ok(self.job(move |store| Ok(Output::Report(store.verify_against(stream, &head)?))))
    }

    /// The ids of the streams that hold events, on the pool.
    #[napi]
    pub fn streams(&self) -> AsyncTask<Job> {
        self.job(|store| Ok(Output::Streams(store.streams()?)))
    }

    /// Waits, on a waiter thread (never the pool: see waiters.rs), until
    /// `stream`'s next offset passes `offset`, and resolves to it;
    /// `timeout_ms` (undefined: forever) bounds the wait.
    #[napi]
    pub fn wait<'env>(
        &self,
        env: &'env Env,
        stream: BigInt,
        offset: BigInt,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let args = (|| {
            let timeout = match timeout_ms {
                None => None,
                Some(ms) if ms.is_finite() && ms >= 0.0 => {
                    Some(std::time::Duration::from_secs_f64(ms.min(1e12) / 1000.0))
                }
                Some(_) => {
                    return Err(Failure::range(
                        "timeout must be a finite number of milliseconds >= 0",
                    ))
                }
            };
            Ok((
                to_u64("stream", &stream)?,
                to_u64("offset", &offset)?,
                timeout,
            ))
        })();
        let (stream, offset, timeout) = args.map_err(|f: Failure| f.into_js(env))?;
        let store = Arc::clone(&self.store);
        spawn_waiting(env, move || {
            Ok(Output::Offset(store.wait(stream, offset, timeout)?))
        })
    }

    /// Where consumer `name` of `stream` committed it had processed up to,
    /// on the pool.
    #[napi]
    pub fn cursor(&self, env: Env, stream: BigInt, name: String) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.cursor(stream, &name)?))))
    }

    /// Commits, durably, that consumer `name` of `stream` has processed
    /// every event before `offset`, on the pool.
    #[napi]
    pub fn commit_cursor(
        &self,
        env: Env,
        stream: BigInt,
        name: String,
        offset: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        let offset = to_u64("offset", &offset).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| {
            store.commit_cursor(stream, &name, offset)?;
            Ok(Output::Undefined)
        }))
    }

    /// Removes the sealed segments of `stream` below `before`, on the pool;
    /// resolves to the stream's first offset afterwards.
    #[napi]
    pub fn prune(&self, env: Env, stream: BigInt, before: BigInt) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("before", &before)?)))();
        let (stream, before) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.prune(stream, before)?))))
    }

    /// Prunes `stream` to keep at least its last `count` events, on the
    /// pool; resolves to the first offset.
    #[napi]
    pub fn prune_keep_last(
        &self,
        env: Env,
        stream: BigInt,
        count: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("count", &count)?)))();
        let (stream, count) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.prune_keep_last(stream, count)?))))
    }

    /// Prunes `stream` to at most `max_bytes` bytes of segments (the
    /// active one always stays), on the pool; resolves to the first offset.
    #[napi]
    pub fn prune_keep_bytes(
        &self,
        env: Env,
        stream: BigInt,
        max_bytes: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("maxBytes", &max_bytes)?)))();
        let (stream, max_bytes) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.prune_keep_bytes(stream, max_bytes)?))))
    }

    /// Prunes `stream` to keep every batch recorded at or after `unix_ms`
    /// (Unix milliseconds), on the pool; resolves to the first offset.
    #[napi]
    pub fn prune_keep_newer(
        &self,
        env: Env,
        stream: BigInt,
        unix_ms: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("when", &unix_ms)?)))();
        let (stream, unix_ms) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.prune_keep_newer(stream, unix_ms)?))))
    }

    /// The first offset of `stream` from which every recorded batch time is
    /// at least `unix_ms` (Unix milliseconds), on the pool.
    #[napi]
    pub fn seek_time(
        &self,
        env: Env,
        stream: BigInt,
        unix_ms: BigInt,
    ) -> napi::Result<AsyncTask<Job>> {
        let args = (|| Ok((to_u64("stream", &stream)?, to_u64("when", &unix_ms)?)))();
        let (stream, unix_ms) = args.map_err(|f: Failure| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.seek_time(stream, unix_ms)?))))
    }

    /// The first offset `stream` still holds (0 unless pruned), on the pool.
    #[napi]
    pub fn first_offset(&self, env: Env, stream: BigInt) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Offset(store.first_offset(stream)?))))
    }

    /// Backs the store up into directory `dest`, on the pool; resolves to
    /// `[stream, head]` pairs read from the backup.
    #[napi]
    pub fn backup(&self, env: Env, dest: String) -> napi::Result<AsyncTask<Job>> {
        let dest = checked_path(dest).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Heads(store.backup_heads(&dest)?))))
    }

    /// Segments, bytes and offsets of `stream`, on the pool.
    #[napi]
    pub fn stats(&self, env: Env, stream: BigInt) -> napi::Result<AsyncTask<Job>> {
        let stream = to_u64("stream", &stream).map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| Ok(Output::Stats(store.stats(stream)?))))
    }

    /// Makes every append so far durable, to `stream` or (undefined) to
    /// every stream, on the pool.
    #[napi]
    pub fn sync(&self, env: Env, stream: Option<BigInt>) -> napi::Result<AsyncTask<Job>> {
        let stream = stream
            .map(|s| to_u64("stream", &s))
            .transpose()
            .map_err(|f| f.into_js(&env))?;
        Ok(self.job(move |store| {
            store.sync(stream)?;
            Ok(Output::Undefined)
        }))
    }

    /// Whether the store was opened read-only (false once closed).
    #[napi(getter)]
    pub fn read_only(&self) -> bool {
        self.store.is_read_only() && !self.store.is_closed()
    }

    /// The unfinished batches this open found at the ends of streams.
    #[napi]
    pub fn torn_tails(&self) -> Vec<TornTail> {
        self.store
            .torn_tails()
            .iter()
            .map(|t| TornTail {
                stream: BigInt::from(t.stream),
                segment: t.segment.clone(),
                kept_length: BigInt::from(t.kept_len),
                dropped_bytes: BigInt::from(t.dropped_bytes),
            })
            .collect()
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.store.is_closed()
    }

    /// The options the store was opened with.
    #[napi]
    pub fn options(&self, env: Env) -> napi::Result<StoreOptions> {
        let opts = self
            .store
            .options()
            .map_err(|e| Failure::from(e).into_js(&env))?;
        Ok(StoreOptions {
            segment_size: BigInt::from(opts.segment_size),
            checkpoint_interval: BigInt::from(opts.checkpoint_interval),
            compression: client::compression_name(opts.compression).to_owned(),
            max_event_size: BigInt::from(opts.max_event_size),
            fsync: opts.fsync,
            max_open_files: BigInt::from(opts.max_open_files),
            timestamps: opts.timestamps,
        })
    }

    /// Waits for the calls in flight, syncs and releases the writer lock.
    /// Later calls fail with STRATALOG_CLOSED. Throws if the final sync
    /// failed (the store is closed all the same).
    #[napi]
    pub fn close(&self, env: Env) -> napi::Result<()> {
        self.store
            .close()
            .map_err(|e| Failure::from(e).into_js(&env))
    }
}
