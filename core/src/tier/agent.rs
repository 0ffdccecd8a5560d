//! A writable store's side of its tier: the lease, the uploader thread,
//! eviction of local copies, `sync_tier` and the stats.
//!
//! Invariants kept here:
//! - Appends never wait for the bucket: the uploader runs on its own
//!   thread, woken when a segment seals, and retries each stream with its
//!   own backoff.
//! - Before the store opens, every manifest in the bucket carries this
//!   writer's epoch (`uploader::stamp`), and a stream continues from the
//!   bucket only as stamped: no older writer can move a manifest after
//!   that, and a stream never starts from a manifest an older writer could
//!   still extend.
//! - A local copy of a segment is deleted only once a manifest write
//!   listing it succeeded, only if it is sealed, and only while the local
//!   sealed bytes exceed the cache size; its pooled descriptor is closed
//!   with it, so the space is freed and later reads go to the bucket.
//! - Once fenced (another writer took the lease, or a manifest shows a
//!   later epoch) nothing more is uploaded and the store refuses appends.
//! - `sync` always returns: on success, on a failure of one of its
//!   streams, when the uploader stops, or when a round that began after
//!   its seal finds nothing left to upload short of the target. It goes by
//!   what a round settled once its bookkeeping was done (evictions, the
//!   deletes below a prune's first offset), never by a manifest that
//!   moved mid-round.
//! - Deletes of what the bucket no longer needs never fail a round: a
//!   failure is reported (`last_error`) until a later round's deletes
//!   succeed.
//! - A segment read from the bucket is copied back into the local
//!   directory (by the uploader thread, never on the read path) when the
//!   cache can hold it, only if its bytes are the ones its manifest entry
//!   lists, and then counts toward the cache like any other copy.
//! - The lease is released at close only if the bucket holds every event:
//!   a `sync` succeeded, or the lease was taken from a writer that had
//!   released it or was created for a brand-new store, and nothing was
//!   appended after it (`unsynced`, set after
//!   every append and cleared before a sync seals).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sha2::{Digest, Sha256};

use super::catalog::Catalog;
use super::lease::{Lease, Renewal, Taken};
use super::manifest::Manifest;
use super::manifest_read;
use super::object_dir::TieredDir;
use super::tiles::{self, TileBuilder};
use super::uploader::{self, local_bases, Etags, Round, RoundError};
use super::{object_key, Tier, TierConfig, TierStats};
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::io::StorageDir;
use crate::layout;
use crate::options::Options;
use crate::segment::{Segment, SegmentHeader, SegmentRules};

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Streams uploaded at once, at most. Each round holds up to 16 MiB of
/// segments in memory, or one larger segment (the uploader's group).
const STREAMS_AT_ONCE: usize = 4;
/// The longest `close` waits for an upload in flight.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// What `TierAgent::sync` waits for of one stream: the bucket's copy
/// starting at `first` (a prune reached it) or later, and holding every
/// event below `end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncTarget {
    pub stream: u64,
    pub first: u64,
    pub end: u64,
}

#[derive(Debug)]
pub(crate) struct TierAgent {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    keeper: Mutex<Option<JoinHandle<()>>>,
    /// The process that started the uploader: a forked child has no such
    /// thread to stop or wait for.
    pid: u32,
}

#[derive(Debug)]
struct Shared {
    tier: Arc<dyn Tier>,
    local: Arc<dyn StorageDir>,
    /// The store's own directory (pooled), once it is loaded: evictions go
    /// through it so the pool closes the evicted file's descriptor.
    store_dir: OnceLock<Arc<dyn StorageDir>>,
    catalog: Arc<Catalog>,
    lease: Lease,
    cache_bytes: Option<u64>,
    /// Entries per manifest part (`TierConfig::manifest_part_entries`).
    part_entries: usize,
    /// Read on every append, so kept outside the state's lock.
    fenced: AtomicBool,
    /// Something may have been appended that the bucket does not hold.
    unsynced: AtomicBool,
    state: Mutex<State>,
    /// Wakes the uploader.
    kick: Condvar,
    /// Wakes `sync` waiters after every round.
    progress: Condvar,
    /// Wakes the lease keeper (at close).
    lease_kick: Condvar,
}

#[derive(Debug, Default)]
struct State {
    dirty: BTreeSet<u64>,
    /// Streams taken out of `dirty` for the uploader's current batch, until
    /// each one's upload ends (its pending count is from before then).
    taken: BTreeSet<u64>,
    closing: bool,
    /// The uploader thread has ended.
    stopped: bool,
    /// The lease keeper's thread has ended.
    keeper_stopped: bool,
    etags: Etags,
    stats: TierStats,
    /// Per stream: the number of the last round that failed (see
    /// `rounds_begun`), the last failure, and when to try again (with the
    /// backoff after it).
    last_failed_round: HashMap<u64, u64>,
    stream_errors: HashMap<u64, String>,
    retry: HashMap<u64, (Instant, Duration)>,
    /// Per stream: rounds begun, and the number of the last one that
    /// found nothing (more) to upload, counted once it had finished.
    rounds_begun: HashMap<u64, u64>,
    last_idle_round: HashMap<u64, u64>,
    /// Pending segments and bytes by stream, as last counted.
    pending: BTreeMap<u64, (u64, u64)>,
    /// Local sealed copies the bucket holds, oldest first, and their bytes.
    cached: VecDeque<(u64, u64, u64)>,
    cached_bytes: u64,
    /// Segments read from the bucket, to copy into the local directory
    /// (stream, base), and the same as a set.
    fetches: VecDeque<(u64, u64)>,
    fetch_queued: BTreeSet<(u64, u64)>,
    /// Per stream: the tree's tiles as last put (`tiles.rs`), and how
    /// many leaves they cover (kept while the builder is at work;
    /// `u64::MAX` for a stream that gets no tiles, so `sync` waits for
    /// none).
    tiles: HashMap<u64, TileBuilder>,
    tiles_end: HashMap<u64, u64>,
    /// Streams that had a manifest (or objects) in the bucket when this
    /// writer opened, and those whose manifest it has tried to write
    /// since. The bucket has no manifest of any other stream, and a round
    /// of one knows it with no GET: only this writer (it holds the lease)
    /// makes one, and a fenced writer that makes one meanwhile makes this
    /// writer's create conflict.
    may_have_manifest: BTreeSet<u64>,
    /// Streams whose manifest this writer created (nothing was there):
    /// none of their tiles can be in the bucket (tiles go up only for
    /// events a manifest lists), so their first tiles start from nothing,
    /// with no listing of the tile directory.
    fresh_tiles: BTreeSet<u64>,
    /// Streams whose unlisted objects this writer has deleted
    /// (`Round::sweep`) with nothing left behind since: none when it opens,
    /// so a crash, a fenced writer's uploads or a delete that failed after
    /// a prune leave nothing behind for good.
    swept: BTreeSet<u64>,
    /// Per stream: partial tiles whose full tile is up and
    /// whose deletes failed, tried again at each round (kept in memory
    /// only: after a restart they stay in the bucket, unread).
    superseded_partials: HashMap<u64, Vec<tiles::StalePartials>>,
    /// Why deletes of what the bucket no longer needs failed, by stream
    /// and kind. Reported, never a failed round, and cleared only when
    /// those deletes succeed: `sync` reaching its target says nothing
    /// about them.
    cleanup_errors: HashMap<(u64, Cleanup), String>,
    /// Per stream: its manifest's first offset and end as of the last
    /// round whose bookkeeping is done (local copies evicted, objects no
    /// manifest lists swept or the failure noted). `sync` waits on this,
    /// not on the manifest, which moves in the middle of a round.
    settled: HashMap<u64, (u64, u64)>,
}

/// What a round deletes once the bucket no longer needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cleanup {
    /// Objects no manifest will list again, or ever (`Round::sweep`).
    Unlisted,
    /// Partial tiles whose full tile is up (`tiles::drop_partials`).
    PartialTiles,
}

impl State {
    /// Whether the bucket holds `target`: the stream's settled copy starts
    /// at `target.first` or later and holds every event below
    /// `target.end`, its tiles included where the stream has them
    /// (`tiles::catch_up`).
    fn holds(&self, target: &SyncTarget) -> bool {
        let (first, end) = self.bucket_copy(target.stream);
        (target.end == 0 || end >= target.end) && first >= target.first
    }

    /// Where `stream`'s settled copy in the bucket starts and ends, the
    /// end being the lesser of its manifest's and its tiles'.
    fn bucket_copy(&self, stream: u64) -> (u64, u64) {
        self.settled.get(&stream).map_or((0, 0), |&(f, e)| {
            let tiles = self.tiles_end.get(&stream).copied().unwrap_or(0);
            (f, e.min(tiles))
        })
    }

    /// A round of `stream` succeeded: its error and backoff go.
    fn clear_error(&mut self, stream: u64) {
        self.retry.remove(&stream);
        if self.stream_errors.remove(&stream).is_some() {
            self.settle_last_error();
        }
    }

    /// Notes how `stream`'s deletes of `what` went.
    fn note_cleanup(
        &mut self,
        stream: u64,
        what: Cleanup,
        outcome: std::result::Result<(), String>,
    ) {
        match outcome {
            Ok(()) => {
                if self.cleanup_errors.remove(&(stream, what)).is_some() {
                    self.settle_last_error();
                }
            }
            Err(why) => {
                self.stats.last_error = Some(why.clone());
                self.cleanup_errors.insert((stream, what), why);
            }
        }
    }

    /// After an error went away: the last error shown is one still
    /// outstanding, or none.
    fn settle_last_error(&mut self) {
        let mut outstanding = self
            .stream_errors
            .values()
            .chain(self.cleanup_errors.values());
        let shown = self.stats.last_error.as_ref();
        if shown.is_some_and(|e| outstanding.clone().any(|o| o == e)) {
            return;
        }
        self.stats.last_error = outstanding.next().cloned();
    }
}

impl TierAgent {
    /// Reads the manifests, takes the lease, stamps every manifest with
    /// this writer's epoch, before the store is loaded; prepares each
    /// stream whose bucket copy is ahead of the local one (a standby, or a
    /// new machine) to continue from the bucket; and returns the agent with
    /// the directory the store must run on.
    pub(crate) fn start(
        local: Arc<dyn StorageDir>,
        config: TierConfig,
        options: &Options,
    ) -> Result<(TierAgent, Arc<TieredDir>)> {
        let tier = config.tier.clone();
        let (id, new_id) = writer_id(local.as_ref())?;
        let mut etags = Etags::new();
        let catalog = manifest_read::load_catalog(tier.as_ref(), &mut etags)?;
        let newest = catalog
            .streams()
            .iter()
            .filter_map(|&s| catalog.get(s))
            .map(|m| m.epoch)
            .max()
            .unwrap_or(0);
        let lease = Lease::acquire(
            tier.as_ref(),
            &id,
            config.lease_ttl,
            config.takeover,
            newest.saturating_add(1),
        )?;
        // Kept only once the lease is this id's: a tiered open that fails
        // before (a wrong bucket, a lease held) leaves a plain store plain.
        if new_id {
            save_writer_id(local.as_ref(), &id)?;
        }
        // Counted from here: an open that takes long (a slow bucket, many
        // manifests to stamp) has its lease renewed as soon as the keeper
        // starts.
        let first_renewal = Instant::now() + renew_every(lease.ttl());
        let marker = Path::new(layout::STORE_MARKER);
        if let Ok(bytes) = local.read(marker) {
            tier.put_create(layout::STORE_MARKER, bytes)
                .map_err(|e| Error::io(format!("writing {}/STRATALOG", tier.url()), e))?;
        }
        let mut dirty: BTreeSet<u64> = BTreeSet::new();
        let found: Vec<Manifest> = catalog
            .streams()
            .into_iter()
            .filter_map(|stream| catalog.get(stream))
            .map(|found| (*found).clone())
            .collect();
        for manifest in uploader::stamp_all(tier.as_ref(), lease.epoch(), &mut etags, found)? {
            continue_from_bucket(&local, tier.as_ref(), &manifest, options)?;
            dirty.insert(manifest.stream);
            catalog.set(manifest);
        }
        let listed = local.list(&layout::streams_dir());
        let streams_known = match &listed {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if let Ok(names) = listed {
            dirty.extend(names.iter().filter_map(|n| layout::parse_stream_dir(n)));
        }
        // The bucket holds every event the directory does after a release
        // (that writer, or an earlier session of this one, made sure
        // before letting go; a standby's directory continues from it), and
        // for a brand-new store (no writer, no manifest, no stream here):
        // a session that appends nothing can let go again.
        let unsynced = match lease.taken() {
            Taken::AfterRelease => false,
            Taken::Created => !(streams_known && dirty.is_empty()),
            Taken::Otherwise => true,
        };
        let catalog = Arc::new(catalog);
        let dir = Arc::new(TieredDir::new(local.clone(), tier.clone(), catalog.clone()));
        let mut state = State {
            dirty,
            may_have_manifest: etags.keys().copied().collect(),
            etags,
            ..State::default()
        };
        state.stats.epoch = lease.epoch();
        let shared = Arc::new(Shared {
            tier,
            local,
            store_dir: OnceLock::new(),
            catalog,
            lease,
            cache_bytes: config.local_cache_bytes,
            part_entries: config.manifest_part_entries,
            fenced: AtomicBool::new(false),
            unsynced: AtomicBool::new(unsynced),
            state: Mutex::new(state),
            kick: Condvar::new(),
            progress: Condvar::new(),
            lease_kick: Condvar::new(),
        });
        shared.note_cached_copies();
        // A store reopened with a smaller cache trims it now.
        shared.evict(&mut shared.state.lock(), 0);
        let weak = Arc::downgrade(&shared);
        dir.set_on_seal(Box::new(move |stream| {
            if let Some(shared) = weak.upgrade() {
                shared.state.lock().dirty.insert(stream);
                shared.kick.notify_one();
            }
        }));
        let weak = Arc::downgrade(&shared);
        dir.set_on_remote_open(Box::new(move |stream, base| {
            if let Some(shared) = weak.upgrade() {
                shared.want_local_copy(stream, base);
            }
        }));
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("stratalog-tier".into())
            .spawn(move || {
                let _stopped = Stopped(&worker);
                yield_to_appends();
                worker.run();
            })
            .map_err(|e| Error::io("starting the tier's upload thread", e))?;
        let agent = TierAgent {
            shared: shared.clone(),
            thread: Mutex::new(Some(thread)),
            keeper: Mutex::new(None),
            pid: std::process::id(),
        };
        // At the normal priority, unlike the uploader: a renewal starved
        // of CPU would let a standby take over a live writer.
        let keeper = std::thread::Builder::new()
            .name("stratalog-lease".into())
            .spawn(move || {
                let _stopped = KeeperStopped(&shared);
                shared.keep_lease(first_renewal);
            })
            .map_err(|e| Error::io("starting the tier's lease thread", e))?;
        *agent.keeper.lock() = Some(keeper);
        Ok((agent, dir))
    }

    /// The store's loaded (pooled) directory, which evictions go through.
    pub(crate) fn set_store_dir(&self, dir: Arc<dyn StorageDir>) {
        let _ = self.shared.store_dir.set(dir);
    }

    /// Why the store may not append, if it is fenced.
    pub(crate) fn fenced(&self) -> Option<Error> {
        if !self.shared.fenced.load(Ordering::Acquire) {
            return None;
        }
        Some(self.shared.locked(&self.shared.state.lock()))
    }

    /// The uploader's stats. What is pending is counted again for every
    /// stream that sealed a segment since its last round ended (waiting,
    /// or taken for an upload that has not ended): the uploader counts
    /// only after a round, and a round can hang on a bucket that stopped
    /// answering. The others' counts are as fresh as their last round.
    pub(crate) fn stats(&self) -> TierStats {
        let streams: BTreeSet<u64> = {
            let state = self.shared.state.lock();
            state.dirty.union(&state.taken).copied().collect()
        };
        let counted: Vec<(u64, (u64, u64))> = streams
            .into_iter()
            .map(|stream| (stream, self.shared.count_pending(stream)))
            .collect();
        let mut state = self.shared.state.lock();
        for (stream, pending) in counted {
            match pending {
                (0, _) => state.pending.remove(&stream),
                pending => state.pending.insert(stream, pending),
            };
        }
        let mut stats = state.stats.clone();
        stats.pending_segments = state.pending.values().map(|p| p.0).sum();
        stats.pending_bytes = state.pending.values().map(|p| p.1).sum();
        stats
    }

    /// Called after a prune of `stream`: its next round moves the bucket's
    /// copy to the new first offset (`Round::follow_prune`).
    pub(crate) fn note_prune(&self, stream: u64) {
        self.shared.state.lock().dirty.insert(stream);
        self.shared.kick.notify_one();
    }

    /// Called after every append, whatever its outcome.
    pub(crate) fn note_append(&self) {
        // Read first: the flag's cache line is written once per sync, not
        // once per append.
        if !self.shared.unsynced.load(Ordering::Relaxed) {
            self.shared.unsynced.store(true, Ordering::Relaxed);
        }
    }

    /// Waits until each stream's manifest reaches its target offset: the
    /// segments holding it are sealed already. Fails if the store is
    /// fenced, if an upload of one of these streams fails meanwhile (with
    /// that failure), if the uploader stops, or if a round finds nothing
    /// left to upload for a stream short of its target.
    ///
    /// `seal` seals the active segments and says what to wait for. If all
    /// this succeeds and no append follows, the bucket holds every event:
    /// the flag is cleared before sealing, and appends take the stream
    /// lock sealing takes, so an append the sealed segments miss notes
    /// itself after the clearing.
    pub(crate) fn sync(&self, seal: impl FnOnce() -> Result<Vec<SyncTarget>>) -> Result<()> {
        self.shared.unsynced.store(false, Ordering::SeqCst);
        let synced = seal().and_then(|targets| self.wait_for(&targets));
        if synced.is_err() {
            self.shared.unsynced.store(true, Ordering::SeqCst);
        }
        synced
    }

    /// Whether the bucket already holds `target` (no round asked for).
    pub(crate) fn holds(&self, target: &SyncTarget) -> bool {
        self.shared.state.lock().holds(target)
    }

    /// `sync` for one stream whose segments holding `target` are sealed
    /// already, leaving the store's "the bucket holds everything" flag as
    /// it is: the other streams may hold appends the bucket lacks.
    pub(crate) fn sync_stream(&self, target: SyncTarget) -> Result<()> {
        if let Some(fenced) = self.fenced() {
            return Err(fenced);
        }
        if self.holds(&target) {
            return Ok(());
        }
        self.wait_for(&[target])
    }

    fn wait_for(&self, targets: &[SyncTarget]) -> Result<()> {
        let shared = &self.shared;
        let mut state = shared.state.lock();
        let mut marks = Vec::with_capacity(targets.len());
        for &SyncTarget { stream, .. } in targets {
            state.dirty.insert(stream);
            // Asked for now: the stream's backoff does not hold it back.
            state.retry.remove(&stream);
            marks.push(state.rounds_begun.get(&stream).copied().unwrap_or(0));
        }
        shared.kick.notify_one();
        loop {
            if shared.fenced.load(Ordering::Acquire) {
                return Err(shared.locked(&state));
            }
            let mut reached = true;
            for (target, &begun) in targets.iter().zip(&marks) {
                if state.holds(target) {
                    continue;
                }
                reached = false;
                let SyncTarget {
                    stream,
                    end: target,
                    ..
                } = *target;
                // Only a round that began after the target's segments were
                // sealed speaks for them.
                let failed = state.last_failed_round.get(&stream).copied().unwrap_or(0);
                if failed > begun {
                    let why = state
                        .stream_errors
                        .get(&stream)
                        .cloned()
                        .unwrap_or_default();
                    return Err(Error::io(
                        format!("uploading stream {stream} to {}", shared.tier.url()),
                        std::io::Error::other(why),
                    ));
                }
                // One that began before and failed is tried again at once,
                // not after its backoff.
                if state.retry.remove(&stream).is_some() {
                    state.dirty.insert(stream);
                    shared.kick.notify_one();
                }
                // Nothing more will come only if the latest round began
                // after the target's segments were sealed (so it saw them),
                // found nothing, and no other is due.
                let idle = state.last_idle_round.get(&stream).copied().unwrap_or(0);
                let latest = state.rounds_begun.get(&stream).copied().unwrap_or(0);
                if idle > begun && idle == latest && !state.dirty.contains(&stream) {
                    let (_, end) = state.bucket_copy(stream);
                    return Err(Error::io(
                        format!("uploading stream {stream} to {}", shared.tier.url()),
                        std::io::Error::other(format!(
                            "the bucket's copy ends at offset {end}, before {target}, and nothing sealed is left to upload"
                        )),
                    ));
                }
            }
            if reached {
                // Everything asked for is in the bucket: whatever failed on
                // the way has been overcome.
                for &SyncTarget { stream, .. } in targets {
                    state.clear_error(stream);
                }
                return Ok(());
            }
            if state.closing || state.stopped {
                return Err(Error::Closed);
            }
            shared.progress.wait_for(&mut state, Duration::from_secs(1));
        }
    }

    /// Stops the uploader after the upload it is in, if any, waiting for
    /// that at most `CLOSE_WAIT` (a bucket that stopped answering can hold
    /// one request for its whole timeout); past that the thread is left to
    /// end on its own. Nothing is lost either way: what was not uploaded
    /// is uploaded at the next open. If the bucket holds every event, the
    /// lease is released, so the next writer, anywhere, opens at once.
    pub(crate) fn close(&self) {
        if std::process::id() != self.pid {
            // A forked child: the uploader and its lock are the parent's.
            return;
        }
        let shared = &self.shared;
        let mut state = shared.state.lock();
        state.closing = true;
        shared.kick.notify_all();
        shared.lease_kick.notify_all();
        shared.progress.notify_all();
        let deadline = Instant::now() + CLOSE_WAIT;
        let keeper_started = self.keeper.lock().is_some();
        while !(state.stopped && (state.keeper_stopped || !keeper_started))
            && Instant::now() < deadline
        {
            shared.progress.wait_until(&mut state, deadline);
        }
        // The lease is released only once nothing can renew it any more.
        let stopped = state.stopped && (state.keeper_stopped || !keeper_started);
        drop(state);
        for thread in [&self.thread, &self.keeper] {
            if let Some(thread) = thread.lock().take() {
                if stopped {
                    let _ = thread.join();
                }
            }
        }
        if stopped
            && !shared.fenced.load(Ordering::Acquire)
            && !shared.unsynced.swap(true, Ordering::SeqCst)
        {
            // A courtesy: a lease not released expires on its own.
            let _ = shared.lease.release(shared.tier.as_ref());
        }
    }
}

impl Drop for TierAgent {
    fn drop(&mut self) {
        self.close();
    }
}

/// Marks the uploader stopped when its thread ends, however it ends.
struct Stopped<'a>(&'a Arc<Shared>);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        self.0.state.lock().stopped = true;
        self.0.progress.notify_all();
    }
}

/// Marks the lease keeper stopped when its thread ends, however it ends.
struct KeeperStopped<'a>(&'a Arc<Shared>);

impl Drop for KeeperStopped<'_> {
    fn drop(&mut self) {
        self.0.state.lock().keeper_stopped = true;
        self.0.progress.notify_all();
    }
}

impl Shared {
    fn locked(&self, state: &State) -> Error {
        Error::Locked(std::path::PathBuf::from(format!(
            "{} (this writer was fenced: {})",
            self.tier.url(),
            state
                .stats
                .last_error
                .as_deref()
                .unwrap_or("another writer took over")
        )))
    }

    fn run(self: &Arc<Self>) {
        loop {
            let work: Vec<u64> = {
                let mut state = self.state.lock();
                loop {
                    if state.closing || self.fenced.load(Ordering::Acquire) {
                        return;
                    }
                    let now = Instant::now();
                    let ready: Vec<u64> = state
                        .dirty
                        .iter()
                        .copied()
                        .filter(|s| state.retry.get(s).is_none_or(|(at, _)| now >= *at))
                        .collect();
                    if !ready.is_empty() || !state.fetches.is_empty() {
                        for s in &ready {
                            state.dirty.remove(s);
                            state.taken.insert(*s);
                        }
                        break ready;
                    }
                    let next_retry = state
                        .dirty
                        .iter()
                        .filter_map(|s| state.retry.get(s).map(|r| r.0))
                        .min();
                    // Woken by seals, syncs, prunes and reads; the
                    // timeout (as often as the lease is renewed) only
                    // bounds what a missed wake-up could cost.
                    let idle = now + renew_every(self.lease.ttl());
                    let until = next_retry.map_or(idle, |r| r.min(idle));
                    self.kick.wait_until(&mut state, until);
                }
            };
            self.upload_each(&work);
            if self.fenced.load(Ordering::Acquire) {
                return;
            }
            self.progress.notify_all();
            // Uploads first: copies of what was read are only a cache.
            loop {
                let next = {
                    let mut state = self.state.lock();
                    if state.closing || !state.dirty.is_empty() {
                        break;
                    }
                    state.fetches.pop_front()
                };
                let Some((stream, base)) = next else {
                    break;
                };
                self.copy_back(stream, base);
                self.state.lock().fetch_queued.remove(&(stream, base));
            }
        }
    }

    /// Uploads each of `streams`, up to `STREAMS_AT_ONCE` of them at a time
    /// (this thread and helpers, which inherit its lower priority): with
    /// thousands of streams, one after another, their round trips would
    /// bound the uploads. Stops taking streams once the store closes or is
    /// fenced (what is left is uploaded from the next open on).
    fn upload_each(&self, streams: &[u64]) {
        let next = AtomicUsize::new(0);
        let worker = || loop {
            if self.state.lock().closing || self.fenced.load(Ordering::Acquire) {
                return;
            }
            let Some(&stream) = streams.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return;
            };
            let uploaded = self.upload(stream);
            self.state.lock().taken.remove(&stream);
            match uploaded {
                Ok(()) => self.state.lock().clear_error(stream),
                Err(RoundError::Fenced(why)) => self.fence(why),
                Err(RoundError::Failed(why)) => self.failed(stream, why),
            }
            self.progress.notify_all();
        };
        let helpers = STREAMS_AT_ONCE.min(streams.len()).saturating_sub(1);
        crate::threads::with_helpers(helpers, "stratalog-tier", worker);
    }

    /// The lease keeper's thread: renews the lease every third of its
    /// time until the store closes or is fenced, whatever the uploader is
    /// doing (a batch of thousands of streams, or one put of a large
    /// segment on a slow link, can outlast the lease, and a standby would
    /// take over a writer that is alive).
    fn keep_lease(&self, first_renewal: Instant) {
        let mut due = first_renewal;
        let mut state = self.state.lock();
        loop {
            if state.closing || self.fenced.load(Ordering::Acquire) {
                return;
            }
            if Instant::now() < due {
                self.lease_kick.wait_until(&mut state, due);
                continue;
            }
            drop(state);
            due = Instant::now() + renew_every(self.lease.ttl());
            self.renew_lease();
            state = self.state.lock();
        }
    }

    /// Renews the lease. A renewal that fails is shown as the last error
    /// and tried again when next due; a lease another writer holds now
    /// fences this one.
    fn renew_lease(&self) {
        match self.lease.renew(self.tier.as_ref()) {
            Ok(Renewal::Held) => self.state.lock().settle_last_error(),
            Ok(Renewal::Lost(holder)) => self.fence(format!("the lease is held by {holder}")),
            Err(e) => {
                let mut state = self.state.lock();
                state.stats.last_error =
                    Some(format!("renewing the lease on {}: {e}", self.tier.url()));
            }
        }
    }

    /// Queues a copy of a segment just opened from the bucket, if the
    /// cache can hold it.
    fn want_local_copy(&self, stream: u64, base: u64) {
        let Some(entry) = self.catalog.entry(stream, base) else {
            return;
        };
        if self
            .cache_bytes
            .is_some_and(|limit| entry.segment_len > limit)
        {
            return;
        }
        let mut state = self.state.lock();
        if state.closing || !state.fetch_queued.insert((stream, base)) {
            return;
        }
        state.fetches.push_back((stream, base));
        self.kick.notify_one();
    }

    /// Copies a segment (and its index, if that is missing too) from the
    /// bucket into the local directory, checked against its manifest
    /// entry, and counts it as the newest copy in the cache. A failure
    /// costs nothing but the copy: reads go on from the bucket.
    fn copy_back(&self, stream: u64, base: u64) {
        let rel = layout::segment_path(stream, base);
        let Some(entry) = self.catalog.entry(stream, base) else {
            return;
        };
        if self.local.open(&rel, false).is_ok() {
            return;
        }
        // Room first, so the cache stays within its size even while the
        // copy is being written; no room, no copy.
        {
            let mut state = self.state.lock();
            self.evict(&mut state, entry.segment_len);
            if self
                .cache_bytes
                .is_some_and(|limit| state.cached_bytes + entry.segment_len > limit)
            {
                return;
            }
        }
        let fetch = |ext: &str, len: u64| -> std::result::Result<Vec<u8>, String> {
            let key = object_key(stream, base, entry.epoch, ext);
            match self.tier.get(&key) {
                Ok(Some(obj)) if obj.bytes.len() as u64 == len => Ok(obj.bytes),
                Ok(Some(_)) => Err(format!(
                    "{}/{key} is not the length its manifest lists",
                    self.tier.url()
                )),
                Ok(None) => Err(format!("{}/{key} is missing", self.tier.url())),
                Err(e) => Err(format!("reading {}/{key}: {e}", self.tier.url())),
            }
        };
        let copied = (|| {
            let idx = layout::index_path(stream, base);
            if self.local.read(&idx).is_err() {
                let bytes = fetch(layout::INDEX_EXT, entry.index_len)?;
                self.local
                    .write_atomic(&idx, &bytes)
                    .map_err(|e| format!("writing {}: {e}", self.local.display(&idx).display()))?;
            }
            let bytes = fetch(layout::SEGMENT_EXT, entry.segment_len)?;
            if Sha256::digest(&bytes)[..] != entry.segment_sha256[..] {
                return Err(format!(
                    "not copying segment {base} of stream {stream} back: the bucket's bytes are not the ones its manifest lists"
                ));
            }
            self.local
                .write_atomic(&rel, &bytes)
                .map_err(|e| format!("writing {}: {e}", self.local.display(&rel).display()))
        })();
        let mut state = self.state.lock();
        match copied {
            Ok(()) => {
                if let Some(dir) = self.store_dir.get() {
                    dir.forget_handles(&rel);
                }
                state.cached.push_back((stream, base, entry.segment_len));
                state.cached_bytes += entry.segment_len;
                state.stats.copied_back_segments += 1;
                self.evict(&mut state, 0);
            }
            Err(why) => state.stats.last_error = Some(why),
        }
    }

    /// Uploads what `stream` has pending, batch after batch until nothing
    /// is (or a round fails, or the store closes), evicting local copies as
    /// the cache fills. Deletes of what the bucket no longer needs that
    /// fail are reported (`cleanup_errors`), but are no failed round: no
    /// backoff holds the next uploads back. Tiles that fail hold no
    /// segment back either: the failure is returned once the segments
    /// are up.
    fn upload(&self, stream: u64) -> std::result::Result<(), RoundError> {
        let mut tiles_failed = None;
        loop {
            let round_no = {
                let mut state = self.state.lock();
                let begun = state.rounds_begun.entry(stream).or_default();
                *begun += 1;
                *begun
            };
            let outcome = self.round(stream, |round| round.run(stream));
            // After a round that worked only: the sweep goes by the
            // manifest that round read or wrote.
            let swept = outcome
                .is_ok()
                .then(|| self.round(stream, |round| round.sweep(stream)));
            let pending = self.count_pending(stream);
            let mut state = self.state.lock();
            match pending {
                (0, _) => state.pending.remove(&stream),
                counted => state.pending.insert(stream, counted),
            };
            let done = outcome?;
            state.clear_error(stream);
            if let Some(swept) = swept {
                state.note_cleanup(stream, Cleanup::Unlisted, swept);
            }
            for up in &done {
                state.stats.uploaded_segments += 1;
                state.stats.uploaded_bytes += up.bytes;
                state.cached.push_back((up.stream, up.base, up.bytes));
                state.cached_bytes += up.bytes;
            }
            self.evict(&mut state, 0);
            if let Some(m) = self.catalog.get(stream) {
                let settled = (m.first.next_offset, m.end().next_offset);
                state.settled.insert(stream, settled);
            }
            let closing = state.closing;
            drop(state);
            // The segments come first: tiles that fail (damaged tree
            // files, a tile with other bytes) hold none of them back, and
            // are not tried again before the next call.
            if tiles_failed.is_none() {
                tiles_failed = self.upload_tiles(stream).err();
            }
            if done.is_empty() && tiles_failed.is_none() {
                // Counted once the tiles are up too: `sync` takes a round
                // that found nothing more as all the bucket will hold.
                self.state.lock().last_idle_round.insert(stream, round_no);
            }
            self.progress.notify_all();
            if done.is_empty() || pending.0 == 0 || closing {
                return tiles_failed.map_or(Ok(()), Err);
            }
        }
    }

    /// Runs `work` on a round of `stream` that holds this writer's
    /// manifest etag and sweep mark of it (taken out of the state while it
    /// works: rounds of other streams run meanwhile, and a round touches
    /// only its own stream's).
    fn round<T>(&self, stream: u64, work: impl FnOnce(&mut Round<'_>) -> T) -> T {
        let (mut etags, mut swept, known_absent) = {
            let mut state = self.state.lock();
            let known_absent = !state.may_have_manifest.contains(&stream);
            let etags: Etags = state.etags.remove_entry(&stream).into_iter().collect();
            let swept: BTreeSet<u64> = state.swept.take(&stream).into_iter().collect();
            (etags, swept, known_absent)
        };
        let mut round = Round {
            tier: self.tier.as_ref(),
            local: &self.local,
            catalog: &self.catalog,
            etags: &mut etags,
            swept: &mut swept,
            epoch: self.lease.epoch(),
            part_entries: self.part_entries,
            known_absent,
            tried_manifest: false,
            created_manifest: false,
        };
        let out = work(&mut round);
        let (tried, created) = (round.tried_manifest, round.created_manifest);
        let mut state = self.state.lock();
        state.etags.extend(etags);
        state.swept.extend(swept);
        if tried {
            state.may_have_manifest.insert(stream);
        }
        if created {
            state.fresh_tiles.insert(stream);
        }
        out
    }

    /// Brings `stream`'s tiles in the bucket up to its manifest's end
    /// (`tiles.rs`), reading the segments through the store's directory
    /// (local copies, or the bucket's once evicted). Partial tiles it
    /// could not delete are tried again at the stream's next round.
    fn upload_tiles(&self, stream: u64) -> std::result::Result<(), RoundError> {
        let Some(manifest) = self.catalog.get(stream) else {
            return Ok(());
        };
        // Taken out while it works: a failure drops it, and the next try
        // resumes from what the bucket holds.
        let (builder, mut superseded) = {
            let mut state = self.state.lock();
            let superseded = state.superseded_partials.remove(&stream);
            let fresh = state.fresh_tiles.remove(&stream);
            let builder = state
                .tiles
                .remove(&stream)
                .or_else(|| fresh.then(TileBuilder::default));
            (builder, superseded.unwrap_or_default())
        };
        let dir = self.store_dir.get().unwrap_or(&self.local);
        let tier = self.tier.as_ref();
        // A stream pruned before its tiles reached the prune takes the
        // leaves below it from the local tree files, checked against its
        // anchor.
        let anchor = || {
            crate::prune_anchor::read(self.local.as_ref(), stream)
                .map_err(|e| RoundError::failed(e.to_string()))
        };
        let built = tiles::catch_up(tier, dir, &manifest, &anchor, builder, &mut superseded);
        let dropped = tiles::drop_partials(tier, &mut superseded);
        let mut state = self.state.lock();
        state.note_cleanup(stream, Cleanup::PartialTiles, dropped);
        if !superseded.is_empty() {
            state.superseded_partials.insert(stream, superseded);
        }
        match built? {
            Some(builder) => {
                state.tiles_end.insert(stream, builder.size());
                state.tiles.insert(stream, builder);
            }
            None => {
                state.tiles_end.insert(stream, u64::MAX);
            }
        }
        Ok(())
    }

    /// The sealed local segments of `stream` the bucket does not list
    /// yet, and their bytes.
    fn count_pending(&self, stream: u64) -> (u64, u64) {
        let end = self.catalog.get(stream).map_or(0, |m| m.end().next_offset);
        let Ok(bases) = local_bases(self.local.as_ref(), stream) else {
            return (0, 0);
        };
        let mut pending = (0, 0);
        for &base in bases[..bases.len().saturating_sub(1)]
            .iter()
            .filter(|&&b| b >= end)
        {
            pending.0 += 1;
            pending.1 += self
                .local
                .open(&layout::segment_path(stream, base), false)
                .and_then(|f| f.len())
                .unwrap_or(0);
        }
        pending
    }

    /// Deletes the oldest local copies the bucket holds while they exceed
    /// the cache size.
    /// Evicts the oldest local copies the bucket holds until the cache is
    /// within its size with `room` bytes more.
    fn evict(&self, state: &mut State, room: u64) {
        let Some(limit) = self.cache_bytes else {
            return;
        };
        let mut kept = VecDeque::new();
        while state.cached_bytes + room > limit {
            let Some((stream, base, bytes)) = state.cached.pop_front() else {
                break;
            };
            // Only what a successful manifest write lists, and never the
            // last (active) segment.
            let listed = self.catalog.entry(stream, base).is_some();
            let last = local_bases(self.local.as_ref(), stream)
                .ok()
                .and_then(|b| b.last().copied());
            if !listed {
                state.cached_bytes -= bytes;
                continue;
            }
            if last == Some(base) {
                kept.push_back((stream, base, bytes));
                continue;
            }
            let rel = layout::segment_path(stream, base);
            let dir = self.store_dir.get().unwrap_or(&self.local);
            match dir.remove(&rel) {
                Ok(()) => {
                    state.cached_bytes -= bytes;
                    state.stats.evicted_segments += 1;
                }
                Err(e) => {
                    state.stats.last_error = Some(format!(
                        "evicting {}: {e}",
                        self.local.display(&rel).display()
                    ));
                    kept.push_back((stream, base, bytes));
                    break;
                }
            }
        }
        // Not evictable now, but still counted: tried again next time.
        while let Some(entry) = kept.pop_back() {
            state.cached.push_front(entry);
        }
    }

    /// Counts the local sealed copies the bucket already holds (from an
    /// earlier open) toward the cache, oldest first.
    fn note_cached_copies(&self) {
        let mut copies = Vec::new();
        for stream in self.catalog.streams() {
            let Some(manifest) = self.catalog.get(stream) else {
                continue;
            };
            let Ok(bases) = local_bases(self.local.as_ref(), stream) else {
                continue;
            };
            for &base in &bases[..bases.len().saturating_sub(1)] {
                if let Some(entry) = manifest.entry(base) {
                    let sealed_at = self
                        .local
                        .local_path(&layout::segment_path(stream, base))
                        .and_then(|p| std::fs::metadata(p).ok())
                        .and_then(|m| m.modified().ok());
                    copies.push((sealed_at, stream, base, entry.segment_len));
                }
            }
        }
        copies.sort();
        let mut state = self.state.lock();
        for (_, stream, base, len) in copies {
            state.cached.push_back((stream, base, len));
            state.cached_bytes += len;
        }
    }

    fn failed(&self, stream: u64, why: String) {
        let mut state = self.state.lock();
        // Rounds of a stream run one after another: the latest begun is
        // the one that failed.
        let round = state.rounds_begun.get(&stream).copied().unwrap_or(0);
        state.last_failed_round.insert(stream, round);
        let backoff = state
            .retry
            .get(&stream)
            .map_or(BACKOFF_MIN, |r| (r.1 * 2).min(BACKOFF_MAX));
        state
            .retry
            .insert(stream, (Instant::now() + backoff, backoff));
        state.dirty.insert(stream);
        state.stream_errors.insert(stream, why.clone());
        state.stats.last_error = Some(why);
    }

    fn fence(&self, why: String) {
        self.fenced.store(true, Ordering::Release);
        let mut state = self.state.lock();
        state.stats.fenced = true;
        state.stats.last_error = Some(why);
        drop(state);
        self.kick.notify_all();
        self.lease_kick.notify_all();
        self.progress.notify_all();
    }
}

/// How often a lease of `ttl` is renewed: a third of it, so a renewal
/// can fail twice before the lease lapses.
fn renew_every(ttl: Duration) -> Duration {
    (ttl / 3).max(Duration::from_millis(50))
}

/// How much lower than the appends the uploader thread runs (nice
/// levels): background work, as a database's compactions are, so on a
/// busy machine the appends get the CPU first. Under full contention it
/// still gets about a tenth of a core, so it is never starved.
#[cfg(target_os = "linux")]
const UPLOADER_NICENESS: libc::c_int = 10;

/// Lowers this (the uploader's) thread's CPU priority; a failure leaves it
/// as it was (a lower priority is a courtesy, never needed).
fn yield_to_appends() {
    #[cfg(target_os = "linux")]
    // SAFETY: the gettid system call, getpriority and setpriority take
    // plain integers and touch only this thread's scheduling priority (per
    // thread on Linux).
    unsafe {
        // The system call, not glibc's gettid(): that wrapper arrived in
        // glibc 2.30, and the packages are linked to load on glibc 2.28.
        let tid = libc::syscall(libc::SYS_gettid);
        let Ok(who) = libc::id_t::try_from(tid) else {
            return;
        };
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, who);
        if now == -1 && *libc::__errno_location() != 0 {
            return;
        }
        libc::setpriority(
            libc::PRIO_PROCESS,
            who,
            now.saturating_add(UPLOADER_NICENESS).min(19),
        );
    }
}

/// This store's writer id, kept in the local `TIER` file, and whether it
/// is new (made now, not kept yet: [`save_writer_id`]).
fn writer_id(local: &dyn StorageDir) -> Result<(String, bool)> {
    let rel = Path::new(layout::TIER_FILE);
    if let Ok(bytes) = local.read(rel) {
        let text = String::from_utf8_lossy(&bytes);
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("id ")) {
            if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok((id.to_owned(), false));
            }
        }
        return Err(Error::invalid(format!(
            "{} is not a stratalog tier id file",
            local.display(rel).display()
        )));
    }
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw)
        .map_err(|e| Error::io("making a writer id", std::io::Error::other(e.to_string())))?;
    Ok((crate::hash::to_hex(&raw), true))
}

/// Keeps `id` in the local `TIER` file: from then on the directory is a
/// tiered store's, opened for writing with its tier only.
fn save_writer_id(local: &dyn StorageDir, id: &str) -> Result<()> {
    let rel = Path::new(layout::TIER_FILE);
    local
        .write_atomic(rel, format!("id {id}\n").as_bytes())
        .map_err(|e| Error::io(format!("writing {}", local.display(rel).display()), e))
}

/// Whether `segment` (a local segment file's bytes) holds no events and
/// starts where the bucket's segment starting at `base` does.
fn is_empty_start_of(segment: &[u8], stream: u64, base: ChainHead) -> bool {
    SegmentHeader::decode(segment, stream, base.next_offset)
        .is_ok_and(|h| h.len() == segment.len() && h.base_hash == base.hash)
}

/// Makes a stream whose bucket copy ends past every local segment continue
/// from the bucket: an empty local segment at the manifest's end (and the
/// index of the local last segment if the bucket has one it lacks). A
/// local copy that is not the bucket's (a segment inside the bucket's
/// history with other bytes, or one past its end that does not start
/// where it ends) is a diverged copy: refused, never overwritten.
fn continue_from_bucket(
    local: &Arc<dyn StorageDir>,
    tier: &dyn Tier,
    manifest: &Manifest,
    options: &Options,
) -> Result<()> {
    let stream = manifest.stream;
    let end: ChainHead = manifest.end();
    if manifest.entries.is_empty() {
        return Ok(());
    }
    let diverged = |what: String| {
        Error::invalid(format!(
            "the local copy of stream {stream} has diverged from {}: {what}; move {} aside to continue from the bucket",
            tier.url(),
            local.display(&layout::stream_dir(stream)).display()
        ))
    };
    let bases = local_bases(local.as_ref(), stream)
        .map_err(|e| Error::io(e, std::io::Error::other("listing a stream")))?;
    if bases.last().is_some_and(|&b| b >= end.next_offset) {
        // Ahead of the bucket: the local segments past its end must start
        // exactly where it ends (the uploader checks the rest as it goes).
        let Some(&first_past) = bases.iter().find(|&&b| b >= end.next_offset) else {
            return Ok(());
        };
        let header = Segment::existing(local.clone(), stream, first_past, false).header();
        // Or where a prune the bucket has yet to follow starts the stream
        // (`Round::follow_prune` moves the manifest there).
        let pruned_to = || -> Result<Option<ChainHead>> {
            Ok(crate::prune_anchor::read(local.as_ref(), stream)?
                .map(|a| a.first)
                .filter(|first| first.next_offset > end.next_offset))
        };
        return match header {
            Ok(h) if first_past == end.next_offset && h.base_hash == end.hash => Ok(()),
            Ok(h)
                if pruned_to()?
                    == Some(ChainHead {
                        next_offset: first_past,
                        hash: h.base_hash,
                    }) =>
            {
                Ok(())
            }
            Ok(_) => Err(diverged(format!(
                "its segment at offset {first_past} does not start where the bucket's copy ends, at {}",
                end.next_offset
            ))),
            Err(e) => Err(e),
        };
    }
    if let Some(&last) = bases.last() {
        let Some(entry) = manifest.entry(last) else {
            return Err(diverged(format!(
                "its active segment at offset {last} is not one the bucket holds (the bucket's copy ends at {})",
                end.next_offset
            )));
        };
        let rel = layout::segment_path(stream, last);
        let bytes = local
            .open(&rel, false)
            .and_then(|f| {
                let len = usize::try_from(f.len()?).map_err(std::io::Error::other)?;
                f.read_vec_at(len, 0)
            })
            .map_err(|e| Error::io(format!("reading {}", local.display(&rel).display()), e))?;
        let empty_start = is_empty_start_of(&bytes, stream, entry.base);
        if empty_start {
            // The segment this writer started after its last seal, still
            // empty: the bucket's segment there begins as it does and goes
            // on (another writer continued the stream). Nothing is lost by
            // continuing from the bucket instead.
            local
                .remove(&rel)
                .map_err(|e| Error::io(format!("removing {}", local.display(&rel).display()), e))?;
        } else if bytes.len() as u64 != entry.segment_len
            || Sha256::digest(&bytes)[..] != entry.segment_sha256[..]
        {
            return Err(diverged(format!(
                "{} is not the segment the bucket holds at offset {last}",
                local.display(&rel).display()
            )));
        }
        let idx = layout::index_path(stream, last);
        if !empty_start && local.read(&idx).is_err() {
            let key = object_key(stream, last, entry.epoch, layout::INDEX_EXT);
            let io = |e| Error::io(format!("copying {}/{key}", tier.url()), e);
            let obj = tier
                .get(&key)
                .map_err(io)?
                .ok_or_else(|| io(std::io::Error::new(std::io::ErrorKind::NotFound, "missing")))?;
            local
                .write_atomic(&idx, &obj.bytes)
                .map_err(|e| Error::io(format!("writing {}", local.display(&idx).display()), e))?;
        }
    }
    let header = SegmentHeader {
        stream,
        base_offset: end.next_offset,
        base_hash: end.hash,
        rules: Some(SegmentRules::of(options)),
    };
    Segment::create(local.clone(), header)?;
    Ok(())
}
