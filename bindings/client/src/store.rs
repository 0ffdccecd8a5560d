//! [`Store`]: an open store, shared by any number of threads, closed by
//! [`Store::close`] while others may still hold it and freed when dropped.

use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};

use stratalog::{
    stratalog_backed_up_stream, stratalog_batch, stratalog_batch_outcome, stratalog_fsync,
    stratalog_head, stratalog_options, stratalog_slice, stratalog_status, stratalog_store,
    stratalog_stream_stats, stratalog_verify_report, STRATALOG_FSYNC_DEFAULT, STRATALOG_FSYNC_NO,
    STRATALOG_FSYNC_YES,
};

use crate::error::{check, empty_detail, Error, Result};
use crate::events::{Events, Iter};
use crate::text::c_text;
use crate::EMPTY_HEAD;

/// Whether an append must be durable when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// As the store's `fsync` option says.
    #[default]
    Default,
    No,
    Yes,
}

impl Fsync {
    fn raw(self) -> stratalog_fsync {
        match self {
            Fsync::Default => STRATALOG_FSYNC_DEFAULT,
            Fsync::No => STRATALOG_FSYNC_NO,
            Fsync::Yes => STRATALOG_FSYNC_YES,
        }
    }
}

impl From<Option<bool>> for Fsync {
    /// `None` (the caller did not say) is the store's default.
    fn from(fsync: Option<bool>) -> Self {
        match fsync {
            None => Fsync::Default,
            Some(false) => Fsync::No,
            Some(true) => Fsync::Yes,
        }
    }
}

/// One batch of [`Store::append_group`].
#[derive(Debug, Clone, Copy)]
pub struct GroupBatch<'a> {
    pub events: &'a [&'a [u8]],
    pub expected_offset: Option<u64>,
    pub fsync: Fsync,
}

/// An unfinished batch the open found at the end of a stream: cut off by a
/// writable open, ignored by a read-only one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub stream: u64,
    /// The segment file's path.
    pub segment: String,
    /// Length of the segment after the cut: the end of its last whole batch.
    pub kept_len: u64,
    /// Bytes cut off (read-only: ignored).
    pub dropped_bytes: u64,
}

/// An open store. `Send + Sync`: every method may run on any thread at
/// once, [`Store::close`] included (it waits for the calls in flight); the
/// handle is freed when the `Store` is dropped, which Rust makes the last
/// use.
#[derive(Debug)]
pub struct Store {
    handle: NonNull<stratalog_store>,
    read_only: bool,
    options: stratalog_options,
    closed: AtomicBool,
}

// SAFETY: the C ABI lets one handle be used by any number of threads at
// once, except stratalog_close(), which only `Drop` calls, when no other
// reference exists.
unsafe impl Send for Store {}
// SAFETY: as above.
unsafe impl Sync for Store {}

/// The events as the library's borrowed slices.
fn slices(events: &[&[u8]]) -> Vec<stratalog_slice> {
    events
        .iter()
        .map(|e| stratalog_slice {
            data: e.as_ptr(),
            len: e.len(),
        })
        .collect()
}

fn c_name(name: &str) -> Result<CString> {
    c_text("a cursor name", name)
}

fn c_path(path: &str) -> Result<CString> {
    c_text("path", path)
}

impl Store {
    /// The library's default options.
    pub fn default_options() -> stratalog_options {
        let mut options = stratalog_options {
            segment_size: 0,
            checkpoint_interval: 0,
            compression: stratalog::stratalog_compression::None,
            max_event_size: 0,
            fsync: false,
            max_open_files: 0,
            timestamps: false,
            tier_url: ptr::null(),
            tier_options: ptr::null(),
            tier_option_count: 0,
            local_cache_bytes: u64::MAX,
            tier_takeover: false,
            tier_lease_ms: 0,
        };
        // SAFETY: `options` is writable; the call cannot fail with it.
        unsafe { stratalog::stratalog_options_default(&mut options) };
        options
    }

    /// Opens (creating it if needed) the store at `path` for writing.
    pub fn open(path: &str, options: &stratalog_options) -> Result<Store> {
        let path = c_path(path)?;
        // SAFETY: NUL-terminated path, readable options, writable out.
        Store::open_with(|out| unsafe { stratalog::stratalog_open(path.as_ptr(), options, out) })
    }

    /// A new store in memory only.
    pub fn open_in_memory(options: &stratalog_options) -> Result<Store> {
        // SAFETY: readable options, writable out.
        Store::open_with(|out| unsafe { stratalog::stratalog_open_in_memory(options, out) })
    }

    /// Opens an existing store for reading only.
    pub fn open_read_only(path: &str, options: &stratalog_options) -> Result<Store> {
        let path = c_path(path)?;
        // SAFETY: NUL-terminated path, readable options, writable out.
        Store::open_with(|out| unsafe {
            stratalog::stratalog_open_read_only_with(path.as_ptr(), options, out)
        })
    }

    fn open_with(
        open: impl FnOnce(*mut *mut stratalog_store) -> stratalog_status,
    ) -> Result<Store> {
        let mut raw = ptr::null_mut();
        check(open(&mut raw))?;
        let handle = NonNull::new(raw)
            .ok_or_else(|| Error::new(stratalog_status::Panic, "open returned no handle"))?;
        // SAFETY: a live handle.
        let read_only = unsafe { stratalog::stratalog_is_read_only(handle.as_ptr()) };
        let mut options = Store::default_options();
        // SAFETY: a live handle; `options` writable. It cannot fail on one.
        unsafe { stratalog::stratalog_store_options(handle.as_ptr(), &mut options) };
        Ok(Store {
            handle,
            read_only,
            options,
            closed: AtomicBool::new(false),
        })
    }

    pub(crate) fn raw(&self) -> *mut stratalog_store {
        self.handle.as_ptr()
    }

    /// The unfinished batches recovery has found at the ends of streams so
    /// far (empty after a clean shutdown); complete once the open returns
    /// for a read-only store and after a crash (see stratalog_torn_tails).
    pub fn torn_tails(&self) -> Vec<TornTail> {
        torn_tails_of(self.raw())
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The options the store was opened with; CLOSED once it is closed,
    /// like every other call.
    pub fn options(&self) -> Result<&stratalog_options> {
        if self.is_closed() {
            return Err(Error::new(stratalog_status::Closed, "store is closed"));
        }
        Ok(&self.options)
    }

    /// Appends `events` as one batch, atomically.
    pub fn append(
        &self,
        stream: u64,
        events: &[&[u8]],
        expected_offset: Option<u64>,
        fsync: Fsync,
    ) -> Result<stratalog_head> {
        let slices = slices(events);
        let expected = expected_offset.as_ref().map_or(ptr::null(), ptr::from_ref);
        let mut head = EMPTY_HEAD;
        // SAFETY: live handle; slices point into `events`, alive for the
        // call; `expected` NULL or readable; `head` writable.
        check(unsafe {
            stratalog::stratalog_append_batch(
                self.raw(),
                stream,
                slices.as_ptr(),
                slices.len(),
                expected,
                fsync.raw(),
                &mut head,
            )
        })?;
        Ok(head)
    }

    /// Appends `batches` in their order, each atomically with its own
    /// outcome, sharing one fsync (the library's rule for a queue of
    /// appends). The outer error is for the call as a whole: nothing ran.
    pub fn append_group(
        &self,
        stream: u64,
        batches: &[GroupBatch<'_>],
    ) -> Result<Vec<Result<stratalog_head>>> {
        let slices: Vec<Vec<stratalog_slice>> = batches.iter().map(|b| slices(b.events)).collect();
        let c_batches: Vec<stratalog_batch> = batches
            .iter()
            .zip(&slices)
            .map(|(b, s)| stratalog_batch {
                events: s.as_ptr(),
                count: s.len(),
                expected_offset: b
                    .expected_offset
                    .as_ref()
                    .map_or(ptr::null(), ptr::from_ref),
                fsync: b.fsync.raw(),
            })
            .collect();
        let mut outcomes = vec![
            stratalog_batch_outcome {
                status: stratalog_status::Ok,
                head: EMPTY_HEAD,
                detail: empty_detail(stratalog_status::Ok),
            };
            c_batches.len()
        ];
        // SAFETY: live handle; every batch points into `batches` and
        // `slices`, alive for the call; one writable outcome per batch.
        check(unsafe {
            stratalog::stratalog_append_batches(
                self.raw(),
                stream,
                c_batches.as_ptr(),
                c_batches.len(),
                outcomes.as_mut_ptr(),
            )
        })?;
        // Each failed batch's message is read now, on this thread.
        Ok(outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| match o.status {
                stratalog_status::Ok => Ok(o.head),
                _ => Err(Error::of_batch(i, o)),
            })
            .collect())
    }

    pub fn chain_head(&self, stream: u64) -> Result<stratalog_head> {
        let mut head = EMPTY_HEAD;
        // SAFETY: live handle; `head` writable.
        check(unsafe { stratalog::stratalog_chain_head(self.raw(), stream, &mut head) })?;
        Ok(head)
    }

    /// Verifies `stream` from its first event. On CORRUPTION or
    /// CHAIN_MISMATCH the error's `detail.offset` is where it failed.
    pub fn verify(&self, stream: u64) -> Result<stratalog_verify_report> {
        let mut report = empty_report();
        // SAFETY: live handle; `report` writable.
        check(unsafe { stratalog::stratalog_verify(self.raw(), stream, &mut report) })?;
        Ok(report)
    }

    /// [`Store::verify`], and that the stream still holds the history
    /// `head` summarizes.
    pub fn verify_against(
        &self,
        stream: u64,
        head: &stratalog_head,
    ) -> Result<stratalog_verify_report> {
        let mut report = empty_report();
        // SAFETY: live handle; `head` readable; `report` writable.
        check(unsafe {
            stratalog::stratalog_verify_against(self.raw(), stream, head, &mut report)
        })?;
        Ok(report)
    }

    /// Events from `offset` on, up to about `max_bytes` (at least one).
    pub fn read_from(&self, stream: u64, offset: u64, max_bytes: u64) -> Result<Events> {
        let mut out = ptr::null_mut();
        // SAFETY: live handle; `out` writable.
        check(unsafe {
            stratalog::stratalog_read_from(self.raw(), stream, offset, max_bytes, &mut out)
        })?;
        // SAFETY: a new batch owned by us.
        unsafe { Events::from_raw(out) }
    }

    /// A lazy iterator from `start`; fails here when `start` is past the end.
    pub fn iter(&self, stream: u64, start: u64) -> Result<Iter> {
        let mut out = ptr::null_mut();
        // SAFETY: live handle; `out` writable.
        check(unsafe { stratalog::stratalog_iter_new(self.raw(), stream, start, &mut out) })?;
        // SAFETY: a new iterator owned by us.
        unsafe { Iter::from_raw(out) }
    }

    /// The ids of the streams that hold events, in increasing order.
    pub fn streams(&self) -> Result<Vec<u64>> {
        let mut list = ptr::null_mut();
        // SAFETY: live handle; `list` writable.
        check(unsafe { stratalog::stratalog_streams(self.raw(), &mut list) })?;
        // SAFETY: a new list we own; its data holds `len` ids (or is NULL
        // when empty) until it is freed, after the copy.
        unsafe {
            let len = stratalog::stratalog_stream_list_len(list);
            let data = stratalog::stratalog_stream_list_data(list);
            let ids = if data.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(data, len).to_vec()
            };
            stratalog::stratalog_stream_list_free(list);
            Ok(ids)
        }
    }

    /// The manifest of the backup this store is, stream by stream; `None`
    /// for a store that is not a backup.
    pub fn backup_manifest(&self) -> Result<Option<Vec<stratalog_backed_up_stream>>> {
        let mut manifest = ptr::null_mut();
        // SAFETY: live handle; `manifest` writable.
        check(unsafe { stratalog::stratalog_backup_manifest_read(self.raw(), &mut manifest) })?;
        if manifest.is_null() {
            return Ok(None);
        }
        // SAFETY: a new manifest we own, read by index, then freed once.
        unsafe {
            let len = stratalog::stratalog_backup_manifest_len(manifest);
            let streams = (0..len)
                .map(|i| {
                    let mut entry = stratalog_backed_up_stream {
                        stream: 0,
                        first_offset: 0,
                        head: EMPTY_HEAD,
                    };
                    check(stratalog::stratalog_backup_manifest_get(
                        manifest, i, &mut entry,
                    ))
                    .map(|()| entry)
                })
                .collect::<Result<Vec<_>>>();
            stratalog::stratalog_backup_manifest_free(manifest);
            streams.map(Some)
        }
    }

    /// Waits until `stream`'s next offset is greater than `offset` and
    /// returns it; TIMEOUT when `timeout` passes first (`None`: forever),
    /// CLOSED when the store closes meanwhile.
    pub fn wait(
        &self,
        stream: u64,
        offset: u64,
        timeout: Option<std::time::Duration>,
    ) -> Result<u64> {
        let timeout_ms = timeout.map_or(u64::MAX, |t| {
            u64::try_from(t.as_millis()).unwrap_or(u64::MAX - 1)
        });
        let mut next = 0u64;
        // SAFETY: live handle; `next` writable.
        check(unsafe {
            stratalog::stratalog_wait(self.raw(), stream, offset, timeout_ms, &mut next)
        })?;
        Ok(next)
    }

    /// Where consumer `name` of `stream` committed it had processed up to;
    /// 0 if it never committed.
    pub fn cursor(&self, stream: u64, name: &str) -> Result<u64> {
        let name = c_name(name)?;
        let mut offset = 0u64;
        // SAFETY: live handle; NUL-terminated name; `offset` writable.
        check(unsafe {
            stratalog::stratalog_cursor_get(self.raw(), stream, name.as_ptr(), &mut offset)
        })?;
        Ok(offset)
    }

    /// Commits, durably, that consumer `name` of `stream` has processed
    /// every event before `offset`.
    pub fn commit_cursor(&self, stream: u64, name: &str, offset: u64) -> Result<()> {
        let name = c_name(name)?;
        // SAFETY: live handle; NUL-terminated name.
        check(unsafe {
            stratalog::stratalog_cursor_commit(self.raw(), stream, name.as_ptr(), offset)
        })
    }

    /// Removes the sealed segments of `stream` whose events all lie below
    /// `before` (never the active one) and returns the stream's first
    /// offset afterwards, which may stay below `before`. Reads below it
    /// then fail with PRUNED; READ_ONLY on a read-only store.
    pub fn prune(&self, stream: u64, before: u64) -> Result<u64> {
        let mut first = 0u64;
        // SAFETY: live handle; `first` writable.
        check(unsafe { stratalog::stratalog_prune(self.raw(), stream, before, &mut first) })?;
        Ok(first)
    }

    /// Prunes `stream` so that it keeps at least its last `count` events
    /// (as far as whole sealed segments allow); returns the first offset.
    pub fn prune_keep_last(&self, stream: u64, count: u64) -> Result<u64> {
        let mut first = 0u64;
        // SAFETY: live handle; `first` writable.
        check(unsafe {
            stratalog::stratalog_prune_keep_last(self.raw(), stream, count, &mut first)
        })?;
        Ok(first)
    }

    /// Prunes `stream` so that its segment files hold at most `bytes` bytes
    /// (the active segment always stays); returns the first offset.
    pub fn prune_keep_bytes(&self, stream: u64, bytes: u64) -> Result<u64> {
        let mut first = 0u64;
        // SAFETY: live handle; `first` writable.
        check(unsafe {
            stratalog::stratalog_prune_keep_bytes(self.raw(), stream, bytes, &mut first)
        })?;
        Ok(first)
    }

    /// Prunes `stream` so that it keeps every batch recorded at or after
    /// `unix_ms` (Unix milliseconds), by the time records of a store
    /// opened with `timestamps`; returns the first offset.
    pub fn prune_keep_newer(&self, stream: u64, unix_ms: u64) -> Result<u64> {
        let mut first = 0u64;
        // SAFETY: live handle; `first` writable.
        check(unsafe {
            stratalog::stratalog_prune_keep_newer(self.raw(), stream, unix_ms, &mut first)
        })?;
        Ok(first)
    }

    /// The first offset of `stream` from which every batch was recorded at
    /// or after `unix_ms` (Unix milliseconds): the stream's first offset if
    /// none is earlier, its next offset if all are. Batches without a time
    /// record never count as earlier; 0 for a stream that does not exist.
    pub fn seek_time(&self, stream: u64, unix_ms: u64) -> Result<u64> {
        let mut offset = 0u64;
        // SAFETY: live handle; `offset` writable.
        check(unsafe { stratalog::stratalog_seek_time(self.raw(), stream, unix_ms, &mut offset) })?;
        Ok(offset)
    }

    /// The first offset `stream` still holds: 0 unless it was pruned.
    pub fn first_offset(&self, stream: u64) -> Result<u64> {
        let mut first = 0u64;
        // SAFETY: live handle; `first` writable.
        check(unsafe { stratalog::stratalog_first_offset(self.raw(), stream, &mut first) })?;
        Ok(first)
    }

    /// The head `stream`'s retained events continue: its first offset and
    /// the chain hash before it (the empty head unless it was pruned).
    pub fn first_head(&self, stream: u64) -> Result<stratalog_head> {
        let mut head = EMPTY_HEAD;
        // SAFETY: live handle; `head` writable.
        check(unsafe { stratalog::stratalog_first_head(self.raw(), stream, &mut head) })?;
        Ok(head)
    }

    /// Backs the store up into directory `dest` (online; incremental into
    /// an earlier backup). Works on a read-only store too.
    pub fn backup(&self, dest: &str) -> Result<()> {
        let dest = c_path(dest)?;
        // SAFETY: live handle; NUL-terminated path.
        check(unsafe { stratalog::stratalog_backup(self.raw(), dest.as_ptr()) })
    }

    /// [`Store::backup`], then the head of every stream the backup holds,
    /// read from the backup itself (opened read-only and closed again):
    /// the heads its manifest records, to verify it against later.
    pub fn backup_heads(&self, dest: &str) -> Result<Vec<(u64, stratalog_head)>> {
        self.backup(dest)?;
        let mut options = Store::default_options();
        options.max_open_files = self.options.max_open_files;
        let backup = Store::open_read_only(dest, &options)?;
        let heads = backup
            .streams()?
            .into_iter()
            .map(|stream| Ok((stream, backup.chain_head(stream)?)))
            .collect::<Result<Vec<_>>>()?;
        backup.close()?;
        Ok(heads)
    }

    /// Segments, bytes and offsets of `stream`, without reading records.
    pub fn stats(&self, stream: u64) -> Result<stratalog_stream_stats> {
        let mut stats = stratalog_stream_stats {
            segments: 0,
            bytes: 0,
            first_offset: 0,
            next_offset: 0,
        };
        // SAFETY: live handle; `stats` writable.
        check(unsafe { stratalog::stratalog_get_stream_stats(self.raw(), stream, &mut stats) })?;
        Ok(stats)
    }

    /// Makes appends durable: of one stream, or of all.
    pub fn sync(&self, stream: Option<u64>) -> Result<()> {
        // SAFETY: live handle.
        check(unsafe {
            match stream {
                Some(stream) => stratalog::stratalog_sync_stream(self.raw(), stream),
                None => stratalog::stratalog_sync(self.raw()),
            }
        })
    }

    /// Syncs and closes the store; later calls fail with CLOSED. Safe
    /// while other threads use it: the library waits for their calls in
    /// flight. Closing twice is fine.
    pub fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        // SAFETY: live handle.
        check(unsafe { stratalog::stratalog_shutdown(self.raw()) })
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: the last use of a live handle: `&mut self` means no other
        // reference exists.
        unsafe { stratalog::stratalog_close(self.raw()) };
    }
}

/// Copies the torn tails a live handle's recovery has found so far.
fn torn_tails_of(handle: *mut stratalog_store) -> Vec<TornTail> {
    let (mut items, mut count) = (ptr::null(), 0usize);
    // SAFETY: a live handle; outputs writable.
    let status = unsafe { stratalog::stratalog_torn_tails(handle, &mut items, &mut count) };
    if status != stratalog_status::Ok || items.is_null() {
        return Vec::new();
    }
    // SAFETY: `count` entries owned by the handle, alive during this copy;
    // each `segment` is a NUL-terminated string.
    unsafe { std::slice::from_raw_parts(items, count) }
        .iter()
        .map(|t| TornTail {
            stream: t.stream,
            // SAFETY: as above.
            segment: unsafe { std::ffi::CStr::from_ptr(t.segment) }
                .to_string_lossy()
                .into_owned(),
            kept_len: t.kept_len,
            dropped_bytes: t.dropped_bytes,
        })
        .collect()
}

fn empty_report() -> stratalog_verify_report {
    stratalog_verify_report {
        events: 0,
        bytes: 0,
        checkpoints: 0,
        segments: 0,
        head: EMPTY_HEAD,
        failed_offset: stratalog::STRATALOG_NO_OFFSET,
    }
}
