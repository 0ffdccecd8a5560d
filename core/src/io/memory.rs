//! The same contract as [`super::disk`] over in-memory buffers.
//!
//! Clones of a [`MemoryDir`] share their files, so a store can be "reopened"
//! on the same memory (tests use this to exercise recovery without a disk).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::{temp_path, ByteFile, StorageDir};

#[derive(Debug, Default)]
struct Tree {
    dirs: BTreeSet<PathBuf>,
    files: BTreeMap<PathBuf, Arc<MemoryFile>>,
}

/// An in-memory directory tree.
#[derive(Debug, Clone, Default)]
pub struct MemoryDir {
    tree: Arc<Mutex<Tree>>,
}

impl MemoryDir {
    pub fn new() -> Self {
        Self::default()
    }
}

fn not_found(rel: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", rel.display()),
    )
}

impl StorageDir for MemoryDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        let mut tree = self.tree.lock();
        for ancestor in rel.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            tree.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        let tree = self.tree.lock();
        if !rel.as_os_str().is_empty() && !tree.dirs.contains(rel) {
            return Err(not_found(rel));
        }
        let children = tree
            .dirs
            .iter()
            .chain(tree.files.keys())
            .filter(|p| p.parent() == Some(rel))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect::<BTreeSet<_>>();
        Ok(children.into_iter().collect())
    }

    fn open(&self, rel: &Path, _writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        let tree = self.tree.lock();
        let file = tree.files.get(rel).ok_or_else(|| not_found(rel))?;
        Ok(file.clone())
    }

    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let mut tree = self.tree.lock();
        tree.files.remove(&temp_path(rel));
        let file = Arc::new(MemoryFile {
            data: RwLock::new(contents.to_vec()),
        });
        tree.files.insert(rel.to_path_buf(), file);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut tree = self.tree.lock();
        let file = tree.files.remove(from).ok_or_else(|| not_found(from))?;
        tree.files.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn sync_dir(&self, _rel: &Path) -> io::Result<()> {
        Ok(())
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        let tree = self.tree.lock();
        let file = tree.files.get(rel).ok_or_else(|| not_found(rel))?;
        let data = file.data.read().clone();
        Ok(data)
    }

    fn remove(&self, rel: &Path) -> io::Result<()> {
        self.tree.lock().files.remove(rel);
        Ok(())
    }

    fn display(&self, rel: &Path) -> PathBuf {
        Path::new("memory:").join(rel)
    }
}

/// One in-memory file.
#[derive(Debug)]
pub struct MemoryFile {
    data: RwLock<Vec<u8>>,
}

impl ByteFile for MemoryFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.data.read().len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        let data = self.data.read();
        let start = usize::try_from(pos).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        let src = data.get(start..end).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&self, src: &[u8], pos: u64) -> io::Result<()> {
        let mut data = self.data.write();
        let start = usize::try_from(pos).map_err(|_| eof())?;
        let end = start + src.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(src);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| eof())?;
        self.data.write().resize(len, 0);
        Ok(())
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the file",
    )
}
