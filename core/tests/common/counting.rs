//! A `StorageDir` wrapper that counts the bytes read from segment files, so
//! tests can tell how much of a store an operation read (that an open with
//! a tail marker reads only past it, that a rejected index is rebuilt).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use stratalog_core::io::{ByteFile, StorageDir};

#[derive(Debug, Clone)]
pub struct CountingDir {
    inner: Arc<dyn StorageDir>,
    read: Arc<AtomicU64>,
}

impl CountingDir {
    pub fn new(inner: Arc<dyn StorageDir>) -> Self {
        CountingDir {
            inner,
            read: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Bytes read from `.seg` files since the last call.
    pub fn take(&self) -> u64 {
        self.read.swap(0, Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct CountingFile {
    inner: Arc<dyn ByteFile>,
    read: Option<Arc<AtomicU64>>,
}

impl CountingFile {
    fn count(&self, n: usize) {
        if let Some(read) = &self.read {
            read.fetch_add(n as u64, Ordering::SeqCst);
        }
    }
}

impl ByteFile for CountingFile {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        self.count(buf.len());
        self.inner.read_exact_at(buf, pos)
    }
    fn read_vec_at(&self, len: usize, pos: u64) -> io::Result<Vec<u8>> {
        self.count(len);
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

impl StorageDir for CountingDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir(rel)
    }
    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        self.inner.list(rel)
    }
    fn open(&self, rel: &Path, writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        let segment = rel.extension().is_some_and(|e| e == "seg");
        Ok(Arc::new(CountingFile {
            inner: self.inner.open(rel, writable)?,
            read: segment.then(|| self.read.clone()),
        }))
    }
    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        self.inner.write_atomic(rel, contents)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.sync_dir(rel)
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
