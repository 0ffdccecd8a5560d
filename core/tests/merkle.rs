#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Merkle tree of a stream, checkpoints, receipts and tiles: against an
//! independent in-test computation, across rotations and codecs, after
//! damage to the tree files, after kill -9 while the tree is built, and
//! against forgeries.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use stratalog_core::{
    chain_step, to_hex, verify_checkpoint, verify_consistency, verify_inclusion, verify_receipt,
    Compression, Error, Hash, Options, SigningKey, Store, GENESIS_HASH,
};

// ---- an independent RFC 6962 computation ------------------------------

fn leaf(n: u64, h: &Hash) -> Hash {
    let mut s = Sha256::new();
    s.update([0u8]);
    s.update(n.to_le_bytes());
    s.update(h);
    s.finalize().into()
}

fn node(l: &Hash, r: &Hash) -> Hash {
    let mut s = Sha256::new();
    s.update([1u8]);
    s.update(l);
    s.update(r);
    s.finalize().into()
}

fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// Leaf hashes of a stream holding `events`.
fn leaves_of(events: &[Vec<u8>]) -> Vec<Hash> {
    let mut h = GENESIS_HASH;
    events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            h = chain_step(&h, n as u64, e);
            leaf(n as u64, &h)
        })
        .collect()
}

fn events(n: usize, seed: u64) -> Vec<Vec<u8>> {
    (0..n as u64)
        .map(|i| common::payload(seed, i, (i % 37) as usize))
        .collect()
}

fn key() -> SigningKey {
    SigningKey::from_seed("example.com/audit", &[42u8; 32])
}

// ---- vectors ------------------------------------------------------------

#[test]
fn the_format_vectors() {
    let store = Store::open_in_memory(Options::default()).unwrap();
    let evs: Vec<Vec<u8>> = [&b"alpha"[..], b"beta", b"gamma", b""]
        .iter()
        .map(|e| e.to_vec())
        .collect();
    store.append_batch(1, &evs, None, false).unwrap();
    let roots: Vec<String> = (1..=4)
        .map(|n| to_hex(&store.tree_root(1, Some(n)).unwrap()))
        .collect();
    assert_eq!(
        roots,
        [
            "1a8a4d9ed33e3920de25a66d4a1711b32fe9c2dd8af6eef3ebecb374a2b4422a",
            "88c00fab807d250dc1a629b2702c8ae79b2a4140a339fdee549849118dcfa726",
            "76622589fe6f2ceba0b87f3b2c32b432294a720f29be570afd2249dba0f3a804",
            "ed72fa3442d34f9e08b68d2a8896d24f52884b149b599899b5ac17e1bf7827fe",
        ]
    );
    let b64 = |proof: Vec<Hash>| proof.iter().map(|h| base64_of(h)).collect::<Vec<_>>();
    assert_eq!(
        b64(store.inclusion_proof(1, 2, Some(4)).unwrap()),
        [
            "tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=",
            "iMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY="
        ]
    );
    assert_eq!(
        b64(store.consistency_proof(1, 3, Some(4)).unwrap()),
        [
            "dgv2RbXBD0T+Ny7cGLMtwCq97gwI7Gr2JwgSZikq0fE=",
            "tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=",
            "iMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY="
        ]
    );
    assert_eq!(
        to_hex(&store.leaf_data(1, 2).unwrap()),
        format!(
            "0200000000000000{}",
            "4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861"
        )
    );
}

// ---- roots and proofs ---------------------------------------------------

fn check_all_sizes(store: &Store, stream: u64, leaves: &[Hash], sizes: &[u64]) {
    for &size in sizes {
        let root = mth(&leaves[..size as usize]);
        assert_eq!(
            store.tree_root(stream, Some(size)).unwrap(),
            root,
            "size {size}"
        );
        for offset in [0, size / 3, size.saturating_sub(1)] {
            if offset >= size {
                continue;
            }
            let proof = store.inclusion_proof(stream, offset, Some(size)).unwrap();
            let data = store.leaf_data(stream, offset).unwrap();
            verify_inclusion(offset, size, &root, &proof, &data).unwrap();
        }
        for old in [1, size / 2, size.saturating_sub(1), size] {
            if old == 0 || old > size {
                continue;
            }
            let proof = store.consistency_proof(stream, old, Some(size)).unwrap();
            verify_consistency(old, size, &mth(&leaves[..old as usize]), &root, &proof).unwrap();
        }
    }
}

#[test]
fn roots_and_proofs_match_an_independent_tree_across_rotations_and_codecs() {
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let options = common::with_compression(common::small(4096, 7), compression);
        let store = Store::open(dir.path(), options.clone()).unwrap();
        let evs = events(5000, 3);
        let leaves = leaves_of(&evs);
        // In several batches, with roots asked for in between, so the tree
        // is built in steps that do not align with its chunks.
        let mut at = 0;
        for step in [1usize, 63, 1, 64, 200, 1000, 3671] {
            store
                .append_batch(3, &evs[at..at + step], None, false)
                .unwrap();
            at += step;
            assert_eq!(store.tree_root(3, None).unwrap(), mth(&leaves[..at]));
        }
        let sizes = [1, 2, 3, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097, 5000];
        check_all_sizes(&store, 3, &leaves, &sizes);
        store.close().unwrap();
        // Reopened: the same, from the tree files.
        let store = Store::open(dir.path(), options).unwrap();
        check_all_sizes(&store, 3, &leaves, &sizes);
        // A read-only store builds its own, with the same result.
        let reader = Store::open_read_only(dir.path()).unwrap();
        check_all_sizes(&reader, 3, &leaves, &[1, 64, 4097, 5000]);
    }
}

#[test]
fn every_size_up_to_300_and_bad_arguments() {
    let store = Store::open_in_memory(Options::default()).unwrap();
    let evs = events(300, 9);
    let leaves = leaves_of(&evs);
    for e in &evs {
        store.append(9, e).unwrap();
    }
    assert_eq!(
        store.tree_root(9, Some(0)).unwrap(),
        <[u8; 32]>::from(Sha256::digest([]))
    );
    for size in 1..=300u64 {
        assert_eq!(
            store.tree_root(9, Some(size)).unwrap(),
            mth(&leaves[..size as usize])
        );
    }
    assert!(matches!(
        store.tree_root(9, Some(301)),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert!(matches!(
        store.inclusion_proof(9, 10, Some(10)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        store.consistency_proof(9, 11, Some(10)),
        Err(Error::InvalidArgument(_))
    ));
    // An unknown stream is the empty tree.
    assert_eq!(store.tree_root(77, None).unwrap(), mth(&[]));
}

// ---- damage, power loss, kill -9 ---------------------------------------

fn tree_files(root: &Path, stream: u64) -> Vec<std::path::PathBuf> {
    let dir = root.join("trees").join(format!("{stream:020}"));
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn damaged_or_cut_tree_files_are_detected_and_rebuilt_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let evs = events(70_000, 5);
    let leaves = leaves_of(&evs);
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append_batch(5, &evs, None, false).unwrap();
        assert_eq!(store.tree_root(5, None).unwrap(), mth(&leaves));
        store.close().unwrap();
    }
    let files = tree_files(dir.path(), 5);
    assert_eq!(files.len(), 3, "{files:?}"); // two leaf files and the nodes
    let sizes = [1, 64, 1000, 65_536, 65_537, 70_000];
    let cases: Vec<(&str, Damage)> = vec![
        (
            "flip a leaf",
            Box::new(|p: &Path| flip(p, "00000000000000000000.leaves", 5000)),
        ),
        (
            "flip a node",
            Box::new(|p: &Path| flip(p, "nodes", 36 * 700 + 3)),
        ),
        (
            "flip the last node",
            Box::new(|p: &Path| flip_from_end(p, "nodes", 10)),
        ),
        (
            "cut the nodes",
            Box::new(|p: &Path| cut(p, "nodes", 36 * 1000 + 7)),
        ),
        (
            "cut the leaves",
            Box::new(|p: &Path| cut(p, "00000000000000065536.leaves", 2052 * 3 + 1)),
        ),
        (
            "lose the second leaf file",
            Box::new(|p: &Path| {
                fs::remove_file(tree_path(p, "00000000000000065536.leaves")).unwrap()
            }),
        ),
        (
            "lose every tree file",
            Box::new(|p: &Path| fs::remove_dir_all(p.join("trees")).unwrap()),
        ),
    ];
    for (what, damage) in cases {
        let copy = tempfile::tempdir().unwrap();
        common::copy_dir(dir.path(), copy.path());
        damage(copy.path());
        let store = Store::open(copy.path(), Options::default()).unwrap();
        for &size in &sizes {
            assert_eq!(
                store.tree_root(5, Some(size)).unwrap(),
                mth(&leaves[..size as usize]),
                "{what}: size {size}"
            );
            let proof = store.inclusion_proof(5, size - 1, Some(size)).unwrap();
            verify_inclusion(
                size - 1,
                size,
                &mth(&leaves[..size as usize]),
                &proof,
                &store.leaf_data(5, size - 1).unwrap(),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

/// Something done to a copy of a store.
type Damage = Box<dyn Fn(&Path)>;

fn tree_path(root: &Path, name: &str) -> std::path::PathBuf {
    root.join("trees").join(format!("{:020}", 5)).join(name)
}

fn flip(root: &Path, name: &str, at: u64) {
    let path = tree_path(root, name);
    let mut bytes = fs::read(&path).unwrap();
    bytes[at as usize] ^= 0x40;
    fs::write(&path, bytes).unwrap();
}

fn flip_from_end(root: &Path, name: &str, back: usize) {
    let path = tree_path(root, name);
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() - back;
    bytes[at] ^= 0x01;
    fs::write(&path, bytes).unwrap();
}

fn cut(root: &Path, name: &str, len: u64) {
    let file = fs::OpenOptions::new()
        .write(true)
        .open(tree_path(root, name))
        .unwrap();
    file.set_len(len).unwrap();
}

#[test]
fn a_tree_of_another_history_is_not_used() {
    // What a power loss can leave: tree files describing events that were
    // never made durable, and other events appended at those offsets since.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let evs_a = events(1000, 1);
    let evs_b = events(1000, 2);
    for (dir, evs) in [(&a, &evs_a), (&b, &evs_b)] {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append_batch(5, evs, None, false).unwrap();
        store.tree_root(5, None).unwrap();
        store.close().unwrap();
    }
    fs::remove_dir_all(b.path().join("trees")).unwrap();
    common::copy_dir(&a.path().join("trees"), &b.path().join("trees"));
    let store = Store::open(b.path(), Options::default()).unwrap();
    let leaves = leaves_of(&evs_b);
    assert_eq!(store.tree_root(5, None).unwrap(), mth(&leaves));
    assert_eq!(store.tree_root(5, Some(640)).unwrap(), mth(&leaves[..640]));
}

#[test]
fn tree_builder_child() {
    let Some(root) = std::env::var_os("TREE_BUILDER") else {
        return;
    };
    let store = Store::open(&root, Options::default()).unwrap();
    let mut size = 0u64;
    loop {
        size = (size + 7919) % 300_000 + 1;
        store.tree_root(5, Some(size)).unwrap();
        println!("built {size}");
    }
}

#[test]
fn kill_9_while_the_tree_is_built_leaves_roots_identical_to_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let evs = events(300_000, 8);
    let leaves = leaves_of(&evs);
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.append_batch(5, &evs, None, false).unwrap();
        store.close().unwrap();
    }
    for round in 0..3u32 {
        // The writer lock is free: the child opens the store as the writer.
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tree_builder_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TREE_BUILDER", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Rounds 0 and 1 kill it while it builds the tree from the
        // segments; round 2 once it has answered a few times.
        if round < 2 {
            std::thread::sleep(std::time::Duration::from_millis(40 + 80 * u64::from(round)));
        } else {
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            for _ in 0..5 {
                if !matches!(lines.next(), Some(Ok(_))) {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let store = Store::open(dir.path(), Options::default()).unwrap();
        for size in [1u64, 64, 65_536, 99_999, 300_000] {
            assert_eq!(
                store.tree_root(5, Some(size)).unwrap(),
                mth(&leaves[..size as usize]),
                "round {round}, size {size}"
            );
        }
        store.close().unwrap();
    }
}

// ---- checkpoints ---------------------------------------------------------

#[test]
fn checkpoints_are_c2sp_notes_and_never_fork() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let evs = events(100, 4);
    let leaves = leaves_of(&evs);
    store.append_batch(4, &evs[..50], None, false).unwrap();
    let key = key();
    let note = store.checkpoint(4, &key, None, None).unwrap();
    let root_b64 = base64_of(&mth(&leaves[..50]));
    let (text, sig) = note.split_once("\n\n").unwrap();
    assert_eq!(text, format!("example.com/audit/4\n50\n{root_b64}"));
    assert!(sig.starts_with("\u{2014} example.com/audit "), "{sig}");
    assert!(sig.ends_with('\n') && sig.matches('\n').count() == 1);
    let checkpoint = verify_checkpoint(&note, &key.vkey()).unwrap();
    assert_eq!((checkpoint.size, checkpoint.root), (50, mth(&leaves[..50])));
    // Ed25519 is deterministic: the same checkpoint twice is the same bytes.
    assert_eq!(store.checkpoint(4, &key, Some(50), None).unwrap(), note);
    // Another origin is another log.
    let other = store
        .checkpoint(4, &key, Some(10), Some("example.com/other"))
        .unwrap();
    assert!(other.starts_with("example.com/other\n10\n"));
    // Smaller than what was signed: refused.
    assert!(matches!(
        store.checkpoint(4, &key, Some(49), None),
        Err(Error::CheckpointRefused { .. })
    ));
    // A forged note fails; another key fails.
    let forged = note.replace("\n50\n", "\n51\n");
    assert!(matches!(
        verify_checkpoint(&forged, &key.vkey()),
        Err(Error::Verification(_))
    ));
    let stranger = SigningKey::from_seed("example.com/audit", &[1u8; 32]);
    assert!(verify_checkpoint(&note, &stranger.vkey()).is_err());
    store.close().unwrap();

    // A store restored from a copy taken at 30 events, then appended to
    // differently, must not sign over what was signed at 50.
    let restored = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        store.close().unwrap();
    }
    common::copy_dir(dir.path(), restored.path());
    let store = Store::open(restored.path(), Options::default()).unwrap();
    // Same 50 events then more: fine, and the record moves on.
    store.append_batch(4, &evs[50..60], None, false).unwrap();
    store.checkpoint(4, &key, None, None).unwrap();
    store.close().unwrap();
    // Now a history that differs inside what was signed.
    let forked = tempfile::tempdir().unwrap();
    {
        let fresh = Store::open(forked.path(), Options::default()).unwrap();
        fresh.append_batch(4, &events(70, 99), None, false).unwrap();
        fresh.close().unwrap();
    }
    common::copy_dir(&dir.path().join("signed"), &forked.path().join("signed"));
    let store = Store::open(forked.path(), Options::default()).unwrap();
    let err = store.checkpoint(4, &key, None, None).unwrap_err();
    assert!(matches!(err, Error::CheckpointRefused { .. }), "{err}");
    assert!(matches!(
        store.checkpoint(4, &key, Some(50), None),
        Err(Error::CheckpointRefused { .. })
    ));
}

fn base64_of(bytes: &[u8]) -> String {
    // The receipt and checkpoint tests compare against the notes' own base64.
    use std::fmt::Write;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = write!(
                    out,
                    "{}",
                    ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
                );
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- receipts --------------------------------------------------------------

#[test]
fn receipts_verify_offline_and_every_forgery_fails() {
    let store = Store::open_in_memory(Options::default()).unwrap();
    let evs = events(1000, 6);
    store.append_batch(6, &evs, None, false).unwrap();
    let key = key();
    let vkey = key.vkey();
    for offset in [0u64, 1, 500, 999] {
        let receipt = store.receipt(6, offset, &key, None).unwrap();
        assert!(receipt.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        assert!(receipt.contains(&format!("\nindex {offset}\n")));
        let (index, checkpoint) = verify_receipt(&receipt, &vkey, &evs[offset as usize]).unwrap();
        assert_eq!((index, checkpoint.size), (offset, 1000));
        // An edited event fails.
        let mut edited = evs[offset as usize].clone();
        edited.push(b'!');
        let err = verify_receipt(&receipt, &vkey, &edited).unwrap_err();
        assert!(matches!(err, Error::Verification(_)), "{err}");
        // Any edited line fails.
        let lines: Vec<&str> = receipt.split('\n').collect();
        for i in 1..lines.len() - 1 {
            if lines[i].is_empty() {
                continue;
            }
            let mut forged = lines.clone();
            let changed = if lines[i].starts_with("index ") {
                format!("index {}", offset + 1)
            } else {
                flip_base64(lines[i])
            };
            forged[i] = &changed;
            assert!(
                verify_receipt(&forged.join("\n"), &vkey, &evs[offset as usize]).is_err(),
                "line {i} edited: {changed}"
            );
        }
        // Another key fails.
        let stranger = SigningKey::from_seed("example.com/audit", &[9u8; 32]);
        assert!(verify_receipt(&receipt, &stranger.vkey(), &evs[offset as usize]).is_err());
    }
}

fn flip_base64(line: &str) -> String {
    // Change one character of the base64 part, keeping it base64.
    let at = line.rfind(' ').map_or(0, |i| i + 1) + 2;
    let mut chars: Vec<char> = line.chars().collect();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

// ---- keys ------------------------------------------------------------------

#[test]
fn keys_round_trip_through_files_and_the_c2sp_texts() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("example.com/log").unwrap();
    let path = dir.path().join("key");
    key.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("PRIVATE+KEY+example.com/log+"));
    assert_eq!(SigningKey::from_file(&path).unwrap().vkey(), key.vkey());
    assert!(
        key.save(&path).is_err(),
        "an existing key file is never overwritten"
    );
    assert!(!format!("{key:?}").contains(&text.trim()[30..]));
    let vkey = key.vkey();
    let parts: Vec<&str> = vkey.split('+').collect();
    assert_eq!(parts[0], "example.com/log");
    assert_eq!(parts[1].len(), 8);
    assert!(SigningKey::generate("bad name").is_err());
    assert!(SigningKey::generate("a+b").is_err());
    assert!(SigningKey::from_text("PRIVATE+KEY+x+00000000+AAAA").is_err());
}

// ---- tiles -----------------------------------------------------------------

#[test]
fn exported_tiles_hold_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s"), Options::default()).unwrap();
    let evs = events(70_000, 7);
    let leaves = leaves_of(&evs);
    store.append_batch(7, &evs, None, false).unwrap();
    let out = dir.path().join("tiles");
    let key = key();
    let note = store.export_tiles(7, &key, &out, None).unwrap();
    assert_eq!(fs::read_to_string(out.join("checkpoint")).unwrap(), note);
    // 273 full level-0 tiles and one of width 112; one full level-1 tile
    // and one of width 17; one level-2 tile of width 1 (the spec's example).
    assert!(out.join("tile/0/272").is_file());
    assert_eq!(
        fs::read(out.join("tile/0/273.p/112")).unwrap().len(),
        112 * 32
    );
    assert_eq!(
        fs::read(out.join("tile/entries/273.p/112")).unwrap().len(),
        112 * 42
    );
    assert_eq!(fs::read(out.join("tile/1/000")).unwrap().len(), 256 * 32);
    assert_eq!(
        fs::read(out.join("tile/1/001.p/17")).unwrap().len(),
        17 * 32
    );
    assert_eq!(fs::read(out.join("tile/2/000.p/1")).unwrap().len(), 32);
    // Level 0 holds the leaves; level 1 the roots of full level-0 tiles.
    let tile0 = fs::read(out.join("tile/0/005")).unwrap();
    for (i, hash) in tile0.chunks(32).enumerate() {
        assert_eq!(hash, leaves[5 * 256 + i]);
    }
    let tile1 = fs::read(out.join("tile/1/000")).unwrap();
    assert_eq!(&tile1[32 * 3..32 * 4], mth(&leaves[3 * 256..4 * 256]));
    let tile2 = fs::read(out.join("tile/2/000.p/1")).unwrap();
    assert_eq!(tile2, mth(&leaves[..65_536]));
    // Entry bundles: big-endian length 40, then u64_le(n) || h(n).
    let bundle = fs::read(out.join("tile/entries/000")).unwrap();
    assert_eq!(&bundle[..2], &[0, 40]);
    assert_eq!(&bundle[2..10], &0u64.to_le_bytes());
    assert_eq!(store.leaf_data(7, 0).unwrap().as_slice(), &bundle[2..42]);
}

#[test]
fn a_read_only_signer_and_the_writer_share_one_record_of_what_was_signed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let evs = events(100, 12);
    store.append_batch(12, &evs[..60], None, false).unwrap();
    store.sync().unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    let key = key();
    // The reader signs what it sees; the writer may then sign more...
    reader.checkpoint(12, &key, None, None).unwrap();
    assert!(matches!(
        store.checkpoint(12, &key, Some(59), None),
        Err(Error::CheckpointRefused { .. })
    ));
    store.append_batch(12, &evs[60..], None, false).unwrap();
    store.checkpoint(12, &key, None, None).unwrap();
    // ...after which the reader, still at 60, is refused.
    let err = reader.checkpoint(12, &key, None, None).unwrap_err();
    assert!(matches!(err, Error::CheckpointRefused { .. }), "{err}");
    assert!(dir.path().join("signed").join("LOCK").is_file());
}

/// The checkpoint vector of docs/FORMAT.md: RFC 8032's first test key,
/// named `example.com/log`, signing the tree of the chain vectors.
pub const VECTOR_KEY: &str =
    "PRIVATE+KEY+example.com/log+cc714670+AZ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
pub const VECTOR_VKEY: &str =
    "example.com/log+cc714670+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
pub const VECTOR_CHECKPOINT: &str = "example.com/log/1\n4\n7XL6NELTT54Ito0qiJbST1KISxSbWZiZtawX4b94J/4=\n\n\u{2014} example.com/log zHFGcBsSWEnX5ZB+L3J+0wntore5Rf7e3d/qhpR5yKnpEQaBcY8/CgIiESz5sO53KYAuldGR2+bPDIPeTbOeIGfu7wQ=\n";

#[test]
fn the_checkpoint_and_receipt_vectors() {
    let seed: [u8; 32] = stratalog_core::from_hex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    )
    .unwrap();
    let key = SigningKey::from_seed("example.com/log", &seed);
    assert_eq!(&*key.to_text(), VECTOR_KEY);
    assert_eq!(key.vkey(), VECTOR_VKEY);
    assert_eq!(
        SigningKey::from_text(VECTOR_KEY).unwrap().vkey(),
        VECTOR_VKEY
    );
    let store = Store::open_in_memory(Options::default()).unwrap();
    for e in [&b"alpha"[..], b"beta", b"gamma", b""] {
        store.append(1, e).unwrap();
    }
    assert_eq!(
        store.checkpoint(1, &key, None, None).unwrap(),
        VECTOR_CHECKPOINT
    );
    let receipt = store.receipt(1, 2, &key, None).unwrap();
    assert_eq!(
        receipt,
        format!(
            "c2sp.org/tlog-proof@v1\nextra 0Y+/v86GOqXuU7imCmkvyYC5DJcJ15932aqCUkUeIUE=\nindex 2\n\
             tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=\niMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY=\n\n{VECTOR_CHECKPOINT}"
        )
    );
    verify_receipt(&receipt, VECTOR_VKEY, b"gamma").unwrap();
}

#[test]
fn proofs_for_many_streams_keep_a_bounded_set_of_trees_and_stay_right() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let evs = events(70, 13);
    let leaves = leaves_of(&evs);
    for stream in 0..200u64 {
        store.append_batch(stream, &evs, None, false).unwrap();
    }
    // Twice round 200 streams: trees are let go and reloaded from files.
    for _ in 0..2 {
        for stream in 0..200u64 {
            assert_eq!(
                store.tree_root(stream, Some(65)).unwrap(),
                mth(&leaves[..65])
            );
        }
    }
}
