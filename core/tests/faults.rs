#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Fault injection: for every operation of a scripted workload and every way
//! it can fail, the failing call returns an error (never a panic, never a
//! false success), a failed fsync poisons the stream until reopen, and after
//! a power loss every acknowledged batch is there, whole, and the chain
//! verifies.

use std::collections::BTreeMap;
use std::sync::Arc;

use stratalog_core::io::faulty::{Fault, FaultPlan, SimDir};
use stratalog_core::io::StorageDir;
use stratalog_core::{verify_checkpoint, Batch, Error, Options, SigningKey, Store};

fn options() -> Options {
    Options {
        segment_size: 4096,
        checkpoint_interval: 3,
        ..Options::default()
    }
}

/// One batch the workload tried to append.
#[derive(Debug, Clone)]
struct Attempt {
    stream: u64,
    events: Vec<Vec<u8>>,
    /// The append returned success.
    ok: bool,
    /// Acknowledged durable: fsync'd append, or followed by a successful sync.
    durable: bool,
}

#[derive(Debug, Default)]
struct Outcome {
    attempts: Vec<Attempt>,
    errors: usize,
    poisoned_seen: bool,
}

/// A fixed workload: two streams, fsync'd and plain appends, rotations,
/// checkpoints, an explicit sync. Never unwraps a store call.
fn workload(dir: &SimDir) -> Outcome {
    let mut out = Outcome::default();
    let store = match Store::open_on(Arc::new(dir.clone()), options(), true) {
        Ok(s) => s,
        Err(_) => {
            out.errors += 1;
            return out;
        }
    };
    let mut failed_fsync_stream = None;
    for step in 0..24u64 {
        let stream = step % 2;
        let count = 1 + (step % 4) as usize;
        let events: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                format!(
                    "s{stream}b{step}e{i}:{}",
                    "p".repeat((step as usize * 97) % 700)
                )
                .into_bytes()
            })
            .collect();
        let fsync = step % 3 == 0;
        match store.append_batch(stream, &events, None, fsync) {
            Ok(_) => out.attempts.push(Attempt {
                stream,
                events,
                ok: true,
                durable: fsync,
            }),
            Err(e) => {
                out.errors += 1;
                if matches!(e, Error::Poisoned { .. }) {
                    out.poisoned_seen = true;
                }
                if matches!(&e, Error::Io { source, .. } if source.raw_os_error() == Some(5))
                    && dir.injected().is_some_and(|p| p.fault == Fault::FsyncFail)
                {
                    failed_fsync_stream.get_or_insert(stream);
                }
                // The batch may or may not be on disk; it is not acknowledged.
                out.attempts.push(Attempt {
                    stream,
                    events,
                    ok: false,
                    durable: false,
                });
            }
        }
        if step == 13 {
            match store.sync() {
                Ok(()) => out.attempts.iter_mut().for_each(|a| a.durable |= a.ok),
                Err(_) => out.errors += 1,
            }
        }
        if let Some(s) = failed_fsync_stream {
            // After a failed fsync the stream refuses appends until reopened.
            match store.append_batch(s, &[b"must be refused".as_slice()], None, false) {
                Err(Error::Poisoned { .. }) => out.poisoned_seen = true,
                other => panic!("append after a failed fsync: {other:?}"),
            }
        }
    }
    out
}

/// Checks the store after power loss against what was acknowledged: each
/// stream holds, in order, a selection of whole attempted batches that
/// includes every durable one.
fn check_recovered(dir: &SimDir, out: &Outcome, ctx: &str) {
    let store = Store::open_on(Arc::new(dir.clone()), options(), true)
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    let mut by_stream: BTreeMap<u64, Vec<&Attempt>> = BTreeMap::new();
    for a in &out.attempts {
        by_stream.entry(a.stream).or_default().push(a);
    }
    for (stream, attempts) in by_stream {
        let report = store
            .verify(stream)
            .unwrap_or_else(|e| panic!("{ctx}: verify stream {stream}: {e}"));
        let stored: Vec<Vec<u8>> = store
            .iter(stream, 0)
            .unwrap()
            .map(|r| r.unwrap().1.to_vec())
            .collect();
        assert_eq!(stored.len() as u64, report.events);
        let mut pos = 0;
        for a in attempts {
            let present = stored.len() >= pos + a.events.len()
                && stored[pos..pos + a.events.len()] == a.events[..];
            if present {
                pos += a.events.len();
            } else {
                assert!(
                    !a.durable,
                    "{ctx}: acknowledged batch {:?} of stream {stream} lost",
                    String::from_utf8_lossy(&a.events[0])
                );
                // Never part of one.
                assert!(
                    stored.len() <= pos || !a.events.contains(&stored[pos]),
                    "{ctx}: partial batch visible"
                );
            }
        }
        assert_eq!(
            pos,
            stored.len(),
            "{ctx}: stream {stream} holds events nobody appended"
        );
        // The chain continues after recovery.
        let head = store.chain_head(stream).unwrap();
        let next = store
            .append_batch(stream, &[b"after recovery".as_slice()], None, true)
            .unwrap();
        assert_eq!(next, head.advance(b"after recovery"), "{ctx}");
    }
}

fn run(plan: Option<FaultPlan>) -> (Outcome, SimDir) {
    let dir = SimDir::new();
    dir.set_plan(plan);
    let out = workload(&dir);
    (out, dir)
}

#[test]
fn every_operation_fails_every_way() {
    let (clean, dir) = run(None);
    assert_eq!(clean.errors, 0);
    let total_ops = dir.ops();
    assert!(total_ops > 40, "workload too small: {total_ops} ops");
    dir.power_loss(0);
    check_recovered(&dir, &clean, "no fault");

    let mut injected = 0;
    for at in 0..total_ops {
        for fault in Fault::ALL {
            for torn_keep in [0usize, 150] {
                let plan = FaultPlan::at(at, fault);
                let dir = SimDir::new();
                dir.set_plan(Some(plan));
                let out = workload(&dir);
                let Some(fired) = dir.injected() else {
                    continue;
                };
                injected += 1;
                let ctx = format!("{fired:?} torn_keep={torn_keep}");
                assert!(out.errors > 0, "{ctx}: a failure was reported as success");
                if fault == Fault::FsyncFail {
                    assert!(out.poisoned_seen || out.errors > 0, "{ctx}");
                }
                dir.set_plan(None);
                dir.power_loss(torn_keep);
                check_recovered(&dir, &out, &ctx);
            }
        }
    }
    assert!(injected > 60, "only {injected} faults fired");
    println!("faults injected: {injected} over {total_ops} operations");
}

#[test]
fn power_loss_keeps_exactly_what_was_synced() {
    for torn_keep in [0usize, 1, 59, 60, 61, 200, 10_000] {
        let dir = SimDir::new();
        let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
        let synced = store
            .append_batch(1, &[b"a".as_slice(), b"b"], None, true)
            .unwrap();
        store
            .append_batch(1, &[b"c".as_slice(), b"d", b"e"], None, false)
            .unwrap();
        drop(store);
        dir.power_loss(torn_keep);
        let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
        let head = store.chain_head(1).unwrap();
        // Either the unsynced batch survived whole or not at all.
        assert!(
            head == synced || head.next_offset == 5,
            "torn_keep={torn_keep}: {head}"
        );
        store.verify_against(1, &synced).unwrap();
    }
}

#[test]
fn sync_stream_makes_that_stream_durable_and_no_other() {
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let one = store
        .append_batch(1, &[b"a".as_slice(), b"b"], None, false)
        .unwrap();
    store
        .append_batch(2, &[b"c".as_slice()], None, false)
        .unwrap();
    store.sync_stream(1).unwrap();
    store.sync_stream(3).unwrap(); // no such stream: nothing to do
    drop(store);
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    assert_eq!(store.chain_head(1).unwrap(), one);
    assert_eq!(store.chain_head(2).unwrap().next_offset, 0);
    store.close().unwrap();
    assert!(matches!(store.sync_stream(1), Err(Error::Closed)));
}

/// A checkpoint never signs what a power loss can take: the events it
/// covers are made durable first, so after the power loss the store still
/// holds the signed tree, and appends go on from it instead of writing
/// other events where signed ones were. An event appended after the
/// checkpoint, never synced, is lost as before.
#[test]
fn a_checkpoint_makes_the_events_it_signs_durable_first() {
    let key = SigningKey::from_seed("example.com/audit", &[7u8; 32]);
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let events: Vec<Vec<u8>> = (0..20u32).map(|i| i.to_le_bytes().to_vec()).collect();
    for pair in events.chunks(2) {
        store.append_batch(1, pair, None, false).unwrap();
    }
    let half = store.checkpoint(1, &key, Some(8), None).unwrap();
    let whole = store.checkpoint(1, &key, None, None).unwrap();
    let signed = verify_checkpoint(&whole, &key.vkey()).unwrap();
    assert_eq!(signed.size, 20);
    // Already durable: nothing more to do; the same note again.
    assert_eq!(store.checkpoint(1, &key, None, None).unwrap(), whole);
    store.append_batch(1, &[b"unsigned"], None, false).unwrap();
    drop(store);
    dir.power_loss(0);

    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    assert_eq!(store.chain_head(1).unwrap().next_offset, 20);
    assert_eq!(store.tree_root(1, Some(20)).unwrap(), signed.root);
    assert_eq!(store.read_from(1, 0, u64::MAX).unwrap(), events);
    assert_eq!(store.checkpoint(1, &key, None, None).unwrap(), whole);
    let half = verify_checkpoint(&half, &key.vkey()).unwrap();
    assert_eq!(store.tree_root(1, Some(8)).unwrap(), half.root);
    store.verify(1).unwrap();
}

/// A read-only handle signs only durable events too: it fsyncs the
/// writer's segment first, as it does for a consumer cursor.
#[test]
fn a_read_only_checkpoint_makes_the_writers_events_durable_first() {
    let key = SigningKey::from_seed("example.com/audit", &[7u8; 32]);
    let dir = SimDir::new();
    let writer = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    for i in 0..5u32 {
        writer
            .append_batch(1, &[i.to_le_bytes(), (i + 100).to_le_bytes()], None, false)
            .unwrap();
    }
    let reader = Store::open_on(Arc::new(dir.clone()), options(), false).unwrap();
    let note = reader.checkpoint(1, &key, None, None).unwrap();
    assert_eq!(verify_checkpoint(&note, &key.vkey()).unwrap().size, 10);
    drop((writer, reader));
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    assert_eq!(store.chain_head(1).unwrap().next_offset, 10);
    assert_eq!(store.checkpoint(1, &key, None, None).unwrap(), note);
}

/// `sync` and `close` with many streams holding unsynced bytes make them
/// durable with one sync of every file; when that one fails, every stream
/// it was to cover fails and stays poisoned, and nothing it did not make
/// durable is reported durable.
#[test]
fn many_dirty_streams_share_one_sync_and_its_failure() {
    const STREAMS: u64 = 100;
    let event = |s: u64| format!("event of {s}").into_bytes();

    // It succeeds: everything survives a power loss.
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    for s in 0..STREAMS {
        store.append_batch(s, &[event(s)], None, false).unwrap();
    }
    let before = dir.ops();
    store.sync().unwrap();
    // One sync (and nothing else fault-capable) for all of them.
    assert_eq!(dir.ops() - before, 1);
    drop(store);
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    for s in 0..STREAMS {
        assert_eq!(store.read_from(s, 0, u64::MAX).unwrap(), vec![event(s)]);
    }
    // Appended again, and closed: close shares one sync the same way.
    for s in 0..STREAMS {
        store
            .append_batch(s, &[event(s + 1000)], None, false)
            .unwrap();
    }
    store.close().unwrap();
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    assert_eq!(store.chain_head(7).unwrap().next_offset, 2);
    drop(store);

    // It fails: every stream reports it, refuses appends, and after a
    // power loss holds only what an earlier sync made durable.
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let durable = store.append_batch(5, &[event(5)], None, true).unwrap();
    for s in 0..STREAMS {
        store
            .append_batch(s, &[event(s + 2000)], None, false)
            .unwrap();
    }
    dir.set_plan(Some(FaultPlan::nth(Fault::FsyncFail, 0)));
    let err = store.sync().unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.raw_os_error() == Some(5)),
        "{err}"
    );
    for s in [0, 5, STREAMS - 1] {
        assert!(
            matches!(store.sync_stream(s), Err(Error::Poisoned { .. })),
            "stream {s}"
        );
        let again = store.append_batch(s, &[b"x".as_slice()], None, false);
        assert!(matches!(again, Err(Error::Poisoned { .. })), "stream {s}");
    }
    assert!(store.close().is_err());
    dir.set_plan(None);
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    assert_eq!(store.chain_head(5).unwrap(), durable);
    assert_eq!(store.chain_head(6).unwrap().next_offset, 0);
    store.verify_against(5, &durable).unwrap();
}

/// Group commit under a failing fsync: appenders waiting on the failed
/// leader must not report success for data the failure lost.
#[test]
fn concurrent_appenders_never_succeed_past_a_failed_fsync() {
    for at in [2u64, 5, 11, 17] {
        let dir = SimDir::new();
        let store = Arc::new(Store::open_on(Arc::new(dir.clone()), options(), true).unwrap());
        dir.set_plan(Some(FaultPlan::nth(Fault::FsyncFail, at)));
        let acked: Vec<Vec<Vec<u8>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let store = store.clone();
                    scope.spawn(move || {
                        let mut ok = Vec::new();
                        for i in 0..20 {
                            let event = format!("t{t}-{i}").into_bytes();
                            if store.append_batch(1, &[&event], None, true).is_ok() {
                                ok.push(event);
                            }
                        }
                        ok
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(dir.injected().is_some(), "fsync {at} never failed");
        drop(store);
        dir.set_plan(None);
        dir.power_loss(0);
        let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
        store.verify(1).unwrap();
        let stored: Vec<Vec<u8>> = store
            .iter(1, 0)
            .unwrap()
            .map(|r| r.unwrap().1.to_vec())
            .collect();
        for event in acked.iter().flatten() {
            assert!(
                stored.contains(event),
                "failed fsync {at}: acknowledged {:?} lost",
                String::from_utf8_lossy(event)
            );
        }
    }
}

/// An ordered group of batches (`Store::append_batches`) pays one fsync for
/// all its durable batches. Each batch has its own outcome; after a power
/// loss every durable batch that succeeded is there; and when the one fsync
/// fails, every durable batch of the group fails with it while a batch that
/// did not ask for durability keeps its head.
#[test]
fn a_group_of_batches_shares_one_fsync() {
    let a = [b"a0".as_slice(), b"a1"];
    let b = [b"b0".as_slice()];
    let c = [b"c0".as_slice()];
    let d = [b"d0".as_slice(), b"d1"];
    let batches = [
        Batch {
            events: &a,
            expected_offset: Some(1),
            fsync: true,
        },
        Batch {
            events: &b,
            expected_offset: Some(99),
            fsync: true,
        },
        Batch {
            events: &c,
            expected_offset: None,
            fsync: false,
        },
        Batch {
            events: &d,
            expected_offset: Some(4),
            fsync: true,
        },
    ];

    // The fsync succeeds. A plan failing the second fsync is never reached,
    // so the group made at most one; a sync afterwards finds nothing left
    // to do (a plan failing the very next fsync is not reached either), so
    // it made one and it covered everything.
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    store.append(1, b"first").unwrap();
    dir.set_plan(Some(FaultPlan::nth(Fault::FsyncFail, 1)));
    let out = store.append_batches(1, &batches).unwrap();
    assert!(dir.injected().is_none(), "the group fsynced more than once");
    dir.set_plan(Some(FaultPlan::nth(Fault::FsyncFail, 0)));
    store.sync_stream(1).unwrap();
    assert!(dir.injected().is_none(), "the group left data unsynced");
    let heads: Vec<Option<u64>> = out
        .iter()
        .map(|o| o.as_ref().ok().map(|h| h.next_offset))
        .collect();
    assert_eq!(heads, [Some(3), None, Some(4), Some(6)]);
    assert!(matches!(
        out[1],
        Err(Error::OffsetMismatch {
            expected: 99,
            actual: 3
        })
    ));
    let last = *out[3].as_ref().unwrap();
    drop(store);
    dir.set_plan(None);
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    store.verify_against(1, &last).unwrap();
    let stored: Vec<Vec<u8>> = store
        .iter(1, 0)
        .unwrap()
        .map(|r| r.unwrap().1.to_vec())
        .collect();
    assert_eq!(stored, [&b"first"[..], b"a0", b"a1", b"c0", b"d0", b"d1"]);
    drop(store);

    // The one fsync fails: every durable batch fails, the plain one keeps
    // its head, and the stream is poisoned.
    let dir = SimDir::new();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    store.append(1, b"first").unwrap();
    dir.set_plan(Some(FaultPlan::nth(Fault::FsyncFail, 0)));
    let out = store.append_batches(1, &batches).unwrap();
    assert!(dir.injected().is_some());
    // Both durable batches report the fsync's own errno (EIO).
    for i in [0, 3] {
        assert!(
            matches!(&out[i], Err(Error::Io { source, .. }) if source.raw_os_error() == Some(5)),
            "batch {i}: {:?}",
            out[i]
        );
    }
    assert!(matches!(out[1], Err(Error::OffsetMismatch { .. })));
    assert_eq!(out[2].as_ref().unwrap().next_offset, 4);
    assert!(matches!(
        store.append(1, b"after"),
        Err(Error::Poisoned { stream: 1, .. })
    ));
    drop(store);
    dir.set_plan(None);
    dir.power_loss(0);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    store.verify(1).unwrap();

    // An empty group does nothing; a closed store refuses the whole call.
    assert!(store.append_batches::<&[u8]>(1, &[]).unwrap().is_empty());
    store.close().unwrap();
    assert!(matches!(
        store.append_batches(1, &batches),
        Err(Error::Closed)
    ));
}

/// Appends fsync'd batches to two streams and closes the store with
/// `plan` armed: the only fault-capable operations of that close are the
/// tail markers' atomic writes.
fn marker_workload(dir: &SimDir, plan: Option<FaultPlan>) -> (Outcome, u64, Result<(), Error>) {
    let mut out = Outcome::default();
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    for step in 0..12u64 {
        let stream = step % 2;
        let events: Vec<Vec<u8>> = (0..1 + step % 3)
            .map(|i| {
                format!("m{stream}b{step}e{i}:{}", "q".repeat(step as usize * 61)).into_bytes()
            })
            .collect();
        store.append_batch(stream, &events, None, true).unwrap();
        out.attempts.push(Attempt {
            stream,
            events,
            ok: true,
            durable: true,
        });
    }
    let before_close = dir.ops();
    dir.set_plan(plan);
    let closed = store.close();
    (out, before_close, closed)
}

/// The tail marker is a cache written at close, without fsyncs: whichever
/// of its writes fails, close still succeeds (every append was already
/// durable), and after a power loss that leaves the marker missing, torn or
/// whole, the store reopens with every acknowledged batch. A marker that is
/// then outdated by appends a power loss tears (it names an earlier end)
/// still leads recovery to exactly the durable batches.
#[test]
fn tail_markers_that_fail_or_go_stale_lose_nothing() {
    let clean = SimDir::new();
    let (_, before_close, closed) = marker_workload(&clean, None);
    closed.unwrap();
    let marker = std::path::Path::new("streams/00000000000000000001/TAIL");
    assert!(clean.read(marker).is_ok(), "a clean close leaves a marker");
    let total = clean.ops();
    assert!(total > before_close);

    let mut injected = 0;
    for at in before_close..total {
        for fault in Fault::ALL {
            // The marker is not fsynced: a power loss leaves it empty, torn
            // or whole (SimDir::write_cache).
            for torn_keep in [0usize, 150, 10_000] {
                let dir = SimDir::new();
                let (out, _, closed) = marker_workload(&dir, Some(FaultPlan::at(at, fault)));
                let Some(fired) = dir.injected() else {
                    continue;
                };
                injected += 1;
                let ctx = format!("close: {fired:?} torn_keep={torn_keep}");
                closed.unwrap_or_else(|e| panic!("{ctx}: close failed: {e}"));
                dir.set_plan(None);
                dir.power_loss(torn_keep);
                check_recovered(&dir, &out, &ctx);
            }
        }
    }
    assert!(injected >= 4, "only {injected} marker faults fired");

    // Stale: reopen the cleanly closed store, append beyond the marker
    // (durable and not), lose power with and without a torn tail.
    for torn_keep in [0usize, 40, 150, 10_000] {
        let dir = SimDir::new();
        let (mut out, _, closed) = marker_workload(&dir, None);
        closed.unwrap();
        let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
        for step in 0..6u64 {
            let stream = step % 2;
            let events: Vec<Vec<u8>> = (0..2)
                .map(|i| format!("late{stream}b{step}e{i}:{}", "z".repeat(90)).into_bytes())
                .collect();
            let fsync = step == 2;
            store.append_batch(stream, &events, None, fsync).unwrap();
            out.attempts.push(Attempt {
                stream,
                events,
                ok: true,
                durable: fsync,
            });
        }
        drop(store);
        dir.power_loss(torn_keep);
        check_recovered(&dir, &out, &format!("stale marker, torn_keep={torn_keep}"));
    }
}
