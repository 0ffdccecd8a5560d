#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property test: random appends, reads, reopens and rotations against a
//! plain in-memory model of what the store must hold.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use stratalog_core::io::memory::MemoryDir;
use stratalog_core::{ChainHead, Compression, Error, Options, Store};

#[derive(Debug, Clone)]
enum Op {
    Append {
        stream: u64,
        events: Vec<Vec<u8>>,
        expect_right: Option<bool>,
        fsync: bool,
    },
    Read {
        stream: u64,
        offset: u64,
        max_bytes: u64,
    },
    Iter {
        stream: u64,
        start: u64,
    },
    Reopen,
    Verify {
        stream: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let event = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(Just(b'z'), 100..1500),
    ];
    prop_oneof![
        6 => (0..3u64, proptest::collection::vec(event, 1..12), proptest::option::of(any::<bool>()), any::<bool>())
            .prop_map(|(stream, events, expect_right, fsync)| Op::Append { stream, events, expect_right, fsync }),
        3 => (0..3u64, 0..120u64, 0..3000u64).prop_map(|(stream, offset, max_bytes)| Op::Read { stream, offset, max_bytes }),
        1 => (0..3u64, 0..120u64).prop_map(|(stream, start)| Op::Iter { stream, start }),
        1 => Just(Op::Reopen),
        1 => (0..3u64).prop_map(|stream| Op::Verify { stream }),
    ]
}

fn model_head(events: &[Vec<u8>]) -> ChainHead {
    events.iter().fold(ChainHead::EMPTY, |h, e| h.advance(e))
}

fn model_read(events: &[Vec<u8>], offset: u64, max_bytes: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0u64;
    for e in &events[offset as usize..] {
        total += e.len() as u64;
        if total > max_bytes && !out.is_empty() {
            break;
        }
        out.push(e.clone());
        if total >= max_bytes {
            break;
        }
    }
    out
}

enum Backend {
    Disk(tempfile::TempDir),
    Memory(MemoryDir),
}

impl Backend {
    fn open(&self, options: &Options) -> Store {
        match self {
            Backend::Disk(dir) => Store::open(dir.path(), options.clone()).unwrap(),
            Backend::Memory(mem) => {
                Store::open_on(Arc::new(mem.clone()), options.clone(), true).unwrap()
            }
        }
    }
}

fn run(ops: Vec<Op>, backend: Backend, options: Options) {
    let mut store = backend.open(&options);
    let mut model: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Append {
                stream,
                events,
                expect_right,
                fsync,
            } => {
                let log = model.entry(stream).or_default();
                let next = log.len() as u64;
                let expected = expect_right.map(|right| if right { next } else { next + 1 });
                let result = store.append_batch(stream, &events, expected, fsync);
                if expect_right == Some(false) {
                    assert!(
                        matches!(result, Err(Error::OffsetMismatch { expected: e, actual }) if e == next + 1 && actual == next)
                    );
                } else {
                    log.extend(events);
                    assert_eq!(result.unwrap(), model_head(log));
                }
            }
            Op::Read {
                stream,
                offset,
                max_bytes,
            } => {
                let log = model.get(&stream).cloned().unwrap_or_default();
                let result = store.read_from(stream, offset, max_bytes);
                if offset > log.len() as u64 {
                    assert!(matches!(result, Err(Error::OffsetOutOfRange { .. })));
                } else {
                    let got: Vec<Vec<u8>> = result.unwrap().iter().map(|b| b.to_vec()).collect();
                    assert_eq!(got, model_read(&log, offset, max_bytes));
                }
            }
            Op::Iter { stream, start } => {
                let log = model.get(&stream).cloned().unwrap_or_default();
                let got: Result<Vec<_>, _> = store
                    .iter(stream, start)
                    .and_then(|events| events.collect());
                if start > log.len() as u64 {
                    assert!(got.is_err());
                } else {
                    let got = got.unwrap();
                    assert_eq!(got.len(), log.len() - start as usize);
                    for (offset, event) in got {
                        assert_eq!(event, log[offset as usize]);
                    }
                }
            }
            Op::Reopen => {
                drop(store);
                store = backend.open(&options);
                for (stream, log) in &model {
                    assert_eq!(store.chain_head(*stream).unwrap(), model_head(log));
                }
            }
            Op::Verify { stream } => {
                let log = model.get(&stream).cloned().unwrap_or_default();
                let report = store.verify(stream).unwrap();
                assert_eq!(report.events, log.len() as u64);
                assert_eq!(report.head, model_head(&log));
            }
        }
    }
    let live: Vec<u64> = model
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(s, _)| *s)
        .collect();
    let mut listed = store.streams().unwrap();
    listed.retain(|s| live.contains(s));
    assert_eq!(listed, live);
}

fn options(interval: u64, compression: Compression) -> Options {
    common::with_compression(common::small(4096, interval), compression)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn disk_store_matches_the_model(
        ops in proptest::collection::vec(op(), 1..60),
        interval in 1..6u64,
        compression in prop_oneof![Just(Compression::None), Just(Compression::Lz4), Just(Compression::Zstd)],
    ) {
        run(ops, Backend::Disk(tempfile::tempdir().unwrap()), options(interval, compression));
    }

    #[test]
    fn memory_store_matches_the_model(ops in proptest::collection::vec(op(), 1..60), interval in 1..6u64) {
        run(ops, Backend::Memory(MemoryDir::new()), options(interval, Compression::None));
    }
}
