//! Real files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::watch::{DirWatcher, Wake};
use super::{ByteFile, StorageDir};

/// A store directory on a real file system.
#[derive(Debug)]
pub struct DiskDir {
    root: PathBuf,
    watcher: DirWatcher,
}

impl DiskDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskDir {
            root: root.into(),
            watcher: DirWatcher::default(),
        }
    }

    fn path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// A temporary name beside `rel` that no other write uses
    /// (`unique_temp_path`). It ends in `TEMP_SUFFIX`, so a writer's open
    /// removes it if a crash leaves it.
    fn unique_temp(&self, rel: &Path) -> PathBuf {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.path(&super::unique_temp_path(rel, n))
    }
}

/// Makes `to` a second name of file `from`, durably (its directory is
/// fsynced).
pub fn hard_link(from: &Path, to: &Path) -> io::Result<()> {
    fs::hard_link(from, to)?;
    match to.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// How many names (hard links) the file at `path` has.
pub fn link_count(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(fs::metadata(path)?.nlink())
}

/// Gives `path` a file of its own when it has other names (hard links,
/// such as a backup's links to a store's sealed segments), so that writing
/// to it never writes into the other names' file: a copy under a temp name,
/// fsynced, renamed over it, and the directory fsynced. Returns whether it
/// did. If the copy, its fsync or the rename fails, the temp file is
/// removed (best effort) and `path` is left as it was.
pub fn unshare(path: &Path) -> io::Result<bool> {
    unshare_with(path, |from, to| fs::copy(from, to).map(|_| ()))
}

/// [`unshare`], copying with `copy` (tests make it fail).
fn unshare_with(
    path: &Path,
    copy: impl FnOnce(&Path, &Path) -> io::Result<()>,
) -> io::Result<bool> {
    if link_count(path)? <= 1 {
        return Ok(false);
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(super::TEMP_SUFFIX);
    let temp = std::path::PathBuf::from(temp);
    let replaced = copy(path, &temp)
        .and_then(|()| File::open(&temp)?.sync_all())
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = replaced {
        // The error that stopped it is what the caller needs; a temp file
        // that cannot be removed either is one a writer's open removes.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(true)
}

/// fsyncs a directory so that entries created or renamed in it are durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

impl StorageDir for DiskDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        let path = self.path(rel);
        if path.is_dir() {
            return Ok(());
        }
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.create_dir(parent)?;
        }
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(e),
        }
        sync_dir(path.parent().unwrap_or(&self.root))
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.path(rel))? {
            let entry = entry?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(self.path(rel))?;
        Ok(Arc::new(DiskFile { file }))
    }

    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let final_path = self.path(rel);
        let temp = self.unique_temp(rel);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &final_path)?;
        sync_dir(final_path.parent().unwrap_or(&self.root))
    }

    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        // No fsyncs: a cache lost or torn by a power loss is found out by
        // its checks, and two fsyncs per file would cost more than it saves
        // (a store closing 1,000 streams would wait for 2,000 of them).
        let temp = self.unique_temp(rel);
        fs::write(&temp, contents)?;
        fs::rename(&temp, self.path(rel))
    }

    #[cfg(target_os = "linux")]
    fn sync_all_files(&self) -> io::Result<bool> {
        use std::os::fd::AsRawFd;
        if !syncfs_reports_errors() {
            return Ok(false);
        }
        let root = File::open(&self.root)?;
        // SAFETY: syncfs only reads the descriptor, open for the call.
        if unsafe { libc::syncfs(root.as_raw_fd()) } == 0 {
            Ok(true)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn watch_dir(&self, rel: &Path, wake: Wake) -> io::Result<bool> {
        self.watcher.watch(&self.path(rel), wake)?;
        Ok(true)
    }

    fn lock_file(&self, rel: &Path) -> io::Result<Option<File>> {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path(rel))?;
        file.lock()?;
        Ok(Some(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(self.path(from), self.path(to))
    }

    fn local_path(&self, rel: &Path) -> Option<PathBuf> {
        Some(self.path(rel))
    }

    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        sync_dir(&self.path(rel))
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        fs::read(self.path(rel))
    }

    fn remove(&self, rel: &Path) -> io::Result<()> {
        match fs::remove_file(self.path(rel)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn display(&self, rel: &Path) -> PathBuf {
        self.path(rel)
    }
}

/// Whether `syncfs` returns write-back errors: Linux 5.8 and later. Before,
/// it returned success whatever happened, which would swallow the error an
/// fsync of each file reports.
#[cfg(target_os = "linux")]
fn syncfs_reports_errors() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        (major, minor) >= (5, 8)
    })
}

#[derive(Debug)]
struct DiskFile {
    file: File,
}

impl ByteFile for DiskFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, pos)
    }

    fn read_vec_at(&self, len: usize, pos: u64) -> io::Result<Vec<u8>> {
        use std::os::fd::AsRawFd;
        let mut buf: Vec<u8> = Vec::with_capacity(len);
        while buf.len() < len {
            let at = pos
                .checked_add(buf.len() as u64)
                .and_then(|at| libc::off64_t::try_from(at).ok())
                .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
            let want = len - buf.len();
            let spare = buf.spare_capacity_mut();
            // SAFETY: `spare` is valid for writes of its length, which is at
            // least `want` (capacity `len`, `buf.len()` bytes filled), and
            // pread writes at most `want` bytes into it.
            let n = unsafe {
                libc::pread64(self.file.as_raw_fd(), spare.as_mut_ptr().cast(), want, at)
            };
            match n {
                n if n > 0 => {
                    // SAFETY: pread initialized the next `n` (<= want) bytes.
                    unsafe { buf.set_len(buf.len() + n as usize) };
                }
                0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                _ => {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::Interrupted {
                        return Err(err);
                    }
                }
            }
        }
        Ok(buf)
    }

    fn write_all_at(&self, data: &[u8], pos: u64) -> io::Result<()> {
        self.file.write_all_at(data, pos)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    #[cfg(target_os = "linux")]
    fn start_writeback(&self, pos: u64, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let (Ok(pos), Ok(len)) = (libc::off64_t::try_from(pos), libc::off64_t::try_from(len))
        else {
            return Ok(());
        };
        // SAFETY: sync_file_range only reads the descriptor, which `self`
        // keeps open for the duration of the call.
        let rc = unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), pos, len, libc::SYNC_FILE_RANGE_WRITE)
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Threads writing one file at once (an uploader rebuilding an index
    /// while a reader caches it) all succeed, the file is whole, and no
    /// temporary file is left.
    #[test]
    fn writers_of_one_file_at_once_never_clash() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskDir::new(dir.path());
        let rel = Path::new("00000000000000000000.idx");
        let contents: Vec<Vec<u8>> = (0..4u8).map(|t| vec![t; 64 << 10]).collect();
        std::thread::scope(|scope| {
            for (t, bytes) in contents.iter().enumerate() {
                let store = &store;
                scope.spawn(move || {
                    for _ in 0..200 {
                        if t % 2 == 0 {
                            store.write_atomic(rel, bytes).unwrap();
                        } else {
                            store.write_cache(rel, bytes).unwrap();
                        }
                    }
                });
            }
        });
        let written = fs::read(dir.path().join(rel)).unwrap();
        assert!(contents.contains(&written));
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    /// A copy that fails part way leaves no temp file behind, and the file
    /// and its other name as they were.
    #[test]
    fn unshare_removes_its_temp_file_when_the_copy_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.seg");
        let other = dir.path().join("other");
        fs::write(&path, b"segment bytes").unwrap();
        fs::hard_link(&path, &other).unwrap();
        let err = unshare_with(&path, |from, to| {
            let bytes = fs::read(from)?;
            fs::write(to, &bytes[..4])?;
            Err(io::Error::other("the copy failed part way"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the copy failed part way");
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["00000000000000000000.seg", "other"]);
        assert_eq!(link_count(&path).unwrap(), 2);
        assert_eq!(fs::read(&path).unwrap(), b"segment bytes");
        // Once it can copy, it does.
        assert!(unshare(&path).unwrap());
        assert_eq!(link_count(&path).unwrap(), 1);
        assert_eq!(fs::read(&path).unwrap(), b"segment bytes");
        assert_eq!(fs::read(&other).unwrap(), b"segment bytes");
    }
}
