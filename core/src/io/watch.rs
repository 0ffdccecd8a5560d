//! File system notifications for followers: a read-only store waiting for
//! a writer in another process sleeps until the kernel says a file in the
//! stream's directory changed (inotify on Linux, through `notify`), instead
//! of polling.
//!
//! Invariants:
//! - The callbacks are called on the watcher's own thread, never under
//!   this module's lock, so a callback may take locks of its own that a
//!   thread setting up a watch holds.
//! - Only changes wake: `notify` also reports opens and closes after
//!   reading (inotify's `IN_OPEN`, `IN_CLOSE_NOWRITE`), which a follower's
//!   own refresh causes when it lists the directory or opens a segment, so
//!   waking on them would make an idle follower refresh forever. Every
//!   change a writer makes (a write, a new or removed file, a rename, an
//!   attribute) has an event of its own.

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
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    return;
                }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    fn counter(watcher: &DirWatcher, dir: &Path) -> Arc<AtomicU64> {
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        watcher
            .watch(
                dir,
                Arc::new(move || {
                    c.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .unwrap();
        count
    }

    fn wait_for(count: &AtomicU64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while count.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no wake for a change");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reading a watched directory and its files (what a follower's
    /// refresh does) wakes no one; writing, creating, renaming and
    /// removing do. One inotify queue delivers in order, so once the wake
    /// for a later change in another directory has come, the reads'
    /// events (if any woke) have been handled too.
    #[test]
    fn reads_do_not_wake_and_changes_do() {
        let root = tempfile::tempdir().unwrap();
        let (quiet, marker) = (root.path().join("quiet"), root.path().join("marker"));
        std::fs::create_dir(&quiet).unwrap();
        std::fs::create_dir(&marker).unwrap();
        std::fs::write(quiet.join("segment"), b"bytes").unwrap();
        let watcher = DirWatcher::default();
        let quiet_wakes = counter(&watcher, &quiet);
        let marker_wakes = counter(&watcher, &marker);
        for _ in 0..3 {
            std::fs::read_dir(&quiet).unwrap().for_each(drop);
            assert_eq!(std::fs::read(quiet.join("segment")).unwrap(), b"bytes");
        }
        std::fs::write(marker.join("m"), b"1").unwrap();
        wait_for(&marker_wakes);
        assert_eq!(quiet_wakes.load(Ordering::SeqCst), 0);

        type Change = Box<dyn Fn(&Path)>;
        let changes: [(&str, Change); 4] = [
            (
                "append",
                Box::new(|d| {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .open(d.join("segment"))
                        .unwrap();
                    f.write_all(b"more").unwrap();
                }),
            ),
            (
                "create",
                Box::new(|d| std::fs::write(d.join("next"), b"").unwrap()),
            ),
            (
                "rename",
                Box::new(|d| std::fs::rename(d.join("next"), d.join("renamed")).unwrap()),
            ),
            (
                "remove",
                Box::new(|d| std::fs::remove_file(d.join("renamed")).unwrap()),
            ),
        ];
        for (what, change) in changes {
            quiet_wakes.store(0, Ordering::SeqCst);
            change(&quiet);
            wait_for(&quiet_wakes);
            eprintln!("{what} woke");
        }
    }
}
