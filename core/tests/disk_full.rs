#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A real, tiny file system filled to the last byte: the append that hits
//! ENOSPC fails cleanly, every acknowledged batch survives, and once space
//! is freed the store carries on with an unbroken chain.
//!
//! Needs permission to mount a size-limited tmpfs (root on Linux); where
//! that is refused the test says so and checks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use stratalog_core::{ChainHead, Error, Options, Store};

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(path: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(path.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn filling_a_real_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(tmp.path(), "1m") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let root = mount.0.join("store");
    let filler = mount.0.join("filler");
    std::fs::write(&filler, vec![0u8; 256 << 10]).unwrap();
    let options = Options {
        segment_size: 64 << 10,
        checkpoint_interval: 8,
        ..Options::default()
    };
    let store = Store::open(&root, options.clone()).unwrap();
    let mut acked: Vec<Vec<u8>> = Vec::new();
    let mut head = ChainHead::EMPTY;
    let mut enospc = 0;
    for batch in 0..10_000u64 {
        let events: Vec<Vec<u8>> = (0..1 + batch % 5)
            .map(|i| {
                format!(
                    "{batch}/{i}/{}",
                    "d".repeat(((batch * 131 + i * 17) % 3000) as usize)
                )
                .into_bytes()
            })
            .collect();
        match store.append_batch(1, &events, None, true) {
            Ok(h) => {
                acked.extend(events);
                head = h;
            }
            Err(Error::Io { source, .. }) if source.raw_os_error() == Some(28) => {
                enospc += 1;
                // Nothing of the failed batch is visible, and the head held.
                assert_eq!(store.chain_head(1).unwrap(), head);
                if enospc == 3 {
                    break;
                }
            }
            Err(other) => panic!("unexpected error on a full disk: {other}"),
        }
    }
    assert_eq!(enospc, 3, "the disk never filled");
    assert_eq!(store.read_from(1, 0, u64::MAX).unwrap(), acked);
    store.verify_against(1, &head).unwrap();

    // Free space; the same store carries on.
    std::fs::remove_file(&filler).unwrap();
    let next = store
        .append_batch(1, &[b"after space was freed".as_slice()], None, true)
        .unwrap();
    assert_eq!(next, head.advance(b"after space was freed"));
    acked.push(b"after space was freed".to_vec());
    drop(store);

    let store = Store::open(&root, options).unwrap();
    assert_eq!(store.chain_head(1).unwrap(), next);
    assert_eq!(store.verify(1).unwrap().events, acked.len() as u64);
    assert_eq!(store.read_from(1, 0, u64::MAX).unwrap(), acked);
    println!(
        "filled a 1 MiB tmpfs: {} events acknowledged, 3 ENOSPC failures, recovered",
        acked.len() - 1
    );
}
