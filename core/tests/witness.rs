#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Witnesses (C2SP tlog-witness): a store submits its checkpoints to
//! witnesses running on 127.0.0.1 and collects their cosignatures. The
//! witness here follows the spec's add-checkpoint rules: the log's
//! signature, the old size it remembers (409), the consistency proof (422).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;
use stratalog_core::{
    verify_checkpoint, verify_consistency, verify_witnessed_checkpoint, Error, Options, SigningKey,
    Store, Witness,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What a witness cosigned last, by origin: size and root.
type Seen = HashMap<String, (u64, [u8; 32])>;

#[derive(Clone, Copy)]
enum Behaviour {
    Honest,
    /// Signs with a key other than the one it is known by.
    WrongKey,
    /// Answers 503 to everything.
    Down,
}

struct TestWitness {
    url: String,
    key: SigningKey,
    state: Arc<Mutex<Seen>>,
}

impl TestWitness {
    fn start(name: &str, seed: u8, log_vkey: String, behaviour: Behaviour) -> TestWitness {
        let key = SigningKey::from_seed(name, &[seed; 32]);
        let signer = match behaviour {
            Behaviour::WrongKey => SigningKey::from_seed(name, &[seed ^ 0xff; 32]),
            _ => SigningKey::from_seed(name, &[seed; 32]),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<Seen>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                serve(conn, &signer, &log_vkey, &shared, behaviour);
            }
        });
        TestWitness { url, key, state }
    }

    fn spec(&self) -> Witness {
        Witness::parse(&format!("{} {}", self.key.cosigner(), self.url)).unwrap()
    }
}

fn serve(
    conn: TcpStream,
    key: &SigningKey,
    log_vkey: &str,
    state: &Mutex<Seen>,
    behaviour: Behaviour,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    let (status, content) = if !request_line.starts_with("POST /add-checkpoint ") {
        (404, String::new())
    } else if matches!(behaviour, Behaviour::Down) {
        (503, "resting\n".into())
    } else {
        add_checkpoint(&body, key, log_vkey, state)
    };
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{content}",
        content.len()
    );
}

fn add_checkpoint(
    body: &str,
    key: &SigningKey,
    log_vkey: &str,
    state: &Mutex<Seen>,
) -> (u16, String) {
    let (head, note) = body.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    let old: u64 = lines
        .next()
        .unwrap()
        .strip_prefix("old ")
        .unwrap()
        .parse()
        .unwrap();
    let proof: Vec<[u8; 32]> = lines
        .map(|l| B64.decode(l).unwrap().try_into().unwrap())
        .collect();
    let Ok(checkpoint) = verify_checkpoint(note, log_vkey) else {
        return (403, String::new());
    };
    let mut state = state.lock().unwrap();
    let (known, known_root) = state
        .get(&checkpoint.origin)
        .copied()
        .unwrap_or((0, [0; 32]));
    if old > checkpoint.size {
        return (400, String::new());
    }
    if old != known {
        return (409, format!("{known}\n"));
    }
    if old > 0
        && verify_consistency(old, checkpoint.size, &known_root, &checkpoint.root, &proof).is_err()
    {
        return (422, String::new());
    }
    state.insert(
        checkpoint.origin.clone(),
        (checkpoint.size, checkpoint.root),
    );
    let text = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let sig = key.cosign(&text, 1_700_000_000);
    (
        200,
        format!("\u{2014} {} {}\n", key.name(), B64.encode(sig)),
    )
}

fn log_key() -> SigningKey {
    SigningKey::from_seed("example.com/log", &[5u8; 32])
}

#[test]
fn checkpoints_are_cosigned_by_every_witness_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let key = log_key();
    let w1 = TestWitness::start("w1.example", 1, key.vkey(), Behaviour::Honest);
    let w2 = TestWitness::start("w2.example", 2, key.vkey(), Behaviour::Honest);
    let witnesses = [w1.spec(), w2.spec()];
    let cosigners = [w1.key.cosigner().to_string(), w2.key.cosigner().to_string()];
    let cosigner_refs: Vec<&str> = cosigners.iter().map(String::as_str).collect();

    for round in 0..3u64 {
        let events: Vec<Vec<u8>> = (0..100)
            .map(|i| common::payload(1, round * 100 + i, 20))
            .collect();
        store.append_batch(1, &events, None, false).unwrap();
        let note = store
            .witness_checkpoint(1, &key, &witnesses, None, None)
            .unwrap();
        assert_eq!(note.matches('\u{2014}').count(), 3, "{note}");
        let checkpoint =
            verify_witnessed_checkpoint(&note, &key.vkey(), &cosigner_refs, 2).unwrap();
        assert_eq!(checkpoint.size, (round + 1) * 100);
        // The witness's own record moved with each round.
        assert_eq!(
            w1.state.lock().unwrap()["example.com/log/1"].0,
            (round + 1) * 100
        );
    }
    // Three of two is too many; a cosignature with the timestamp edited fails.
    let note = store
        .witness_checkpoint(1, &key, &witnesses, None, None)
        .unwrap();
    assert!(verify_witnessed_checkpoint(&note, &key.vkey(), &cosigner_refs, 3).is_err());
    let log_only = store.checkpoint(1, &key, None, None).unwrap();
    assert!(matches!(
        verify_witnessed_checkpoint(&log_only, &key.vkey(), &cosigner_refs, 1),
        Err(Error::Verification(_))
    ));
}

#[test]
fn a_witness_that_remembers_another_size_is_answered_from_it() {
    // A proxy named for the outside world is never used for a witness on
    // this machine (every test here would fail through this one).
    std::env::set_var("http_proxy", "http://127.0.0.1:9");
    std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let key = log_key();
    let w = TestWitness::start("w.example", 3, key.vkey(), Behaviour::Honest);
    let witnesses = [w.spec()];
    store
        .append_batch(1, &[b"a".as_slice(), b"b", b"c"], None, false)
        .unwrap();
    store
        .witness_checkpoint(1, &key, &witnesses, None, None)
        .unwrap();
    store.close().unwrap();
    // The store forgets what the witness cosigned (a restore, a new
    // machine): the witness says 409 and 3, and the client proves from 3.
    std::fs::remove_dir_all(dir.path().join("witnessed")).unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    store
        .append_batch(1, &[b"d".as_slice(), b"e"], None, false)
        .unwrap();
    let note = store
        .witness_checkpoint(1, &key, &witnesses, None, None)
        .unwrap();
    let vkeys = [w.key.cosigner().to_string()];
    verify_witnessed_checkpoint(&note, &key.vkey(), &[vkeys[0].as_str()], 1).unwrap();
    assert_eq!(w.state.lock().unwrap()["example.com/log/1"].0, 5);
}

#[test]
fn a_fork_a_down_witness_and_a_forged_cosignature_all_fail() {
    let key = log_key();
    let honest = TestWitness::start("honest.example", 4, key.vkey(), Behaviour::Honest);
    let forger = TestWitness::start("forger.example", 5, key.vkey(), Behaviour::WrongKey);
    let down = TestWitness::start("down.example", 6, key.vkey(), Behaviour::Down);

    let a = tempfile::tempdir().unwrap();
    let store = Store::open(a.path(), Options::default()).unwrap();
    store
        .append_batch(1, &[b"one".as_slice(), b"two"], None, false)
        .unwrap();
    store
        .witness_checkpoint(1, &key, &[honest.spec()], None, None)
        .unwrap();
    for witness in [forger.spec(), down.spec()] {
        let err = store
            .witness_checkpoint(1, &key, &[witness], None, None)
            .unwrap_err();
        assert!(matches!(err, Error::WitnessFailed { .. }), "{err}");
    }
    let unreachable =
        Witness::parse(&format!("{} http://127.0.0.1:9", honest.key.cosigner())).unwrap();
    assert!(matches!(
        store.witness_checkpoint(1, &key, &[unreachable], None, None),
        Err(Error::WitnessFailed { .. })
    ));

    // Another store with the same key and origin but another history: the
    // witness refuses to cosign it (the consistency proof fails).
    let b = tempfile::tempdir().unwrap();
    let other = Store::open(b.path(), Options::default()).unwrap();
    other
        .append_batch(1, &[b"uno".as_slice(), b"dos", b"tres"], None, false)
        .unwrap();
    let err = other
        .witness_checkpoint(1, &key, &[honest.spec()], None, None)
        .unwrap_err();
    assert!(err.to_string().contains("422"), "{err}");
    assert_eq!(honest.state.lock().unwrap()["example.com/log/1"].0, 2);

    // Bad witness specs.
    assert!(Witness::parse("no-url").is_err());
    assert!(
        Witness::parse(&format!("{} http://x", key.vkey())).is_err(),
        "a log key is not a cosigner key"
    );
    assert!(Witness::parse(&format!("{} ftp://x", honest.key.cosigner())).is_err());
    assert!(Witness::parse(&format!(
        "{} http://127.0.0.1:135279",
        honest.key.cosigner()
    ))
    .is_err());
}
