#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stratalog_core::{Compression, Options};

/// Options that make rotation and checkpoints happen within small tests.
pub fn small(segment_size: u64, checkpoint_interval: u64) -> Options {
    Options {
        segment_size,
        checkpoint_interval,
        ..Options::default()
    }
}

pub fn with_compression(mut options: Options, compression: Compression) -> Options {
    options.compression = compression;
    options
}

/// Deterministic, mildly compressible payloads.
pub fn payload(stream: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut x =
        stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ offset.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (0..len)
        .map(|i| {
            if i % 4 == 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            if i % 3 == 0 {
                b'a' + (x % 8) as u8
            } else {
                (x >> (i % 8 * 8)) as u8
            }
        })
        .collect()
}

/// All files under `root`, sorted.
pub fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

pub fn segments(root: &Path, stream: u64) -> Vec<PathBuf> {
    files(&root.join("streams").join(format!("{stream:020}")))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
