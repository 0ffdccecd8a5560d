//! The store facade: a directory of streams, the writer lock, and the
//! public operations.

mod backup;
mod proofs;
mod retention;

pub use retention::Retention;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::consumer_cursor;
use crate::error::{Error, IoContext, Result};
use crate::fork::Owner;
use crate::hash::ChainHead;
use crate::io::disk::{sync_dir, DiskDir};
use crate::io::memory::MemoryDir;
use crate::io::overlay::ReadThroughDir;
use crate::io::pool::{FilePool, PooledDir};
use crate::io::StorageDir;
use crate::layout;
use crate::marker;
use crate::options::Options;
use crate::stream::{Batch, EventIter, Follow, Stream, StreamStats, TornTail, VerifyReport};
use crate::stream_table::StreamTable;
use crate::tier::{SyncTarget, Tier, TierAgent, TierConfig, TierStats};
use crate::writer_lock::WriterLock;

/// An open store. `Send + Sync`: share it between threads (e.g. in an
/// `Arc`); reads run concurrently with each other and with appends, and
/// appends to different streams run in parallel.
#[derive(Debug)]
pub struct Store {
    dir: Arc<dyn StorageDir>,
    options: Arc<Options>,
    writable: bool,
    streams: StreamTable,
    closed: AtomicBool,
    /// Read-held by every operation, write-held by `close`.
    in_flight: RwLock<()>,
    lock: Mutex<Option<WriterLock>>,
    /// The process that opened the store: only it may write.
    owner: Owner,
    /// Directories a read-only store's followers watch, by stream.
    watched: Mutex<HashSet<(u64, PathBuf)>>,
    /// Merkle trees loaded so far, by stream (see `tree`).
    trees: Mutex<HashMap<u64, Arc<Mutex<crate::tree::StreamTree>>>>,
    /// Held while a tree loads (see `tree_of`).
    tree_loads: Mutex<()>,
    /// Where trees are kept: the store itself, or for a read-only store,
    /// which writes nothing of the kind, memory that reads through to the
    /// writer's tree files (`io/overlay.rs`).
    tree_dir: Arc<dyn StorageDir>,
    /// Held while checking and recording the last signed checkpoint.
    signing: Mutex<()>,
    /// Threads unlinking the files of finished prunes.
    unlinking: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The uploader and lease of a store given a tier.
    tier: Option<TierAgent>,
    /// The bucket a tiered store or a reader of a bucket reads from: a
    /// pruned stream's tree takes the leaves of its removed events from
    /// the tiles there when no local files hold them.
    bucket: Option<Arc<dyn Tier>>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` for reading and
    /// writing. Fails with [`Error::Locked`] if another handle writes it.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        Store::open_with_tier(path, options, None)
    }

    /// [`Store::open`] with a tier: sealed segments are uploaded to the
    /// bucket in the background, local copies beyond the cache size are
    /// read from it, and a second writer on the same tier is fenced off
    /// (`docs/TIERING.md`). Fails with [`Error::Locked`] while another
    /// writer holds the tier's lease.
    pub fn open_tiered(
        path: impl AsRef<Path>,
        options: Options,
        tier: TierConfig,
    ) -> Result<Store> {
        Store::open_with_tier(path, options, Some(tier))
    }

    fn open_with_tier(
        path: impl AsRef<Path>,
        options: Options,
        tier: Option<TierConfig>,
    ) -> Result<Store> {
        options.validate()?;
        let path = path.as_ref();
        create_root(path)?;
        let lock = WriterLock::take(path)?;
        let dir: Arc<dyn StorageDir> = Arc::new(DiskDir::new(path));
        let found = marker::check(dir.as_ref())?;
        if found.is_none() {
            let stray = fs::read_dir(path)
                .context(|| format!("listing {}", path.display()))?
                .filter_map(|e| e.ok())
                .any(|e| e.file_name() != layout::LOCK_FILE);
            if stray {
                return Err(Error::invalid(format!(
                    "{} is not empty and is not a stratalog store",
                    path.display()
                )));
            }
        }
        marker::ensure_current(dir.as_ref(), found)?;
        if tier.is_none() && layout::is_tiered_dir(dir.as_ref()) {
            // Opened without it, the store would stop uploading without a
            // word (the machine's loss would then cost everything since),
            // and its evicted segments would read as missing.
            return Err(Error::invalid(format!(
                "{} is the directory of a tiered store (its {} file): open it with its tier, so its uploads go on and its evicted segments are read back; to leave the tier, back it up (a backup copies every segment back) and open the backup",
                path.display(),
                layout::TIER_FILE
            )));
        }
        let bucket = tier.as_ref().map(|config| config.tier.clone());
        let (agent, dir) = match tier {
            None => (None, dir),
            Some(config) => {
                let (agent, tiered) = TierAgent::start(dir, config, &options)?;
                (Some(agent), tiered as Arc<dyn StorageDir>)
            }
        };
        let mut store = Store::load(dir, options, true)?;
        store.lock = Mutex::new(Some(lock));
        if let Some(agent) = &agent {
            agent.set_store_dir(store.dir.clone());
        }
        store.tier = agent;
        store.bucket = bucket;
        Ok(store)
    }

    /// Opens for reading only the store a tier holds, with no local store:
    /// the sealed segments its manifests list, read from the bucket and
    /// verified as they are read. What the writer has not sealed and
    /// uploaded yet is not there.
    pub fn open_tier_read_only(tier: Arc<dyn Tier>, options: Options) -> Result<Store> {
        let dir = crate::tier::read_only_dir(tier.clone())?;
        let mut store = Store::open_on(dir, options, false)?;
        store.bucket = Some(tier);
        Ok(store)
    }

    /// Opens an existing store for reading only, with default options. Takes
    /// no lock and never writes, so it works while another process appends;
    /// it sees the streams as they were when it opened.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_read_only_with(path, Options::default())
    }

    /// [`Store::open_read_only`] with options. A reader needs none of them:
    /// every segment records the limits its records were written under,
    /// and reads follow those (docs/FORMAT.md). They are kept so a caller
    /// can pass one set of options to either kind of open.
    pub fn open_read_only_with(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        options.validate()?;
        let path = path.as_ref();
        require_dir(path)?;
        let dir: Arc<dyn StorageDir> = Arc::new(DiskDir::new(path));
        if marker::check(dir.as_ref())?.is_none() {
            return Err(Error::invalid(format!(
                "{} is not a stratalog store",
                path.display()
            )));
        }
        Store::load(dir, options, false)
    }

    /// A store held in memory only: the same engine over an in-memory I/O
    /// layer. Its contents go when it is dropped.
    pub fn open_in_memory(options: Options) -> Result<Store> {
        Store::open_on(Arc::new(MemoryDir::new()), options, true)
    }

    /// Opens a store on any [`StorageDir`] (an in-memory tree shared between
    /// opens, or a fault-injecting wrapper). No lock is taken.
    pub fn open_on(dir: Arc<dyn StorageDir>, options: Options, writable: bool) -> Result<Store> {
        options.validate()?;
        let found = marker::check(dir.as_ref())?;
        if writable {
            marker::ensure_current(dir.as_ref(), found)?;
        } else if found.is_none() {
            return Err(Error::invalid("not a stratalog store"));
        }
        Store::load(dir, options, writable)
    }

    /// Lists the streams and decides when they are recovered. A read-only
    /// store recovers them all now: it is a snapshot taken at open. So does
    /// a writer whose predecessor did not close cleanly (its `OPEN` marker
    /// is still there), so that every torn tail is cut and reported at
    /// open. Otherwise a writer recovers each stream on first use, and
    /// opening costs the same for ten streams or 100,000. Correctness never
    /// rests on the marker, which is written without an fsync: a stream
    /// recovered late is recovered the same way, its torn tail (only damage
    /// from outside can leave one after a clean close) reported later.
    fn load(dir: Arc<dyn StorageDir>, options: Options, writable: bool) -> Result<Store> {
        let options = Arc::new(options);
        let pool = FilePool::new(options.max_open_files);
        let dir: Arc<dyn StorageDir> = Arc::new(PooledDir::new(dir, pool));
        let root = layout::streams_dir();
        let names = match dir.list(&root) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if writable {
                    dir.create_dir(&root)
                        .context(|| format!("creating {}", dir.display(&root).display()))?;
                }
                Vec::new()
            }
            Err(e) => {
                return Err(Error::io(
                    format!("listing {}", dir.display(&root).display()),
                    e,
                ))
            }
        };
        let streams = StreamTable::listed(dir.clone(), options.clone(), writable, &names);
        let open_marker = Path::new(layout::OPEN_MARKER);
        if !writable || dir.read(open_marker).is_ok() {
            streams.recover_all()?;
        }
        if writable {
            dir.write_cache(open_marker, b"")
                .context(|| format!("creating {}", dir.display(open_marker).display()))?;
        }
        let tree_dir: Arc<dyn StorageDir> = if writable {
            dir.clone()
        } else {
            Arc::new(ReadThroughDir::new(dir.clone()))
        };
        Ok(Store {
            dir,
            options,
            writable,
            streams,
            closed: AtomicBool::new(false),
            in_flight: RwLock::new(()),
            lock: Mutex::new(None),
            owner: Owner::current(),
            watched: Mutex::new(HashSet::new()),
            trees: Mutex::new(HashMap::new()),
            tree_loads: Mutex::new(()),
            tree_dir,
            signing: Mutex::new(()),
            unlinking: Mutex::new(Vec::new()),
            tier: None,
            bucket: None,
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn is_read_only(&self) -> bool {
        !self.writable
    }

    /// Unfinished batches cut off (or, read-only, ignored) by recovery:
    /// what a crash in the middle of an append leaves. A read-only store,
    /// and a writer after a crash, recover every stream at open, so the
    /// list is complete when `open` returns. After a clean close a writer
    /// recovers each stream on first use; a tail cut then (only damage from
    /// outside leaves one) joins the list at that point.
    pub fn torn_tails(&self) -> Vec<TornTail> {
        self.streams.torn_tails()
    }

    /// Starts an operation: the guard keeps `close` waiting until it ends,
    /// and no operation starts once `close` has begun. Taken once per public
    /// call, never nested (a waiting `close` would block a nested read).
    fn begin(&self) -> Result<RwLockReadGuard<'_, ()>> {
        let guard = self.in_flight.read();
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(guard)
    }

    fn stream(&self, id: u64) -> Result<Option<Arc<Stream>>> {
        self.streams.get(id)
    }

    /// A reader of a bucket has no directory: what a read-only handle
    /// records durably (consumer cursors, the checkpoints it signed) would
    /// live in memory and be gone at close, so it refuses to `what`.
    fn check_keeps_records(&self, what: &str) -> Result<()> {
        if self.writable || self.bucket.is_none() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "a reader of a bucket cannot {what}: it has no directory to record it in durably (use the writer's store, or a read-only open of its directory)"
        )))
    }

    /// Fails in a forked child: see `fork`.
    fn check_owner(&self) -> Result<()> {
        if self.owner.is_current() {
            Ok(())
        } else {
            Err(Error::Forked {
                opened_by: self.owner.pid(),
            })
        }
    }

    fn stream_for_append(&self, id: u64) -> Result<Arc<Stream>> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.check_owner()?;
        if let Some(fenced) = self.tier.as_ref().and_then(TierAgent::fenced) {
            return Err(fenced);
        }
        self.streams.get_or_create(id)
    }

    /// Appends a batch of events to `stream` atomically: after any crash
    /// either all of them are there or none. Returns the new chain head.
    ///
    /// With `expected_offset`, the append happens only if the stream's next
    /// offset equals it ([`Error::OffsetMismatch`] otherwise, nothing
    /// written). With `fsync`, the batch is durable when this returns.
    pub fn append_batch<E: AsRef<[u8]>>(
        &self,
        stream: u64,
        events: &[E],
        expected_offset: Option<u64>,
        fsync: bool,
    ) -> Result<ChainHead> {
        let _op = self.begin()?;
        let appended = self
            .stream_for_append(stream)?
            .append_batch(events, expected_offset, fsync);
        self.note_tier_append();
        appended
    }

    /// Appends several batches to `stream` in their order, each atomically
    /// and with its own outcome, sharing one fsync. A batch that fails
    /// fails alone; the one fsync (after the last batch) covers every
    /// durable batch, and if it fails every durable batch fails with it.
    /// The outer error is for the call as a whole (a closed or read-only
    /// store), before any batch ran.
    pub fn append_batches<E: AsRef<[u8]>>(
        &self,
        stream: u64,
        batches: &[Batch<'_, E>],
    ) -> Result<Vec<Result<ChainHead>>> {
        let _op = self.begin()?;
        if batches.is_empty() {
            return Ok(Vec::new());
        }
        let appended = self.stream_for_append(stream)?.append_batches(batches);
        self.note_tier_append();
        Ok(appended)
    }

    fn note_tier_append(&self) {
        if let Some(agent) = &self.tier {
            agent.note_append();
        }
    }

    /// Appends one event with the store's default durability.
    pub fn append(&self, stream: u64, event: impl AsRef<[u8]>) -> Result<ChainHead> {
        self.append_batch(stream, &[event], None, self.options.fsync)
    }

    /// Events from `offset` on, stopping before their total size would pass
    /// `max_bytes` but always returning at least one event if there is one.
    /// Every event is CRC-checked and chain-verified from the nearest
    /// checkpoint at or before `offset`.
    pub fn read_from(&self, stream: u64, offset: u64, max_bytes: u64) -> Result<Vec<Bytes>> {
        let _op = self.begin()?;
        let Some(stream) = self.stream(stream)? else {
            return empty_stream_read(stream, offset);
        };
        let mut cursor = stream.cursor(offset)?;
        let end = cursor.end().next_offset;
        let mut events = Vec::new();
        let mut total = 0u64;
        while cursor.next_offset() < end {
            let Some((_, event)) = cursor.next_event()? else {
                break;
            };
            total += event.len() as u64;
            if total > max_bytes && !events.is_empty() {
                break;
            }
            events.push(event);
            if total >= max_bytes {
                break;
            }
        }
        Ok(events)
    }

    /// A lazy iterator over `(offset, event)` from `start` to the head as it
    /// is now, reading a bounded window at a time. Fails here, not on the
    /// first event, when `start` is past the end or the store is closed.
    pub fn iter(&self, stream: u64, start: u64) -> Result<EventIter> {
        let _op = self.begin()?;
        let cursor = match self.stream(stream)? {
            Some(s) => s.cursor(start)?,
            None => Stream::empty(stream, self.dir.clone(), self.options.clone()).cursor(start)?,
        };
        Ok(EventIter::new(cursor))
    }

    /// Takes `iter` on to its stream's head as it is now, from where it
    /// stopped: what a follower calls once [`Store::wait`] says the stream
    /// grew. It goes on verifying the chain from its own position instead
    /// of from the nearest checkpoint; one that cannot (it failed, or was
    /// made at the stream's end) starts afresh at its next offset.
    pub fn extend_iter(&self, iter: &mut EventIter) -> Result<()> {
        let _op = self.begin()?;
        let Some(stream) = self.stream(iter.stream())? else {
            return Ok(());
        };
        if !iter.extend(stream.snapshot())? {
            iter.restart(stream.cursor(iter.next_offset())?);
        }
        Ok(())
    }

    /// Waits until `stream`'s next offset is greater than `offset` and
    /// returns it: at once if it already is, otherwise as soon as an append
    /// takes it there. Fails with [`Error::Timeout`] when `timeout` passes
    /// first (`None` waits forever) and [`Error::Closed`] when the store
    /// closes meanwhile.
    ///
    /// On a writable store the appends are this process's own. A read-only
    /// store follows the writer in another process: the stream is brought
    /// up to what the writer has committed (whole batches only, across
    /// rotations; a stream that does not exist yet is waited for too), and
    /// the wait sleeps until the file system reports a change in the
    /// stream's directory, checking at least every second (every 10 ms
    /// where notifications are not available). What `wait` took in, the
    /// read-only store's reads see from then on. A follower far behind
    /// takes it in about 256 KiB at a time: the wait returns as soon as the
    /// stream is past `offset` (never sleeping while more is committed and
    /// it is not), and the next wait goes on at once.
    pub fn wait(&self, stream: u64, offset: u64, timeout: Option<Duration>) -> Result<u64> {
        // A timeout too far to represent is no timeout.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let stream = {
            // The waiter must not hold the operation guard while it sleeps:
            // close waits for operations in flight.
            let _op = self.begin()?;
            self.streams.get_or_create(stream)?
        };
        let closed = || self.closed.load(Ordering::Acquire);
        if self.writable {
            return stream.wait_past(offset, deadline, closed, None);
        }
        if self.bucket.is_some() {
            // A snapshot of the manifests: waiting would never end.
            let next_offset = stream.chain_head()?.next_offset;
            if next_offset > offset {
                return Ok(next_offset);
            }
            return Err(Error::invalid(format!(
                "stream {} ends at offset {next_offset} in this reader of a bucket, which never grows: it reads the manifests as they were when it opened (open it again to see what was uploaded since)",
                stream.id
            )));
        }
        let poll = if self.watch_stream(&stream) {
            FOLLOW_SAFETY_POLL
        } else {
            FOLLOW_POLL
        };
        let before_check = || {
            self.watch_stream(&stream);
        };
        let follow = Follow {
            before_check: &before_check,
            poll,
        };
        stream.wait_past(offset, deadline, closed, Some(follow))
    }

    /// Makes sure a change in `stream`'s directory (or, until it exists, in
    /// `streams/`) wakes its waiters; false where notifications are not
    /// available.
    fn watch_stream(&self, stream: &Arc<Stream>) -> bool {
        let own = layout::stream_dir(stream.id);
        // Once its own directory is watched, nothing changes: no listing.
        if self.watched.lock().contains(&(stream.id, own.clone())) {
            return true;
        }
        let rel = if self.dir.list(&own).is_ok() {
            own
        } else {
            layout::streams_dir()
        };
        let key = (stream.id, rel);
        if self.watched.lock().contains(&key) {
            return true;
        }
        let weak = Arc::downgrade(stream);
        let wake: crate::io::watch::Wake = Arc::new(move || {
            if let Some(stream) = weak.upgrade() {
                stream.wake_waiters();
            }
        });
        match self.dir.watch_dir(&key.1, wake) {
            Ok(true) => {
                self.watched.lock().insert(key);
                true
            }
            _ => false,
        }
    }

    /// Where consumer `name` of `stream` committed it had processed up
    /// to ([`Store::commit_cursor`]): the offset to resume reading from. 0
    /// if it never committed; never past the stream's end as this handle
    /// knows it (if the events it covered were lost, the end is returned).
    pub fn cursor(&self, stream: u64, name: &str) -> Result<u64> {
        let _op = self.begin()?;
        let next_offset = match self.stream(stream)? {
            Some(s) => s.chain_head()?.next_offset,
            None => 0,
        };
        consumer_cursor::get(self.dir.as_ref(), stream, name, next_offset)
    }

    /// Records, atomically and durably, that consumer `name` of `stream`
    /// has processed every event before `offset`, so that [`Store::cursor`]
    /// returns it after a restart, a crash or a power loss. The events
    /// before `offset` are made durable first (a read-only store fsyncs the
    /// writer's segment through its own descriptor), so a cursor is never
    /// ahead of the data. Fails with [`Error::OffsetOutOfRange`] past the
    /// stream's end, and with [`Error::InvalidArgument`] on a reader of a
    /// bucket (no directory to keep it in). Works on a read-only store,
    /// without the writer lock;
    /// cursors are not events and never touch the chain. Names: 1 to 128
    /// ASCII letters, digits, '.', '_' or '-'. One consumer process per
    /// cursor name.
    pub fn commit_cursor(&self, stream: u64, name: &str, offset: u64) -> Result<()> {
        let _op = self.begin()?;
        if self.writable {
            self.check_owner()?;
        }
        consumer_cursor::check_name(name)?;
        self.check_keeps_records("commit a consumer cursor")?;
        let found = self.stream(stream)?;
        let next_offset = match &found {
            Some(s) => s.chain_head()?.next_offset,
            None => 0,
        };
        if offset > next_offset {
            return Err(Error::OffsetOutOfRange {
                stream,
                offset,
                next_offset,
            });
        }
        if let Some(s) = found.filter(|_| offset > 0) {
            s.sync()?;
        }
        consumer_cursor::commit(self.dir.as_ref(), stream, name, offset)
    }

    /// How many segments and bytes `stream` holds and which offsets; an
    /// unknown stream has all zeros. Reads no record.
    pub fn stream_stats(&self, stream: u64) -> Result<StreamStats> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => s.stats(),
            None => Ok(StreamStats::default()),
        }
    }

    /// The chain head of `stream`, from memory. An unknown stream has the
    /// empty head.
    pub fn chain_head(&self, stream: u64) -> Result<ChainHead> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => s.chain_head(),
            None => Ok(ChainHead::EMPTY),
        }
    }

    /// Verifies `stream` from genesis (or its prune anchor): every CRC,
    /// offset, chain link, checkpoint and segment boundary, ending at the
    /// head in memory. A read-only store first takes in what its writer
    /// committed and pruned since (as `wait` does), so it checks the
    /// stream as it is now rather than failing on segment files a prune
    /// removed after it opened.
    pub fn verify(&self, stream: u64) -> Result<VerifyReport> {
        let _op = self.begin()?;
        match self.stream(stream)? {
            Some(s) => {
                self.take_in(&s)?;
                Ok(s.verify(None)?.0)
            }
            None => Ok(empty_report()),
        }
    }

    /// In a read-only store: takes in everything `stream`'s writer
    /// committed and pruned since the last look.
    fn take_in(&self, stream: &Stream) -> Result<()> {
        if !self.writable {
            stream.take_in_all()?;
        }
        Ok(())
    }

    /// Proves the stream still holds, unchanged, the history `head`
    /// summarized: it verifies the whole stream and checks that its chain
    /// passes through `head`. Detects truncation, rollback and rewriting
    /// relative to a head kept elsewhere.
    pub fn verify_against(&self, stream: u64, head: &ChainHead) -> Result<VerifyReport> {
        let _op = self.begin()?;
        let (report, probed) = match self.stream(stream)? {
            Some(s) => {
                self.take_in(&s)?;
                s.verify(Some(head.next_offset))?
            }
            None => (
                empty_report(),
                (head.next_offset == 0).then_some(ChainHead::EMPTY),
            ),
        };
        let Some(probed) = probed else {
            return Err(Error::ChainMismatch {
                stream,
                offset: report.head.next_offset,
                reason: format!(
                    "the stream holds {} events but the given head covers {}: history was truncated or rolled back",
                    report.head.next_offset, head.next_offset
                ),
            });
        };
        if probed.hash != head.hash {
            return Err(Error::ChainMismatch {
                stream,
                offset: head.next_offset.saturating_sub(1),
                reason: format!(
                    "the chain hash after {} events is {}, the given head says {}: history was rewritten",
                    head.next_offset,
                    probed.hash_hex(),
                    head.hash_hex()
                ),
            });
        }
        Ok(report)
    }

    /// Ids of the streams that exist, in increasing order.
    pub fn streams(&self) -> Result<Vec<u64>> {
        let _op = self.begin()?;
        self.streams.existing_ids()
    }

    /// Makes every append so far durable.
    pub fn sync(&self) -> Result<()> {
        let _op = self.begin()?;
        if self.writable {
            self.check_owner()?;
        }
        // Only a recovered stream can hold appends of this open.
        let streams = self.streams.recovered_streams();
        self.sync_streams(&streams).into_iter().collect()
    }

    /// Syncs each of `streams`, returning each one's outcome: with one sync
    /// of the whole file system when many hold unsynced bytes (a store of
    /// 100,000 streams would otherwise wait for 100,000 fsyncs), else, or
    /// where that is not available, with an fsync each. If the one sync
    /// fails, every stream it was to cover fails and is poisoned, as each
    /// would by its own failed fsync.
    fn sync_streams(&self, streams: &[Arc<Stream>]) -> Vec<Result<()>> {
        let mut outcomes: Vec<Result<()>> = Vec::with_capacity(streams.len());
        let mut dirty = Vec::new();
        for (i, stream) in streams.iter().enumerate() {
            match stream.unsynced() {
                Ok(Some((segment, end))) => dirty.push((i, segment, end)),
                Ok(None) => {}
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            }
            outcomes.push(Ok(()));
        }
        if dirty.len() >= SYNC_ALL_FILES_FROM {
            let root = Path::new("");
            match self.dir.sync_all_files() {
                Ok(false) => {}
                Ok(true) => {
                    for (i, segment, end) in &dirty {
                        streams[*i].synced_elsewhere(segment, *end, &Ok(()));
                    }
                    return outcomes;
                }
                Err(e) => {
                    let context = format!("syncfs of {}", self.dir.display(root).display());
                    let error = Error::io(context, e);
                    for (i, segment, end) in &dirty {
                        let failed = Err(error.replicate());
                        streams[*i].synced_elsewhere(segment, *end, &failed);
                        outcomes[*i] = failed;
                    }
                    return outcomes;
                }
            }
        }
        for (i, _, _) in dirty {
            outcomes[i] = streams[i].sync();
        }
        outcomes
    }

    /// Makes every append so far to `stream` durable, leaving the other
    /// streams as they are. A stream with no events has nothing to sync.
    pub fn sync_stream(&self, stream: u64) -> Result<()> {
        let _op = self.begin()?;
        if self.writable {
            self.check_owner()?;
        }
        match self.stream(stream)? {
            Some(stream) => stream.sync(),
            None => Ok(()),
        }
    }

    /// Seals the active segment of every stream that holds unsealed
    /// events and waits until the tier's bucket holds everything appended
    /// before the call. Fails with [`Error::InvalidArgument`] on a store
    /// without a tier, [`Error::Locked`] once another writer took the
    /// tier over, and with the upload's error if one fails meanwhile (the
    /// uploads go on in the background; call again to wait again). After
    /// a `sync_tier` that succeeded with no append after it, `close`
    /// releases the tier's lease: the next writer opens at once.
    pub fn sync_tier(&self) -> Result<()> {
        let _op = self.begin()?;
        let Some(agent) = &self.tier else {
            return Err(Error::invalid("this store has no tier"));
        };
        self.check_owner()?;
        if let Some(fenced) = agent.fenced() {
            return Err(fenced);
        }
        agent.sync(|| {
            let mut targets = Vec::new();
            for id in self.streams.existing_ids()? {
                if let Some(stream) = self.stream(id)? {
                    targets.push(SyncTarget {
                        stream: id,
                        first: stream.first_offset()?,
                        end: stream.seal_now()?.next_offset,
                    });
                }
            }
            Ok(targets)
        })
    }

    /// What the tier's uploader is doing; `None` for a store without one.
    pub fn tier_stats(&self) -> Option<TierStats> {
        self.tier.as_ref().map(TierAgent::stats)
    }

    /// Syncs and closes the store, leaving each stream's tail marker so the
    /// next open reads little (docs/FORMAT.md); every later call fails with
    /// [`Error::Closed`] and the writer lock is released. It first waits for
    /// the calls in flight on other threads, so nothing is written after
    /// its final sync or once the lock is gone. Dropping a store
    /// without closing it keeps every acknowledged append (the data is in
    /// the OS), but only `sync`/`close` make non-fsynced appends survive a
    /// power loss.
    pub fn close(&self) -> Result<()> {
        let _no_more_ops = self.in_flight.write();
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        for unlinking in std::mem::take(&mut *self.unlinking.lock()) {
            let _ = unlinking.join();
        }
        if let Some(agent) = &self.tier {
            agent.close();
        }
        let streams = self.streams.take_recovered();
        // Waiters end with Closed (the flag is set, and each wakes to see it).
        for stream in &streams {
            stream.wake_waiters();
        }
        let mut result = Ok(());
        // A forked child closing its copy writes nothing: the streams and
        // the lock are the parent's. Dropping its copy of the lock neither
        // unlocks it (writer_lock.rs) nor, closing a duplicate descriptor,
        // releases the parent's flock.
        if self.writable && self.owner.is_current() {
            for (stream, synced) in streams.iter().zip(self.sync_streams(&streams)) {
                match synced {
                    // The tail marker is a cache that makes the next open
                    // cheap; failing to write it loses nothing (the old one,
                    // if any, still names a good point, and a missing one
                    // means a full scan), so it does not fail the close.
                    Ok(()) => {
                        let _ = stream.mark_tail();
                    }
                    Err(e) => {
                        if result.is_ok() {
                            result = Err(e);
                        }
                    }
                }
            }
            // Every stream is durable and marked: the next writer may
            // recover them lazily. After a failed sync the marker stays,
            // and the next open recovers everything at once.
            if result.is_ok() {
                let open_marker = Path::new(layout::OPEN_MARKER);
                result = self
                    .dir
                    .remove(open_marker)
                    .context(|| format!("removing {}", self.dir.display(open_marker).display()));
            }
        }
        self.lock.lock().take();
        result
    }
}

/// The longest a follower sleeps between checks while file system
/// notifications are on (they wake it at once; this only bounds the cost
/// of one that never comes), and while they are not available.
const FOLLOW_SAFETY_POLL: Duration = Duration::from_secs(1);
const FOLLOW_POLL: Duration = Duration::from_millis(10);

/// How many streams with unsynced bytes make one sync of the whole file
/// system cheaper than an fsync each. It also writes out whatever else is
/// dirty on that file system, so it is kept for when there are many.
const SYNC_ALL_FILES_FROM: usize = 64;

fn empty_stream_read(stream: u64, offset: u64) -> Result<Vec<Bytes>> {
    if offset == 0 {
        Ok(Vec::new())
    } else {
        Err(Error::OffsetOutOfRange {
            stream,
            offset,
            next_offset: 0,
        })
    }
}

fn empty_report() -> VerifyReport {
    VerifyReport {
        events: 0,
        bytes: 0,
        checkpoints: 0,
        segments: 0,
        head: ChainHead::EMPTY,
    }
}

/// Fails unless `path` is a directory, saying which of "no such
/// directory" and "not a directory" it is.
fn require_dir(path: &Path) -> Result<()> {
    let context = || format!("opening {}", path.display());
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::io(
            context(),
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::io(
            context(),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        )),
        Err(e) => Err(Error::io(context(), e)),
    }
}

fn create_root(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if path.exists() {
        return require_dir(path);
    }
    fs::create_dir_all(path).context(|| format!("creating {}", path.display()))?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_dir(parent).context(|| format!("fsync of {}", parent.display()))
}
