#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Backups and the prunes they carry, against real files: a read-only
//! source (and the streams its writer makes after it opened), bytes a
//! backup cut short left unsynced, read-only links, damaged sources,
//! streams pruned down to nothing, prune failures after the anchor, and
//! tree loads racing a prune.

mod common;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use common::{payload, small};
use stratalog_core::io::disk::DiskDir;
use stratalog_core::io::{ByteFile, StorageDir};
use stratalog_core::{BackupManifest, ChainHead, Error, Options, Store};

const S: u64 = 3;

fn options() -> Options {
    small(4096, 16)
}

/// Appends events of `stream` until it holds `events`, `batch` at a time.
fn fill_stream(store: &Store, stream: u64, events: u64, batch: u64) -> ChainHead {
    let mut head = store.chain_head(stream).unwrap();
    while head.next_offset < events {
        let from = head.next_offset;
        let to = (from + batch).min(events);
        let evs: Vec<Vec<u8>> = (from..to).map(|o| payload(stream, o, 40)).collect();
        head = store.append_batch(stream, &evs, None, false).unwrap();
    }
    head
}

fn fill(store: &Store, events: u64, batch: u64) -> ChainHead {
    fill_stream(store, S, events, batch)
}

/// Opens the backup at `path` read-only and checks every stream of
/// `manifest` against it: the chain verifies to the head, which is the
/// backup's head, and the first offset is the manifest's.
fn check_backup(path: &Path, manifest: &BackupManifest) {
    let copy = Store::open_read_only(path).unwrap();
    for s in &manifest.streams {
        copy.verify_against(s.stream, &s.head).unwrap();
        assert_eq!(copy.chain_head(s.stream).unwrap(), s.head);
        assert_eq!(copy.first_offset(s.stream).unwrap(), s.first_offset);
    }
}

fn head_of(manifest: &BackupManifest, stream: u64) -> Option<ChainHead> {
    manifest
        .streams
        .iter()
        .find(|s| s.stream == stream)
        .map(|s| s.head)
}

/// Every file under `root` but the lock file, by path, with its bytes.
fn snapshot_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    common::files(root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "LOCK"))
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

// ---- a directory that fails on purpose -------------------------------------

/// A real directory (`DiskDir`) whose chosen operations fail, as a
/// read-only file, a failing rename or a failing directory fsync would.
#[derive(Debug)]
struct Rigged {
    inner: DiskDir,
    /// Opening an existing segment file for writing is refused, as for a
    /// read-only file (a link to one).
    read_only_segments: AtomicBool,
    /// Renaming a segment file out of its stream (`.pruned`) fails.
    fail_pruned_renames: AtomicBool,
    /// Removing a segment file fails.
    fail_segment_removes: AtomicBool,
    /// Writing a prune anchor puts it in place, then fails as a failed
    /// fsync of its directory does.
    fail_anchor_dir_sync: AtomicBool,
}

impl Rigged {
    fn new(root: &Path) -> Self {
        Rigged {
            inner: DiskDir::new(root),
            read_only_segments: AtomicBool::new(false),
            fail_pruned_renames: AtomicBool::new(false),
            fail_segment_removes: AtomicBool::new(false),
            fail_anchor_dir_sync: AtomicBool::new(false),
        }
    }
}

fn is_segment(rel: &Path) -> bool {
    rel.extension().is_some_and(|e| e == "seg")
}

impl StorageDir for Rigged {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir(rel)
    }
    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        self.inner.list(rel)
    }
    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        if writable
            && is_segment(rel)
            && self.read_only_segments.load(Ordering::SeqCst)
            && self.inner.display(rel).exists()
        {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        self.inner.open(rel, writable)
    }
    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.inner.write_atomic(rel, contents)?;
        if rel.file_name().is_some_and(|n| n == "ANCHOR")
            && self.fail_anchor_dir_sync.load(Ordering::SeqCst)
        {
            return Err(io::Error::from_raw_os_error(5));
        }
        Ok(())
    }
    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.inner.write_cache(rel, contents)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if is_segment(from)
            && to.extension().is_some_and(|e| e == "pruned")
            && self.fail_pruned_renames.load(Ordering::SeqCst)
        {
            return Err(io::Error::from_raw_os_error(5));
        }
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.sync_dir(rel)
    }
    fn local_path(&self, rel: &Path) -> Option<PathBuf> {
        self.inner.local_path(rel)
    }
    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(rel)
    }
    fn remove(&self, rel: &Path) -> io::Result<()> {
        if is_segment(rel) && self.fail_segment_removes.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5));
        }
        self.inner.remove(rel)
    }
    fn display(&self, rel: &Path) -> PathBuf {
        self.inner.display(rel)
    }
}

// ---- read-only sources -----------------------------------------------------

/// A long-lived read-only handle backs up into a backup whose manifest
/// lists a stream the writer created after the handle opened: the handle
/// lists `streams/` again instead of refusing the backup as another
/// store's, and the backup holds that stream.
#[test]
fn a_read_only_store_backs_up_a_stream_created_after_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let writer = Store::open(dir.path(), options()).unwrap();
    fill(&writer, 300, 20);
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.streams().unwrap(), [S]);
    // Made after the reader opened, then backed up by the writer.
    let nine = fill_stream(&writer, 9, 150, 10);
    let from_writer = writer.backup(&backup).unwrap();
    assert_eq!(head_of(&from_writer, 9), Some(nine));
    let nine = fill_stream(&writer, 9, 200, 10);
    let end = fill(&writer, 400, 20);
    writer.sync().unwrap();

    let manifest = reader.backup(&backup).unwrap();
    assert_eq!(head_of(&manifest, 9), Some(nine));
    assert_eq!(head_of(&manifest, S), Some(end));
    check_backup(&backup, &manifest);
    let copy = Store::open_read_only(&backup).unwrap();
    let events = copy.read_from(9, 0, 1 << 30).unwrap();
    assert_eq!(events.len(), 200);
    for (o, e) in events.iter().enumerate() {
        assert_eq!(&e[..], &payload(9, o as u64, 40)[..]);
    }
}

/// A backup taken from a read-only handle beside a writer, first whole,
/// then brought up to date after the writer appended and pruned: each is
/// a store that verifies against its manifest, holds the writer's tree,
/// and takes appends once opened for writing.
#[test]
fn a_backup_from_a_read_only_source_is_whole_and_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let writer = Store::open(dir.path(), options()).unwrap();
    fill(&writer, 1500, 40);
    fill_stream(&writer, 9, 60, 10);
    writer.commit_cursor(S, "siem", 700).unwrap();
    let first = writer.prune(S, 500).unwrap();
    assert!(first > 0);
    let root = writer.tree_root(S, None).unwrap();
    writer.sync().unwrap();

    let reader = Store::open_read_only(dir.path()).unwrap();
    let manifest = reader.backup(&backup).unwrap();
    let s = manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!(s.head, writer.chain_head(S).unwrap());
    assert_eq!(s.first_offset, first);
    assert_eq!(head_of(&manifest, 9), Some(writer.chain_head(9).unwrap()));
    check_backup(&backup, &manifest);
    {
        let copy = Store::open_read_only(&backup).unwrap();
        assert_eq!(copy.tree_root(S, None).unwrap(), root);
        assert_eq!(copy.cursor(S, "siem").unwrap(), 700);
        assert!(matches!(
            copy.read_from(S, first - 1, 100).unwrap_err(),
            Error::Pruned { .. }
        ));
    }

    // The writer goes on; the same read-only handle brings the backup up
    // to date.
    let end = fill(&writer, 3000, 40);
    let first = writer.prune(S, 2000).unwrap();
    assert!(first > 1500);
    let root = writer.tree_root(S, None).unwrap();
    writer.sync().unwrap();
    let manifest = reader.backup(&backup).unwrap();
    let s = manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (first, end));
    check_backup(&backup, &manifest);
    for p in common::segments(&backup, S) {
        let base: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert!(base >= first, "{}", p.display());
    }
    let copy = Store::open(&backup, options()).unwrap();
    assert_eq!(copy.tree_root(S, None).unwrap(), root);
    let more = copy.append(S, b"into the backup").unwrap();
    assert_eq!(more.next_offset, end.next_offset + 1);
    copy.verify(S).unwrap();
    copy.close().unwrap();
    // The writer's files are its own still.
    writer.verify_against(S, &end).unwrap();
    assert_eq!(writer.chain_head(S).unwrap(), end);
}

// ---- bytes nothing fsynced ---------------------------------------------------

/// The state a backup cut short by a power loss can leave: its copy of
/// the active segment was extended in place past what the manifest
/// vouches for, and out-of-order writeback lost a block in the middle of
/// the extension (zeros), while the first and last 4 KiB are intact. The
/// next backup writes those bytes again rather than trusting them.
#[test]
fn a_backup_never_extends_bytes_its_manifest_does_not_vouch_for() {
    for grows_again in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let backup = dest.path().join("b");
        let store = Store::open(dir.path(), small(1 << 20, 16)).unwrap();
        fill(&store, 200, 20);
        let first = store.backup(&backup).unwrap();
        let segs = common::segments(dir.path(), S);
        assert_eq!(segs.len(), 1, "one segment, the active one");
        let rel = segs[0].strip_prefix(dir.path()).unwrap().to_path_buf();
        let vouched = fs::metadata(backup.join(&rel)).unwrap().len();
        fill(&store, 800, 20);
        store.sync().unwrap();
        // What the backup cut short wrote, minus a zeroed block between
        // the first and last 4 KiB of the copy.
        let source = fs::read(dir.path().join(&rel)).unwrap();
        assert!(source.len() as u64 > vouched + 3 * 4096, "{}", source.len());
        let mut torn = source.clone();
        let hole = (vouched as usize + 4096) & !4095;
        assert!(hole + 4096 <= source.len() - 4096 && hole >= 4096);
        torn[hole..hole + 4096].fill(0);
        fs::write(backup.join(&rel), &torn).unwrap();
        // The manifest is still the first one.
        assert_eq!(
            BackupManifest::decode(&fs::read(backup.join("BACKUP")).unwrap()).unwrap(),
            first
        );
        let end = if grows_again {
            fill(&store, 1000, 20)
        } else {
            store.chain_head(S).unwrap()
        };
        let manifest = store.backup(&backup).unwrap();
        assert_eq!(head_of(&manifest, S), Some(end));
        assert!(
            fs::read(backup.join(&rel)).unwrap() == fs::read(dir.path().join(&rel)).unwrap(),
            "grows_again={grows_again}: the backup's copy differs from the segment"
        );
        check_backup(&backup, &manifest);
        let copy = Store::open_read_only(&backup).unwrap();
        assert_eq!(copy.verify(S).unwrap().head, end);
    }
}

/// No manifest records how much of a tree file a backup copied, so none
/// vouches for bytes a backup cut short may have written in place: a tree
/// file that grew is copied whole again under a temp name and renamed
/// into place (a new file), never extended where it lies.
#[test]
fn a_grown_tree_file_is_copied_whole_and_renamed_into_place() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 2000, 50);
    store.tree_root(S, None).unwrap();
    store.backup(&backup).unwrap();
    let trees = PathBuf::from("trees").join(format!("{S:020}"));
    let copies: Vec<(PathBuf, u64, u64)> = common::files(&backup.join(&trees))
        .into_iter()
        .map(|p| {
            let meta = fs::metadata(&p).unwrap();
            let rel = p.strip_prefix(&backup).unwrap().to_path_buf();
            (rel, meta.len(), meta.ino())
        })
        .collect();
    assert!(!copies.is_empty());
    fill(&store, 9000, 50);
    store.tree_root(S, None).unwrap();
    let manifest = store.backup(&backup).unwrap();
    let mut grown = 0;
    for (rel, len, ino) in &copies {
        let now = fs::metadata(backup.join(rel)).unwrap();
        assert!(
            fs::read(backup.join(rel)).unwrap() == fs::read(dir.path().join(rel)).unwrap(),
            "{}: the backup's tree file differs from the store's",
            rel.display()
        );
        if now.len() > *len {
            grown += 1;
            assert_ne!(now.ino(), *ino, "{}: extended in place", rel.display());
        }
    }
    assert!(grown > 0);
    check_backup(&backup, &manifest);
    let copy = Store::open_read_only(&backup).unwrap();
    assert_eq!(
        copy.tree_root(S, None).unwrap(),
        store.tree_root(S, None).unwrap()
    );
}

// ---- read-only links -----------------------------------------------------------

/// A backup's sealed segments are hard links to the store's; where those
/// files are read-only, the next backup still compares them (opened for
/// reading) and brings the backup up to date.
#[test]
fn a_backup_compares_a_read_only_link_without_opening_it_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let root = dest.path().join("b");
    fs::create_dir(&root).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 1000, 40);
    let rigged = Arc::new(Rigged::new(&root));
    store.backup_to(rigged.clone()).unwrap();
    use std::os::unix::fs::MetadataExt;
    let sealed = common::segments(&root, S);
    assert!(sealed.len() > 2);
    assert_eq!(fs::metadata(&sealed[0]).unwrap().nlink(), 2);
    rigged.read_only_segments.store(true, Ordering::SeqCst);
    let end = fill(&store, 1500, 40);
    let manifest = store.backup_to(rigged.clone()).unwrap();
    assert_eq!(head_of(&manifest, S), Some(end));
    check_backup(&root, &manifest);
}

// ---- damaged sources -------------------------------------------------------------

/// A stream of the store that is damaged is refused as damaged, with the
/// kind of error its damage is: never as "not a backup of this store",
/// and nothing of the backup changes.
#[test]
fn a_damaged_source_stream_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    let store = Store::open(dir.path(), options()).unwrap();
    fill(&store, 600, 20);
    let manifest = store.backup(&backup).unwrap();
    fill(&store, 700, 20);
    store.close().unwrap();
    // A byte in the middle of the last segment's records: damage, not a
    // torn tail (intact records follow it).
    let last = common::segments(dir.path(), S).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    let at = common::SEG_HEADER + (bytes.len() - common::SEG_HEADER) / 3;
    bytes[at] ^= 0x40;
    fs::write(&last, &bytes).unwrap();
    // Without its tail marker the next open reads the whole segment.
    fs::remove_file(
        dir.path()
            .join("streams")
            .join(format!("{S:020}"))
            .join("TAIL"),
    )
    .unwrap();
    let files = snapshot_files(&backup);
    for writable in [true, false] {
        let store = if writable {
            Store::open(dir.path(), options()).unwrap()
        } else {
            Store::open_read_only(dir.path()).unwrap()
        };
        // Into the old backup, and into a new one.
        for target in [backup.clone(), dest.path().join(format!("new-{writable}"))] {
            let err = store.backup(&target).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, Error::Corruption { stream: S, .. }),
                "{writable} {}: {err:?}",
                target.display()
            );
            assert!(
                text.contains("the source store's stream is damaged")
                    && !text.contains("not a backup of this store"),
                "{text}"
            );
        }
        assert!(
            snapshot_files(&backup) == files,
            "the backup was written to"
        );
    }
    check_backup(&backup, &manifest);
}

// ---- pruned to nothing ---------------------------------------------------------------

/// A stream pruned down to an empty active segment: its head is its first
/// offset. The backup's manifest says so, the backup verifies and opens
/// at that head, and the next backups (after appends, and after a prune
/// past the old head) build on it.
#[test]
fn a_backup_of_a_stream_pruned_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let backup = dest.path().join("b");
    // One 64-event batch per segment: every segment starts on a multiple
    // of the tree's chunk, so a prune can take all but the last.
    let opts = small(8192, 16);
    let store = Store::open(dir.path(), opts.clone()).unwrap();
    fill(&store, 640, 64);
    store.close().unwrap();
    // A crash right after a rotation: the last segment holds its header
    // only.
    let segs = common::segments(dir.path(), S);
    let last = segs.last().unwrap();
    let base: u64 = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    assert!(base > 0 && base.is_multiple_of(64), "{base}");
    fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(common::SEG_HEADER as u64)
        .unwrap();
    let store = Store::open(dir.path(), opts.clone()).unwrap();
    let head = store.chain_head(S).unwrap();
    assert_eq!(head.next_offset, base);
    assert_eq!(store.prune(S, base).unwrap(), base);
    assert_eq!(store.first_offset(S).unwrap(), base);
    assert_eq!(store.chain_head(S).unwrap(), head);

    let manifest = store.backup(&backup).unwrap();
    let s = *manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (base, head));
    check_backup(&backup, &manifest);
    {
        let copy = Store::open_read_only(&backup).unwrap();
        assert!(copy.read_from(S, base, 1 << 20).unwrap().is_empty());
        assert_eq!(copy.verify(S).unwrap().head, head);
    }
    // The same backup again: nothing changes.
    let files = snapshot_files(&backup);
    assert_eq!(store.backup(&backup).unwrap(), manifest);
    assert!(snapshot_files(&backup) == files);

    // It grows: the backup builds on a head that is its first offset.
    let end = fill(&store, base + 300, 64);
    let manifest = store.backup(&backup).unwrap();
    let s = *manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (base, end));
    check_backup(&backup, &manifest);
    let events = Store::open_read_only(&backup)
        .unwrap()
        .read_from(S, base, 1 << 30)
        .unwrap();
    assert_eq!(events.len() as u64, end.next_offset - base);

    // Pruned past that head: the tree's leaf there still matches.
    let end = fill(&store, base + 900, 64);
    let first = store.prune(S, base + 600).unwrap();
    assert!(first > base + 300, "{first}");
    let manifest = store.backup(&backup).unwrap();
    let s = *manifest.streams.iter().find(|s| s.stream == S).unwrap();
    assert_eq!((s.first_offset, s.head), (first, end));
    check_backup(&backup, &manifest);

    // A writer on the backup appends from there.
    store.close().unwrap();
    let copy = Store::open(&backup, opts).unwrap();
    let more = copy.append(S, b"after").unwrap();
    assert_eq!(more.next_offset, end.next_offset + 1);
    copy.verify(S).unwrap();
}

// ---- prunes whose renames fail ------------------------------------------------------

/// Once its anchor is durable a prune has happened: a segment file that
/// could not be moved out does not make it fail. The file is no part of
/// the stream; it is unlinked in the background, or, where that fails
/// too, by the next writer's open.
#[test]
fn a_prune_whose_rename_fails_after_its_anchor_reports_success() {
    for removes_fail in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let rigged = Arc::new(Rigged::new(dir.path()));
        let store = Store::open_on(rigged.clone(), options(), true).unwrap();
        let end = fill(&store, 1200, 40);
        let root = store.tree_root(S, None).unwrap();
        let before = common::segments(dir.path(), S);
        rigged.fail_pruned_renames.store(true, Ordering::SeqCst);
        rigged
            .fail_segment_removes
            .store(removes_fail, Ordering::SeqCst);
        let first = store.prune(S, 900).unwrap();
        assert!(first > 0);
        assert_eq!(store.first_offset(S).unwrap(), first);
        assert!(matches!(
            store.read_from(S, first - 1, 100).unwrap_err(),
            Error::Pruned { .. }
        ));
        store.verify_against(S, &end).unwrap();
        assert_eq!(store.tree_root(S, None).unwrap(), root);
        store.close().unwrap();
        let below: Vec<&PathBuf> = before
            .iter()
            .filter(|p| {
                let base: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
                base < first
            })
            .collect();
        assert!(!below.is_empty());
        for p in &below {
            assert_eq!(p.exists(), removes_fail, "{}", p.display());
        }
        rigged.fail_pruned_renames.store(false, Ordering::SeqCst);
        rigged.fail_segment_removes.store(false, Ordering::SeqCst);
        let store = Store::open(dir.path(), options()).unwrap();
        assert_eq!(store.first_offset(S).unwrap(), first);
        store.verify_against(S, &end).unwrap();
        assert_eq!(store.tree_root(S, None).unwrap(), root);
        for p in &below {
            assert!(!p.exists(), "{}", p.display());
        }
    }
}

/// What `apply_prune` documents for an anchor whose directory fsync
/// failed: the prune fails and the stream is as it was in this open, but
/// the new anchor is in place, and the next writer's open completes the
/// prune, losing nothing retained.
#[test]
fn a_prune_whose_anchor_directory_fsync_fails() {
    let dir = tempfile::tempdir().unwrap();
    let rigged = Arc::new(Rigged::new(dir.path()));
    let store = Store::open_on(rigged.clone(), options(), true).unwrap();
    let end = fill(&store, 1200, 40);
    let root = store.tree_root(S, None).unwrap();
    let segments = common::segments(dir.path(), S);
    rigged.fail_anchor_dir_sync.store(true, Ordering::SeqCst);
    let err = store.prune(S, 900).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    rigged.fail_anchor_dir_sync.store(false, Ordering::SeqCst);
    // As it was in this open: nothing moved, every event readable.
    assert_eq!(store.first_offset(S).unwrap(), 0);
    assert_eq!(common::segments(dir.path(), S), segments);
    assert_eq!(store.read_from(S, 0, 1 << 30).unwrap().len(), 1200);
    store.close().unwrap();
    drop(store);
    // The anchor is on disk: the next writer finishes the prune.
    let anchor = dir
        .path()
        .join("streams")
        .join(format!("{S:020}"))
        .join("ANCHOR");
    assert!(anchor.exists());
    let store = Store::open(dir.path(), options()).unwrap();
    let first = store.first_offset(S).unwrap();
    assert!(first > 0 && first <= 900, "{first}");
    store.verify_against(S, &end).unwrap();
    assert_eq!(store.tree_root(S, None).unwrap(), root);
    let events = store.read_from(S, first, 1 << 30).unwrap();
    assert_eq!(events.len() as u64, end.next_offset - first);
    assert!(common::segments(dir.path(), S).len() < segments.len());
}

// ---- tree loads racing a prune ----------------------------------------------------

/// A real directory whose tree leaf files a thread named `SLOW_LOADER...`
/// reads slowly, once: its first tree load stays a while between reading
/// how many chunks the files hold and cutting them to that.
#[derive(Debug)]
struct SlowTreeReads {
    inner: DiskDir,
}

const SLOW_LOADER: &str = "slow-tree-loader";

std::thread_local! {
    static SLOWED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[derive(Debug)]
struct SlowFile {
    inner: Arc<dyn ByteFile>,
    tree: bool,
}

impl SlowFile {
    fn maybe_wait(&self) {
        if self.tree
            && std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(SLOW_LOADER))
            && !SLOWED.with(|s| s.replace(true))
        {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

impl ByteFile for SlowFile {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        self.maybe_wait();
        self.inner.read_exact_at(buf, pos)
    }
    fn read_vec_at(&self, len: usize, pos: u64) -> io::Result<Vec<u8>> {
        self.maybe_wait();
        self.inner.read_vec_at(len, pos)
    }
    fn write_all_at(&self, data: &[u8], pos: u64) -> io::Result<()> {
        self.inner.write_all_at(data, pos)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}

impl StorageDir for SlowTreeReads {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir(rel)
    }
    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        self.inner.list(rel)
    }
    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        Ok(Arc::new(SlowFile {
            inner: self.inner.open(rel, writable)?,
            tree: rel.starts_with("trees"),
        }))
    }
    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.inner.write_atomic(rel, contents)
    }
    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.inner.write_cache(rel, contents)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.sync_dir(rel)
    }
    fn local_path(&self, rel: &Path) -> Option<PathBuf> {
        self.inner.local_path(rel)
    }
    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        self.inner.read(rel)
    }
    fn remove(&self, rel: &Path) -> io::Result<()> {
        self.inner.remove(rel)
    }
    fn display(&self, rel: &Path) -> PathBuf {
        self.inner.display(rel)
    }
}

/// Two threads load a stream's Merkle tree for the first time while a
/// third prunes it (which loads the tree too, then writes the chunks the
/// prune anchor vouches for). The loads are slow between reading how many
/// chunks the files hold and cutting them to that. No load may cut what
/// another tree wrote meanwhile (one load at a time, `Store::tree_loads`):
/// afterwards every proof works, and the store reopens with the same
/// roots and proofs and every chunk the anchor covers.
#[test]
fn concurrent_first_tree_loads_during_a_prune_lose_no_chunk() {
    for round in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options()).unwrap();
        // The tree's files cover only the first events: the prune writes
        // many chunks.
        fill(&store, 200, 40);
        store.tree_root(S, None).unwrap();
        let end = fill(&store, 3000 + round * 64, 40);
        store.close().unwrap();
        let slow = Arc::new(SlowTreeReads {
            inner: DiskDir::new(dir.path()),
        });
        let store = Arc::new(Store::open_on(slow, options(), true).unwrap());
        let start = Arc::new(Barrier::new(3));
        let loader = |name: &str, offset: u64| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    start.wait();
                    for _ in 0..4 {
                        // A proof near the end: the whole tree is needed.
                        store.inclusion_proof(S, offset, None).unwrap();
                        store.tree_root(S, None).unwrap();
                    }
                })
                .unwrap()
        };
        let a = loader(&format!("{SLOW_LOADER}-a"), end.next_offset - 1);
        let b = loader(&format!("{SLOW_LOADER}-b"), end.next_offset - 100);
        start.wait();
        // Let the loads start first.
        std::thread::sleep(std::time::Duration::from_millis(60));
        let first = store.prune(S, 2500).unwrap();
        a.join().unwrap();
        b.join().unwrap();
        assert!(first > 2000, "{first}");
        let root = store.tree_root(S, None).unwrap();
        let proof = store.inclusion_proof(S, first, None).unwrap();
        Arc::try_unwrap(store).unwrap().close().unwrap();
        let store = Store::open(dir.path(), options()).unwrap();
        assert_eq!(store.first_offset(S).unwrap(), first);
        assert_eq!(store.tree_root(S, None).unwrap(), root, "round {round}");
        assert_eq!(store.inclusion_proof(S, first, None).unwrap(), proof);
        store.verify_against(S, &end).unwrap();
    }
}
