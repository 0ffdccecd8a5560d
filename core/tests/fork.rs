//! A store handle used in a forked child: writes are refused, reads work,
//! a checkpoint is signed only over what is durable already, closing
//! writes nothing and keeps the parent's lock, and the parent goes
//! on as if nothing happened.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use stratalog_core::tier::memory::MemoryTier;
use stratalog_core::{Error, Options, SigningKey, Store, TierConfig};

/// Runs `child` in a forked child process and returns its exit status
/// (the child never returns into the test harness).
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `child`, which uses the store's handle
    // and plain memory, then leaves with _exit (no atexit handlers, no
    // unwinding into the harness). The test binary runs this test alone
    // in its process (one test per file), so no other thread holds a lock
    // the child could need.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(99);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just made.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died: {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn a_forked_child_cannot_write_through_its_parents_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Store::open(&path, Options::default()).unwrap();
    let before = store.append_batch(1, &[b"before"], None, true).unwrap();
    let unsynced = store.append_batch(3, &[b"unsynced"], None, false).unwrap();
    let key = SigningKey::from_seed("example.com/audit", &[3u8; 32]);
    let tiered = Store::open_tiered(
        dir.path().join("tiered"),
        Options::default(),
        TierConfig::new(std::sync::Arc::new(MemoryTier::new())),
    )
    .unwrap();
    tiered.append_batch(1, &[b"durable"], None, true).unwrap();

    let code = in_child(|| {
        // Every write is refused, naming the process that opened it.
        match store.append_batch(1, &[b"child"], None, true) {
            Err(Error::Forked { opened_by }) if opened_by != std::process::id() => {}
            _ => return 1,
        }
        if !matches!(store.append(2, b"x"), Err(Error::Forked { .. })) {
            return 2;
        }
        if !matches!(store.sync(), Err(Error::Forked { .. })) {
            return 3;
        }
        // Reads of what the parent wrote work.
        let events = store.read_from(1, 0, u64::MAX).unwrap();
        if events.len() != 1 || &events[0][..] != b"before" || store.verify(1).is_err() {
            return 4;
        }
        // Another open in the child finds the parent's lock held.
        if !matches!(
            Store::open(&path, Options::default()),
            Err(Error::Locked(_))
        ) {
            return 5;
        }
        // A checkpoint of durable events is signed; one that would need
        // an fsync first is refused, as the fsync would be.
        if store.checkpoint(1, &key, None, None).is_err() {
            return 6;
        }
        if !matches!(
            store.checkpoint(3, &key, None, None),
            Err(Error::Forked { .. })
        ) {
            return 7;
        }
        // Nor does a tiered store's child touch the uploader (its lock
        // may have been held at the fork): it refuses to sign at all.
        if !matches!(
            tiered.checkpoint(1, &key, None, None),
            Err(Error::Forked { .. })
        ) {
            return 9;
        }
        // Closing the child's copy writes nothing and releases nothing.
        if store.close().is_err() {
            return 8;
        }
        0
    });
    assert_eq!(code, 0, "the child's checks failed at step {code}");

    // The parent is unaffected: its lock is still held, it appends on.
    assert!(matches!(
        Store::open(&path, Options::default()),
        Err(Error::Locked(_))
    ));
    let after = store.append_batch(1, &[b"parent"], None, true).unwrap();
    assert_eq!(after.next_offset, before.next_offset + 1);
    let note = store.checkpoint(3, &key, None, None).unwrap();
    assert!(note.starts_with("example.com/audit/3\n1\n"), "{note}");
    assert_eq!(store.chain_head(3).unwrap(), unsynced);
    assert!(tiered.checkpoint(1, &key, None, None).is_ok());
    tiered.close().unwrap();
    store.close().unwrap();
    let reopened = Store::open(&path, Options::default()).unwrap();
    let all: Vec<Vec<u8>> = reopened
        .iter(1, 0)
        .unwrap()
        .map(|e| e.unwrap().1.to_vec())
        .collect();
    assert_eq!(all, [b"before".to_vec(), b"parent".to_vec()]);
    assert_eq!(reopened.chain_head(1).unwrap(), after);
    reopened.verify(1).unwrap();

    // A child forked while the parent holds the lock, and still alive,
    // holds a copy of the lock's descriptor: the parent's close must
    // release the lock all the same.
    let mut fds = [0; 2];
    // SAFETY: a pipe into a two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: as in `in_child`; the child only blocks on the pipe.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut byte = 0u8;
        // SAFETY: reads the pipe until the parent closes its end, then
        // leaves without running the parent's destructors.
        unsafe {
            libc::close(fds[1]);
            libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    // SAFETY: the parent's copy of the read end.
    unsafe { libc::close(fds[0]) };
    reopened.close().unwrap();
    let while_child_lives = Store::open(&path, Options::default());
    // SAFETY: ends the child, then waits for it.
    unsafe { libc::close(fds[1]) };
    let mut status = 0;
    // SAFETY: waits for the child just made.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let again = while_child_lives.expect("the lock outlived the close");
    assert_eq!(again.chain_head(1).unwrap(), after);
}
