//! A segment: one file holding a contiguous run of one stream's records.
//!
//! Invariants kept here:
//! - A segment file appears whole (header written atomically) and only the
//!   last segment of a stream is ever written; every other one is sealed,
//!   immutable and fully fsynced. Its length is taken once, on first use.
//! - Every segment is read with positioned reads of the needed range:
//!   sealed ones up to that length, the active one up to the length the
//!   stream has published. A file that another process shortened reads as
//!   `Corruption`, never as a signal.
//! - `synced_len` only grows, and only after an fsync that succeeded.

mod header;
mod index;
mod keep;
mod reader;
mod scan;
mod tail;
mod walk;

// What the stream layer may use of a segment, and nothing else: the
// header and its rules, checkpoint entries, the record reader and chain
// walk for reads, the tail scan and marker for recovery. Writing goes
// through `Segment::append` alone.
pub(crate) use header::{SegmentHeader, SegmentRules};
pub use header::{FORMAT_VERSION, LEN as HEADER_LEN};
pub(crate) use index::{IndexEntry, SegmentIndex};
pub(crate) use keep::{read_ahead, VerifiedRun};
pub(crate) use reader::{Next, RawRecord, RecordReader};
pub(crate) use scan::{scan_tail, scan_tail_keeping, DamageKind, ScanStart, TailEnd};
pub(crate) use tail::TailMarker;
pub(crate) use walk::ChainWalk;

/// Reading, writing and resuming from a stream's tail marker.
pub(crate) mod tail_marker {
    pub(crate) use super::tail::{read, resume, write};
}

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::{Error, IoContext, Result};
use crate::hash::{ChainHead, Hash};
use crate::io::{ByteFile, StorageDir};
use crate::layout;
use crate::record::Kind;

/// A batch that could not be written: why, and whether the file was cut
/// back to where the batch began.
#[derive(Debug)]
pub(crate) struct WriteFailure {
    pub(crate) error: Error,
    /// False when even the cut failed: the file's end is unknown.
    pub(crate) state_known: bool,
}

pub(crate) struct Segment {
    pub stream: u64,
    pub base_offset: u64,
    dir: Arc<dyn StorageDir>,
    writable: bool,
    file: OnceLock<Arc<dyn ByteFile>>,
    header: OnceLock<SegmentHeader>,
    /// The copy of the header the directory keeps, if any (see
    /// [`Segment::known_header`]), decoded on first use.
    copied_header: OnceLock<Option<SegmentHeader>>,
    /// The file's own header was found to differ from the copy: reads no
    /// longer follow the copy.
    copy_refuted: AtomicBool,
    /// Length of a sealed segment, taken on first use.
    sealed_len: OnceLock<u64>,
    /// Checkpoint positions; `None` until loaded (sealed segments load lazily).
    checkpoints: RwLock<Option<Vec<IndexEntry>>>,
    /// Bytes handed to the file so far (only the writer moves it).
    written_len: AtomicU64,
    /// Writeback has been started for bytes before this (only the writer
    /// moves it).
    writeback_from: AtomicU64,
    synced_len: AtomicU64,
    /// Whether an fsync is running; waiters sleep on `sync_done`.
    sync_running: Mutex<bool>,
    sync_done: Condvar,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("stream", &self.stream)
            .field("base_offset", &self.base_offset)
            .finish()
    }
}

impl Segment {
    /// A segment that exists on disk; nothing is read yet.
    pub(crate) fn existing(
        dir: Arc<dyn StorageDir>,
        stream: u64,
        base_offset: u64,
        writable: bool,
    ) -> Self {
        Segment {
            stream,
            base_offset,
            dir,
            writable,
            file: OnceLock::new(),
            header: OnceLock::new(),
            copied_header: OnceLock::new(),
            copy_refuted: AtomicBool::new(false),
            sealed_len: OnceLock::new(),
            checkpoints: RwLock::new(None),
            written_len: AtomicU64::new(0),
            writeback_from: AtomicU64::new(0),
            synced_len: AtomicU64::new(0),
            sync_running: Mutex::new(false),
            sync_done: Condvar::new(),
        }
    }

    /// Creates a new, empty segment file, atomically and durably.
    pub(crate) fn create(dir: Arc<dyn StorageDir>, header: SegmentHeader) -> Result<Self> {
        let rel = layout::segment_path(header.stream, header.base_offset);
        dir.create_dir(&layout::stream_dir(header.stream))
            .context(|| {
                format!(
                    "creating {}",
                    dir.display(&layout::stream_dir(header.stream)).display()
                )
            })?;
        dir.write_atomic(&rel, &header.encode())
            .context(|| format!("creating segment {}", dir.display(&rel).display()))?;
        let segment = Segment::existing(dir, header.stream, header.base_offset, true);
        segment.header.get_or_init(|| header);
        *segment.checkpoints.write() = Some(Vec::new());
        let len = header.len() as u64;
        segment.written_len.store(len, Ordering::Release);
        segment.synced_len.store(len, Ordering::Release);
        Ok(segment)
    }

    pub(crate) fn rel_path(&self) -> PathBuf {
        layout::segment_path(self.stream, self.base_offset)
    }

    pub(crate) fn display_path(&self) -> PathBuf {
        self.dir.display(&self.rel_path())
    }

    /// The directory of the store it belongs to.
    pub(crate) fn dir(&self) -> &dyn StorageDir {
        self.dir.as_ref()
    }

    pub(crate) fn corruption(&self, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption {
            stream: self.stream,
            offset,
            file: self.display_path(),
            reason: reason.into(),
        }
    }

    /// A read of `len` bytes at `pos`, within the length the segment had
    /// (its file's, or its manifest's in a bucket), failed: a short read
    /// means the file or object was cut underneath the store, which is
    /// damage, not a crash artefact.
    fn read_error(&self, pos: u64, len: usize, e: std::io::Error) -> Error {
        if e.kind() != std::io::ErrorKind::UnexpectedEof {
            return self.io_error("reading", e);
        }
        self.corruption(
            self.base_offset,
            format!(
                "segment file ends before byte {}: it was shortened after the store read its length ({e})",
                pos + len as u64
            ),
        )
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::io(format!("{what} {}", self.display_path().display()), e)
    }

    pub(crate) fn file(&self) -> Result<&Arc<dyn ByteFile>> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let file = self
            .dir
            .open(&self.rel_path(), self.writable)
            .map_err(|e| self.io_error("opening", e))?;
        Ok(self.file.get_or_init(|| file))
    }

    pub(crate) fn file_len(&self) -> Result<u64> {
        self.file()?
            .len()
            .map_err(|e| self.io_error("reading the length of", e))
    }

    /// The segment's header, read from the file and checked on first use
    /// (also against the directory's copy, when it keeps one).
    pub(crate) fn header(&self) -> Result<SegmentHeader> {
        if let Some(header) = self.header.get() {
            return Ok(*header);
        }
        let file = self.file()?;
        let len = self.file_len()?;
        if len < header::LEN_V1 as u64 {
            return Err(self.corruption(self.base_offset, "segment shorter than its header"));
        }
        // A version-1 header is shorter; read what there is up to the
        // longest and let the version decide.
        let mut buf = vec![0u8; len.min(header::LEN as u64) as usize];
        file.read_exact_at(&mut buf, 0)
            .map_err(|e| self.read_error(0, buf.len(), e))?;
        let header = SegmentHeader::decode(&buf, self.stream, self.base_offset)
            .map_err(|reason| self.corruption(self.base_offset, reason))?;
        if self.copied_header()?.is_some_and(|copy| copy != header) {
            self.copy_refuted.store(true, Ordering::Release);
            return Err(self.corruption(
                self.base_offset,
                "the segment's header is not the one its manifest entry records",
            ));
        }
        Ok(*self.header.get_or_init(|| header))
    }

    /// The header a read from inside the segment follows: the file's once
    /// read, or else the directory's copy (a tier's manifest entry), so a
    /// read from a checkpoint of a segment only a bucket holds does not
    /// fetch the header first. The records read are checked against the
    /// chain either way, and a walk from the segment's start reads the
    /// file's header ([`Segment::header`]), which is checked against the
    /// copy: a full verification sees a copy that lies, and from then on
    /// every read of the segment fails as that check did.
    pub(crate) fn known_header(&self) -> Result<SegmentHeader> {
        if let Some(header) = self.header.get() {
            return Ok(*header);
        }
        match self.copied_header()? {
            Some(copy) if !self.copy_refuted.load(Ordering::Acquire) => Ok(copy),
            _ => self.header(),
        }
    }

    /// The directory's copy of the header, decoded once.
    fn copied_header(&self) -> Result<Option<SegmentHeader>> {
        if let Some(copy) = self.copied_header.get() {
            return Ok(*copy);
        }
        let copy = match self
            .dir
            .known_segment_header(&self.rel_path())
            .and_then(|known| known.bytes)
        {
            Some(bytes) => Some(
                SegmentHeader::decode(&bytes, self.stream, self.base_offset).map_err(|reason| {
                    self.corruption(
                        self.base_offset,
                        format!("the manifest entry's copy of the header: {reason}"),
                    )
                })?,
            ),
            None => None,
        };
        Ok(*self.copied_header.get_or_init(|| copy))
    }

    /// Where the chain stands at this segment's start: from its header
    /// once read, or else from what the directory knows without reading
    /// the file (a tier's manifest), so that checking the index of the
    /// segment before does not fetch this one from a bucket. A walk into
    /// this segment still checks its header against the chain.
    pub(crate) fn base_head(&self) -> Result<ChainHead> {
        if let Some(header) = self.header.get() {
            return Ok(header.base());
        }
        match self.dir.known_segment_header(&self.rel_path()) {
            Some(known) => Ok(known.base),
            None => Ok(self.header()?.base()),
        }
    }

    /// Where the first record starts: just after the header.
    pub(crate) fn records_start(&self) -> Result<u64> {
        Ok(self.known_header()?.len() as u64)
    }

    /// The length of a sealed segment: taken once, as it never changes.
    pub(crate) fn sealed_len(&self) -> Result<u64> {
        if let Some(len) = self.sealed_len.get() {
            return Ok(*len);
        }
        let len = self.file_len()?;
        Ok(*self.sealed_len.get_or_init(|| len))
    }

    /// Reads `len` bytes at `pos` with one positioned read. The caller
    /// stays within a length the segment had, so a short read means the
    /// file was cut underneath the store: damage, not a crash artefact.
    pub(crate) fn read_at(&self, pos: u64, len: usize) -> Result<Bytes> {
        match self.file()?.read_vec_at(len, pos) {
            Ok(buf) => Ok(Bytes::from(buf)),
            Err(e) => Err(self.read_error(pos, len, e)),
        }
    }

    /// The write path's one door: writes the encoded `batch` at `pos` (the
    /// end of the committed records), then records the new length and the
    /// batch's checkpoints (`checkpoints` hold positions within `batch`).
    /// Returns the end of the batch. On failure the file is cut back to
    /// `pos`, so no part of the batch stays behind; the failure says
    /// whether even that cut failed and the file's state is unknown.
    pub(crate) fn append(
        &self,
        batch: &[u8],
        pos: u64,
        checkpoints: impl IntoIterator<Item = IndexEntry>,
    ) -> std::result::Result<u64, WriteFailure> {
        let written = self.file().and_then(|f| {
            f.write_all_at(batch, pos)
                .map_err(|e| self.io_error("writing", e))
        });
        if let Err(error) = written {
            let state_known = self.truncate(pos).is_ok();
            return Err(WriteFailure { error, state_known });
        }
        let end = pos + batch.len() as u64;
        self.record_write(end);
        self.checkpoints
            .write()
            .get_or_insert_with(Vec::new)
            .extend(checkpoints.into_iter().map(|e| IndexEntry {
                offset: e.offset,
                pos: e.pos + pos,
            }));
        Ok(end)
    }

    pub(crate) fn truncate(&self, len: u64) -> Result<()> {
        self.file()?
            .truncate(len)
            .map_err(|e| self.io_error("truncating", e))
    }

    pub(crate) fn set_written_len(&self, len: u64) {
        self.written_len.store(len, Ordering::Release);
    }

    /// Records that the file now holds `len` bytes and, every few MiB,
    /// asks the OS to start writing them out, so that an fsync (and the one
    /// that seals the segment) does not find a whole segment dirty. Only a
    /// hint: an error here is left for the fsync to report.
    fn record_write(&self, len: u64) {
        self.set_written_len(len);
        let from = self.writeback_from.load(Ordering::Acquire);
        if len >= from + WRITEBACK_CHUNK {
            if let Ok(file) = self.file() {
                let _ = file.start_writeback(from, len - from);
            }
            self.writeback_from.store(len, Ordering::Release);
        }
    }

    /// Makes the first `end` bytes durable, sharing fsyncs among every
    /// caller waiting at the same time (group commit): one caller at a time
    /// leads, fsyncing everything written so far, and wakes all the others;
    /// those it covered return at once and one of the rest leads next.
    /// `poisoned` is consulted before every fsync and `poison` is called
    /// when one fails, before any waiter wakes: once an fsync has failed, no
    /// later call may report success for data it did not cover (Linux may
    /// have dropped those dirty pages and would not report it again).
    pub(crate) fn sync_to(
        &self,
        end: u64,
        poisoned: impl Fn() -> Option<Error>,
        poison: impl Fn(&Error),
    ) -> Result<()> {
        if self.synced_len.load(Ordering::Acquire) >= end {
            return Ok(());
        }
        let mut running = self.sync_running.lock();
        loop {
            if self.synced_len.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            if let Some(err) = poisoned() {
                return Err(err);
            }
            if *running {
                self.sync_done.wait(&mut running);
                continue;
            }
            *running = true;
            let target = self.written_len.load(Ordering::Acquire);
            let result = parking_lot::MutexGuard::unlocked(&mut running, || {
                self.file()
                    .and_then(|f| f.sync_data().map_err(|e| self.io_error("fsync of", e)))
            });
            *running = false;
            match &result {
                Ok(()) => {
                    self.synced_len.fetch_max(target, Ordering::AcqRel);
                }
                Err(err) => poison(err),
            }
            // Waiters re-check: covered ones return, after a failure they
            // find the stream poisoned, the rest elect the next leader.
            self.sync_done.notify_all();
            result?;
        }
    }

    pub(crate) fn written_len(&self) -> u64 {
        self.written_len.load(Ordering::Acquire)
    }

    pub(crate) fn synced_len(&self) -> u64 {
        self.synced_len.load(Ordering::Acquire)
    }

    /// Records that the first `len` bytes are known to be durable without
    /// an fsync of this handle: recovery knows it of the prefix a tail
    /// marker names (the marker is written only after that prefix was
    /// fsynced) and of a file it has just cut and fsynced.
    pub(crate) fn set_synced_len(&self, len: u64) {
        self.synced_len.fetch_max(len, Ordering::AcqRel);
    }

    // ----- checkpoints ---------------------------------------------------

    pub(crate) fn set_checkpoints(&self, entries: Vec<IndexEntry>) {
        *self.checkpoints.write() = Some(entries);
    }

    pub(crate) fn checkpoints_snapshot(&self) -> Vec<IndexEntry> {
        self.checkpoints.read().clone().unwrap_or_default()
    }

    /// Forgets the checkpoints of a sealed segment whose index proved wrong;
    /// the next lookup rebuilds them by walking the segment.
    pub(crate) fn forget_checkpoints(&self) {
        *self.checkpoints.write() = None;
    }

    /// Rebuilds the checkpoints of the active segment up to `limit` (its
    /// published length) by walking it, when an entry proved wrong (one
    /// taken from a tail marker that does not match the bytes). The active
    /// segment has no index file to fall back on, and its length still
    /// grows, so the sealed segments' lazy path does not apply. Entries a
    /// concurrent append pushes stand past `limit`, so the list stays
    /// ascending; one lost in the race only makes a read start earlier.
    pub(crate) fn rebuild_active_checkpoints(&self, limit: u64) -> Result<()> {
        let entries = self.scan_checkpoints(limit)?;
        self.set_checkpoints(entries);
        Ok(())
    }

    /// The last checkpoint at or before `offset`, loading the index of a
    /// sealed segment on first use. `end` gives, only if the index must be
    /// loaded, where the chain stands after this segment (the next
    /// segment's base offset and base hash): an index that names another
    /// end is stale or belongs to another incarnation of the segment, and
    /// is not used.
    pub(crate) fn checkpoint_before(
        &self,
        offset: u64,
        end: impl FnOnce() -> Option<ChainHead>,
    ) -> Result<Option<IndexEntry>> {
        if let Some(entries) = self.checkpoints.read().as_ref() {
            return Ok(last_at_or_before(entries, offset));
        }
        let entries = self.load_index(end())?;
        let found = last_at_or_before(&entries, offset);
        self.set_checkpoints(entries);
        Ok(found)
    }

    /// The checkpoint after `entry`, if the segment's index names one.
    pub(crate) fn checkpoint_after(&self, entry: IndexEntry) -> Option<IndexEntry> {
        let checkpoints = self.checkpoints.read();
        let entries = checkpoints.as_ref()?;
        entries
            .get(entries.partition_point(|e| e.offset <= entry.offset))
            .copied()
    }

    /// Tells the file the bytes of `range` are read next; whether it
    /// fetches them at once (see [`ByteFile::will_read`]).
    pub(crate) fn will_read(&self, range: std::ops::Range<u64>) -> bool {
        self.file().is_ok_and(|file| file.will_read(range))
    }

    /// After damage was found in it: see [`ByteFile::forget_cached`].
    pub(crate) fn forget_cached(&self) {
        if let Some(file) = self.file.get() {
            file.forget_cached();
        }
    }

    /// Says the bytes of `range` will be read in order before long (see
    /// [`ByteFile::fetch_soon`]).
    pub(crate) fn fetch_soon(&self, range: std::ops::Range<u64>) {
        if let Ok(file) = self.file() {
            file.fetch_soon(range);
        }
    }

    /// Reads the index file of this sealed segment, or rebuilds the entries
    /// by scanning the segment when the file is missing, damaged or stale.
    /// Every field written is checked: the CRC, magic, version, stream and
    /// base (by `decode`), the length against the file, the end against
    /// `end` (`None`: it cannot be confirmed, so the index is not used),
    /// and the entries' shape. The entries themselves are checked one by
    /// one when used (`Cursor::start_at_checkpoint`).
    fn load_index(&self, end: Option<ChainHead>) -> Result<Vec<IndexEntry>> {
        let len = self.sealed_len()?;
        let rel = layout::index_path(self.stream, self.base_offset);
        if let Ok(bytes) = self.dir.read(&rel) {
            if let Some(index) = SegmentIndex::decode(&bytes, self.stream, self.base_offset) {
                if index.segment_len == len
                    && end == Some(index.end())
                    && index.entries_plausible(
                        self.known_header()?.rules,
                        self.records_start()?,
                        len,
                    )
                {
                    return Ok(index.entries);
                }
            }
        }
        self.scan_checkpoints(len)
    }

    /// Checkpoint positions found by walking the records (CRC-checked, no
    /// hashing). Stops quietly at the first damaged record: the read that
    /// reaches it reports the damage.
    pub(crate) fn scan_checkpoints(&self, limit: u64) -> Result<Vec<IndexEntry>> {
        let mut entries = Vec::new();
        let mut reader = RecordReader::new(self, self.records_start()?, limit);
        while let Next::Record(rec) = reader.next()? {
            if rec.header.kind == Kind::Checkpoint {
                entries.push(IndexEntry {
                    offset: rec.header.offset,
                    pos: rec.pos,
                });
            }
        }
        Ok(entries)
    }

    /// Writes this segment's index file atomically. Called when it seals.
    pub(crate) fn write_index(
        &self,
        end_offset: u64,
        end_hash: Hash,
        segment_len: u64,
    ) -> Result<()> {
        let index = SegmentIndex {
            stream: self.stream,
            base_offset: self.base_offset,
            end_offset,
            end_hash,
            segment_len,
            entries: self.checkpoints_snapshot(),
        };
        let rel = layout::index_path(self.stream, self.base_offset);
        self.dir
            .write_atomic(&rel, &index.encode())
            .context(|| format!("writing index {}", self.dir.display(&rel).display()))
    }
}

/// How much a writer appends between two writeback hints.
const WRITEBACK_CHUNK: u64 = 4 << 20;

fn last_at_or_before(entries: &[IndexEntry], offset: u64) -> Option<IndexEntry> {
    let n = entries.partition_point(|e| e.offset <= offset);
    n.checked_sub(1).map(|i| entries[i])
}

/// Relative path helper used by recovery to find leftovers.
pub(crate) fn is_temp_file(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|ext| format!(".{}", ext.to_string_lossy()) == crate::io::TEMP_SUFFIX)
}
