#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The verifier script in docs/FORMAT.md, run on stores this library wrote
//! and on damaged copies of them: the document alone is enough to check a
//! store, and the script and the library agree on every head and on the
//! kind of every failure (`Corruption` or `ChainMismatch`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{parse_segment, segment_header, segments, small, write_segment, Rec};
use stratalog_core::{Error, Options, Store};

fn script() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/FORMAT.md"))
            .unwrap();
    let start = doc
        .find("```python\n")
        .expect("a python block in FORMAT.md")
        + "```python\n".len();
    let len = doc[start..].find("```").unwrap();
    doc[start..start + len].to_string()
}

fn run(store: &Path) -> std::process::Output {
    let file = store.parent().unwrap().join("verify.py");
    std::fs::write(&file, script()).unwrap();
    Command::new("python3")
        .arg(&file)
        .arg(store)
        .output()
        .expect("python3 is needed for this test")
}

/// Per stream, what a verifier concluded: `ok <head>`, `corruption` or
/// `chain`.
type Verdicts = BTreeMap<u64, String>;

fn script_verdicts(store: &Path) -> Verdicts {
    let out = run(store);
    let mut verdicts = Verdicts::new();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stdout.lines().chain(stderr.lines()) {
        let Some(rest) = line.strip_prefix("stream ") else {
            panic!("unexpected script output: {line}\n{stderr}");
        };
        let (id, what) = rest.split_once(": ").unwrap();
        let verdict = match what.strip_prefix("FAILED: ") {
            Some(failure) => failure.split(':').next().unwrap().to_string(),
            None => format!("ok {what}"),
        };
        verdicts.insert(id.parse().unwrap(), verdict);
    }
    assert_eq!(
        out.status.success(),
        verdicts.values().all(|v| v.starts_with("ok")),
        "{stdout}{stderr}"
    );
    verdicts
}

/// What the library says through a read-only open with default options,
/// as the CLI opens a store.
fn library_verdicts(store: &Path) -> Verdicts {
    let store = Store::open_read_only(store).unwrap();
    let mut verdicts = Verdicts::new();
    for id in store.streams().unwrap() {
        let verdict = match store.verify(id) {
            Ok(report) => format!("ok {}", report.head),
            Err(Error::Corruption { .. }) => "corruption".into(),
            Err(Error::ChainMismatch { .. }) => "chain".into(),
            Err(other) => panic!("stream {id}: unexpected error {other:?}"),
        };
        verdicts.insert(id, verdict);
    }
    verdicts
}

fn agree(store: &Path) -> Verdicts {
    let library = library_verdicts(store);
    assert_eq!(
        script_verdicts(store),
        library,
        "script and library disagree"
    );
    library
}

const STREAMS: [u64; 3] = [0, 5, 1 << 40];

/// A store of three streams with at least four segments each, checkpoints
/// every 3 events, batches of 3.
fn build(root: &Path) -> Verdicts {
    let store = Store::open(root, small(4096, 3)).unwrap();
    let mut expected = Verdicts::new();
    for stream in STREAMS {
        for batch in 0..50u64 {
            let events: Vec<Vec<u8>> = (0..3)
                .map(|i| common::payload(stream, batch * 3 + i, (i as usize) * 40))
                .collect();
            store.append_batch(stream, &events, None, false).unwrap();
        }
        assert!(segments(root, stream).len() >= 4);
        let head = store.chain_head(stream).unwrap();
        expected.insert(stream, format!("ok {head}"));
    }
    store.close().unwrap();
    expected
}

#[test]
fn script_reproduces_every_head() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let expected = build(&root);
    assert_eq!(script_verdicts(&root), expected);
    assert_eq!(agree(&root), expected);
}

#[test]
fn spec_vectors_through_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, Options::default()).unwrap();
    for e in [&b"alpha"[..], b"beta", b"gamma", b""] {
        store.append(1, e).unwrap();
    }
    drop(store);
    let out = run(&root);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stream 1: 4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc\n"
    );
}

/// The false alarm an outside verifier found in 0.1: a store written with a
/// larger maximum event size verifies everywhere, because every segment
/// records its own limit.
#[test]
fn events_above_the_default_limit_verify_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let options = Options {
        max_event_size: 64 << 20,
        ..Options::default()
    };
    let big = common::payload(3, 0, 24 << 20);
    let store = Store::open(&root, options).unwrap();
    store.append(3, b"small").unwrap();
    let head = store.append(3, &big).unwrap();
    store.close().unwrap();

    let verdicts = agree(&root);
    assert_eq!(verdicts[&3], format!("ok {head}"));
    let reader = Store::open_read_only(&root).unwrap();
    assert_eq!(reader.read_from(3, 1, u64::MAX).unwrap()[0], big[..]);
    // A writer with the default options reads it too, and writes its own
    // events under its own limit in a new segment.
    let store = Store::open(&root, Options::default()).unwrap();
    assert_eq!(store.read_from(3, 1, u64::MAX).unwrap()[0], big[..]);
    let head = store.append(3, b"after").unwrap();
    store.verify_against(3, &head).unwrap();
    assert_eq!(segments(&root, 3).len(), 2);
    store.close().unwrap();
    assert_eq!(agree(&root)[&3], format!("ok {head}"));
}

/// A segment whose header records a smaller limit than an event in it is
/// damage, whatever the reader's own options.
#[test]
fn an_event_over_its_segments_recorded_limit_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, Options::default()).unwrap();
    store.append(1, vec![7u8; 5000]).unwrap();
    store.append(1, b"tail").unwrap();
    store.close().unwrap();
    let seg = &segments(&root, 1)[0];
    let mut bytes = std::fs::read(seg).unwrap();
    bytes[12..16].copy_from_slice(&4096u32.to_le_bytes());
    let crc = common::crc32(&bytes[..76]);
    bytes[76..80].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(seg, bytes).unwrap();
    assert_eq!(agree(&root)[&1], "corruption");
}

fn cut_record(seg: &Path, pick: impl Fn(&[Rec]) -> usize) {
    let (header, mut recs) = parse_segment(&std::fs::read(seg).unwrap());
    let at = pick(&recs);
    recs.remove(at);
    write_segment(seg, &header, &recs);
}

fn first_event_mid_batch(recs: &[Rec]) -> usize {
    recs.iter()
        .position(|r| r.kind == 0 && r.flags == 0)
        .unwrap()
}

fn first_checkpoint(recs: &[Rec]) -> usize {
    recs.iter().position(|r| r.kind == 1).unwrap()
}

/// A way of damaging a stream (given its segment files), the verdict both
/// verifiers must reach for it, and its name.
type DamageCase = (&'static str, &'static str, fn(&[PathBuf]));

/// Each way of damaging stream 5 (docs/FORMAT.md, "Which error").
fn damage_cases() -> Vec<DamageCase> {
    vec![
        (
            "flip a payload byte of a sealed segment",
            "corruption",
            |s| {
                let mut b = std::fs::read(&s[1]).unwrap();
                let at = b.len() - 10;
                b[at] ^= 1;
                std::fs::write(&s[1], b).unwrap();
            },
        ),
        (
            "flip a payload byte of the last segment",
            "corruption",
            |s| {
                let last = s.last().unwrap();
                let mut b = std::fs::read(last).unwrap();
                b[200] ^= 1;
                std::fs::write(last, b).unwrap();
            },
        ),
        ("cut a record out of a sealed segment", "chain", |s| {
            cut_record(&s[1], first_event_mid_batch)
        }),
        ("cut a record out of the last segment", "chain", |s| {
            cut_record(s.last().unwrap(), first_event_mid_batch)
        }),
        ("remove the first segment", "corruption", |s| {
            std::fs::remove_file(&s[0]).unwrap()
        }),
        ("remove a middle segment", "chain", |s| {
            std::fs::remove_file(&s[1]).unwrap()
        }),
        ("delete a checkpoint of a sealed segment", "chain", |s| {
            cut_record(&s[1], first_checkpoint)
        }),
        ("delete a checkpoint of the last segment", "chain", |s| {
            cut_record(s.last().unwrap(), first_checkpoint)
        }),
        ("insert a checkpoint where none belongs", "chain", |s| {
            let (header, mut recs) = parse_segment(&std::fs::read(&s[1]).unwrap());
            let at = first_event_mid_batch(&recs);
            let forged = Rec {
                kind: 1,
                codec: 0,
                flags: 0,
                stored: Vec::new(),
                ..recs[at].clone()
            };
            recs.insert(at, forged);
            write_segment(&s[1], &header, &recs);
        }),
        ("duplicate a checkpoint", "chain", |s| {
            let (header, mut recs) = parse_segment(&std::fs::read(&s[1]).unwrap());
            let at = first_checkpoint(&recs);
            recs.insert(at, recs[at].clone());
            write_segment(&s[1], &header, &recs);
        }),
        ("end a sealed segment inside a batch", "chain", |s| {
            let (header, mut recs) = parse_segment(&std::fs::read(&s[1]).unwrap());
            recs.last_mut().unwrap().flags = 0;
            write_segment(&s[1], &header, &recs);
        }),
        ("give a segment another base hash", "chain", |s| {
            let (header, recs) = parse_segment(&std::fs::read(&s[2]).unwrap());
            let base = u64::from_le_bytes(header[24..32].try_into().unwrap());
            write_segment(&s[2], &segment_header(&header, base, &[1; 32]), &recs);
        }),
        // Batch boundaries are not covered by the chain (docs/FORMAT.md,
        // "What the chain covers"): clearing a COMMIT flag in the middle of
        // a segment merges two batches and changes no event.
        ("clear a COMMIT flag mid-segment", "ok", |s| {
            let (header, mut recs) = parse_segment(&std::fs::read(&s[1]).unwrap());
            let at = recs.iter().position(|r| r.flags == 1).unwrap();
            recs[at].flags = 0;
            write_segment(&s[1], &header, &recs);
        }),
        // An unfinished batch at the end of the last segment is a torn tail:
        // a read-only reader ignores it, and so does the script.
        ("tear the last batch", "ok", |s| {
            let last = s.last().unwrap();
            let len = std::fs::metadata(last).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(last).unwrap();
            f.set_len(len - 7).unwrap();
        }),
        ("zero-fill after the last batch", "ok", |s| {
            let last = s.last().unwrap();
            let mut b = std::fs::read(last).unwrap();
            b.extend_from_slice(&[0u8; 300]);
            std::fs::write(last, b).unwrap();
        }),
    ]
}

#[test]
fn script_and_library_agree_on_every_kind_of_damage() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine");
    let expected = build(&pristine);
    for (what, verdict, damage) in damage_cases() {
        let root = dir.path().join(what.replace(' ', "-"));
        common::copy_dir(&pristine, &root);
        damage(&segments(&root, 5));
        let verdicts = library_verdicts(&root);
        assert_eq!(
            script_verdicts(&root),
            verdicts,
            "{what}: script and library disagree"
        );
        let got = &verdicts[&5];
        match verdict {
            "ok" => assert!(got.starts_with("ok"), "{what}: {got}"),
            kind => assert_eq!(got, kind, "{what}"),
        }
        // The other streams are untouched.
        for other in [0, 1 << 40] {
            assert_eq!(verdicts[&other], expected[&other], "{what}");
        }
    }
}

/// Segments whose batches begin with time records read the same in both
/// verifiers, and a time record removed or moved is `chain` in both.
#[test]
fn timed_segments_through_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("timed");
    let options = Options {
        timestamps: true,
        ..small(4096, 3)
    };
    let store = Store::open(&root, options).unwrap();
    let mut expected = Verdicts::new();
    for stream in [0u64, 5] {
        for batch in 0..40u64 {
            let events: Vec<Vec<u8>> = (0..3)
                .map(|i| common::payload(stream, batch * 3 + i, 40))
                .collect();
            store.append_batch(stream, &events, None, false).unwrap();
        }
        expected.insert(stream, format!("ok {}", store.chain_head(stream).unwrap()));
    }
    store.close().unwrap();
    assert_eq!(agree(&root), expected);
    for (what, edit) in [("remove", 0usize), ("move", 1)] {
        let copy = dir.path().join(what);
        common::copy_dir(&root, &copy);
        let seg = &segments(&copy, 5)[1];
        let (header, mut recs) = parse_segment(&std::fs::read(seg).unwrap());
        let at = recs.iter().skip(1).position(|r| r.kind == 2).unwrap() + 1;
        let rec = recs.remove(at);
        if edit == 1 {
            recs.insert(at + 1, rec);
        }
        write_segment(seg, &header, &recs);
        let verdicts = agree(&copy);
        assert_eq!(verdicts[&5], "chain", "{what}");
        assert_eq!(verdicts[&0], expected[&0]);
    }
}

/// A pruned stream verifies from its anchor in both verifiers, and damage
/// to the anchor is judged alike.
#[test]
fn pruned_streams_verify_from_their_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pruned");
    let expected = build(&root);
    {
        let store = Store::open(&root, small(4096, 3)).unwrap();
        assert!(store.prune(5, 100).unwrap() > 0);
        store.close().unwrap();
    }
    assert_eq!(agree(&root), expected);
    let anchor = root
        .join("streams")
        .join(format!("{:020}", 5))
        .join("ANCHOR");
    let pristine = std::fs::read(&anchor).unwrap();
    let with_crc = |mut body: Vec<u8>| {
        body.truncate(body.len() - 4);
        let crc = common::crc32(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    };
    let mut forged_hash = pristine.clone();
    forged_hash[40] ^= 1;
    let mut flipped = pristine.clone();
    flipped[40] ^= 1;
    let cases: [(&str, Option<Vec<u8>>, &str); 3] = [
        ("anchor removed", None, "corruption"),
        ("anchor byte flipped", Some(flipped), "corruption"),
        ("anchor hash forged", Some(with_crc(forged_hash)), "chain"),
    ];
    for (what, bytes, verdict) in cases {
        let copy = dir.path().join(what.replace(' ', "-"));
        common::copy_dir(&root, &copy);
        let at = copy
            .join("streams")
            .join(format!("{:020}", 5))
            .join("ANCHOR");
        match bytes {
            None => std::fs::remove_file(&at).unwrap(),
            Some(b) => std::fs::write(&at, b).unwrap(),
        }
        let verdicts = agree(&copy);
        assert_eq!(verdicts[&5], verdict, "{what}");
        assert_eq!(verdicts[&0], expected[&0], "{what}");
    }
}

/// Stores 0.1 wrote (version-1 segments, which record no rules) still read
/// and verify; a writer upgrades the marker and puts new events in
/// version-2 segments.
#[test]
fn version_one_stores_read_verify_and_grow() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let expected = build(&root);
    // Rewrite the store as 0.1 wrote it.
    let mut marker = std::fs::read(root.join("STRATALOG")).unwrap();
    marker[8..12].copy_from_slice(&1u32.to_le_bytes());
    let crc = common::crc32(&marker[..12]);
    marker[12..16].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(root.join("STRATALOG"), marker).unwrap();
    for file in common::files(&root) {
        match file.extension().and_then(|e| e.to_str()) {
            Some("idx") => std::fs::remove_file(&file).unwrap(),
            Some("seg") => {
                let (header, recs) = parse_segment(&std::fs::read(&file).unwrap());
                write_segment(&file, &common::v1_header(&header), &recs);
            }
            _ => {}
        }
    }
    assert_eq!(agree(&root), expected);

    let store = Store::open(&root, small(4096, 3)).unwrap();
    let before = segments(&root, 5).len();
    let head = store.append(5, b"written by 0.2").unwrap();
    store.verify_against(5, &head).unwrap();
    store.close().unwrap();
    let segs = segments(&root, 5);
    assert_eq!(segs.len(), before + 1, "the v1 active segment was sealed");
    let newest = std::fs::read(segs.last().unwrap()).unwrap();
    assert_eq!(newest[8..12], 2u32.to_le_bytes());
    assert_eq!(
        std::fs::read(root.join("STRATALOG")).unwrap()[8..12],
        2u32.to_le_bytes()
    );
    assert_eq!(agree(&root)[&5], format!("ok {head}"));
}

/// A writer reopened with another checkpoint interval or event limit never
/// mixes rules inside one segment.
#[test]
fn reopening_with_other_options_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut head = None;
    for (round, interval) in [3u64, 5, 5, 2].into_iter().enumerate() {
        let store = Store::open(&root, small(1 << 20, interval)).unwrap();
        for b in 0..4u64 {
            let events: Vec<Vec<u8>> = (0..3)
                .map(|i| format!("round {round} batch {b} event {i}").into_bytes())
                .collect();
            head = Some(store.append_batch(9, &events, None, false).unwrap());
        }
        store.close().unwrap();
    }
    // Rounds 2 and 3 share a segment; every change of interval rotated.
    assert_eq!(segments(&root, 9).len(), 3);
    assert_eq!(agree(&root)[&9], format!("ok {}", head.unwrap()));
}

/// An active segment that holds no records yet (a crash right after a
/// rotation created it) takes the rules of the next writer: its header is
/// rewritten rather than a second segment started at the same offset.
#[test]
fn an_empty_active_segment_takes_the_next_writers_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root, small(4096, 3)).unwrap();
    for b in 0..40u64 {
        let events: Vec<Vec<u8>> = (0..3)
            .map(|i| format!("batch {b} event {i} {}", "x".repeat(40)).into_bytes())
            .collect();
        store.append_batch(4, &events, None, false).unwrap();
    }
    store.close().unwrap();
    let segs = segments(&root, 4);
    let last = segs.last().unwrap();
    let base = u64::from_le_bytes(std::fs::read(last).unwrap()[24..32].try_into().unwrap());
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(common::SEG_HEADER as u64)
        .unwrap();

    let store = Store::open(&root, small(4096, 5)).unwrap();
    assert_eq!(store.chain_head(4).unwrap().next_offset, base);
    let header = std::fs::read(last).unwrap();
    assert_eq!(header.len(), common::SEG_HEADER);
    assert_eq!(header[64..72], 5u64.to_le_bytes());
    let head = store
        .append_batch(
            4,
            &[b"a".as_slice(), b"b", b"c", b"d", b"e", b"f"],
            None,
            false,
        )
        .unwrap();
    store.close().unwrap();
    assert_eq!(segments(&root, 4).len(), segs.len());
    assert_eq!(agree(&root)[&4], format!("ok {head}"));
}
