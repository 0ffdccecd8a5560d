//! Arbitrary bytes as a sealed segment and its index, followed by a valid
//! active segment: the mmap path, index loading and segment boundaries.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize).min(data.len().saturating_sub(1));
    let (index, segment) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    let dir = common::empty_store();
    common::plant(&dir, "00000000000000000000.seg", segment);
    common::plant(&dir, "00000000000000000000.idx", index);
    // A genuine empty active segment starting at offset 3.
    let mut header = Vec::new();
    header.extend_from_slice(b"STRATSEG");
    header.extend_from_slice(&1u32.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&1u64.to_le_bytes());
    header.extend_from_slice(&3u64.to_le_bytes());
    header.extend_from_slice(&[0u8; 32]);
    let crc = crc32(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    common::plant(&dir, "00000000000000000003.seg", &header);
    common::exercise(&dir);
});

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
