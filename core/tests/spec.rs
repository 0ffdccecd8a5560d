#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The chain hash is exactly what docs/FORMAT.md says, independent of how
//! the store is configured.

mod common;

use stratalog_core::{chain_step, ChainHead, Compression, Options, Store, GENESIS_HASH};

const VECTORS: [(&[u8], &str); 4] = [
    (
        b"alpha",
        "94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009",
    ),
    (
        b"beta",
        "d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141",
    ),
    (
        b"gamma",
        "4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861",
    ),
    (
        b"",
        "3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc",
    ),
];

fn check_vectors(store: &Store, stream: u64) {
    assert_eq!(store.chain_head(stream).unwrap(), ChainHead::EMPTY);
    for (i, (event, hex)) in VECTORS.iter().enumerate() {
        let head = store.append_batch(stream, &[event], None, false).unwrap();
        assert_eq!(head.next_offset, i as u64 + 1);
        assert_eq!(head.hash_hex(), *hex, "head after {} events", i + 1);
        assert_eq!(store.chain_head(stream).unwrap(), head);
    }
}

#[test]
fn vectors_by_hand() {
    let mut hash = GENESIS_HASH;
    for (n, (event, hex)) in VECTORS.iter().enumerate() {
        hash = chain_step(&hash, n as u64, event);
        let head = ChainHead {
            next_offset: n as u64 + 1,
            hash,
        };
        assert_eq!(head.hash_hex(), *hex);
    }
}

#[test]
fn vectors_in_memory() {
    check_vectors(&Store::open_in_memory(Options::default()).unwrap(), 1);
}

#[test]
fn vectors_on_disk_with_every_configuration() {
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        for (segment_size, interval) in [(64 << 20, 1024), (4096, 1), (4096, 3)] {
            let dir = tempfile::tempdir().unwrap();
            let options =
                common::with_compression(common::small(segment_size, interval), compression);
            let store = Store::open(dir.path(), options.clone()).unwrap();
            check_vectors(&store, 9);
            drop(store);
            let reopened = Store::open(dir.path(), options).unwrap();
            assert_eq!(reopened.chain_head(9).unwrap().hash_hex(), VECTORS[3].1);
            let events = reopened.read_from(9, 0, u64::MAX).unwrap();
            let expected: Vec<&[u8]> = VECTORS.iter().map(|v| v.0).collect();
            assert_eq!(events, expected);
        }
    }
}

#[test]
fn one_batch_gives_the_same_head_as_single_appends() {
    let store = Store::open_in_memory(Options::default()).unwrap();
    let events: Vec<&[u8]> = VECTORS.iter().map(|v| v.0).collect();
    let head = store.append_batch(3, &events, None, false).unwrap();
    assert_eq!(head.hash_hex(), VECTORS[3].1);
}
