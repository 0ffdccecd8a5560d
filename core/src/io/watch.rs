//! File system notifications for followers: a read-only store waiting for
//! a writer in another process sleeps until the kernel says a file in the
//! stream's directory changed (inotify on Linux, through `notify`), instead
//! of polling.
//!
//! Invariant: the callbacks are called on the watcher's own thread, never
//! under this module's lock, so a callback may take locks of its own that
//! a thread setting up a watch holds.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use notify::Watcher as _;
use parking_lot::Mutex;

/// What a watch calls when something in its directory changes.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

type Targets = Arc<Mutex<HashMap<PathBuf, Vec<Wake>>>>;

/// One watcher (one inotify instance and thread) for a store, created on
/// the first watch.
#[derive(Default)]
pub struct DirWatcher {
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    targets: Targets,
}

impl fmt::Debug for DirWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirWatcher")
            .field("dirs", &self.targets.lock().len())
            .finish()
    }
}

impl DirWatcher {
    /// Calls `wake` whenever an entry of directory `dir` is created,
    /// removed or written.
    pub fn watch(&self, dir: &Path, wake: Wake) -> io::Result<()> {
        let mut watcher = self.watcher.lock();
        if watcher.is_none() {
            let targets = self.targets.clone();
            let handler = move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                let wakes: Vec<Wake> = {
                    let targets = targets.lock();
                    event
                        .paths
                        .iter()
                        .flat_map(|p| [p.parent(), Some(p.as_path())])
                        .flatten()
                        .filter_map(|dir| targets.get(dir))
                        .flatten()
                        .cloned()
                        .collect()
                };
                for wake in wakes {
                    wake();
                }
            };
            *watcher = Some(notify::recommended_watcher(handler).map_err(to_io)?);
        }
        let already = self.targets.lock().contains_key(dir);
        if !already {
            if let Some(w) = watcher.as_mut() {
                w.watch(dir, notify::RecursiveMode::NonRecursive)
                    .map_err(to_io)?;
            }
        }
        self.targets
            .lock()
            .entry(dir.to_path_buf())
            .or_default()
            .push(wake);
        Ok(())
    }
}

fn to_io(e: notify::Error) -> io::Error {
    match e.kind {
        notify::ErrorKind::Io(io) => io,
        _ => io::Error::other(e.to_string()),
    }
}
