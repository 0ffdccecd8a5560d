#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash testing with real processes: a driver appends fsync'd batches and
//! prints each acknowledged head; the harness kills it with SIGKILL at random
//! moments and checks the store every time.
//!
//! `STRATALOG_CRASH_ITERS` sets the number of kills (200 by default;
//! `make stress` runs thousands).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use stratalog_core::{ChainHead, Options, Store};

const DRIVER_ENV: &str = "STRATALOG_CRASH_DRIVER_DIR";
const STREAMS: u64 = 2;

fn options() -> Options {
    Options {
        segment_size: 1 << 20,
        checkpoint_interval: 16,
        ..Options::default()
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The event at `offset` of `stream`: its size and bytes follow from both,
/// so the harness can check content without being told it.
fn event(stream: u64, offset: u64) -> Vec<u8> {
    let mut rng = Rng((stream + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ offset.wrapping_mul(0xD1B5_4A32_D192_ED03)
        | 1);
    // Mostly small, now and then up to 64 KiB.
    let len = (rng.unit().powi(8) * 65536.0) as usize;
    let fill = rng.next() as u8;
    let mut e = vec![fill; len];
    e.extend_from_slice(&offset.to_le_bytes());
    e
}

/// The driver process: appends forever, printing `B stream start count`
/// before a batch and `A stream next_offset hash` once it is acknowledged.
#[test]
fn crash_driver() {
    let Ok(dir) = std::env::var(DRIVER_ENV) else {
        return;
    };
    let seed: u64 = std::env::var("STRATALOG_CRASH_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let store = Store::open(&dir, options()).unwrap();
    let mut rng = Rng(seed | 1);
    let stdout = std::io::stdout();
    // Ends the harness's "test crash_driver ... ", which has no line
    // break: the first "B" line would follow it and go unread.
    writeln!(stdout.lock()).unwrap();
    loop {
        let stream = rng.next() % STREAMS;
        let start = store.chain_head(stream).unwrap().next_offset;
        let count = 1 + (rng.unit().powi(4) * 499.0) as u64;
        let events: Vec<Vec<u8>> = (start..start + count).map(|o| event(stream, o)).collect();
        writeln!(stdout.lock(), "B {stream} {start} {count}").unwrap();
        let head = store
            .append_batch(stream, &events, Some(start), true)
            .unwrap();
        writeln!(stdout.lock(), "A {stream} {}", head).unwrap();
    }
}

#[derive(Default, Clone, Copy)]
struct StreamLog {
    acked: Option<ChainHead>,
    in_flight: Option<(u64, u64)>,
}

fn parse_log(lines: &[String]) -> [StreamLog; STREAMS as usize] {
    let mut logs = [StreamLog::default(); STREAMS as usize];
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["B", s, start, count] => {
                logs[s.parse::<usize>().unwrap()].in_flight =
                    Some((start.parse().unwrap(), count.parse().unwrap()));
            }
            ["A", s, head] => {
                let log = &mut logs[s.parse::<usize>().unwrap()];
                log.acked = Some(head.parse().unwrap());
                log.in_flight = None;
            }
            // A line cut by the kill.
            _ => {}
        }
    }
    logs
}

fn check_after_kill(dir: &Path, logs: &[StreamLog], checked: &mut [u64], iteration: usize) {
    let store = Store::open(dir, options())
        .unwrap_or_else(|e| panic!("kill {iteration}: reopen failed: {e}"));
    for (stream, log) in logs.iter().enumerate() {
        let stream_id = stream as u64;
        let head = store.chain_head(stream_id).unwrap();
        if let Some(acked) = log.acked {
            // Every acknowledged batch is there and unchanged.
            store
                .verify_against(stream_id, &acked)
                .unwrap_or_else(|e| panic!("kill {iteration}: {e}"));
            let whole_later = log.in_flight.is_some_and(|(start, count)| {
                start == acked.next_offset && head.next_offset == start + count
            });
            assert!(
                head == acked || whole_later,
                "kill {iteration} stream {stream}: head {head} vs acknowledged {acked}"
            );
        } else if let Some((start, count)) = log.in_flight {
            assert!(
                head.next_offset == start || head.next_offset == start + count,
                "kill {iteration}: partial batch visible"
            );
        }
        let report = store
            .verify(stream_id)
            .unwrap_or_else(|e| panic!("kill {iteration}: verify: {e}"));
        assert_eq!(report.head, head);
        // Content of everything new since the last check.
        for item in store
            .iter(stream_id, checked[stream].min(head.next_offset))
            .unwrap()
        {
            let (offset, bytes) = item.unwrap();
            assert_eq!(
                bytes,
                event(stream_id, offset),
                "kill {iteration}: event {offset} of stream {stream}"
            );
        }
        checked[stream] = head.next_offset;
    }
    // The next append continues the chain.
    let head = store.chain_head(0).unwrap();
    let next = store
        .append_batch(
            0,
            &[event(0, head.next_offset)],
            Some(head.next_offset),
            true,
        )
        .unwrap();
    assert_eq!(next, head.advance(&event(0, head.next_offset)));
    checked[0] = next.next_offset;
    // Every other kill the store is closed, leaving tail markers: the next
    // driver appends past them and is killed, so recovery starts from a
    // stale marker as often as from none.
    if iteration.is_multiple_of(2) {
        store
            .close()
            .unwrap_or_else(|e| panic!("kill {iteration}: close: {e}"));
        assert!(dir.join("streams/00000000000000000000/TAIL").exists());
    }
}

/// Reads a store read-only in a loop while the driver writes it: every
/// snapshot must verify.
fn spawn_reader(
    dir: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    verified: Arc<AtomicU64>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            let store = match Store::open_read_only(&dir) {
                Ok(s) => s,
                Err(e) => panic!("read-only open during writes: {e}"),
            };
            for stream in 0..STREAMS {
                store
                    .verify(stream)
                    .unwrap_or_else(|e| panic!("read-only verify during writes: {e}"));
            }
            verified.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Kill loops that run at once, each on stores of its own, so the harness
/// checking one store and the driver writing another use both cores.
const LOOPS: usize = 2;

#[test]
fn kill_nine_at_random_moments() {
    let iterations: usize = std::env::var("STRATALOG_CRASH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let tmp = tempfile::tempdir().unwrap();
    let verified = Arc::new(AtomicU64::new(0));
    let (kills, acknowledged) = thread::scope(|scope| {
        let loops: Vec<_> = (0..LOOPS)
            .map(|l| {
                let dir = tmp.path().join(format!("loop-{l}"));
                let seed = 0x5EED_1234_ABCD_0001 + l as u64 * 0x1_0000_0000;
                // The first loops take one more kill each when the count
                // does not divide evenly.
                let share = iterations / LOOPS + usize::from(l < iterations % LOOPS);
                let verified = &verified;
                thread::Builder::new()
                    .name(format!("kill-loop-{l}"))
                    .spawn_scoped(scope, move || kill_loop(&dir, seed, share, verified))
                    .unwrap()
            })
            .collect();
        loops
            .into_iter()
            .map(|l| l.join().expect("a kill loop failed: its panic is above"))
            .fold((0, 0), |(k, a), (kills, acked)| (k + kills, a + acked))
    });
    println!(
        "kills: {kills}, acknowledged batches: {acknowledged}, read-only verifications during writes: {}",
        verified.load(Ordering::Relaxed)
    );
    assert_eq!(kills, iterations);
    assert!(
        acknowledged > iterations as u64,
        "the driver barely ran: {acknowledged} batches"
    );
}

/// Starts a driver on a store under `root` and kills it, `iterations`
/// times, checking the store after each kill; returns the kills and the
/// batches the drivers acknowledged.
fn kill_loop(root: &Path, seed: u64, iterations: usize, verified: &Arc<AtomicU64>) -> (usize, u64) {
    let mut rng = Rng(seed);
    let mut dir = root.join("store-0");
    let mut checked = [0u64; STREAMS as usize];
    let mut kills = 0;
    let mut acknowledged = 0u64;
    for iteration in 0..iterations {
        // A fresh store every 25 kills keeps the run's disk use bounded.
        if iteration % 25 == 0 {
            dir = root.join(format!("store-{iteration}"));
            std::fs::create_dir_all(&dir).unwrap();
            Store::open(&dir, options()).unwrap();
            checked = [0; STREAMS as usize];
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_driver", "--nocapture", "--test-threads=1"])
            .env(DRIVER_ENV, &dir)
            .env("STRATALOG_CRASH_SEED", rng.next().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let collector = thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let reader =
            (iteration % 4 == 0).then(|| spawn_reader(dir.clone(), stop.clone(), verified.clone()));
        thread::sleep(Duration::from_millis(5 + rng.next() % 60));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // A child that ended before the kill failed (a panic exits 101).
        assert!(
            status.code().is_none(),
            "kill {iteration}: the child exited: {status}"
        );
        kills += 1;
        stop.store(true, Ordering::Release);
        if let Some(r) = reader {
            r.join().unwrap();
        }
        let lines = collector.join().unwrap();
        acknowledged += lines.iter().filter(|l| l.starts_with("A ")).count() as u64;
        let logs = parse_log(&lines);
        check_after_kill(&dir, &logs, &mut checked, iteration);
    }
    (kills, acknowledged)
}
