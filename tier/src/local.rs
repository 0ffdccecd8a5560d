//! `file://` and `memory://` tiers.
//!
//! `file:///path` is object_store's `LocalFileSystem` under `/path`: a
//! directory on this machine, or a network file system mounted on several
//! (NFS with working locks, for example). Two things it lacks are added
//! here, because the engine depends on both:
//!
//! - **Durability.** Local copies of sealed segments are evicted once the
//!   tier holds them, so a put must be on disk before it returns: fsync of
//!   the file and its directory is switched on.
//! - **Compare-and-swap.** `LocalFileSystem` refuses `PutMode::Update`. The
//!   tier emulates it: under an exclusive lock (`flock`) on the object's
//!   directory, it compares the object's current etag (inode, mtime and
//!   size) with the expected one and, only if they match, replaces the file
//!   by rename. Every stratalog process updating that tier takes the same
//!   lock, so of two writers racing on a manifest or the lease exactly one
//!   wins. Write-once puts (`PutMode::Create`) are native: a hard link,
//!   which fails if the name exists.
//!
//! `memory://` is one in-memory object store for the whole process, shared
//! by every `memory://` URL (the URL's path is the prefix inside it): a
//! store closed and opened again in the same process finds its objects,
//! and nothing survives the process. It is for tests and trials.

use std::fs::File;
use std::io;
use std::sync::{Arc, OnceLock};

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use stratalog_core::{Error, Result};

/// A tier that takes no options: any key is refused.
pub(crate) fn refuse_options(url: &str, scheme: &str, options: &[(String, String)]) -> Result<()> {
    match options.first() {
        None => Ok(()),
        Some((key, _)) => Err(Error::InvalidArgument(format!(
            "tier URL {url:?}: a {scheme} tier takes no options (got {key:?})"
        ))),
    }
}

pub(crate) fn file_system() -> Arc<LocalFileSystem> {
    Arc::new(LocalFileSystem::new().with_fsync(true))
}

pub(crate) fn in_memory() -> Arc<InMemory> {
    static PROCESS_WIDE: OnceLock<Arc<InMemory>> = OnceLock::new();
    PROCESS_WIDE
        .get_or_init(|| Arc::new(InMemory::new()))
        .clone()
}

/// An exclusive lock on the directory that holds `object`, held until the
/// returned file is dropped. `None` when that directory does not exist,
/// so neither does the object.
pub(crate) fn lock_directory_of(
    fs: &LocalFileSystem,
    object: &ObjectPath,
) -> io::Result<Option<File>> {
    let path = fs
        .path_to_filesystem(object)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let Some(directory) = path.parent() else {
        return Ok(None);
    };
    let handle = match File::open(directory) {
        Ok(handle) => handle,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    handle.lock()?;
    Ok(Some(handle))
}
