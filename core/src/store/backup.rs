//! Online backups: a consistent copy of the store, itself a store, taken
//! while writers keep appending (docs/FORMAT.md, "Backups").
//!
//! Invariants kept here:
//! - Each stream is synced right before its snapshot is taken and copied,
//!   with prunes of it in this process kept out meanwhile (its tree
//!   lock), so a backup never holds an event its store could still lose
//!   (and an incremental backup never builds on history the store later
//!   replaced).
//! - Every file is durable before the manifest is replaced, and the
//!   manifest names only what the files hold: a backup cut short keeps
//!   its previous manifest, and the files beyond it only extend the
//!   streams it lists. New files are copied under a temp name and renamed
//!   once whole. A segment that only grew is written in place, never a
//!   file with other names, and only from the length the old manifest
//!   vouches for (what the old backup copied of it, fsynced before that
//!   manifest was written): bytes past it may be what a backup cut short
//!   by a power loss wrote and nothing fsynced, a middle block of them
//!   zeroed by out-of-order writeback, so they are written again. (A
//!   crash meanwhile leaves a torn tail, which readers ignore.) Files that
//!   changed otherwise, tree files that grew (no manifest records their
//!   length) and segments nothing vouches for are replaced whole by a
//!   rename. Whether the vouched bytes are still a prefix of the source is
//!   judged by their first and last 4 KiB, so a rewritten segment header
//!   always counts as a change.
//! - An existing backup is only ever brought up to date from the store it
//!   is a backup of, checked before anything is written: the store must
//!   hold every stream its manifest lists and pass through the head it
//!   records; where the store pruned past that head, the leaf its Merkle
//!   tree keeps for the event there must be the leaf of the head's hash.
//!   A read-only store lists `streams/` again before it finds a stream
//!   missing: its writer may have made the stream since it opened. A
//!   damaged stream of the store is reported as such, never as a refusal.
//! - A prune is carried into the backup after the new manifest, so the old
//!   one stays true until then. Only when the store pruned past everything
//!   the old backup held of a stream (nothing would connect) is the old
//!   manifest replaced first, by an empty one: that backup cannot survive
//!   the update, and one cut short from there on holds nothing yet.
//! - The destination holds a manifest from the first write of a backup
//!   on, so a backup cut short anywhere is never taken for a store.
//! - Sealed segments are immutable: they are hard-linked where both sides
//!   are local directories on one file system, copied otherwise. The
//!   active segment is copied up to its committed length, never linked.
//!   A backup cut short may still end a stream with such a link, so a
//!   writer that opens a backup first gives its last segment a file of its
//!   own (`crate::io::disk::unshare`, from stream/recover.rs).
//! - A second backup into the same place copies only what is new.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Store;
use crate::backup_manifest::{self, BackedUpStream, BackupManifest, MANIFEST_FILE};
use crate::error::{Error, IoContext, Result};
use crate::io::disk::DiskDir;
use crate::io::StorageDir;
use crate::layout;
use crate::marker;
use crate::merkle;
use crate::prune_anchor;
use crate::record::Kind;
use crate::segment::{Next, RecordReader, Segment};
use crate::stream::Snapshot;

/// Bytes copied per read and write.
const COPY_BLOCK: usize = 1 << 20;

impl Store {
    /// Backs the store up into directory `dest` (created if missing; an
    /// earlier backup there is brought up to date, copying only what is
    /// new). Returns the manifest: each stream's first offset and head at
    /// the snapshot, which the backup, opened as a store, verifies
    /// against. Refuses a `dest` that holds anything but a backup.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<BackupManifest> {
        let dest = dest.as_ref();
        std::fs::create_dir_all(dest).context(|| format!("creating {}", dest.display()))?;
        if let (Some(src), Ok(dst)) = (self.dir.local_path(Path::new("")), dest.canonicalize()) {
            if let Ok(src) = src.canonicalize() {
                if dst.starts_with(&src) || src.starts_with(&dst) {
                    return Err(Error::invalid(format!(
                        "cannot back {} up into {}: one holds the other",
                        src.display(),
                        dst.display()
                    )));
                }
            }
        }
        // Refused before the lock file is made, so a refusal leaves the
        // directory as it was.
        check_destination(&DiskDir::new(dest))?;
        // Keeps a writer (or another backup) out of the backup meanwhile.
        let _lock = crate::writer_lock::WriterLock::take(dest)?;
        self.backup_to(Arc::new(DiskDir::new(dest)))
    }

    /// The manifest of the backup this store is (its `BACKUP` file: each
    /// stream's first offset and head when the backup was taken), or
    /// `None` for a store that is not a backup. A verifier checks the
    /// streams against it: a stream it does not list is not part of the
    /// backup (a backup cut short may have copied it), and a first backup
    /// cut short lists none. `Corruption` for a manifest that fails its
    /// checks.
    pub fn backup_manifest(&self) -> Result<Option<BackupManifest>> {
        let _op = self.begin()?;
        backup_manifest::read(self.dir.as_ref())
    }

    /// [`Store::backup`] into any [`StorageDir`].
    pub fn backup_to(&self, dest: Arc<dyn StorageDir>) -> Result<BackupManifest> {
        let _op = self.begin()?;
        if self.writable {
            self.check_owner()?;
        }
        let old = check_destination(dest.as_ref())?;
        if let Some(old) = &old {
            self.check_same_history(old)?;
        }
        if old.is_none() {
            // A backup from its first byte on: one cut short is recognized
            // as one (holding nothing yet), and never taken for a store.
            backup_manifest::write(dest.as_ref(), &BackupManifest::default())?;
        }
        marker::ensure_current(dest.as_ref(), marker::check(dest.as_ref())?)?;

        let mut manifest = BackupManifest::default();
        let mut deferred = Vec::new();
        for id in self.streams.existing_ids()? {
            let Some(stream) = self.stream(id)? else {
                continue;
            };
            if let Some(err) = stream.damage_error() {
                return Err(source_damaged(err));
            }
            let old_stream = old
                .as_ref()
                .and_then(|m| m.streams.iter().find(|s| s.stream == id))
                .copied();
            // A prune in this process holds the stream's tree lock from
            // start to end, so holding it keeps prunes out while the
            // stream (and its tree files) are copied. A read-only store's
            // writer prunes in another process: a segment gone under the
            // copy is met by taking the stream again as it is now.
            let tree = if self.writable {
                Some(self.tree_of(&stream)?)
            } else {
                None
            };
            let _no_prune = tree.as_ref().map(|t| t.lock());
            let mut attempts = 0;
            let (snapshot, prune) = loop {
                if attempts > 0 && !self.writable {
                    stream.refresh()?;
                }
                // The snapshot first, then a sync that covers every byte
                // it names: an append in between is not copied.
                let snapshot = stream.snapshot();
                stream.sync()?;
                stream.chain_head()?;
                match self.back_up_stream(dest.as_ref(), id, &snapshot, old_stream) {
                    Err(e) if attempts < 3 && source_gone(&e) => attempts += 1,
                    other => break (snapshot, other?),
                }
            };
            if let Some(prune) = prune {
                deferred.push(prune);
            }
            if !list_or_empty(self.dir.as_ref(), &layout::tree_dir(id))?.is_empty() {
                copy_tree_files(self.dir.as_ref(), dest.as_ref(), id)?;
            }
            manifest.streams.push(BackedUpStream {
                stream: id,
                first_offset: snapshot.first.next_offset,
                head: snapshot.head,
            });
        }
        let cursors = Path::new(layout::CURSORS_DIR);
        for name in list_or_empty(self.dir.as_ref(), cursors)? {
            if layout::parse_stream_dir(&name).is_some() {
                copy_small_files(self.dir.as_ref(), dest.as_ref(), &cursors.join(name))?;
            }
        }
        for records in [layout::SIGNED_DIR, layout::WITNESSED_DIR] {
            copy_small_files(self.dir.as_ref(), dest.as_ref(), Path::new(records))?;
        }
        backup_manifest::write(dest.as_ref(), &manifest)?;
        for prune in deferred {
            prune.carry_out(dest.as_ref())?;
        }
        Ok(manifest)
    }

    /// Refuses to bring up to date a backup of another store, or of a
    /// history this store no longer has: every stream the old manifest
    /// lists must be in the store and pass through the head it records.
    /// Where the store pruned past that head, its Merkle tree still holds
    /// the leaf of the event there, which hashes that event's chain hash:
    /// it must be the leaf of the head's hash. Nothing is written before
    /// this passes.
    fn check_same_history(&self, old: &BackupManifest) -> Result<()> {
        for backed_up in &old.streams {
            let head = backed_up.head;
            let refuse = |why: &str| {
                Err(Error::invalid(format!(
                    "the backup's stream {} (head {head}) {why}: it is not a backup of this store",
                    backed_up.stream
                )))
            };
            // A store never loses a stream it has backed up (a stream's
            // directory, once it holds a segment, stays), so a missing one
            // is another store's, even an empty one. A read-only store
            // knows the streams `streams/` held when it opened: its writer
            // may have made this one since (and a backup taken since lists
            // it), so it looks again before it says so.
            let found = match self.stream(backed_up.stream)? {
                None if !self.writable => {
                    self.streams.relist()?;
                    self.stream(backed_up.stream)?
                }
                found => found,
            };
            let Some(stream) = found else {
                return refuse("is not in the store");
            };
            // A damaged stream cannot be compared, and is not another
            // store's: it is reported as what it is.
            if let Some(err) = stream.damage_error() {
                return Err(source_damaged(err));
            }
            if head.next_offset == 0 {
                // Every stream starts from the same empty head.
                continue;
            }
            if !self.writable {
                stream.refresh()?;
            }
            let snapshot = stream.snapshot();
            if head.next_offset > snapshot.head.next_offset {
                return refuse("is longer than the store's");
            }
            let ours = if head.next_offset == snapshot.first.next_offset {
                Some(snapshot.first)
            } else {
                match stream.cursor(head.next_offset - 1).and_then(|mut cursor| {
                    cursor.next_event()?;
                    Ok(cursor.head())
                }) {
                    Ok(ours) => Some(ours),
                    // Pruned past it (before or during this check).
                    Err(Error::Pruned { .. }) => None,
                    Err(e) => return Err(e),
                }
            };
            let same = match ours {
                Some(ours) => ours == head,
                None => {
                    let last = head.next_offset - 1;
                    let tree = self.tree_of(&stream)?;
                    let leaf = tree.lock().stored_leaf(last)?;
                    match leaf {
                        Some(leaf) => leaf == merkle::event_leaf_hash(last, &head.hash),
                        None => {
                            return refuse(
                                "cannot be compared: the store pruned past it and its Merkle tree does not hold that event",
                            )
                        }
                    }
                }
            };
            if !same {
                return refuse("does not match the store's history there");
            }
        }
        Ok(())
    }

    /// Copies what the backup lacks of one stream (`old`: what the old
    /// manifest says of it). Returns the prune to carry into the backup
    /// once the new manifest is written, if the old one still needs the
    /// segments it removes.
    fn back_up_stream(
        &self,
        dest: &dyn StorageDir,
        id: u64,
        snapshot: &Snapshot,
        old: Option<BackedUpStream>,
    ) -> Result<Option<DeferredPrune>> {
        let old_head = old.map(|o| o.head.next_offset);
        let rel_dir = layout::stream_dir(id);
        dest.create_dir(&rel_dir)
            .context(|| format!("creating {}", dest.display(&rel_dir).display()))?;
        let first = snapshot.first.next_offset;
        let below: Vec<u64> = list_or_empty(dest, &rel_dir)?
            .iter()
            .filter_map(|name| layout::parse_segment_name(name))
            .filter(|&base| base < first)
            .collect();
        let mut deferred = None;
        if first > 0 {
            let anchor = prune_anchor::read(self.dir.as_ref(), id)?
                .filter(|a| a.first == snapshot.first)
                .ok_or_else(|| {
                    Error::io(
                        format!("backing up stream {id}"),
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "it was pruned again meanwhile",
                        ),
                    )
                })?;
            let prune = DeferredPrune {
                stream: id,
                anchor,
                removed: below,
            };
            if prune.removed.is_empty() {
                prune_anchor::write(dest, &prune.anchor)?;
            } else if old_head.is_some_and(|h| h >= first) {
                deferred = Some(prune);
            } else if old_head.is_none() {
                // What is there of it, the old manifest does not name.
                prune.carry_out(dest)?;
            } else {
                // The old backup's part of this stream ends before what
                // the store still holds: nothing could connect them. The
                // old manifest gives way to an empty one, not to none: a
                // backup cut short from here on must still be taken for
                // one (holding nothing yet), or every later backup into it
                // would refuse it as a store.
                backup_manifest::write(dest, &BackupManifest::default())?;
                prune.carry_out(dest)?;
            }
        }
        let count = snapshot.segments.len();
        for (i, segment) in snapshot.segments.iter().enumerate() {
            let sealed = i + 1 < count;
            let rel = segment.rel_path();
            let len = if sealed {
                segment.sealed_len()?
            } else {
                snapshot.active_len
            };
            let next_base = snapshot.segments.get(i + 1).map(|s| s.base_offset);
            let vouched = match old_head {
                Some(n) => vouched_len(segment, next_base, n, len)?,
                None => 0,
            };
            copy_prefix(
                self.dir.as_ref(),
                dest,
                &rel,
                len,
                sealed,
                Trusted::UpTo(vouched),
            )?;
            if sealed {
                let idx = layout::index_path(id, segment.base_offset);
                if dest.read(&idx).is_err() {
                    if let Ok(bytes) = self.dir.read(&idx) {
                        dest.write_cache(&idx, &bytes)
                            .context(|| format!("writing {}", dest.display(&idx).display()))?;
                    }
                }
            }
        }
        dest.sync_dir(&rel_dir)
            .context(|| format!("fsync of {}", dest.display(&rel_dir).display()))?;
        Ok(deferred)
    }
}

/// A damage of the store's own stream, `err`, said as what stops the
/// backup: the source is damaged (the backup is neither refused nor at
/// fault). The kind of error stays what the damage is.
fn source_damaged(err: Error) -> Error {
    let why = |stream: u64, reason: String| {
        format!("cannot back up stream {stream}: the source store's stream is damaged: {reason}")
    };
    match err {
        Error::Corruption {
            stream,
            offset,
            file,
            reason,
        } => Error::Corruption {
            stream,
            offset,
            file,
            reason: why(stream, reason),
        },
        Error::ChainMismatch {
            stream,
            offset,
            reason,
        } => Error::ChainMismatch {
            stream,
            offset,
            reason: why(stream, reason),
        },
        other => other,
    }
}

/// How many bytes of the backup's copy of `segment` (`len` bytes long in
/// the store now; `next_base`: the base of the segment after it, if any)
/// an old manifest whose head for the stream is at offset `n` vouches
/// for: what the old backup copied of it, fsynced before that manifest
/// was written. All of a segment the next one follows at or before `n`
/// (a rotation adds nothing to a segment, so the old backup copied it
/// whole, as sealed or as active); up to the end of the batch that ends
/// at `n` for the segment holding it; nothing for one that starts at or
/// after `n`.
fn vouched_len(segment: &Segment, next_base: Option<u64>, n: u64, len: u64) -> Result<u64> {
    if segment.base_offset >= n {
        return Ok(0);
    }
    if next_base.is_some_and(|next| next <= n) {
        return Ok(len);
    }
    Ok(committed_len_at(segment, n, len)?.unwrap_or(0))
}

/// The length of `segment`'s prefix that ends with the batch ending at
/// offset `n`, looked for within its first `limit` bytes (from the last
/// checkpoint before `n` it knows of); `None` where no batch ends there.
fn committed_len_at(segment: &Segment, n: u64, limit: u64) -> Result<Option<u64>> {
    let mut pos = segment.records_start()?;
    if let Some(entry) = segment
        .checkpoints_snapshot()
        .iter()
        .rev()
        .find(|e| e.offset < n && e.pos >= pos && e.pos < limit)
    {
        pos = entry.pos;
    }
    let mut reader = RecordReader::new(segment, pos, limit);
    loop {
        let Next::Record(rec) = reader.next()? else {
            return Ok(None);
        };
        if rec.header.kind != Kind::Event {
            continue;
        }
        let next = rec.header.offset.saturating_add(1);
        if next == n && rec.header.is_commit() {
            return Ok(Some(reader.pos()));
        }
        if next >= n {
            return Ok(None);
        }
    }
}

/// Whether `err` says a file of the store went missing under a copy.
fn source_gone(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// A prune of the store carried into its backup: its anchor, then the
/// segments below it go, as a prune does it.
#[derive(Debug)]
struct DeferredPrune {
    stream: u64,
    anchor: crate::prune_anchor::PruneAnchor,
    removed: Vec<u64>,
}

impl DeferredPrune {
    fn carry_out(&self, dest: &dyn StorageDir) -> Result<()> {
        prune_anchor::write(dest, &self.anchor)?;
        for &base in &self.removed {
            for rel in [
                layout::index_path(self.stream, base),
                layout::segment_path(self.stream, base),
            ] {
                dest.remove(&rel)
                    .context(|| format!("removing {}", dest.display(&rel).display()))?;
            }
        }
        Ok(())
    }
}

/// Refuses a destination that holds something other than a backup; the
/// manifest of the backup it holds, if any.
fn check_destination(dest: &dyn StorageDir) -> Result<Option<BackupManifest>> {
    let names = list_or_empty(dest, Path::new(""))?;
    let is_backup = names.iter().any(|n| n == MANIFEST_FILE);
    let stray = names.iter().any(|n| {
        n != layout::LOCK_FILE && n != MANIFEST_FILE && !n.ends_with(crate::io::TEMP_SUFFIX)
    });
    if stray && !is_backup {
        let what = if names.iter().any(|n| n == layout::STORE_MARKER) {
            "is a store, not a backup (a backup always holds a BACKUP manifest)"
        } else {
            "is not empty and holds no stratalog backup"
        };
        return Err(Error::invalid(format!(
            "{} {what}",
            dest.display(Path::new("")).display()
        )));
    }
    backup_manifest::read(dest)
}

fn list_or_empty(dir: &dyn StorageDir, rel: &Path) -> Result<Vec<String>> {
    match dir.list(rel) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(
            format!("listing {}", dir.display(rel).display()),
            e,
        )),
    }
}

/// How far [`copy_prefix`] may trust the bytes a copy already holds.
#[derive(Debug, Clone, Copy)]
enum Trusted {
    /// The first bytes, as many as the old manifest vouches for (copied
    /// and fsynced before it was written): a copy is extended in place
    /// from there, and never from further on, since a backup cut short
    /// may have written more that nothing fsynced.
    UpTo(u64),
    /// A file only ever replaced whole by a rename (a tree file): a copy
    /// of the source's length was fsynced whole before its rename, and one
    /// that is not is copied again whole (no manifest vouches for a part).
    Renamed,
}

/// Makes `dest`'s copy of `rel` hold the first `len` bytes of the source's,
/// durably: a hard link for a sealed segment not copied yet (where both are
/// local); bytes written in place from the length `trusted` vouches for
/// when the copy is a private file the source only extends; otherwise (a
/// header rewritten, a tree file grown or rebuilt, a copy nothing vouches
/// for) a whole new copy under a temp name, renamed over the old one once
/// complete, so a crash leaves the old copy or the new one. The copy is
/// opened for reading to compare it (it may be a link to a read-only
/// file), and for writing only to be written in place.
fn copy_prefix(
    src: &dyn StorageDir,
    dest: &dyn StorageDir,
    rel: &Path,
    len: u64,
    immutable: bool,
    trusted: Trusted,
) -> Result<()> {
    let have = match dest.open(rel, false) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::io(
                format!("opening {}", dest.display(rel).display()),
                e,
            ))
        }
    };
    let source = src
        .open(rel, false)
        .context(|| format!("opening {}", src.display(rel).display()))?;
    let mut extend_from = None;
    match &have {
        Some(file) => {
            let dest_len = file
                .len()
                .context(|| format!("reading {}", dest.display(rel).display()))?;
            // Never write into a file that has other names: it may be a
            // link to a store's own segment (which is fsynced).
            let linked = link_count(dest, rel) > 1;
            let vouched = match trusted {
                Trusted::UpTo(vouched) => Some(vouched),
                Trusted::Renamed => None,
            };
            let whole = linked || vouched.is_none_or(|v| v >= len);
            if dest_len == len
                && whole
                && is_prefix(dest, rel, file.as_ref(), dest_len, source.as_ref())?
            {
                return Ok(());
            }
            if let Some(from) = vouched.filter(|&v| v > 0 && v <= dest_len && dest_len <= len) {
                if !linked && is_prefix(dest, rel, file.as_ref(), from, source.as_ref())? {
                    extend_from = Some(from);
                }
            }
        }
        None => {
            if immutable {
                if let (Some(from), Some(to)) = (src.local_path(rel), dest.local_path(rel)) {
                    if crate::io::disk::hard_link(&from, &to).is_ok() {
                        return Ok(());
                    }
                }
            }
        }
    }
    drop(have);
    let temp = crate::io::temp_path(rel);
    let (target, write_to, mut pos) = match extend_from {
        Some(from) => {
            let file = dest
                .open(rel, true)
                .context(|| format!("opening {}", dest.display(rel).display()))?;
            (file, rel, from)
        }
        None => {
            dest.write_cache(&temp, &[])
                .context(|| format!("creating {}", dest.display(&temp).display()))?;
            let file = dest
                .open(&temp, true)
                .context(|| format!("opening {}", dest.display(&temp).display()))?;
            (file, temp.as_path(), 0)
        }
    };
    while pos < len {
        let n = COPY_BLOCK.min((len - pos) as usize);
        let block = source
            .read_vec_at(n, pos)
            .context(|| format!("reading {}", src.display(rel).display()))?;
        target
            .write_all_at(&block, pos)
            .context(|| format!("writing {}", dest.display(write_to).display()))?;
        pos += n as u64;
    }
    target
        .sync_data()
        .context(|| format!("fsync of {}", dest.display(write_to).display()))?;
    drop(target);
    if write_to != rel {
        dest.rename(write_to, rel)
            .context(|| format!("renaming {}", dest.display(write_to).display()))?;
    }
    Ok(())
}

/// Bytes compared at each end of a copy to tell an extension of it from a
/// file rewritten since (a segment header, a rebuilt tree file). Files of
/// one store never differ in the middle alone: a rewrite changes a header
/// or a length, and another store's files are refused beforehand
/// (`check_same_history`). Nor does a copy differ from what was copied in
/// the middle alone, since only bytes that were fsynced are compared: a
/// manifest vouches for them, or the copy was renamed into place whole.
/// Bytes a backup cut short wrote and nothing fsynced are never trusted
/// this way (a power loss may have zeroed a block between the two ends).
const SAMPLE: u64 = 4096;

/// Whether `dest`'s first `dest_len` bytes are the first bytes of
/// `source`, by the first and last [`SAMPLE`] bytes of those.
fn is_prefix(
    dest: &dyn StorageDir,
    rel: &Path,
    copy: &dyn crate::io::ByteFile,
    dest_len: u64,
    source: &dyn crate::io::ByteFile,
) -> Result<bool> {
    let head = dest_len.min(SAMPLE);
    let tail_at = dest_len - dest_len.min(SAMPLE);
    for (pos, n) in [(0, head), (tail_at, dest_len - tail_at)] {
        let ours = copy
            .read_vec_at(n as usize, pos)
            .context(|| format!("reading {}", dest.display(rel).display()))?;
        match source.read_vec_at(n as usize, pos) {
            Ok(theirs) if theirs == ours => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// How many names `dest`'s file `rel` has: 1 where there are no hard
/// links (not a local directory), and more than 1 where a local file's
/// count cannot be read, so that doubt never leads to writing in place.
fn link_count(dest: &dyn StorageDir, rel: &Path) -> u64 {
    dest.local_path(rel)
        .map_or(1, |p| crate::io::disk::link_count(&p).unwrap_or(u64::MAX))
}

fn copy_tree_files(src: &dyn StorageDir, dest: &dyn StorageDir, id: u64) -> Result<()> {
    let rel_dir = layout::tree_dir(id);
    dest.create_dir(&rel_dir)
        .context(|| format!("creating {}", dest.display(&rel_dir).display()))?;
    for name in list_or_empty(src, &rel_dir)? {
        if name.ends_with(crate::io::TEMP_SUFFIX) {
            continue;
        }
        let rel: PathBuf = rel_dir.join(&name);
        let file = src
            .open(&rel, false)
            .context(|| format!("opening {}", src.display(&rel).display()))?;
        let len = file
            .len()
            .context(|| format!("reading {}", src.display(&rel).display()))?;
        // No manifest records how much of a tree file the last backup
        // copied, so one that changed since is replaced whole.
        copy_prefix(src, dest, &rel, len, false, Trusted::Renamed)?;
    }
    dest.sync_dir(&rel_dir)
        .context(|| format!("fsync of {}", dest.display(&rel_dir).display()))
}

/// Copies every file of directory `rel` (cursors, signed records: small
/// files replaced atomically) whose contents differ.
fn copy_small_files(src: &dyn StorageDir, dest: &dyn StorageDir, rel: &Path) -> Result<()> {
    let names = list_or_empty(src, rel)?;
    if names.is_empty() {
        return Ok(());
    }
    dest.create_dir(rel)
        .context(|| format!("creating {}", dest.display(rel).display()))?;
    for name in names {
        if name.ends_with(crate::io::TEMP_SUFFIX) || name == layout::SIGNED_LOCK {
            continue;
        }
        let child = rel.join(&name);
        let Ok(bytes) = src.read(&child) else {
            continue;
        };
        if dest.read(&child).ok().as_deref() != Some(&bytes[..]) {
            dest.write_atomic(&child, &bytes)
                .context(|| format!("writing {}", dest.display(&child).display()))?;
        }
    }
    Ok(())
}
