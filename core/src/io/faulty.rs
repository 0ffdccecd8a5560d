//! A simulated file system that fails on purpose (feature `fault-injection`).
//!
//! It keeps two views of every file and directory: what reads see now, and
//! what would survive a power failure (contents as of the last successful
//! `sync_data`, entries as of the last atomic write or directory fsync).
//! A [`FaultPlan`] makes the n-th operation fail in a chosen way, and
//! [`SimDir::power_loss`] throws away everything that was not made durable,
//! optionally keeping a torn prefix of the unsynced tail.
//!
//! A failed fsync behaves like Linux after `EIO`: the unsynced bytes stay
//! readable but are lost for good; a later successful fsync does not bring
//! them back.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{temp_path, ByteFile, StorageDir};

/// The ways an operation can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A write fails with EIO; nothing is written.
    WriteEio,
    /// A write fails with ENOSPC; nothing is written.
    WriteNoSpace,
    /// A write stores only the first half of its buffer, then fails.
    ShortWrite,
    /// `sync_data` fails with EIO and the unsynced bytes are lost.
    FsyncFail,
    /// Creating a file or directory fails.
    CreateFail,
    /// An atomic write leaves its temp file but the rename fails.
    RenameFail,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::WriteEio,
        Fault::WriteNoSpace,
        Fault::ShortWrite,
        Fault::FsyncFail,
        Fault::CreateFail,
        Fault::RenameFail,
    ];

    fn applies_to(self, op: Op) -> bool {
        matches!(
            (self, op),
            (
                Fault::WriteEio | Fault::WriteNoSpace | Fault::ShortWrite,
                Op::Write
            ) | (Fault::FsyncFail, Op::Sync)
                | (Fault::CreateFail, Op::Create)
                | (Fault::RenameFail, Op::AtomicWrite)
                | (Fault::CreateFail, Op::AtomicWrite)
        )
    }

    fn error(self) -> io::Error {
        match self {
            Fault::WriteNoSpace => io::Error::from_raw_os_error(28), // ENOSPC
            _ => io::Error::from_raw_os_error(5),                    // EIO
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    Sync,
    Create,
    AtomicWrite,
    Other,
}

/// Which operation fails, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    pub at: u64,
    pub fault: Fault,
    /// Count only operations `fault` applies to (else every fault-capable
    /// operation).
    pub matching_only: bool,
}

impl FaultPlan {
    /// The `at`-th fault-capable operation (from 0) fails with `fault`, if
    /// `fault` applies to it.
    pub fn at(at: u64, fault: Fault) -> Self {
        FaultPlan {
            at,
            fault,
            matching_only: false,
        }
    }

    /// The `n`-th operation (from 0) that `fault` applies to fails.
    pub fn nth(fault: Fault, n: u64) -> Self {
        FaultPlan {
            at: n,
            fault,
            matching_only: true,
        }
    }
}

#[derive(Debug, Default)]
struct SimFile {
    data: Vec<u8>,
    durable: Vec<u8>,
    /// Bytes a failed fsync lost: later fsyncs never make them durable.
    lost: Option<(usize, usize)>,
}

impl SimFile {
    /// What a failed fsync does: the unsynced bytes stay readable but are
    /// lost for good.
    fn lose_unsynced(&mut self) {
        let range = (self.durable.len().min(self.data.len()), self.data.len());
        self.lost = Some(
            self.lost
                .map_or(range, |(a, b)| (a.min(range.0), b.max(range.1))),
        );
    }

    fn sync(&mut self) {
        let mut durable = self.data.clone();
        if let Some((from, to)) = self.lost {
            for i in from..to.min(durable.len()) {
                durable[i] = self.durable.get(i).copied().unwrap_or(0);
            }
        }
        self.durable = durable;
    }
}

type FileRef = Arc<Mutex<SimFile>>;

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, FileRef>,
    durable_files: BTreeMap<PathBuf, FileRef>,
    dirs: BTreeSet<PathBuf>,
    durable_dirs: BTreeSet<PathBuf>,
    /// Fault-capable operations seen so far.
    ops: u64,
    /// Operations the armed fault applies to, seen since it was armed.
    matching: u64,
    plan: Option<FaultPlan>,
    injected: Option<FaultPlan>,
}

impl State {
    /// Counts an operation and says whether it must fail.
    fn tick(&mut self, op: Op) -> Option<Fault> {
        if op == Op::Other {
            return None;
        }
        let index = self.ops;
        self.ops += 1;
        let plan = self.plan?;
        if !plan.fault.applies_to(op) || self.injected.is_some() {
            return None;
        }
        let index = if plan.matching_only {
            self.matching += 1;
            self.matching - 1
        } else {
            index
        };
        if plan.at == index {
            self.injected = Some(plan);
            return Some(plan.fault);
        }
        None
    }
}

/// The simulated directory tree. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct SimDir {
    state: Arc<Mutex<State>>,
}

impl SimDir {
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms (or with `None`, disarms) a fault.
    pub fn set_plan(&self, plan: Option<FaultPlan>) {
        let mut state = self.state.lock();
        state.plan = plan;
        state.injected = None;
        state.matching = 0;
    }

    /// The fault that fired, if any.
    pub fn injected(&self) -> Option<FaultPlan> {
        self.state.lock().injected
    }

    /// Fault-capable operations performed so far.
    pub fn ops(&self) -> u64 {
        self.state.lock().ops
    }

    /// Simulates a power failure: every file reverts to its durable
    /// contents, with `torn_keep` bytes (at most) of its unsynced tail kept,
    /// and directories to their durable entries. Call it with no store open.
    pub fn power_loss(&self, torn_keep: usize) {
        let mut state = self.state.lock();
        for file in state.durable_files.values() {
            let mut f = file.lock();
            let mut contents = f.durable.clone();
            if f.lost.is_none()
                && f.data.len() > contents.len()
                && f.data[..contents.len()] == contents[..]
            {
                let extra = (f.data.len() - contents.len()).min(torn_keep);
                let tail = f.data[contents.len()..contents.len() + extra].to_vec();
                contents.extend_from_slice(&tail);
            }
            f.data = contents.clone();
            f.durable = contents;
            f.lost = None;
        }
        state.files = state.durable_files.clone();
        state.dirs = state.durable_dirs.clone();
    }

    fn not_found(rel: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found", rel.display()),
        )
    }
}

impl StorageDir for SimDir {
    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if state.dirs.contains(rel) {
            return Ok(());
        }
        if let Some(f) = state.tick(Op::Create) {
            return Err(f.error());
        }
        for a in rel.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            state.dirs.insert(a.to_path_buf());
            state.durable_dirs.insert(a.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<String>> {
        let state = self.state.lock();
        if !rel.as_os_str().is_empty() && !state.dirs.contains(rel) {
            return Err(Self::not_found(rel));
        }
        let names: BTreeSet<String> = state
            .dirs
            .iter()
            .chain(state.files.keys())
            .filter(|p| p.parent() == Some(rel))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn open(&self, rel: &Path, _writable: bool) -> io::Result<Arc<dyn ByteFile>> {
        let state = self.state.lock();
        let file = state
            .files
            .get(rel)
            .ok_or_else(|| Self::not_found(rel))?
            .clone();
        Ok(Arc::new(SimHandle {
            file,
            state: self.state.clone(),
        }))
    }

    /// One sync of every file, counted as one `Sync` operation: a fault
    /// there loses the unsynced bytes of every file, as a failed `syncfs`
    /// may.
    fn sync_all_files(&self) -> io::Result<bool> {
        let mut state = self.state.lock();
        let fault = state.tick(Op::Sync);
        for file in state.files.values() {
            let mut f = file.lock();
            if fault.is_some() {
                f.lose_unsynced();
            } else {
                f.sync();
            }
        }
        match fault {
            Some(fault) => Err(fault.error()),
            None => Ok(true),
        }
    }

    fn write_atomic(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let mut state = self.state.lock();
        match state.tick(Op::AtomicWrite) {
            Some(Fault::RenameFail) => {
                let temp = Arc::new(Mutex::new(SimFile {
                    data: contents.to_vec(),
                    durable: contents.to_vec(),
                    lost: None,
                }));
                state.files.insert(temp_path(rel), temp.clone());
                state.durable_files.insert(temp_path(rel), temp);
                return Err(Fault::RenameFail.error());
            }
            Some(f) => return Err(f.error()),
            None => {}
        }
        let file = Arc::new(Mutex::new(SimFile {
            data: contents.to_vec(),
            durable: contents.to_vec(),
            lost: None,
        }));
        state.files.remove(&temp_path(rel));
        state.durable_files.remove(&temp_path(rel));
        state.files.insert(rel.to_path_buf(), file.clone());
        state.durable_files.insert(rel.to_path_buf(), file);
        Ok(())
    }

    /// Like `write_atomic`, but nothing of the new file is durable: a power
    /// loss keeps at most `torn_keep` bytes of it (an empty or torn file,
    /// or all of it), the harshest of what a rename without fsyncs can
    /// leave.
    fn write_cache(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let mut state = self.state.lock();
        match state.tick(Op::AtomicWrite) {
            Some(Fault::RenameFail) => {
                let temp = Arc::new(Mutex::new(SimFile {
                    data: contents.to_vec(),
                    durable: Vec::new(),
                    lost: None,
                }));
                state.files.insert(temp_path(rel), temp.clone());
                state.durable_files.insert(temp_path(rel), temp);
                return Err(Fault::RenameFail.error());
            }
            Some(f) => return Err(f.error()),
            None => {}
        }
        let file = Arc::new(Mutex::new(SimFile {
            data: contents.to_vec(),
            durable: Vec::new(),
            lost: None,
        }));
        state.files.remove(&temp_path(rel));
        state.durable_files.remove(&temp_path(rel));
        state.files.insert(rel.to_path_buf(), file.clone());
        state.durable_files.insert(rel.to_path_buf(), file);
        Ok(())
    }

    /// Fails like an atomic write's rename; the file keeps its old name.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        if let Some(f) = state.tick(Op::AtomicWrite) {
            return Err(f.error());
        }
        let file = state
            .files
            .remove(from)
            .ok_or_else(|| Self::not_found(from))?;
        let durable = state.durable_files.remove(from);
        state.files.insert(to.to_path_buf(), file);
        match durable {
            Some(d) => state.durable_files.insert(to.to_path_buf(), d),
            None => state.durable_files.remove(to),
        };
        Ok(())
    }

    /// Entries are durable as soon as they are made here (the harsher
    /// cases are the files' contents), so only the fault is simulated.
    fn sync_dir(&self, _rel: &Path) -> io::Result<()> {
        match self.state.lock().tick(Op::Sync) {
            Some(f) => Err(f.error()),
            None => Ok(()),
        }
    }

    fn read(&self, rel: &Path) -> io::Result<Vec<u8>> {
        let state = self.state.lock();
        let file = state.files.get(rel).ok_or_else(|| Self::not_found(rel))?;
        let data = file.lock().data.clone();
        Ok(data)
    }

    fn remove(&self, rel: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        state.files.remove(rel);
        state.durable_files.remove(rel);
        Ok(())
    }

    fn display(&self, rel: &Path) -> PathBuf {
        Path::new("sim:").join(rel)
    }
}

#[derive(Debug)]
struct SimHandle {
    file: FileRef,
    state: Arc<Mutex<State>>,
}

impl SimHandle {
    fn tick(&self, op: Op) -> Option<Fault> {
        self.state.lock().tick(op)
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past the end of the file",
    )
}

impl ByteFile for SimHandle {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.lock().data.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        let f = self.file.lock();
        let start = usize::try_from(pos).map_err(|_| eof())?;
        let src = f.data.get(start..start + buf.len()).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_all_at(&self, data: &[u8], pos: u64) -> io::Result<()> {
        let fault = self.tick(Op::Write);
        let data = match fault {
            Some(Fault::ShortWrite) => &data[..data.len() / 2],
            Some(f) => return Err(f.error()),
            None => data,
        };
        let mut f = self.file.lock();
        let start = usize::try_from(pos).map_err(|_| eof())?;
        let end = start + data.len();
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[start..end].copy_from_slice(data);
        match fault {
            Some(short) => Err(short.error()),
            None => Ok(()),
        }
    }

    fn sync_data(&self) -> io::Result<()> {
        let fault = self.tick(Op::Sync);
        let mut f = self.file.lock();
        if let Some(fault) = fault {
            f.lose_unsynced();
            return Err(fault.error());
        }
        f.sync();
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.tick(Op::Other);
        let len = usize::try_from(len).map_err(|_| eof())?;
        self.file.lock().data.resize(len, 0);
        Ok(())
    }
}
