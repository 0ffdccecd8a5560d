#![allow(clippy::unwrap_used, clippy::expect_used)]
//! An attacker with write access who keeps every CRC valid: `verify` catches
//! edits inside the chain, `verify_against` an earlier head catches the rest.

mod common;

use std::path::{Path, PathBuf};

use common::{chain, parse_segment, segment_header, segments, small, write_segment, Rec};
use stratalog_core::{ChainHead, Error, Options, Store};

const STREAM: u64 = 8;

fn options() -> Options {
    small(4096, 5)
}

/// A store with several segments; returns the heads after each batch.
fn build(root: &Path) -> Vec<ChainHead> {
    let store = Store::open(root, options()).unwrap();
    let heads = (0..30u64)
        .map(|b| {
            let events: Vec<Vec<u8>> = (0..4)
                .map(|i| format!("event {b}/{i} {}", "x".repeat(30)).into_bytes())
                .collect();
            store.append_batch(STREAM, &events, None, false).unwrap()
        })
        .collect();
    store.close().unwrap();
    heads
}

fn fresh() -> (tempfile::TempDir, PathBuf, Vec<ChainHead>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let heads = build(&root);
    assert!(segments(&root, STREAM).len() >= 4);
    (dir, root, heads)
}

fn open(root: &Path) -> Store {
    Store::open(root, options()).unwrap()
}

fn assert_detected(result: Result<stratalog_core::VerifyReport, Error>, what: &str) {
    match result {
        Err(Error::ChainMismatch { stream, .. } | Error::Corruption { stream, .. }) => {
            assert_eq!(stream, STREAM)
        }
        other => panic!("{what}: not detected: {other:?}"),
    }
}

fn middle_segment(root: &Path) -> PathBuf {
    let segs = segments(root, STREAM);
    segs[segs.len() / 2].clone()
}

#[test]
fn rewrite_a_payload_and_fix_its_crc() {
    let (_d, root, heads) = fresh();
    let seg = middle_segment(&root);
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let victim = recs.iter_mut().find(|r| r.kind == 0).unwrap();
    victim.stored = b"forged".to_vec();
    let offset = victim.offset;
    write_segment(&seg, &header, &recs);
    let store = open(&root);
    match store.verify(STREAM) {
        Err(Error::ChainMismatch { offset: o, .. }) => assert_eq!(o, offset + 1),
        other => panic!("not detected: {other:?}"),
    }
    assert_detected(
        store.verify_against(STREAM, heads.last().unwrap()),
        "rewrite",
    );
}

#[test]
fn drop_a_record_and_renumber() {
    let (_d, root, heads) = fresh();
    let seg = middle_segment(&root);
    let (header, recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let first_event = recs.iter().position(|r| r.kind == 0).unwrap();
    let mut kept: Vec<Rec> = recs.clone();
    kept.remove(first_event);
    for r in kept.iter_mut().skip(first_event) {
        r.offset -= 1;
    }
    write_segment(&seg, &header, &kept);
    let store = open(&root);
    assert_detected(store.verify(STREAM), "drop+renumber");
    assert_detected(
        store.verify_against(STREAM, &heads[3]),
        "drop+renumber vs early head",
    );
}

#[test]
fn reorder_two_records() {
    let (_d, root, _) = fresh();
    let seg = middle_segment(&root);
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let events: Vec<usize> = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == 0)
        .map(|(i, _)| i)
        .collect();
    let (a, b) = (events[0], events[1]);
    let (oa, ob) = (recs[a].offset, recs[b].offset);
    recs.swap(a, b);
    recs[a].offset = oa;
    recs[b].offset = ob;
    write_segment(&seg, &header, &recs);
    assert_detected(open(&root).verify(STREAM), "reorder");
}

#[test]
fn insert_a_forged_record() {
    let (_d, root, _) = fresh();
    let seg = middle_segment(&root);
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let at = recs.iter().position(|r| r.kind == 0).unwrap();
    let mut forged = recs[at].clone();
    forged.stored = b"inserted".to_vec();
    forged.flags = 0;
    recs.insert(at, forged);
    write_segment(&seg, &header, &recs);
    assert_detected(open(&root).verify(STREAM), "insert");
}

#[test]
fn swap_two_segments() {
    let (_d, root, _) = fresh();
    let segs = segments(&root, STREAM);
    let (a, b) = (&segs[1], &segs[2]);
    let (ba, bb) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    std::fs::write(a, &bb).unwrap();
    std::fs::write(b, &ba).unwrap();
    assert_detected(open(&root).verify(STREAM), "swap with headers");
    // Also fix the headers' base offsets so names and headers agree.
    let (ha, ra) = parse_segment(&ba);
    let (hb, rb) = parse_segment(&bb);
    let base = |h: &[u8]| u64::from_le_bytes(h[24..32].try_into().unwrap());
    let hash = |h: &[u8]| -> [u8; 32] { h[32..64].try_into().unwrap() };
    write_segment(a, &segment_header(&ha, base(&ha), &hash(&hb)), &rb);
    write_segment(b, &segment_header(&hb, base(&hb), &hash(&ha)), &ra);
    assert_detected(open(&root).verify(STREAM), "swap with rewritten headers");
}

#[test]
fn truncate_the_stream() {
    let (_d, root, heads) = fresh();
    let segs = segments(&root, STREAM);
    std::fs::remove_file(segs.last().unwrap()).unwrap();
    // Cutting whole segments off the end leaves a stream that verifies on
    // its own; only the head kept elsewhere catches it.
    let store = open(&root);
    store.verify(STREAM).unwrap();
    match store.verify_against(STREAM, heads.last().unwrap()) {
        Err(Error::ChainMismatch { .. }) => {}
        other => panic!("truncation not detected: {other:?}"),
    }
    // Heads from before the cut still check out.
    store.verify_against(STREAM, &heads[2]).unwrap();
}

#[test]
fn roll_back_and_refill_to_the_same_length() {
    let (_d, root, heads) = fresh();
    let target = *heads.last().unwrap();
    // Remove the last two segments and refill with other events up to the
    // same length, through the library itself so every CRC and hash is
    // valid.
    let segs = segments(&root, STREAM);
    for s in &segs[segs.len() - 2..] {
        std::fs::remove_file(s).unwrap();
    }
    let store = open(&root);
    let mut head = store.chain_head(STREAM).unwrap();
    while head.next_offset < target.next_offset {
        head = store
            .append_batch(STREAM, &[b"refill"], None, false)
            .unwrap();
    }
    assert_eq!(head.next_offset, target.next_offset);
    store.verify(STREAM).unwrap();
    match store.verify_against(STREAM, &target) {
        Err(Error::ChainMismatch { offset, .. }) => assert_eq!(offset, target.next_offset - 1),
        other => panic!("rollback not detected: {other:?}"),
    }
}

#[test]
fn edit_a_checkpoint() {
    let (_d, root, _) = fresh();
    let seg = middle_segment(&root);
    let (header, mut recs) = parse_segment(&std::fs::read(&seg).unwrap());
    let cp = recs
        .iter_mut()
        .find(|r| r.kind == 1)
        .expect("a checkpoint in the segment");
    cp.prev_hash = [0x42; 32];
    write_segment(&seg, &header, &recs);
    assert_detected(open(&root).verify(STREAM), "checkpoint edit");
}

#[test]
fn rewrite_everything_after_an_edit_is_a_rollback() {
    // Recomputing the whole chain after an edit passes verify, and the
    // external head catches it: the documented limit.
    let (_d, root, heads) = fresh();
    let segs = segments(&root, STREAM);
    let mut hash = [0u8; 32];
    let mut offset = 0u64;
    for (n, seg) in segs.iter().enumerate() {
        let (like, mut recs) = parse_segment(&std::fs::read(seg).unwrap());
        let header = segment_header(&like, offset, &hash);
        for r in recs.iter_mut() {
            r.prev_hash = hash;
            r.offset = offset;
            if r.kind == 0 {
                if n == 1 && offset.is_multiple_of(4) {
                    r.stored = b"rewritten".to_vec();
                }
                hash = chain(&hash, offset, &r.stored);
                offset += 1;
            }
        }
        write_segment(seg, &header, &recs);
    }
    for idx in common::files(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
    {
        std::fs::remove_file(idx).unwrap();
    }
    let store = open(&root);
    store.verify(STREAM).unwrap();
    assert_detected(
        store.verify_against(STREAM, heads.last().unwrap()),
        "full rewrite",
    );
}
