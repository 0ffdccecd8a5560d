//! A writable store's side of its tier: the lease, the uploader thread,
//! eviction of local copies, `sync_tier` and the stats.
//!
//! Invariants kept here:
//! - Appends never wait for the bucket: the uploader runs on its own
//!   thread, woken when a segment seals, and retries with backoff.
//! - A local copy of a segment is deleted only once a manifest write
//!   listing it succeeded, only if it is sealed, and only while the local
//!   sealed bytes exceed the cache size.
//! - Once fenced (another writer took the lease, or a manifest shows a
//!   later epoch) nothing more is uploaded and the store refuses appends.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::catalog::Catalog;
use super::lease::{Lease, Renewal};
use super::object_dir::TieredDir;
use super::uploader::{self, local_bases, Etags, Round, RoundError};
use super::{object_key, Tier, TierConfig, TierStats};
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::io::StorageDir;
use crate::layout;
use crate::options::Options;
use crate::segment::{Segment, SegmentHeader, SegmentRules};

/// The local file naming this store's writer to its tier.
pub(crate) const TIER_ID_FILE: &str = "TIER";

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct TierAgent {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    tier: Arc<dyn Tier>,
    local: Arc<dyn StorageDir>,
    catalog: Arc<Catalog>,
    lease: Lease,
    cache_bytes: Option<u64>,
    state: Mutex<State>,
    /// Wakes the uploader.
    kick: Condvar,
    /// Wakes `sync` waiters after every round.
    progress: Condvar,
}

#[derive(Debug, Default)]
struct State {
    dirty: BTreeSet<u64>,
    closing: bool,
    etags: Etags,
    stats: TierStats,
    /// Bumped by every failed round, so a waiter can tell a failure after
    /// its call from one before.
    failures: u64,
    /// Pending bytes by stream, as last counted.
    pending: std::collections::BTreeMap<u64, (u64, u64)>,
    /// Local sealed copies the bucket holds, oldest first, and their bytes.
    cached: VecDeque<(u64, u64, u64)>,
    cached_bytes: u64,
}

impl TierAgent {
    /// Takes the lease and reads the manifests, before the store is
    /// loaded; prepares each stream whose bucket copy is ahead of the local
    /// one (a standby, or a new machine) to continue from the bucket; and
    /// returns the agent with the directory the store must run on.
    pub(crate) fn start(
        local: Arc<dyn StorageDir>,
        config: TierConfig,
        options: &Options,
    ) -> Result<(TierAgent, Arc<TieredDir>)> {
        let tier = config.tier.clone();
        let id = writer_id(local.as_ref())?;
        let lease = Lease::acquire(tier.as_ref(), &id, config.lease_ttl, config.takeover)?;
        let marker = Path::new(layout::STORE_MARKER);
        if let Ok(bytes) = local.read(marker) {
            tier.put_create(layout::STORE_MARKER, bytes)
                .map_err(|e| Error::io(format!("writing {}/STRATALOG", tier.url()), e))?;
        }
        let mut etags = Etags::new();
        let catalog = uploader::load_catalog(tier.as_ref(), &mut etags)
            .map_err(|e| Error::io(e, std::io::Error::other("tier unreadable")))?;
        let mut dirty: BTreeSet<u64> = BTreeSet::new();
        for stream in catalog.streams() {
            if let Some(manifest) = catalog.get(stream) {
                if manifest.epoch > lease.epoch() {
                    return Err(Error::Locked(std::path::PathBuf::from(format!(
                        "{} (stream {stream} was written by epoch {})",
                        tier.url(),
                        manifest.epoch
                    ))));
                }
                continue_from_bucket(&local, tier.as_ref(), &manifest, options)?;
            }
            dirty.insert(stream);
        }
        if let Ok(names) = local.list(&layout::streams_dir()) {
            dirty.extend(names.iter().filter_map(|n| layout::parse_stream_dir(n)));
        }
        let catalog = Arc::new(catalog);
        let dir = Arc::new(TieredDir::new(local.clone(), tier.clone(), catalog.clone()));
        let mut state = State {
            dirty,
            etags,
            ..State::default()
        };
        state.stats.epoch = lease.epoch();
        let shared = Arc::new(Shared {
            tier,
            local,
            catalog,
            lease,
            cache_bytes: config.local_cache_bytes,
            state: Mutex::new(state),
            kick: Condvar::new(),
            progress: Condvar::new(),
        });
        shared.note_cached_copies();
        // A store reopened with a smaller cache trims it now.
        shared.evict(&mut shared.state.lock());
        let weak = Arc::downgrade(&shared);
        dir.set_on_seal(Box::new(move |stream| {
            if let Some(shared) = weak.upgrade() {
                shared.state.lock().dirty.insert(stream);
                shared.kick.notify_one();
            }
        }));
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("stratalog-tier".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::io("starting the tier's upload thread", e))?;
        Ok((
            TierAgent {
                shared,
                thread: Mutex::new(Some(thread)),
            },
            dir,
        ))
    }

    /// Why the store may not append, if it is fenced.
    pub(crate) fn fenced(&self) -> Option<Error> {
        let state = self.shared.state.lock();
        state.stats.fenced.then(|| self.shared.locked(&state))
    }

    pub(crate) fn stats(&self) -> TierStats {
        let state = self.shared.state.lock();
        let mut stats = state.stats.clone();
        stats.pending_segments = state.pending.values().map(|p| p.0).sum();
        stats.pending_bytes = state.pending.values().map(|p| p.1).sum();
        stats
    }

    /// Waits until each stream's manifest reaches its target offset: the
    /// segments holding it are sealed already. Fails if the store is fenced
    /// or an upload fails meanwhile (with that failure).
    pub(crate) fn sync(&self, targets: &[(u64, u64)]) -> Result<()> {
        let shared = &self.shared;
        let mut state = shared.state.lock();
        state.dirty.extend(targets.iter().map(|t| t.0));
        shared.kick.notify_one();
        let failures = state.failures;
        loop {
            if state.stats.fenced {
                return Err(shared.locked(&state));
            }
            let reached = targets.iter().all(|&(stream, target)| {
                shared
                    .catalog
                    .get(stream)
                    .is_some_and(|m| m.end().next_offset >= target)
                    || target == 0
            });
            if reached {
                return Ok(());
            }
            if state.failures != failures {
                let why = state.stats.last_error.clone().unwrap_or_default();
                return Err(Error::io(
                    format!("uploading to {}", shared.tier.url()),
                    std::io::Error::other(why),
                ));
            }
            if state.closing {
                return Err(Error::Closed);
            }
            shared.progress.wait_for(&mut state, Duration::from_secs(1));
        }
    }

    /// Stops the uploader (after the round it is in, if any).
    pub(crate) fn close(&self) {
        self.shared.state.lock().closing = true;
        self.shared.kick.notify_all();
        self.shared.progress.notify_all();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TierAgent {
    fn drop(&mut self) {
        self.shared.state.lock().closing = true;
        self.shared.kick.notify_all();
        self.shared.progress.notify_all();
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

    fn run(self: Arc<Self>) {
        let renew_every = (self.lease.ttl() / 3).max(Duration::from_millis(50));
        let mut renew_at = Instant::now() + renew_every;
        let mut backoff = BACKOFF_MIN;
        let mut retry_at: Option<Instant> = None;
        loop {
            let work: Vec<u64> = {
                let mut state = self.state.lock();
                loop {
                    if state.closing || state.stats.fenced {
                        return;
                    }
                    let now = Instant::now();
                    if now >= renew_at {
                        break Vec::new();
                    }
                    let ready = retry_at.is_none_or(|at| now >= at);
                    if ready && !state.dirty.is_empty() {
                        break std::mem::take(&mut state.dirty).into_iter().collect();
                    }
                    let until = retry_at
                        .filter(|_| !state.dirty.is_empty())
                        .map_or(renew_at, |r| r.min(renew_at));
                    self.kick.wait_until(&mut state, until);
                }
            };
            if Instant::now() >= renew_at {
                renew_at = Instant::now() + renew_every;
                match self.lease.renew(self.tier.as_ref()) {
                    Ok(Renewal::Held) => {}
                    Ok(Renewal::Lost(holder)) => {
                        self.fence(format!("the lease is held by {holder}"));
                        return;
                    }
                    Err(e) => {
                        self.failed(format!("renewing the lease on {}: {e}", self.tier.url()))
                    }
                }
            }
            let mut failed = false;
            for stream in work {
                if let Err(stop) = self.upload(stream) {
                    match stop {
                        RoundError::Fenced(why) => {
                            self.fence(why);
                            return;
                        }
                        RoundError::Failed(why) => {
                            self.state.lock().dirty.insert(stream);
                            self.failed(why);
                            failed = true;
                        }
                    }
                }
            }
            if failed {
                retry_at = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            } else {
                retry_at = None;
                backoff = BACKOFF_MIN;
            }
            self.progress.notify_all();
        }
    }

    /// Uploads what `stream` has pending, until nothing is (or a round
    /// fails), evicting local copies as the cache fills.
    fn upload(&self, stream: u64) -> std::result::Result<(), RoundError> {
        loop {
            let mut etags = std::mem::take(&mut self.state.lock().etags);
            let outcome = Round {
                tier: self.tier.as_ref(),
                local: self.local.as_ref(),
                catalog: &self.catalog,
                etags: &mut etags,
                epoch: self.lease.epoch(),
            }
            .run(stream);
            let pending = self.count_pending(stream);
            let mut state = self.state.lock();
            state.etags = etags;
            match pending {
                (0, _) => state.pending.remove(&stream),
                counted => state.pending.insert(stream, counted),
            };
            let done = outcome?;
            state.stats.last_error = None;
            for up in &done {
                state.stats.uploaded_segments += 1;
                state.stats.uploaded_bytes += up.bytes;
                state.cached.push_back((up.stream, up.base, up.bytes));
                state.cached_bytes += up.bytes;
            }
            self.evict(&mut state);
            drop(state);
            self.progress.notify_all();
            if done.is_empty() || pending.0 == 0 {
                return Ok(());
            }
        }
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
    fn evict(&self, state: &mut State) {
        let Some(limit) = self.cache_bytes else {
            return;
        };
        while state.cached_bytes > limit {
            let Some((stream, base, bytes)) = state.cached.pop_front() else {
                break;
            };
            state.cached_bytes -= bytes;
            // Only what a successful manifest write lists, and never the
            // last (active) segment.
            let listed = self.catalog.entry(stream, base).is_some();
            let last = local_bases(self.local.as_ref(), stream)
                .ok()
                .and_then(|b| b.last().copied());
            if !listed || last == Some(base) {
                continue;
            }
            let rel = layout::segment_path(stream, base);
            match self.local.remove(&rel) {
                Ok(()) => state.stats.evicted_segments += 1,
                Err(e) => {
                    state.stats.last_error = Some(format!(
                        "evicting {}: {e}",
                        self.local.display(&rel).display()
                    ))
                }
            }
        }
    }

    /// Counts the local sealed copies the bucket already holds (from an
    /// earlier open) toward the cache, oldest first.
    fn note_cached_copies(&self) {
        let mut state = self.state.lock();
        for stream in self.catalog.streams() {
            let Some(manifest) = self.catalog.get(stream) else {
                continue;
            };
            let Ok(bases) = local_bases(self.local.as_ref(), stream) else {
                continue;
            };
            for &base in &bases[..bases.len().saturating_sub(1)] {
                if let Some(entry) = manifest.entry(base) {
                    state.cached.push_back((stream, base, entry.segment_len));
                    state.cached_bytes += entry.segment_len;
                }
            }
        }
    }

    fn failed(&self, why: String) {
        let mut state = self.state.lock();
        state.failures += 1;
        state.stats.last_error = Some(why);
    }

    fn fence(&self, why: String) {
        let mut state = self.state.lock();
        state.stats.fenced = true;
        state.stats.last_error = Some(why);
        state.failures += 1;
        drop(state);
        self.progress.notify_all();
    }
}

/// This store's writer id, made once and kept in the local `TIER` file.
fn writer_id(local: &dyn StorageDir) -> Result<String> {
    let rel = Path::new(TIER_ID_FILE);
    if let Ok(bytes) = local.read(rel) {
        let text = String::from_utf8_lossy(&bytes);
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("id ")) {
            if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(id.to_owned());
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
    let id = crate::hash::to_hex(&raw);
    local
        .write_atomic(rel, format!("id {id}\n").as_bytes())
        .map_err(|e| Error::io(format!("writing {}", local.display(rel).display()), e))?;
    Ok(id)
}

/// Makes a stream whose bucket copy ends past every local segment continue
/// from the bucket: an empty local segment at the manifest's end (and the
/// index of the local last segment if the bucket has one it lacks). A
/// local active segment inside the bucket's history that the bucket does
/// not hold is a diverged copy: refused, never overwritten.
fn continue_from_bucket(
    local: &Arc<dyn StorageDir>,
    tier: &dyn Tier,
    manifest: &super::manifest::Manifest,
    options: &Options,
) -> Result<()> {
    let stream = manifest.stream;
    let end: ChainHead = manifest.end();
    if manifest.entries.is_empty() {
        return Ok(());
    }
    let bases = local_bases(local.as_ref(), stream)
        .map_err(|e| Error::io(e, std::io::Error::other("listing")))?;
    if bases.last().is_some_and(|&b| b >= end.next_offset) {
        return Ok(());
    }
    if let Some(&last) = bases.last() {
        let Some(entry) = manifest.entry(last) else {
            return Err(Error::invalid(format!(
                "the local copy of stream {stream} has diverged from {}: its active segment at offset {last} is not one the bucket holds (the bucket's copy ends at {}); move {} aside to continue from the bucket",
                tier.url(),
                end.next_offset,
                local.display(&layout::stream_dir(stream)).display()
            )));
        };
        let rel = layout::segment_path(stream, last);
        let len = local
            .open(&rel, false)
            .and_then(|f| f.len())
            .map_err(|e| Error::io(format!("reading {}", local.display(&rel).display()), e))?;
        if len != entry.segment_len {
            return Err(Error::invalid(format!(
                "the local copy of stream {stream} has diverged from {}: {} holds {len} bytes, the bucket's copy {}; move {} aside to continue from the bucket",
                tier.url(),
                local.display(&rel).display(),
                entry.segment_len,
                local.display(&layout::stream_dir(stream)).display()
            )));
        }
        let idx = layout::index_path(stream, last);
        if local.read(&idx).is_err() {
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
