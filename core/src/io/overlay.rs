//! A directory that reads through to another and keeps every change in
//! memory: what a read-only store keeps its Merkle trees in.
//!
//! A read-only store never writes the writer's files, yet a pruned
//! stream's tree can only come from them (its events are gone), and any
//! tree the writer already built is cheaper to check than to rebuild.
//! So a file is read from the store the first time it is opened, copied
//! into memory, and from then on only the copy is read or changed; a file
//! removed here stays removed here. Everything a tree reads is checked
//! (CRCs, roots, the chain, the prune anchor) as it would be on disk.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::memory::MemoryDir;
use super::{ByteFile, StorageDir};

#[derive(Debug)]
pub struct ReadThroughDir {
    lower: Arc<dyn StorageDir>,
    upper: MemoryDir,
    /// Files removed here, which the lower directory still has.
    removed: Mutex<HashSet<PathBuf>>,
}

impl ReadThroughDir {
    pub fn new(lower: Arc<dyn StorageDir>) -> Self {
        ReadThroughDir {
            lower,
            upper: MemoryDir::new(),
            removed: Mutex::new(HashSet::new()),
        }
    }

    fn in_upper(&self, rel: &Path) -> bool {
        self.upper.read(rel).is_ok()
    }

    /// Copies `rel` up from the lower directory unless the copy exists or
    /// it was removed here; `NotFound` if there is nothing to copy.
    fn copy_up(&self, rel: &Path) -> io::Result<()> {
        if self.in_upper(rel) {
            return Ok(());
        }
        if self.removed.lock().contains(rel) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} not found", rel.display()),
            ));
        }
        let bytes = self.lower.read(rel)?;
        if let Some(parent) = rel.parent() {
            self.upper.create_dir(parent)?;
        }
        self.upper.write_atomic(rel, &bytes)
    }

    fn wrote(&self, rel: &Path) {
        self.removed.lock().remove(rel);
    }
}

impl StorageDir for ReadThroughDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.upper.create_dir(rel)
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        let found = |listed: io::Result<Vec<String>>| match listed {
            Ok(names) => Ok(Some(names)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        };
        let (upper, lower) = (found(self.upper.list(rel))?, found(self.lower.list(rel))?);
        if upper.is_none() && lower.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} not found", rel.display()),
            ));
        }
        let mut names: HashSet<String> = upper.into_iter().flatten().collect();
        let removed = self.removed.lock();
        for name in lower.into_iter().flatten() {
            if !removed.contains(&rel.join(&name)) {
                names.insert(name);
            }
        }
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        Ok(names)
    }

    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        self.copy_up(rel)?;
        self.upper.open(rel, writable)
    }

    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.upper.write_atomic(rel, contents)?;
        self.wrote(rel);
        Ok(())
    }

    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.upper.write_cache(rel, contents)?;
        self.wrote(rel);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.copy_up(from)?;
        self.upper.rename(from, to)?;
        self.removed.lock().insert(from.to_path_buf());
        self.wrote(to);
        Ok(())
    }

    fn sync_dir(&self, _rel: &Path) -> io::Result<()> {
        Ok(())
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        match self.upper.read(rel) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.removed.lock().contains(rel) {
                    return Err(e);
                }
                self.lower.read(rel)
            }
            Err(e) => Err(e),
        }
    }

    fn remove(&self, rel: &Path) -> io::Result<()> {
        self.upper.remove(rel)?;
        self.removed.lock().insert(rel.to_path_buf());
        Ok(())
    }

    fn display(&self, rel: &Path) -> PathBuf {
        self.lower.display(rel)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_through_and_never_writes_down() {
        let lower = MemoryDir::new();
        lower.create_dir(Path::new("t")).unwrap();
        lower.write_atomic(Path::new("t/a"), b"lower").unwrap();
        let dir = ReadThroughDir::new(Arc::new(lower.clone()));
        assert_eq!(dir.read(Path::new("t/a")).unwrap(), b"lower");
        let f = dir.open(Path::new("t/a"), true).unwrap();
        f.write_all_at(b"UPPER", 0).unwrap();
        assert_eq!(dir.read(Path::new("t/a")).unwrap(), b"UPPER");
        assert_eq!(lower.read(Path::new("t/a")).unwrap(), b"lower");
        dir.write_cache(Path::new("t/b"), b"new").unwrap();
        assert_eq!(dir.list(Path::new("t")).unwrap(), ["a", "b"]);
        dir.remove(Path::new("t/a")).unwrap();
        assert_eq!(dir.list(Path::new("t")).unwrap(), ["b"]);
        assert!(dir.open(Path::new("t/a"), false).is_err());
        assert!(dir.read(Path::new("t/a")).is_err());
        assert_eq!(lower.read(Path::new("t/a")).unwrap(), b"lower");
        assert!(dir.list(Path::new("nothing")).is_err());
    }
}
