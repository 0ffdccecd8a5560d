#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Prune and backup under the simulated file system: every operation they
//! perform fails, every way, followed by a power loss. Afterwards the
//! stream has its old first offset or its new one, every retained event,
//! a chain that verifies and the Merkle root it had; a backup holds its
//! old manifest or its new one, and verifies against whichever it holds.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{payload, small};
use stratalog_core::io::faulty::{Fault, FaultPlan, SimDir};
use stratalog_core::io::StorageDir;
use stratalog_core::{ChainHead, Options, Store};

const S: u64 = 2;

fn options() -> Options {
    small(4096, 16)
}

/// A store on `dir` holding `events` durable events of stream S, with its
/// tree built; returns its head and root.
fn prepared(dir: &SimDir, events: u64) -> (ChainHead, [u8; 32]) {
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let evs: Vec<Vec<u8>> = (0..events).map(|o| payload(S, o, 40)).collect();
    for chunk in evs.chunks(50) {
        store.append_batch(S, chunk, None, true).unwrap();
    }
    let root = store.tree_root(S, None).unwrap();
    let head = store.chain_head(S).unwrap();
    store.close().unwrap();
    (head, root)
}

fn check_stream(dir: &SimDir, head: ChainHead, root: [u8; 32], firsts: &[u64], ctx: &str) -> u64 {
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let first = store.first_offset(S).unwrap();
    assert!(firsts.contains(&first), "{ctx}: first offset {first}");
    let evs = store.read_from(S, first, 1 << 30).unwrap();
    assert_eq!(evs.len() as u64, head.next_offset - first, "{ctx}");
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(&e[..], &payload(S, first + i as u64, 40)[..], "{ctx}");
    }
    store.verify_against(S, &head).unwrap();
    assert_eq!(store.tree_root(S, None).unwrap(), root, "{ctx}");
    store.close().unwrap();
    first
}

#[test]
fn prune_survives_every_fault_and_power_loss() {
    // The clean run: how many operations a prune performs, and where it
    // takes the stream.
    let dir = SimDir::new();
    let (head, root) = prepared(&dir, 1200);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let before = dir.ops();
    let first = store.prune(S, 900).unwrap();
    let prune_ops = dir.ops() - before;
    store.close().unwrap();
    assert!(first > 0 && prune_ops > 3, "{first} {prune_ops}");
    dir.power_loss(0);
    check_stream(&dir, head, root, &[first], "clean");

    let mut fired = 0;
    let mut after_anchor = 0;
    for k in 0..prune_ops + 2 {
        for fault in Fault::ALL {
            for torn_keep in [0usize, 100] {
                let dir = SimDir::new();
                let (head, root) = prepared(&dir, 1200);
                let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
                dir.set_plan(Some(FaultPlan::at(dir.ops() + k, fault)));
                let result = store.prune(S, 900);
                let injected = dir.injected();
                dir.set_plan(None);
                let _ = store.close();
                drop(store);
                let ctx = format!("op {k} {fault:?} torn_keep={torn_keep}");
                if injected.is_some() {
                    fired += 1;
                    // A failure before the prune's anchor is durable is
                    // reported. After it the prune has happened: a segment
                    // file whose rename out of the stream failed is left
                    // for the next writer's open, and the prune succeeds.
                    if let Ok(got) = &result {
                        assert!(
                            matches!(fault, Fault::RenameFail | Fault::CreateFail),
                            "{ctx}: a failure was reported as success"
                        );
                        assert_eq!(*got, first, "{ctx}");
                        after_anchor += 1;
                    }
                }
                dir.power_loss(torn_keep);
                let got = check_stream(&dir, head, root, &[0, first], &ctx);
                if result.is_ok() {
                    assert_eq!(got, first, "{ctx}: an acknowledged prune was undone");
                }
            }
        }
    }
    println!("prune: {fired} faults over {prune_ops} operations, {after_anchor} after the anchor");
    assert!(fired >= 5, "only {fired} faults fired");
    assert!(after_anchor > 0, "no fault hit a rename after the anchor");
}

fn backup_heads(dest: &SimDir) -> Option<Vec<(u64, ChainHead)>> {
    let text = String::from_utf8(dest.read(Path::new("BACKUP")).ok()?).unwrap();
    Some(
        text.lines()
            .filter_map(|l| l.strip_prefix("stream "))
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[0].parse().unwrap(), f[2].parse().unwrap())
            })
            .collect(),
    )
}

fn check_backup(dest: &SimDir, expect: Option<&[(u64, ChainHead)]>, ctx: &str) {
    let Some(heads) = backup_heads(dest) else {
        assert!(
            expect.is_none(),
            "{ctx}: the manifest of a finished backup is gone"
        );
        return;
    };
    // Whatever a manifest names, the files hold.
    if let Some(expect) = expect {
        assert_eq!(heads, expect, "{ctx}");
    }
    if heads.is_empty() {
        // A first backup cut short: it holds nothing yet.
        return;
    }
    let copy = Store::open_on(Arc::new(dest.clone()), options(), false).unwrap();
    for (stream, head) in heads {
        copy.verify_against(stream, &head).unwrap();
    }
}

/// A source store with two streams and a cursor, backed up once into
/// `dest`, then grown and pruned: what an incremental backup finds.
fn source_after_first_backup(dest: &SimDir) -> (SimDir, Store, Vec<(u64, ChainHead)>) {
    let source = SimDir::new();
    prepared(&source, 700);
    let store = Store::open_on(Arc::new(source.clone()), options(), true).unwrap();
    store.append(7, b"another stream").unwrap();
    store.commit_cursor(S, "reader", 10).unwrap();
    let first = store.backup_to(Arc::new(dest.clone())).unwrap();
    let evs: Vec<Vec<u8>> = (700..900).map(|o| payload(S, o, 40)).collect();
    store.append_batch(S, &evs, None, true).unwrap();
    assert!(store.prune(S, 500).unwrap() > 0);
    (source, store, pairs(&first))
}

fn pairs(m: &stratalog_core::BackupManifest) -> Vec<(u64, ChainHead)> {
    m.streams.iter().map(|s| (s.stream, s.head)).collect()
}

#[test]
fn backup_survives_every_fault_and_power_loss() {
    // Clean runs: how many operations a first and an incremental backup
    // perform on the destination.
    let dest = SimDir::new();
    let source = SimDir::new();
    prepared(&source, 700);
    let store = Store::open_on(Arc::new(source.clone()), options(), true).unwrap();
    store.append(7, b"another stream").unwrap();
    let manifest = store.backup_to(Arc::new(dest.clone())).unwrap();
    let first_ops = dest.ops();
    dest.power_loss(0);
    check_backup(&dest, Some(&pairs(&manifest)), "clean first");
    drop(store);
    let dest = SimDir::new();
    let (_source, store, _) = source_after_first_backup(&dest);
    let before = dest.ops();
    let manifest = store.backup_to(Arc::new(dest.clone())).unwrap();
    let second_ops = dest.ops() - before;
    let newer = pairs(&manifest);
    dest.power_loss(0);
    check_backup(&dest, Some(&newer), "clean incremental");
    drop(store);

    let mut fired = 0;
    for incremental in [false, true] {
        let ops = if incremental { second_ops } else { first_ops };
        for k in 0..ops + 2 {
            for fault in Fault::ALL {
                let dest = SimDir::new();
                let (store, older) = if incremental {
                    let (_source, store, older) = source_after_first_backup(&dest);
                    (store, Some(older))
                } else {
                    let source = SimDir::new();
                    prepared(&source, 700);
                    (
                        Store::open_on(Arc::new(source), options(), true).unwrap(),
                        None,
                    )
                };
                dest.set_plan(Some(FaultPlan::at(dest.ops() + k, fault)));
                let result = store.backup_to(Arc::new(dest.clone()));
                let injected = dest.injected();
                dest.set_plan(None);
                let ctx = format!("incremental={incremental} op {k} {fault:?}");
                if injected.is_some() {
                    fired += 1;
                    assert!(result.is_err(), "{ctx}: a failure was reported as success");
                }
                dest.power_loss(0);
                match &result {
                    Ok(m) => check_backup(&dest, Some(&pairs(m)), &ctx),
                    // The old manifest or the new one (the failure came
                    // after it was written), or none for a first backup:
                    // whichever, what it names verifies.
                    Err(_) => {
                        if let Some(older) = &older {
                            let heads = backup_heads(&dest).expect("a manifest survives");
                            assert!(&heads == older || heads == newer, "{ctx}: {heads:?}");
                        }
                        check_backup(&dest, None, &ctx);
                    }
                }
            }
        }
    }
    assert!(fired > 10, "only {fired} faults fired");
}

/// A source whose prune passed everything its first backup into `dest`
/// held of stream S: the next backup has nothing to connect to.
fn source_pruned_past_first_backup(dest: &SimDir) -> (Store, Vec<(u64, ChainHead)>) {
    let source = SimDir::new();
    prepared(&source, 700);
    let store = Store::open_on(Arc::new(source), options(), true).unwrap();
    store.append(7, b"another stream").unwrap();
    let first = store.backup_to(Arc::new(dest.clone())).unwrap();
    let evs: Vec<Vec<u8>> = (700..1500).map(|o| payload(S, o, 40)).collect();
    for chunk in evs.chunks(50) {
        store.append_batch(S, chunk, None, true).unwrap();
    }
    let first_kept = store.prune(S, 1200).unwrap();
    assert!(first_kept > 700, "{first_kept}");
    (store, pairs(&first))
}

/// Such a backup cannot keep its old manifest through the update. Cut
/// short anywhere, it still holds a manifest (the old one, one listing no
/// stream, or the new one), so the next backup into it goes on; one whose
/// manifest was simply gone would be refused as a store for good.
#[test]
fn a_backup_the_store_pruned_past_is_resumed_after_any_fault() {
    let dest = SimDir::new();
    let (store, _) = source_pruned_past_first_backup(&dest);
    let before = dest.ops();
    let manifest = store.backup_to(Arc::new(dest.clone())).unwrap();
    let ops = dest.ops() - before;
    let newer = pairs(&manifest);
    dest.power_loss(0);
    check_backup(&dest, Some(&newer), "clean");
    drop(store);

    let mut fired = 0;
    for k in 0..ops + 2 {
        for fault in Fault::ALL {
            let dest = SimDir::new();
            let (store, older) = source_pruned_past_first_backup(&dest);
            dest.set_plan(Some(FaultPlan::at(dest.ops() + k, fault)));
            let result = store.backup_to(Arc::new(dest.clone()));
            let injected = dest.injected();
            dest.set_plan(None);
            let ctx = format!("op {k} {fault:?}");
            if injected.is_some() {
                fired += 1;
                assert!(result.is_err(), "{ctx}: a failure was reported as success");
            }
            dest.power_loss(0);
            let heads = backup_heads(&dest)
                .unwrap_or_else(|| panic!("{ctx}: the backup lost its manifest"));
            assert!(
                heads == older || heads.is_empty() || heads == newer,
                "{ctx}: {heads:?}"
            );
            check_backup(&dest, None, &ctx);
            let again = store
                .backup_to(Arc::new(dest.clone()))
                .unwrap_or_else(|e| panic!("{ctx}: the next backup failed: {e}"));
            assert_eq!(pairs(&again), newer, "{ctx}");
            dest.power_loss(0);
            check_backup(&dest, Some(&newer), &ctx);
        }
    }
    assert!(fired > 10, "only {fired} faults fired");
}

/// The tree chunks a prune fixes for good cover events up to the next
/// whole chunk, some of them retained: a prune makes them durable first,
/// so a power loss right after it cannot leave the tree describing events
/// the stream lost.
#[test]
fn a_prune_makes_the_events_its_tree_covers_durable_first() {
    let dir = SimDir::new();
    prepared(&dir, 1200);
    let store = Store::open_on(Arc::new(dir.clone()), options(), true).unwrap();
    let evs: Vec<Vec<u8>> = (1200..1290).map(|o| payload(S, o, 40)).collect();
    store.append_batch(S, &evs, None, false).unwrap();
    let head = store.chain_head(S).unwrap();
    let root = store.tree_root(S, None).unwrap();
    let first = store.prune(S, 1190).unwrap();
    assert!(first > 1100, "{first}");
    drop(store);
    dir.power_loss(0);
    check_stream(&dir, head, root, &[first], "power loss after a prune");
}

/// A backup never goes into a store: a cleanly closed store has no `OPEN`
/// file and looks like nothing else, and it is refused untouched.
#[test]
fn a_backup_into_a_closed_store_is_refused() {
    let source = SimDir::new();
    prepared(&source, 300);
    let other = SimDir::new();
    prepared(&other, 100);
    let store = Store::open_on(Arc::new(source), options(), true).unwrap();
    let before = other.ops();
    let err = store.backup_to(Arc::new(other.clone())).unwrap_err();
    assert!(
        err.to_string().contains("is a store, not a backup"),
        "{err}"
    );
    assert_eq!(other.ops(), before, "the store was written to");
    let copy = Store::open_on(Arc::new(other), options(), false).unwrap();
    assert_eq!(copy.chain_head(S).unwrap().next_offset, 100);
}

/// The tree files of stream S in `dir`, by path, with their bytes (temp
/// files left by a copy cut short are not among them).
fn tree_files(dir: &SimDir) -> Vec<(PathBuf, Vec<u8>)> {
    let rel = Path::new("trees").join(format!("{S:020}"));
    let mut out = Vec::new();
    for name in dir.list(&rel).unwrap() {
        if !name.ends_with(".tmp") {
            let path = rel.join(name);
            let bytes = dir.read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

/// A source store backed up once into a new `dest`, whose copy of a tree
/// file then holds more than the store's (what a store whose tree was cut
/// and rebuilt leaves): the next backup must replace it. Returns the
/// store's directory, the store, and the backup's tree files as they were.
fn backup_with_a_changed_tree_file(dest: &SimDir) -> (SimDir, Store, Vec<(PathBuf, Vec<u8>)>) {
    let source = SimDir::new();
    prepared(&source, 700);
    let store = Store::open_on(Arc::new(source.clone()), options(), true).unwrap();
    store.backup_to(Arc::new(dest.clone())).unwrap();
    let (rel, bytes) = tree_files(dest)
        .into_iter()
        .find(|(_, b)| !b.is_empty())
        .expect("a tree file in the backup");
    let file = dest.open(&rel, true).unwrap();
    file.write_all_at(&[0xAB; 100], bytes.len() as u64).unwrap();
    file.sync_data().unwrap();
    (source, store, tree_files(dest))
}

/// A tree file that is not an extension of its copy is replaced by a
/// rename: a backup that fails at any operation (the state a kill at that
/// moment leaves), and then a power loss, leave each tree file of the
/// backup as it was or as the store's, never cut or half rewritten.
#[test]
fn a_changed_tree_file_is_replaced_whole_under_every_fault() {
    let dest = SimDir::new();
    let (_source, store, _) = backup_with_a_changed_tree_file(&dest);
    let before = dest.ops();
    store.backup_to(Arc::new(dest.clone())).unwrap();
    let ops = dest.ops() - before;
    drop(store);

    let mut fired = 0;
    for k in 0..ops + 2 {
        for fault in Fault::ALL {
            let dest = SimDir::new();
            let (source, store, old) = backup_with_a_changed_tree_file(&dest);
            let new: Vec<_> = old
                .iter()
                .map(|(rel, _)| (rel.clone(), source.read(rel).unwrap()))
                .collect();
            dest.set_plan(Some(FaultPlan::at(dest.ops() + k, fault)));
            let result = store.backup_to(Arc::new(dest.clone()));
            if dest.injected().is_some() {
                fired += 1;
                assert!(result.is_err(), "op {k} {fault:?}: reported as success");
            }
            dest.set_plan(None);
            drop(store);
            for stage in ["killed", "power loss"] {
                if stage == "power loss" {
                    dest.power_loss(0);
                }
                for ((rel, was), (_, now)) in old.iter().zip(&new) {
                    let got = dest.read(rel).unwrap();
                    assert!(
                        got == *was || got == *now,
                        "op {k} {fault:?} {stage}: {} holds {} bytes, neither its old {} nor the store's {}",
                        rel.display(),
                        got.len(),
                        was.len(),
                        now.len()
                    );
                }
            }
            check_backup(&dest, None, &format!("op {k} {fault:?}"));
        }
    }
    assert!(fired > 5, "only {fired} faults fired");
}
