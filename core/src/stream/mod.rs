//! One stream: its segments, its chain head, and the single writer that
//! appends to it.
//!
//! Invariants kept here:
//! - The [`Snapshot`] in `shared` is published only after the bytes it
//!   describes were written: a reader that copies it never sees a
//!   half-written batch.
//! - Only the holder of `writer` changes the file or `shared`.
//! - A batch is written into one segment, and only its last event record
//!   carries COMMIT; recovery keeps whole batches only.
//! - Once an fsync or a write fails, the stream is poisoned: appends fail
//!   until the store is reopened and recovery has looked at the file.

mod append;
mod cursor;
mod follow;
mod group;
mod prune;
mod recover;
mod stats;
mod tail;
mod time;
mod verify;
mod wait;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

pub use cursor::EventIter;
pub use group::Batch;
pub use recover::{open_stream, TornTail};
pub use stats::StreamStats;
pub use verify::VerifyReport;
pub(crate) use wait::Follow;

use crate::codec::Encoder;
use crate::error::{Error, Result};
use crate::hash::ChainHead;
use crate::io::StorageDir;
use crate::options::Options;
use crate::segment::DamageKind;
use crate::segment::{Segment, VerifiedRun};

/// What readers copy: the segments and how far the stream is committed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub segments: Arc<Vec<Arc<Segment>>>,
    pub head: ChainHead,
    /// Committed length of the last segment.
    pub active_len: u64,
    /// Where the stream starts: `(0, zero hash)`, or after a prune the
    /// first retained offset and the chain hash before it (its anchor).
    pub first: ChainHead,
    /// The events a follower's refresh step read, CRC-checked and walked
    /// along the chain to find what the writer committed (`follow.rs`), at
    /// most one run per segment, all below this snapshot's head: its
    /// cursors take them instead of reading and checking the same records
    /// again (`verify` does not: it reads the files). `None` on a writer's
    /// stream.
    pub checked: Option<Arc<Vec<Arc<VerifiedRun>>>>,
}

impl Snapshot {
    /// Where reading segment `index` stops: its length when sealed, the
    /// committed length when it is the active one.
    pub(crate) fn segment_limit(&self, index: usize) -> Result<u64> {
        if index + 1 == self.segments.len() {
            Ok(self.active_len)
        } else {
            self.segments[index].sealed_len()
        }
    }

    /// The events of `segment` already read and verified, if any.
    pub(crate) fn checked_of(&self, segment: &Segment) -> Option<Arc<VerifiedRun>> {
        self.checked
            .as_ref()?
            .iter()
            .find(|c| c.of(segment))
            .cloned()
    }
}

/// Damage found when the store opened: the stream serves its intact prefix
/// and reports this for everything beyond it.
#[derive(Debug, Clone)]
pub struct Damage {
    pub kind: DamageKind,
    pub offset: u64,
    pub file: std::path::PathBuf,
    pub reason: String,
}

#[derive(Debug)]
struct Writer {
    encoder: Encoder,
    buf: Vec<u8>,
    /// The time of the last batch written or found (Unix milliseconds):
    /// the next one is never earlier. `None` until known: an open that
    /// started its scan at a tail marker saw no time record, and the
    /// first timed append looks for the last one.
    last_time: Option<u64>,
}

#[derive(Debug)]
pub struct Stream {
    pub id: u64,
    dir: Arc<dyn StorageDir>,
    options: Arc<Options>,
    shared: RwLock<Snapshot>,
    writer: Mutex<Writer>,
    poison: Mutex<Option<String>>,
    damage: Option<Damage>,
    /// What the stream's tail marker on disk describes, when known to be
    /// current (see `tail.rs`).
    tail_mark: Mutex<Option<tail::TailMark>>,
    /// Readers waiting for the stream to grow (see `wait.rs`).
    waiters: wait::Waiters,
}

impl Stream {
    fn new(
        id: u64,
        dir: Arc<dyn StorageDir>,
        options: Arc<Options>,
        snapshot: Snapshot,
        damage: Option<Damage>,
    ) -> Self {
        Stream {
            id,
            writer: Mutex::new(Writer {
                encoder: Encoder::new(options.compression),
                buf: Vec::new(),
                last_time: None,
            }),
            dir,
            options,
            shared: RwLock::new(snapshot),
            poison: Mutex::new(None),
            damage,
            tail_mark: Mutex::new(None),
            waiters: wait::Waiters::default(),
        }
    }

    /// A stream with no segment yet; its first append creates one.
    pub fn empty(id: u64, dir: Arc<dyn StorageDir>, options: Arc<Options>) -> Self {
        let snapshot = Snapshot {
            segments: Arc::new(Vec::new()),
            head: ChainHead::EMPTY,
            active_len: 0,
            first: ChainHead::EMPTY,
            checked: None,
        };
        Stream::new(id, dir, options, snapshot, None)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.shared.read().clone()
    }

    /// Whether anything of this stream exists on disk.
    pub fn exists(&self) -> bool {
        !self.shared.read().segments.is_empty()
    }

    pub fn damage_error(&self) -> Option<Error> {
        self.damage.as_ref().map(|d| match d.kind {
            DamageKind::Bytes => Error::Corruption {
                stream: self.id,
                offset: d.offset,
                file: d.file.clone(),
                reason: d.reason.clone(),
            },
            DamageKind::Chain => Error::ChainMismatch {
                stream: self.id,
                offset: d.offset,
                reason: format!("{} ({})", d.reason, d.file.display()),
            },
        })
    }

    fn poison_error(&self) -> Option<Error> {
        self.poison.lock().as_ref().map(|cause| Error::Poisoned {
            stream: self.id,
            cause: cause.clone(),
        })
    }

    fn poison_with(&self, cause: &Error) {
        let mut poison = self.poison.lock();
        if poison.is_none() {
            *poison = Some(cause.to_string());
        }
    }

    /// The first offset the stream still holds (0 unless pruned).
    pub fn first_offset(&self) -> Result<u64> {
        if let Some(err) = self.damage_error() {
            return Err(err);
        }
        Ok(self.shared.read().first.next_offset)
    }

    /// The head the retained events continue: the first offset and the
    /// chain hash before it (the prune anchor's), once the first segment's
    /// header (read once, then kept) is seen to start from it, as a read
    /// from there checks: an anchor nothing links to is never handed out.
    pub fn first_head(&self) -> Result<ChainHead> {
        if let Some(err) = self.damage_error() {
            return Err(err);
        }
        let snapshot = self.snapshot();
        if let Some(segment) = snapshot.segments.first() {
            cursor::check_first_segment(self.id, segment, &segment.header()?, snapshot.first)?;
        }
        Ok(snapshot.first)
    }

    /// The chain head, from memory.
    pub fn chain_head(&self) -> Result<ChainHead> {
        if let Some(err) = self.damage_error() {
            return Err(err);
        }
        Ok(self.shared.read().head)
    }

    /// The active segment and the length to make durable, if it holds
    /// bytes not yet known to be durable; the stream's poison or damage
    /// first, as `sync` would report it.
    pub(crate) fn unsynced(&self) -> Result<Option<(Arc<Segment>, u64)>> {
        if let Some(err) = self.poison_error() {
            return Err(err);
        }
        let snapshot = self.snapshot();
        Ok(snapshot.segments.last().and_then(|active| {
            let end = active.written_len();
            (active.synced_len() < end).then(|| (active.clone(), end))
        }))
    }

    /// Where the sealed segments end: the offset the active segment
    /// starts at (0 for a stream with no segment).
    pub(crate) fn sealed_end(&self) -> u64 {
        self.shared
            .read()
            .segments
            .last()
            .map_or(0, |active| active.base_offset)
    }

    /// Records that a sync of the whole file system made the first `end`
    /// bytes of `segment` durable, or, if it failed, poisons the stream as
    /// a failed fsync of its own would.
    pub(crate) fn synced_elsewhere(&self, segment: &Segment, end: u64, outcome: &Result<()>) {
        match outcome {
            Ok(()) => segment.set_synced_len(end),
            Err(err) => self.poison_with(err),
        }
    }

    /// Makes everything appended so far durable.
    pub fn sync(&self) -> Result<()> {
        let snapshot = self.snapshot();
        match snapshot.segments.last() {
            None => Ok(()),
            Some(active) => self.sync_segment(active, active.written_len()),
        }
    }
}
