#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The head depends only on the events: identical for disk and memory, every
//! segment size, compression and checkpoint interval.

mod common;

use stratalog_core::{Compression, Options, Store};

fn workload(store: &Store) -> Vec<(u64, stratalog_core::ChainHead)> {
    let mut heads = Vec::new();
    for batch in 0..50u64 {
        let stream = batch % 3;
        let events: Vec<Vec<u8>> = (0..(batch % 7 + 1))
            .map(|i| {
                common::payload(
                    stream,
                    batch * 10 + i,
                    ((batch * 31 + i * 17) % 700) as usize,
                )
            })
            .collect();
        heads.push((
            stream,
            store.append_batch(stream, &events, None, false).unwrap(),
        ));
    }
    heads
}

#[test]
fn heads_identical_across_backends_and_configurations() {
    let reference = workload(&Store::open_in_memory(Options::default()).unwrap());
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        for (segment_size, interval) in [(4096, 1), (8192, 5), (64 << 20, 1024)] {
            let options =
                common::with_compression(common::small(segment_size, interval), compression);
            let memory = workload(&Store::open_in_memory(options.clone()).unwrap());
            assert_eq!(
                memory, reference,
                "memory {compression:?} {segment_size} {interval}"
            );
            let dir = tempfile::tempdir().unwrap();
            let disk = workload(&Store::open(dir.path(), options.clone()).unwrap());
            assert_eq!(
                disk, reference,
                "disk {compression:?} {segment_size} {interval}"
            );
            let reopened = Store::open(dir.path(), options).unwrap();
            for stream in 0..3 {
                let last = reference
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == stream)
                    .unwrap()
                    .1;
                assert_eq!(reopened.chain_head(stream).unwrap(), last);
                assert_eq!(reopened.verify(stream).unwrap().head, last);
            }
        }
    }
}
