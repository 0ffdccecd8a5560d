//! Issue 14: live tail. Emitted as system "follow":
//!
//! - `follow/latency/inproc/{p50,p99,max}` (µs): an append to a waiter's
//!   return in the same process (the waiter asleep before each append).
//! - `follow/latency/xproc/{p50,p99,max}` (µs): the same for a read-only
//!   store in another process, which learns of the append from inotify.
//! - `follow/writer/alone` and `follow/writer/followed` (events/s): a
//!   writer appending batches of 1000 events of 100 B, without and with a
//!   follower process reading everything it writes; `follow/follower`
//!   (events/s): the follower's rate over the same run, start to caught up.
//! - `follow/follower/backlog` (events/s): a follower's own pace, reading
//!   the same writer's events all written while it waited (paused on its
//!   stdin), so the two never share the CPUs.
//! - `follow/idle-cpu` (ms): CPU time a follower process spends waiting
//!   10 s on a stream (holding one event) nothing is appended to.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stratalog_core::{Options, Store};

use crate::{emit, events, Cfg};

const STREAM: u64 = 1;
const LATENCY_SAMPLES: u64 = 1000;
const IDLE: Duration = Duration::from_secs(10);

pub fn run(cfg: &Cfg) {
    in_process_latency(cfg);
    cross_process_latency(cfg);
    throughput(cfg);
    idle_cpu(cfg);
}

fn emit_latencies(kind: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    emit(
        "follow",
        &format!("follow/latency/{kind}/p50"),
        at(0.50),
        "us",
    );
    emit(
        "follow",
        &format!("follow/latency/{kind}/p99"),
        at(0.99),
        "us",
    );
    emit(
        "follow",
        &format!("follow/latency/{kind}/max"),
        at(1.0),
        "us",
    );
}

fn in_process_latency(cfg: &Cfg) {
    let store = Arc::new(Store::open(cfg.scratch("follow-inproc"), Options::default()).unwrap());
    let base = Instant::now();
    let sent: Arc<Vec<AtomicU64>> =
        Arc::new((0..LATENCY_SAMPLES).map(|_| AtomicU64::new(0)).collect());
    let waiter = {
        let (store, sent) = (store.clone(), sent.clone());
        std::thread::spawn(move || {
            (0..LATENCY_SAMPLES)
                .map(|i| {
                    store.wait(STREAM, i, None).unwrap();
                    let now = base.elapsed().as_nanos() as u64;
                    (now - sent[i as usize].load(Ordering::Acquire)) as f64 / 1e3
                })
                .collect::<Vec<f64>>()
        })
    };
    for i in 0..LATENCY_SAMPLES {
        // Long enough for the waiter to be asleep again.
        std::thread::sleep(Duration::from_micros(300));
        sent[i as usize].store(base.elapsed().as_nanos() as u64, Ordering::Release);
        store.append(STREAM, b"x").unwrap();
    }
    emit_latencies("inproc", waiter.join().unwrap());
}

fn wall_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn child(mode: &str, path: &Path, arg: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "run",
            "follow-child",
            mode,
            &path.display().to_string(),
            &arg.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child's "ready" line: it has opened the store.
fn ready(child: &mut std::process::Child) -> std::io::Lines<BufReader<std::process::ChildStdout>> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    lines
}

fn cross_process_latency(cfg: &Cfg) {
    let path = cfg.scratch("follow-xproc");
    let store = Store::open(&path, Options::default()).unwrap();
    let mut follower = child("latency", &path, LATENCY_SAMPLES);
    let lines = ready(&mut follower);
    for _ in 0..LATENCY_SAMPLES {
        std::thread::sleep(Duration::from_millis(2));
        store.append(STREAM, wall_nanos().to_le_bytes()).unwrap();
    }
    let micros: Vec<f64> = lines
        .map_while(Result::ok)
        .filter_map(|l| l.parse().ok())
        .collect();
    follower.wait().unwrap();
    assert_eq!(micros.len() as u64, LATENCY_SAMPLES);
    emit_latencies("xproc", micros);
}

fn throughput(cfg: &Cfg) {
    let evs = events(100, 1000);
    let batch: Vec<&Vec<u8>> = evs.iter().collect();
    let rounds = |store: &Store| {
        let start = Instant::now();
        let mut n = 0u64;
        while n < 20 || start.elapsed() < cfg.budget * 4 {
            store.append_batch(STREAM, &batch, None, false).unwrap();
            n += 1;
        }
        (n * 1000, start.elapsed().as_secs_f64())
    };
    let alone = Store::open(cfg.scratch("follow-alone"), Options::default()).unwrap();
    let (events_alone, secs) = rounds(&alone);
    emit(
        "follow",
        "follow/writer/alone",
        events_alone as f64 / secs,
        "events/s",
    );
    drop(alone);

    let path = cfg.scratch("follow-followed");
    let store = Store::open(&path, Options::default()).unwrap();
    let mut follower = child("drain", &path, 0);
    let mut lines = ready(&mut follower);
    let (written, secs) = rounds(&store);
    emit(
        "follow",
        "follow/writer/followed",
        written as f64 / secs,
        "events/s",
    );
    // The end: one event more tells the follower where to stop.
    store.append(STREAM, b"end").unwrap();
    let caught_up: f64 = lines.next().unwrap().unwrap().parse().unwrap();
    follower.wait().unwrap();
    emit(
        "follow",
        "follow/follower",
        (written + 1) as f64 / caught_up,
        "events/s",
    );
    drop(store);

    // The follower's own pace: the same writer's events, all written
    // before a follower (open since the start, paused on its stdin) reads
    // them, so neither shares the CPUs with the other.
    let path = cfg.scratch("follow-backlog");
    let store = Store::open(&path, Options::default()).unwrap();
    let mut follower = child("backlog", &path, 0);
    let mut lines = ready(&mut follower);
    let (written, _) = rounds(&store);
    store.append(STREAM, b"end").unwrap();
    {
        use std::io::Write;
        let mut go = follower.stdin.take().unwrap();
        writeln!(go, "go").unwrap();
    }
    let caught_up: f64 = lines.next().unwrap().unwrap().parse().unwrap();
    follower.wait().unwrap();
    emit(
        "follow",
        "follow/follower/backlog",
        (written + 1) as f64 / caught_up,
        "events/s",
    );
}

fn idle_cpu(cfg: &Cfg) {
    let path = cfg.scratch("follow-idle");
    // A stream with an event: its directory exists, so the follower
    // watches it and lists it on each refresh (an empty store's follower
    // watches only streams/, and missed the refresh loop its own reads of
    // the stream's directory once caused).
    let writer = Store::open(&path, Options::default()).unwrap();
    writer.append(STREAM, b"x").unwrap();
    writer.close().unwrap();
    let mut follower = child("idle", &path, IDLE.as_millis() as u64);
    let mut lines = ready(&mut follower);
    let cpu_ms: f64 = lines.next().unwrap().unwrap().parse().unwrap();
    follower.wait().unwrap();
    emit("follow", "follow/idle-cpu", cpu_ms, "ms");
}

/// CPU time (user + system) of this process so far, in milliseconds.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15: indexes 11 and 12 here. The
    // kernel reports them in USER_HZ, 100 on Linux.
    (ticks(11) + ticks(12)) * 10.0
}

/// `stratabench run follow-child MODE PATH ARG`: the follower process.
pub fn child_main(mode: &str, path: &str, arg: u64) {
    let store = Store::open_read_only(path).unwrap();
    println!("ready");
    match mode {
        "latency" => {
            for i in 0..arg {
                store.wait(STREAM, i, None).unwrap();
                let now = wall_nanos();
                let event = store.read_from(STREAM, i, 64).unwrap();
                let mut sent = [0u8; 16];
                sent.copy_from_slice(&event[0][..16]);
                let micros = now.saturating_sub(u128::from_le_bytes(sent)) as f64 / 1e3;
                println!("{micros}");
            }
        }
        "drain" | "backlog" => {
            if mode == "backlog" {
                let mut go = String::new();
                std::io::stdin().read_line(&mut go).unwrap();
            }
            let start = Instant::now();
            let mut iter = store.iter(STREAM, 0).unwrap();
            loop {
                store.wait(STREAM, iter.next_offset(), None).unwrap();
                store.extend_iter(&mut iter).unwrap();
                let mut last = None;
                for item in &mut iter {
                    last = Some(item.unwrap().1);
                }
                if last.is_some_and(|e| e[..] == b"end"[..]) {
                    break;
                }
            }
            println!("{}", start.elapsed().as_secs_f64());
        }
        "idle" => {
            let before = cpu_ms();
            let got = store.wait(STREAM, 1, Some(Duration::from_millis(arg)));
            assert!(got.is_err());
            println!("{}", cpu_ms() - before);
        }
        _ => panic!("unknown follow-child mode {mode}"),
    }
}
