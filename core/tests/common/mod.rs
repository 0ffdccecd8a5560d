#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

pub mod counting;

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

/// One record of a segment file, parsed the way a third party would from
/// docs/FORMAT.md (used by tests that play an attacker with write access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub pos: usize,
    pub kind: u8,
    pub codec: u8,
    pub flags: u8,
    pub offset: u64,
    pub prev_hash: [u8; 32],
    pub stored: Vec<u8>,
}

/// Header length of the segments this library writes (format version 2).
pub const SEG_HEADER: usize = 80;

/// Header length of a segment, from its version field.
pub fn header_len(bytes: &[u8]) -> usize {
    match u32::from_le_bytes(bytes[8..12].try_into().unwrap()) {
        1 => 68,
        _ => SEG_HEADER,
    }
}

impl Rec {
    pub fn len(&self) -> usize {
        60 + self.stored.len()
    }

    /// The record's bytes with both CRCs recomputed.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.len());
        b.extend_from_slice(b"SLRC");
        b.extend_from_slice(&[self.kind, self.codec, self.flags, 0]);
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.extend_from_slice(&self.prev_hash);
        b.extend_from_slice(&(self.stored.len() as u32).to_le_bytes());
        let hcrc = crc32(&b[..52]);
        b.extend_from_slice(&hcrc.to_le_bytes());
        b.extend_from_slice(&self.stored);
        let crc = crc32(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }
}

pub fn crc32(data: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE), independent of the crate under test.
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn parse_segment(bytes: &[u8]) -> (Vec<u8>, Vec<Rec>) {
    let header = bytes[..header_len(bytes)].to_vec();
    let mut recs = Vec::new();
    let mut pos = header.len();
    while pos < bytes.len() {
        let b = &bytes[pos..];
        let stored_len = u32::from_le_bytes(b[48..52].try_into().unwrap()) as usize;
        let mut prev_hash = [0u8; 32];
        prev_hash.copy_from_slice(&b[16..48]);
        recs.push(Rec {
            pos,
            kind: b[4],
            codec: b[5],
            flags: b[6],
            offset: u64::from_le_bytes(b[8..16].try_into().unwrap()),
            prev_hash,
            stored: b[56..56 + stored_len].to_vec(),
        });
        pos += 60 + stored_len;
    }
    (header, recs)
}

pub fn write_segment(path: &Path, header: &[u8], recs: &[Rec]) {
    let mut out = header.to_vec();
    for r in recs {
        out.extend_from_slice(&r.encode());
    }
    std::fs::write(path, out).unwrap();
}

/// The segment header `like` (either version) with another base offset and
/// base hash, its CRC recomputed.
pub fn segment_header(like: &[u8], base: u64, base_hash: &[u8; 32]) -> Vec<u8> {
    let mut b = like[..header_len(like)].to_vec();
    b[24..32].copy_from_slice(&base.to_le_bytes());
    b[32..64].copy_from_slice(base_hash);
    let body = b.len() - 4;
    let crc = crc32(&b[..body]);
    b[body..].copy_from_slice(&crc.to_le_bytes());
    b
}

/// The version-1 header stratalog 0.1 wrote for the segment whose
/// (version-2) header is `like`: for tests of stores written before the
/// segment rules were recorded.
pub fn v1_header(like: &[u8]) -> Vec<u8> {
    let mut b = like[..64].to_vec();
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[12..16].copy_from_slice(&0u32.to_le_bytes());
    let crc = crc32(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// SHA-256 chain step computed with the crate's public function: tests that
/// forge records use it the way an attacker would use any SHA-256.
pub fn chain(prev: &[u8; 32], offset: u64, payload: &[u8]) -> [u8; 32] {
    stratalog_core::chain_step(prev, offset, payload)
}
