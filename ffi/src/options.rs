//! stratalog_options and stratalog_compression: how a store is configured,
//! and the names of the codecs.

use std::ffi::c_char;
use std::ptr;

use stratalog_core::{Compression, Options, TierConfig};

use crate::args;
use crate::error::{guard, guard_value, stratalog_status, Fail};

/// The library's lease, as `tier_lease_ms` says it.
const DEFAULT_TIER_LEASE_MS: u64 = TierConfig::DEFAULT_LEASE_TTL.as_millis() as u64;

/// Compression of new records. A payload is stored compressed only when that
/// makes it smaller; the chain hash always covers the raw bytes, so it does
/// not depend on this setting. Names: stratalog_compression_name() and
/// stratalog_compression_parse().
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum stratalog_compression {
    /// Store payloads as they are ("none").
    None = 0,
    /// LZ4 block compression ("lz4").
    Lz4 = 1,
    /// Zstandard ("zstd").
    Zstd = 2,
}

impl stratalog_compression {
    fn from_core(c: Compression) -> Self {
        match c {
            Compression::None => stratalog_compression::None,
            Compression::Lz4 => stratalog_compression::Lz4,
            Compression::Zstd => stratalog_compression::Zstd,
        }
    }

    /// The codec of a number read from C memory, or `None` for a number
    /// that is not one.
    fn to_core(raw: u32) -> Option<Compression> {
        Compression::ALL.get(usize::try_from(raw).ok()?).copied()
    }
}

/// How a store is configured. Initialize with stratalog_options_default() and
/// then change the fields you care about; the library only reads it during
/// the call it is passed to.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct stratalog_options {
    /// A segment file is rotated before a batch would grow it past this many
    /// bytes (at least 4096). Default 64 MiB.
    pub segment_size: u64,
    /// A checkpoint record is written before every event whose offset is a
    /// non-zero multiple of this (at least 1); it bounds the work of a random
    /// read. Default 256. Recorded in each new segment's header.
    pub checkpoint_interval: u64,
    /// Compression of new records. Default STRATALOG_COMPRESSION_NONE.
    pub compression: stratalog_compression,
    /// Largest event accepted by appends, between 1 and 4294967287. Default
    /// 16 MiB. Recorded in each new segment's header; reads follow the limit
    /// each segment records, never this one.
    pub max_event_size: u64,
    /// The store's durability for appends that pass STRATALOG_FSYNC_DEFAULT.
    /// Default false.
    pub fsync: bool,
    /// Most segment files the store keeps open at once, whatever its number
    /// of streams (at least 8). The least recently used are closed and
    /// reopened on their next use, so a store of 100,000 streams runs under
    /// the usual limit of 1,024 descriptors per process. Default 256. A
    /// process that runs out of descriptors anyway (a lower `ulimit -n`, an
    /// application holding many) makes the store close some of its own and
    /// lower this bound instead of failing with EMFILE.
    pub max_open_files: u64,
    /// Whether each batch records its append time (Unix milliseconds) in a
    /// time record before its first event, for stratalog_seek_time() and
    /// stratalog_prune_keep_newer(). Costs 68 bytes per batch. Default
    /// false. Recorded in each new segment's header.
    pub timestamps: bool,
    /// The tier to upload sealed segments to: a NUL-terminated URL such as
    /// "s3://bucket/prefix" (docs/TIERING.md), or NULL (the default) for
    /// none. Read by stratalog_open(), which refuses (INVALID_ARGUMENT) the
    /// other tier fields set to anything but their defaults without it;
    /// stratalog_open_read_only_with() of a URL reads tier_options.
    pub tier_url: *const c_char,
    /// The tier's options: 2 × tier_option_count NUL-terminated strings,
    /// each key followed by its value ("endpoint", "http://127.0.0.1:9000",
    /// "allow_http", "true", "region", "us-east-1", ...). An unknown key is
    /// INVALID_ARGUMENT. Credentials come from the AWS environment
    /// variables unless given here. Default NULL and 0.
    pub tier_options: *const *const c_char,
    pub tier_option_count: usize,
    /// Bytes of sealed segments kept locally once the bucket holds them;
    /// the oldest beyond it are deleted locally and read from the bucket.
    /// Default UINT64_MAX: keep every local copy.
    pub local_cache_bytes: u64,
    /// Take over the tier from another writer whose lease expired
    /// (tier_lease_ms without renewal). Default false: LOCKED.
    pub tier_takeover: bool,
    /// How long the tier's writer lease lasts without renewal, in
    /// milliseconds; the writer renews it every third of that. Default
    /// 30000.
    pub tier_lease_ms: u64,
}

// SAFETY: the pointers in the struct (the tier's URL and options) are only
// read during the call the struct is passed to, which the caller keeps
// them valid for; the struct itself is plain data that any thread may copy.
unsafe impl Send for stratalog_options {}
// SAFETY: as above; nothing writes through the pointers.
unsafe impl Sync for stratalog_options {}

impl stratalog_options {
    pub(crate) fn from_core(o: &Options) -> Self {
        stratalog_options {
            segment_size: o.segment_size,
            checkpoint_interval: o.checkpoint_interval,
            compression: stratalog_compression::from_core(o.compression),
            max_event_size: o.max_event_size,
            fsync: o.fsync,
            max_open_files: o.max_open_files,
            timestamps: o.timestamps,
            tier_url: ptr::null(),
            tier_options: ptr::null(),
            tier_option_count: 0,
            local_cache_bytes: u64::MAX,
            tier_takeover: false,
            tier_lease_ms: DEFAULT_TIER_LEASE_MS,
        }
    }
}

/// Reads options from C memory (NULL means the defaults). Fields are read
/// one by one as plain integers, so a compression value or a bool outside
/// the valid range is an error rather than undefined behaviour.
///
/// # Safety
/// `opts` is NULL or points to a readable `stratalog_options`.
pub(crate) unsafe fn read_options(opts: *const stratalog_options) -> Result<Options, Fail> {
    if opts.is_null() {
        return Ok(Options::default());
    }
    // SAFETY: `opts` points to a readable struct per the contract; each field
    // is read as an integer type for which every bit pattern is valid.
    let (segment_size, checkpoint_interval, compression, max_event_size, fsync, max_open_files) = unsafe {
        (
            args::field(ptr::addr_of!((*opts).segment_size)),
            args::field(ptr::addr_of!((*opts).checkpoint_interval)),
            args::field(ptr::addr_of!((*opts).compression).cast::<u32>()),
            args::field(ptr::addr_of!((*opts).max_event_size)),
            args::field(ptr::addr_of!((*opts).fsync).cast::<u8>()),
            args::field(ptr::addr_of!((*opts).max_open_files)),
        )
    };
    // SAFETY: as above.
    let timestamps: u8 = unsafe { args::field(ptr::addr_of!((*opts).timestamps).cast::<u8>()) };
    let compression = stratalog_compression::to_core(compression).ok_or_else(|| {
        Fail::invalid(format!(
            "options.compression must be STRATALOG_COMPRESSION_NONE, _LZ4 or _ZSTD, got {compression}"
        ))
    })?;
    Ok(Options {
        segment_size,
        checkpoint_interval,
        compression,
        fsync: fsync != 0,
        max_event_size,
        max_open_files,
        timestamps: timestamps != 0,
    })
}

/// The tier's key/value options from `opts` (none for NULL).
///
/// # Safety
/// `opts` is NULL or points to a readable `stratalog_options` whose
/// tier_options holds 2 × tier_option_count readable strings.
pub(crate) unsafe fn read_tier_options(
    opts: *const stratalog_options,
) -> Result<Vec<(String, String)>, Fail> {
    if opts.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: per the contract, read as plain integers and pointers.
    let (list, count) = unsafe {
        (
            args::field(ptr::addr_of!((*opts).tier_options)),
            args::field(ptr::addr_of!((*opts).tier_option_count)),
        )
    };
    let len = count
        .checked_mul(2)
        .ok_or_else(|| Fail::invalid("options.tier_option_count is too large"))?;
    // SAFETY: per the contract.
    let strings = unsafe { args::array(list, len, "options.tier_options")? };
    let mut pairs = Vec::with_capacity(count);
    for pair in strings.chunks_exact(2) {
        // SAFETY: each is a NUL-terminated string per the contract.
        let (key, value) = unsafe {
            (
                args::text(pair[0], "a tier option key")?,
                args::text(pair[1], "a tier option value")?,
            )
        };
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

/// The tier `opts` configures, connected, or `None` when tier_url is NULL.
///
/// # Safety
/// As [`read_tier_options`].
pub(crate) unsafe fn read_tier(opts: *const stratalog_options) -> Result<Option<TierConfig>, Fail> {
    // SAFETY: per the contract.
    unsafe { read_tier_fields(opts, true) }
}

/// Refuses tier fields in `opts`, for an open that cannot have a tier:
/// silently ignored, they would leave a user believing the store tiered.
///
/// # Safety
/// As [`read_tier_options`].
pub(crate) unsafe fn refuse_tier(opts: *const stratalog_options) -> Result<(), Fail> {
    // SAFETY: per the contract.
    unsafe { read_tier_fields(opts, false) }.map(|_| ())
}

const IN_MEMORY_NO_TIER: &str =
    "an in-memory store cannot have a tier (nor tier settings): open a directory with tier_url";

/// [`read_tier`], which only checks the fields unless `connect`.
///
/// # Safety
/// As [`read_tier_options`].
unsafe fn read_tier_fields(
    opts: *const stratalog_options,
    connect: bool,
) -> Result<Option<TierConfig>, Fail> {
    if opts.is_null() {
        return Ok(None);
    }
    // SAFETY: per the contract.
    let (url, option_count, cache, takeover, lease_ms) = unsafe {
        (
            args::field(ptr::addr_of!((*opts).tier_url)),
            args::field(ptr::addr_of!((*opts).tier_option_count)),
            args::field(ptr::addr_of!((*opts).local_cache_bytes)),
            args::field(ptr::addr_of!((*opts).tier_takeover).cast::<u8>()),
            args::field(ptr::addr_of!((*opts).tier_lease_ms)),
        )
    };
    if url.is_null() {
        if option_count > 0
            || cache != u64::MAX
            || takeover != 0
            || lease_ms != DEFAULT_TIER_LEASE_MS
        {
            // Silently ignored, they would leave a user believing the
            // store is tiered.
            return Err(Fail::invalid(if connect {
                "tier options, a local cache size, a takeover and a lease need a tier"
            } else {
                IN_MEMORY_NO_TIER
            }));
        }
        return Ok(None);
    }
    if !connect {
        return Err(Fail::invalid(IN_MEMORY_NO_TIER));
    }
    // SAFETY: per the contract.
    let url = unsafe { args::text(url, "options.tier_url")? };
    // SAFETY: per the contract.
    let pairs = unsafe { read_tier_options(opts)? };
    if lease_ms == 0 {
        return Err(Fail::invalid("options.tier_lease_ms must be at least 1"));
    }
    let mut config = TierConfig::new(stratalog_tier::connect(url, &pairs)?);
    config.local_cache_bytes = (cache != u64::MAX).then_some(cache);
    config.takeover = takeover != 0;
    config.lease_ttl = std::time::Duration::from_millis(lease_ms);
    Ok(Some(config))
}

/// Fills `opts` with the defaults: 64 MiB segments, a checkpoint every 256
/// events, no compression, 16 MiB maximum event size, fsync false, at most
/// 256 open files, no timestamps, no tier (every local copy kept, takeover
/// off, a 30 s lease).
///
/// Returns STRATALOG_STATUS_NULL_ARGUMENT if `opts` is NULL.
///
/// # Safety
/// `opts` is NULL or points to writable memory for one stratalog_options.
#[no_mangle]
pub unsafe extern "C" fn stratalog_options_default(
    opts: *mut stratalog_options,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let opts = unsafe { args::out(opts, "opts")? };
        opts.write(stratalog_options::from_core(&Options::default()));
        Ok(())
    })
}

/// The name of a codec: "none", "lz4" or "zstd", static and never freed;
/// NULL for a number that is not a stratalog_compression.
#[no_mangle]
pub extern "C" fn stratalog_compression_name(compression: u32) -> *const c_char {
    guard_value(ptr::null(), || {
        stratalog_compression::to_core(compression).map_or(ptr::null(), |c| c.c_name().as_ptr())
    })
}

/// Parses a codec name ("none", "lz4" or "zstd", in any case) into `*out`.
///
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (not a codec name; the message
/// lists them).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn stratalog_compression_parse(
    name: *const c_char,
    out: *mut stratalog_compression,
) -> stratalog_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { args::text(name, "name")? };
        // SAFETY: per the contract.
        let out = unsafe { args::out(out, "out")? };
        let compression: Compression = name.parse()?;
        out.write(stratalog_compression::from_core(compression));
        Ok(())
    })
}
