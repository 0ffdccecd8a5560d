"""`make bench`: every workload against every system, in one run.

Runs the drivers (bench/rust, bench/c, bench/python, bench/node) round after
round, the systems in a rotating order so that a burst of load elsewhere on
the machine hits them alike, keeps the median of each figure, and writes
bench/results/latest.md (tables, targets with PASS/MISS, machine) and
bench/results/latest.png (the chart). The Makefile builds everything first;
this script only runs and reports.

Environment: BENCH_ROUNDS (5), BENCH_SECONDS (time budget of one timed cell,
0.3), BENCH_SEQ100 / BENCH_SEQ4K (events in the 100 B / 4 KiB read
datasets), BENCH_SLOW_SEQ100 / BENCH_SLOW_SEQ4K (the same for tamperlog and
hypercore, which are too slow to build the full ones in the time budget),
BENCH_SYSTEMS (a comma-separated subset, for trying things out),
BENCH_PROOF_EVENTS (1,000,000: the stream the proof cells prove events of),
BENCH_SLOW_PROOF_EVENTS (the same for tamperlog), BENCH_PROOF_SECONDS (2:
each timed phase of the Python and Node proof cells).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "bench")
DATA = os.path.join(BUILD, "data")
RESULTS = os.path.join(ROOT, "bench", "results")
PY = os.path.join(ROOT, "build", "bench-venv", "bin", "python")

ENV = {
    "BENCH_DATA": DATA,
    "BENCH_SECONDS": os.environ.get("BENCH_SECONDS", "0.3"),
    "BENCH_SEQ100": os.environ.get("BENCH_SEQ100", "1000000"),
    "BENCH_SEQ4K": os.environ.get("BENCH_SEQ4K", "65536"),
    "BENCH_SLOW_SEQ100": os.environ.get("BENCH_SLOW_SEQ100", "100000"),
    "BENCH_SLOW_SEQ4K": os.environ.get("BENCH_SLOW_SEQ4K", "8192"),
    # The many-streams store of the open/1k-streams cell, and the size of
    # the store the rss/full-scan cell reads end to end.
    "BENCH_STREAMS": os.environ.get("BENCH_STREAMS", "1000"),
    "BENCH_STREAM_EVENTS": os.environ.get("BENCH_STREAM_EVENTS", "1000"),
    "BENCH_RSS_MIB": os.environ.get("BENCH_RSS_MIB", "1024"),
    "BENCH_MANY_STREAMS": os.environ.get("BENCH_MANY_STREAMS", "100000"),
    # Issue 13: the stream of the proof cells (every proofs system; tamperlog
    # builds its own through its append, about 30 s for 1,000,000 events),
    # and each timed phase of the Python and Node proof cells.
    "BENCH_PROOF_EVENTS": os.environ.get("BENCH_PROOF_EVENTS", "1000000"),
    "BENCH_SLOW_PROOF_EVENTS": os.environ.get("BENCH_SLOW_PROOF_EVENTS", "1000000"),
    "BENCH_PROOF_SECONDS": os.environ.get("BENCH_PROOF_SECONDS", "2"),
    # Issue 15: the stream pruned and backed up, and the one exported.
    "BENCH_RETENTION_GB": os.environ.get("BENCH_RETENTION_GB", "10"),
    "BENCH_EXPORT_EVENTS": os.environ.get("BENCH_EXPORT_EVENTS", "200000"),
    # Issue 16: the S3 API the tier cells run against, and the sealed data
    # they upload.
    "BENCH_MOTO_SERVER": os.path.join(ROOT, "build", "bench-venv", "bin", "moto_server"),
    "BENCH_TIER_MB": os.environ.get("BENCH_TIER_MB", "128"),
    # The tier of many streams: how many, and the wait added per request.
    "BENCH_TIER_STREAMS": os.environ.get("BENCH_TIER_STREAMS", "1000"),
    "BENCH_TIER_RTT_MS": os.environ.get("BENCH_TIER_RTT_MS", "10"),
    # 16 concurrent fsync'd appends need 16 pool threads to wait in.
    "UV_THREADPOOL_SIZE": "16",
}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

RUST = [os.path.join(BUILD, "target", "release", "stratabench")]
NODE_DIR = os.path.join(BUILD, "node")
# system -> (label, command, cwd)
SYSTEMS: dict[str, tuple[str, list[str], str]] = {
    "limit": ("limit", RUST + ["run", "limit"], ROOT),
    "core": ("stratalog Rust core", RUST + ["run", "core"], ROOT),
    "c": ("stratalog C ABI", [os.path.join(BUILD, "bin", "bench_c")], ROOT),
    "python": ("stratalog Python", [PY, "bench/python/bench_py.py", "run", "python"], ROOT),
    "node": ("stratalog Node", ["node", "bench.mjs", "run", "node"], NODE_DIR),
    "commitlog": ("commitlog (Rust)", RUST + ["run", "commitlog"], ROOT),
    "sqlite": ("SQLite chain (Python)", [PY, "bench/python/bench_py.py", "run", "sqlite"], ROOT),
    "tamperlog": ("tamperlog (Python)", [PY, "bench/python/bench_py.py", "run", "tamperlog"], ROOT),
    "hypercore": ("hypercore (Node)", ["node", "bench.mjs", "run", "hypercore"], NODE_DIR),
    # Issue 18: the Rust core with BENCH_MANY_STREAMS (100,000) streams under
    # the usual limit of 1,024 descriptors per process. Run in the first
    # round only (ONCE): filling it creates 100,000 streams.
    "streams": (
        "stratalog Rust core, many streams",
        ["sh", "-c", 'ulimit -n 1024 && exec "$0" run many-streams', *RUST],
        ROOT,
    ),
    # Issue 14: live tail (latency of a wakeup, a follower's throughput and
    # its idle cost). First round only, like "streams".
    "follow": ("stratalog Rust core, live tail", RUST + ["run", "follow"], ROOT),
    # Issue 13: proofs of a 1,000,000-event stream. First round only.
    "proofs": ("stratalog Rust core, Merkle proofs", RUST + ["run", "proofs"], ROOT),
    # The same through Python and Node, and the peers' own proofs: tamperlog
    # (`prove_inclusion`) and hypercore (`core.proof`, `verifyFullyRemote`).
    # First round only, like "proofs".
    "python-proofs": (
        "stratalog Python, Merkle proofs", [PY, "bench/python/bench_py.py", "run", "python-proofs"], ROOT,
    ),
    "node-proofs": ("stratalog Node, Merkle proofs", ["node", "bench.mjs", "run", "node-proofs"], NODE_DIR),
    "tamperlog-proofs": (
        "tamperlog (Python), Merkle proofs", [PY, "bench/python/bench_py.py", "run", "tamperlog-proofs"], ROOT,
    ),
    "hypercore-proofs": ("hypercore (Node), Merkle proofs", ["node", "bench.mjs", "run", "hypercore-proofs"], NODE_DIR),
    # Issue 15: prune and backup of a BENCH_RETENTION_GB (10 GiB) stream, and
    # the CLI's export and import. First round only.
    "retention": ("stratalog Rust core, prune and backup", RUST + ["run", "retention"], ROOT),
    "python-export": (
        "stratalog CLI, export and import", [PY, "bench/python/bench_py.py", "run", "python-export"], ROOT,
    ),
    # Issue 16: the object-storage tier against moto_server on 127.0.0.1.
    # First round only.
    "tier": ("stratalog Rust core, S3 tier", RUST + ["run", "tier"], ROOT),
    # A tiered store of 1,000 streams against a bucket 10 ms away (the
    # in-memory bucket, the wait added per request). First round only.
    "tier-many": ("stratalog Rust core, tier of many streams", RUST + ["run", "tier-many"], ROOT),
    # Not a system: stratalog, SQLite and the limit's fsync'd single events,
    # interleaved in 20 ms slices (bench_py.py run_duel).
    "duel": ("fsync duel", [PY, "bench/python/bench_py.py", "run", "duel"], ROOT),
}
# Issue 13's proof systems, as (system, short name), in the order of the
# report's proofs table.
PROOF_SYSTEMS = [
    ("proofs", "Rust core"),
    ("python-proofs", "Python"),
    ("node-proofs", "Node"),
    ("tamperlog-proofs", "tamperlog"),
    ("hypercore-proofs", "hypercore"),
]
ONCE = {"streams", "follow", "retention", "tier", "tier-many", "python-export", *(s for s, _ in PROOF_SYSTEMS)}
ORDER = [s for s in SYSTEMS if s != "duel" and s not in ONCE]
DUEL = "duel/100B/x1/fsync"
STRATALOG = ["core", "c", "python", "node"]
# Appends also through Node's synchronous methods (reported by the node driver).
APPEND_SYSTEMS = [x for s in ORDER for x in ((s, "node-sync") if s == "node" else (s,))]
PEERS = ["commitlog", "sqlite", "tamperlog", "hypercore"]
SHORT_PROOF = dict(PROOF_SYSTEMS)
SHORT = {
    "limit": "limit",
    "core": "Rust core",
    "c": "C ABI",
    "python": "Python",
    "node": "Node",
    "node-sync": "Node sync",
    "commitlog": "commitlog",
    "sqlite": "SQLite chain",
    "tamperlog": "tamperlog",
    "hypercore": "hypercore",
}

APPEND_ROWS = [
    f"append/{size}/x{batch}/{mode}"
    for mode in ("nosync", "fsync")
    for size in ("100B", "4KiB")
    for batch in (1, 100, 1000)
]
DURABLE_ROWS = ["durable/1t", "durable/4t", "durable/16t"]
READ_ROWS = [
    "read/seq/100B",
    "read/seq/4KiB",
    "read/random/100B",
    "verify/100B",
    "verify/4KiB",
    "open",
    "open/1k-streams",
    "rss/full-scan",
]


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001 - machine info is best effort
        return "?"


def machine() -> dict[str, str]:
    model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    flags = sh("grep -m1 -o -w sha_ni /proc/cpuinfo")
    fs = sh(f"df -T {DATA} | awk 'NR==2 {{print $2\" on \"$1}}'")
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{model}{' (SHA-NI)' if flags else ''}",
        "cores": str(os.cpu_count()),
        "memory": f"{mem} GiB",
        "filesystem": fs,
        "kernel": platform.release(),
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "node": sh("node --version"),
        "commit": sh(f"git -C {ROOT} rev-parse --short HEAD")
        + (" (dirty)" if sh(f"git -C {ROOT} status --porcelain -- core ffi bindings bench ':!*.md'") else ""),
    }


def run_driver(system: str, results: dict, errors: dict) -> float:
    _, cmd, cwd = SYSTEMS[system]
    env = dict(os.environ, **ENV)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            m = json.loads(line)
            results[(m["system"], m["workload"])].append(m["value"])
    if proc.returncode != 0:
        errors[system] = proc.stderr.strip().splitlines()[-5:]
        print(f"  {system}: FAILED\n    " + "\n    ".join(errors[system]), file=sys.stderr)
    return time.perf_counter() - start


def prepare() -> None:
    env = dict(os.environ, **ENV)
    shutil.rmtree(DATA, ignore_errors=True)
    os.makedirs(DATA)
    for what, cmd, cwd in [
        ("stratalog + commitlog datasets", RUST + ["prepare"], ROOT),
        ("SQLite + tamperlog datasets", [PY, "bench/python/bench_py.py", "prepare"], ROOT),
        ("hypercore datasets", ["node", "bench.mjs", "prepare"], NODE_DIR),
    ]:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True)
        print(f"  {what}: {time.perf_counter() - t0:.1f} s")


# ---------------------------------------------------------------- formatting


def upload_puts(v) -> str:
    """What a `sync_tier` puts besides the segments the upload rate counts."""
    mb, puts = v("tier", "tier/upload-put-mb"), v("tier", "tier/upload-puts")
    also = "their indexes, the manifest and the log's tiles, one hash tile and one entry bundle per 256 events"
    if mb is None or puts is None:
        return f"it also puts {also}"
    return f"it puts {puts:,.0f} objects, {mb:,.0f} MB in all: the segments, {also}"


def fmt_rate(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M/s"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k/s" if v < 1e5 else f"{v / 1e3:.0f} k/s"
    return f"{v:.0f}/s"


def fmt_value(workload: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if workload.startswith("open"):
        return f"{v:.3f} ms" if v < 1 else f"{v:.1f} ms"
    if workload.startswith("rss/"):
        return f"{v:.1f} MiB"
    if workload.startswith("read/random"):
        return f"{v:.1f} µs" if v < 100 else f"{v:.0f} µs"
    return fmt_rate(v)


def size_of(workload: str) -> int:
    return 4096 if "4KiB" in workload else 100


def mbps(workload: str, v: float) -> str:
    return f"{v * size_of(workload) / 1e6:.0f} MB/s"


class Report:
    def __init__(self, med: dict, spread: dict, info: dict, errors: dict, wall: float) -> None:
        self.med = med
        self.spread = spread
        self.info = info
        self.errors = errors
        self.wall = wall

    def v(self, system: str, workload: str) -> float | None:
        return self.med.get((system, workload))

    def cell(self, system: str, workload: str) -> str:
        v = self.v(system, workload)
        text = fmt_value(workload, v)
        if v is None:
            return text
        limit = self.v("limit", workload)
        if system in (*STRATALOG, "node-sync") and limit and not workload.startswith(("read/random", "open", "rss/")):
            text += f" ({v / limit:.0%})"
        return text

    def table(self, rows: list[str], systems: list[str]) -> list[str]:
        out = ["| workload | " + " | ".join(SHORT[s] for s in systems) + " |"]
        out.append("|---|" + "---:|" * len(systems))
        for w in rows:
            out.append(f"| {w} | " + " | ".join(self.cell(s, w) for s in systems) + " |")
        return out

    # ------------------------------------------------------------ targets

    def targets(self) -> list[tuple[str, str, str, bool | None]]:
        """(target, measured, required, pass) rows."""
        rows: list[tuple[str, str, str, bool | None]] = []
        v = self.v

        def ratio_row(name: str, num: float | None, den: float | None, goal: float, show: str) -> None:
            if num is None or den is None:
                rows.append((name, "n/a", show, None))
                return
            r = num / den
            rows.append((name, f"{r:.2f}x" if goal >= 1 or r >= 1 else f"{r:.0%}", show, r >= goal))

        for batch in (100, 1000):
            w = f"append/4KiB/x{batch}/nosync"
            c, lim = v("core", w), v("limit", w)
            ratio_row(
                f"core append 4 KiB x{batch}, no fsync, vs limit bytes/s"
                + (f" ({mbps(w, c)} vs {mbps(w, lim)})" if c and lim else ""),
                c, lim, 0.70, ">= 70%",
            )
        c = v("core", "append/100B/x1000/nosync")
        rows.append(("core append 100 B x1000, no fsync", fmt_rate(c), ">= 2.00 M/s", None if c is None else c >= 2e6))
        ratio_row(
            "durable single-event appends, 1 thread, vs write+fdatasync loop (paired fsync duel)",
            v("python", DUEL), v("limit", DUEL), 0.70, ">= 70%",
        )
        ratio_row(
            "core group commit: 16 threads vs 1 thread (durable)",
            v("core", "durable/16t"), v("core", "durable/1t"), 4.0, ">= 4x",
        )
        for w, what in (("read/seq/4KiB", "verified sequential read"), ("verify/4KiB", "full verify")):
            c, lim = v("core", w), v("limit", w)
            ratio_row(
                f"core {what}, 4 KiB, vs SHA-256 of the same bytes"
                + (f" ({mbps(w, c)} vs {mbps(w, lim)})" if c and lim else ""),
                c, lim, 0.70, ">= 70%",
            )
        # Issue 12: open reads only what follows each stream's tail marker,
        # and reads hold bounded windows, never maps.
        for w, what, goal in (
            ("open", "core open of the dataset store", 5.0),
            ("open/1k-streams", f"core open of a store with {int(ENV['BENCH_STREAMS']):,} streams", 100.0),
        ):
            o = v("core", w)
            rows.append((what, fmt_value(w, o), f"<= {goal:.0f} ms", None if o is None else o <= goal))
        # Issue 18: many streams under `ulimit -n 1024`.
        n = int(ENV["BENCH_MANY_STREAMS"])
        o = v("streams", "streams/open")
        rows.append((
            f"core open of a store with {n:,} streams (closed cleanly), under ulimit -n 1024",
            fmt_value("open", o), "<= 200 ms", None if o is None else o <= 200,
        ))
        ratio_row(
            f"core appends at random over {n:,} streams vs one stream, 100 B x100, under ulimit -n 1024",
            v("streams", "streams/random/100B/x100"), v("streams", "streams/single/100B/x100"), 0.50, ">= 50%",
        )
        # Issue 14: live tail.
        for kind, what, p50_goal, p99_goal in (
            ("inproc", "in process", 50.0, 500.0),
            ("xproc", "across processes (read-only follower)", 1000.0, 10000.0),
        ):
            for q, goal in (("p50", p50_goal), ("p99", p99_goal)):
                x = v("follow", f"follow/latency/{kind}/{q}")
                mx = v("follow", f"follow/latency/{kind}/max")
                shown = "n/a" if x is None else f"{x:.0f} µs" + ("" if mx is None else f" (max {mx:.0f} µs)")
                rows.append((f"append-to-wakeup latency {what}, {q}", shown, f"<= {goal:.0f} µs",
                             None if x is None else x <= goal))
        ratio_row(
            "a follower keeps up with a writer of 100 B x1000 batches (its rate over the run vs the writer's)",
            v("follow", "follow/follower"), v("follow", "follow/writer/followed"), 0.95, ">= 95%",
        )
        ratio_row(
            "a follower reads at least as fast as a writer appends, 100 B x1000 batches (each alone on the CPUs)",
            v("follow", "follow/follower/backlog"), v("follow", "follow/writer/alone"), 1.0, ">= 1.00x",
        )
        ratio_row(
            "writer rate with a follower process vs alone, 100 B x1000 batches",
            v("follow", "follow/writer/followed"), v("follow", "follow/writer/alone"), 0.90, ">= 90%",
        )
        x = v("follow", "follow/idle-cpu")
        rows.append(("CPU time of an idle follower over 10 s", "n/a" if x is None else f"{x:.0f} ms", "<= 10 ms",
                     None if x is None else x <= 10))
        # Issue 16: appends never wait for the bucket.
        ratio_row(
            "core appends with an S3 tier uploading every sealed segment meanwhile vs without, 100 B x1000",
            v("tier", "tier/append/tiered"), v("tier", "tier/append/alone"), 0.90, ">= 90%",
        )
        # Issue 13: proofs of a 1,000,000-event stream.
        for workload, what, goal, unit in (
            ("proofs/inclusion", "inclusion proofs of random events, 1M-event stream, Rust core", 100_000, "proofs/s"),
            ("proofs/verify", "inclusion proof verification, Rust", 200_000, "proofs/s"),
            ("proofs/checkpoint", "checkpoint signing (Ed25519), Rust core", 10_000, "checkpoints/s"),
        ):
            x = v("proofs", workload)
            rows.append((what, "n/a" if x is None else f"{x:,.0f} {unit}", f">= {goal:,} {unit}",
                         None if x is None else x >= goal))
        x = v("python-proofs", "proofs/inclusion")
        rows.append(("inclusion proofs of random events, 1M-event stream, from Python",
                     "n/a" if x is None else f"{x:,.0f} proofs/s", ">= 30,000 proofs/s", None if x is None else x >= 30_000))
        x = v("proofs", "proofs/tree-bytes-per-event")
        rows.append(("Merkle tree storage on disk per event", "n/a" if x is None else f"{x:.2f} B", "<= 34 B",
                     None if x is None else x <= 34))
        # Issue 15: a prune unlinks segments, so removing 80% of a 10 GiB
        # stream takes about as long as removing 10%.
        p10, p80 = v("retention", "retention/prune-10pct"), v("retention", "retention/prune-80pct")
        gb = float(ENV["BENCH_RETENTION_GB"])
        rows.append((
            f"prune of a {gb:g} GiB stream: time to remove 80% vs to remove 10% (independent of the data removed)",
            "n/a" if p10 is None or p80 is None else f"{p80:.0f} ms vs {p10:.0f} ms",
            "<= 2x",
            None if p10 is None or p80 is None else p80 <= 2 * max(p10, 1.0),
        ))
        r = v("core", "rss/full-scan")
        rows.append((
            f"core peak RSS growth over a full scan of a {int(ENV['BENCH_RSS_MIB']):,} MiB store",
            fmt_value("rss/full-scan", r),
            "<= 64 MiB",
            None if r is None else r <= 64,
        ))
        for b in ("python", "node", "node-sync"):
            for size in ("100B", "4KiB"):
                for batch in (100, 1000):
                    w = f"append/{size}/x{batch}/nosync"
                    core, bind = v("core", w), v(b, w)
                    if core is None or bind is None:
                        rows.append((f"{SHORT[b]} time/event vs core, {w}", "n/a", "<= 1.5x", None))
                    else:
                        r = core / bind
                        rows.append((f"{SHORT[b]} time/event vs core, {w}", f"{r:.2f}x", "<= 1.5x", r <= 1.5))
        rows.append((
            "reads return data with at most one copy (Python bytes, Node Buffer)",
            "1 copy",
            "<= 1 copy",
            True,
        ))
        for size, goal in (("100B", 5.0), ("4KiB", 3.0)):
            for batch in (100, 1000):
                w = f"append/{size}/x{batch}/nosync"
                ratio_row(f"Python vs SQLite chain, {w}", v("python", w), v("sqlite", w), goal, f">= {goal:.0f}x")
        for batch in (100, 1000):
            w = f"append/100B/x{batch}/nosync"
            ratio_row(f"Python vs tamperlog, {w}", v("python", w), v("tamperlog", w), 50.0, ">= 50x")
        for batch in (100, 1000):
            w = f"append/100B/x{batch}/nosync"
            ratio_row(f"Node vs hypercore, {w}", v("node", w), v("hypercore", w), 5.0, ">= 5x")
        ratio_row("Node vs hypercore, read/seq/100B", v("node", "read/seq/100B"), v("hypercore", "read/seq/100B"), 20.0, ">= 20x")
        for s in STRATALOG:
            ratio_row(
                f"{SHORT[s]} verified read vs SQLite read-and-check, read/seq/100B",
                v(s, "read/seq/100B"), v("sqlite", "read/seq/100B"), 3.0, ">= 3x",
            )
        ratio_row(
            "durable single-event appends vs SQLite synchronous=FULL, one transaction per event (paired fsync duel)",
            v("python", DUEL), v("sqlite", DUEL), 1.0, ">= 1x",
        )
        return rows

    # ------------------------------------------------------------ retention
    def retention_section(self) -> list[str]:
        """Issue 15: prune, backup, export and import."""
        v = self.v
        gb = float(ENV["BENCH_RETENTION_GB"])
        rows = [
            ("Merkle tree of the whole stream built (once; a prune needs it up to its new first offset)",
             v("retention", "retention/build-tree"), "events/s"),
            ("prune removing the first 10% (includes the first fsync of the tree files)",
             v("retention", "retention/prune-10pct"), "ms"),
            ("prune removing the next 80%", v("retention", "retention/prune-80pct"), "ms"),
            ("backup of what is left, same file system (sealed segments hard-linked)",
             v("retention", "retention/backup-link"), "MB/s"),
            ("backup of it into /dev/shm (every byte copied, fsynced)", v("retention", "retention/backup-copy"), "MB/s"),
            ("`cp -r` of the same store directory into /dev/shm, then `sync -f`", v("retention", "retention/cp"), "MB/s"),
            ("`stratalog export` to a JSON-lines file", v("python-export", "export/export"), "events/s"),
            ("`stratalog import` of that file into a fresh store (every hash checked first)",
             v("python-export", "export/import"), "events/s"),
        ]
        size = v("retention", "retention/backup-bytes")
        lines = [
            "",
            "## Retention, backup and export (issue 15, first round only)",
            "",
            f"A {gb:g} GiB stream of 1 KiB events (Rust core): its tree, two prunes, then backups of the "
            + ("remaining store" if size is None else f"remaining {size / 1e9:.2f} GB store")
            + f". Export and import: {int(ENV['BENCH_EXPORT_EVENTS']):,} events of 100 B through the CLI.",
            "",
            "| workload | measured |",
            "|---|---|",
        ]
        for what, x, unit in rows:
            if x is None:
                shown = "n/a"
            elif unit == "ms":
                shown = f"{x:,.0f} ms"
            elif unit == "MB/s":
                shown = f"{x:,.0f} MB/s"
            else:
                shown = f"{fmt_rate(x)} ({unit.split('/')[0]})"
            lines.append(f"| {what} | {shown} |")
        return lines

    # ------------------------------------------------------------ tier
    def tier_section(self) -> list[str]:
        """Issue 16: the S3 tier against moto_server on 127.0.0.1."""
        v = self.v
        if v("tier", "tier/upload") is None:
            return []

        def mb(x: float | None) -> str:
            return "n/a" if x is None else f"{x:,.0f} MB/s"

        alone, tiered = v("tier", "tier/append/alone"), v("tier", "tier/append/tiered")
        cold, gets = v("tier", "tier/cold-read"), v("tier", "tier/cold-read-gets")
        up, raw_put = v("tier", "tier/upload"), v("tier", "tier/raw-put")
        ver, raw_get = v("tier", "tier/verify"), v("tier", "tier/raw-get")
        pct = lambda a, b: "" if a is None or not b else f" ({a / b:.0%} of the raw transfer)"  # noqa: E731
        return [
            "",
            "## S3 tier (issue 16, first round only)",
            "",
            f"Against moto_server (Python) on 127.0.0.1: {int(ENV['BENCH_TIER_MB'])} MB of 8 MiB sealed segments. "
            "The raw transfers put and get the same files through the same server and client (object_store), "
            "one after another: the limit of this machine and server.",
            "",
            "| workload | measured |",
            "|---|---|",
            f"| appends 100 B x1000 into 1 MiB segments, no tier (median of 5 turns, alternating with the next row's) | "
            f"{'n/a' if alone is None else fmt_rate(alone)} |",
            f"| the same with the tier uploading every sealed segment meanwhile | "
            f"{'n/a' if tiered is None else fmt_rate(tiered)} |",
            "| CPU cores busy while appending: this process alone / tiered (writer + uploader) / the S3 server | "
            + " / ".join("n/a" if x is None else f"{x:.2f}" for x in (
                v("tier", "tier/append/cpu-alone"), v("tier", "tier/append/cpu-tiered"),
                v("tier", "tier/append/cpu-server")))
            + " |",
            f"| `sync_tier` upload of the sealed segments (MB/s of segments; {upload_puts(v)}) | "
            f"{mb(up)}{pct(up, raw_put)} |",
            f"| raw put of the same objects | {mb(raw_put)} |",
            f"| `verify` straight from the bucket (no local store) | {mb(ver)}{pct(ver, raw_get)} |",
            f"| raw get of the same objects | {mb(raw_get)} |",
            f"| cold read of one event from a segment only the bucket holds (median) | "
            + ("n/a" if cold is None else f"{cold:.1f} ms, {gets:.0f} GET{'' if gets == 1 else 's'}")
            + " |",
        ] + self.tier_many_rows()

    def tier_many_rows(self) -> list[str]:
        """A tiered store of many streams, against a bucket a round trip away."""
        v = self.v
        rows = [
            ("`sync_tier` of one new event in each stream", "tier-many/sync"),
            ("the same writer opening again (every manifest read)", "tier-many/open"),
            ("another writer taking over (every manifest read and stamped)", "tier-many/takeover"),
            ("`open_read_only` of the bucket (every stream recovered)", "tier-many/read-only-open"),
        ]
        if all(v("tier-many", w) is None for _, w in rows):
            return []
        streams, rtt = int(ENV["BENCH_TIER_STREAMS"]), int(ENV["BENCH_TIER_RTT_MS"])
        return [
            "",
            f"A tiered store of {streams:,} streams, one event each, against the in-memory bucket with "
            f"{rtt} ms added to every request (a batch call one per 32 requests, as the object_store tier "
            "keeps 32 in flight): the round trips the engine waits for one after another.",
            "",
            "| workload | measured |",
            "|---|---|",
        ] + [
            f"| {what} | " + ("n/a" if v("tier-many", w) is None else f"{v('tier-many', w):.2f} s") + " |"
            for what, w in rows
        ]

    # ------------------------------------------------------------ proofs

    def proofs_section(self) -> list[str]:
        """Issue 13: stratalog's Merkle proofs through each interface, its
        peers' own proofs beside them."""
        v = self.v
        systems = [(s, name) for s, name in PROOF_SYSTEMS if any(sys_ == s for sys_, _w in self.med)]
        if not systems:
            return []
        sizes = {s: v(s, "proofs/events") or (float(ENV["BENCH_PROOF_EVENTS"]) if s == "proofs" else None)
                 for s, _ in systems}
        # (label, {system: workload} or one workload for all, unit)
        signed = {"proofs": "proofs/receipt-verify", "python-proofs": "proofs/receipt-verify",
                  "node-proofs": "proofs/receipt-verify", "hypercore-proofs": "proofs/verify-signed"}
        rows: list[tuple[str, str | dict[str, str], str]] = [
            ("events in the stream", "proofs/events", "count"),
            ("appends that built it (peers; stratalog's are in Appends)", "proofs/append", "rate"),
            ("first root: the whole tree built", "proofs/build", "rate"),
            ("inclusion proofs, one at a time", "proofs/inclusion", "rate"),
            ("inclusion proofs, 16 in flight (Node)", "proofs/inclusion/16-in-flight", "rate"),
            ("inclusion proof verified (path against a root)", "proofs/verify", "rate"),
            ("proof verified with its signature (stratalog receipt, hypercore verifyFullyRemote)", signed, "rate"),
            ("signed checkpoints", "proofs/checkpoint", "rate"),
            ("tree on disk per event", "proofs/tree-bytes-per-event", "bytes"),
        ]
        out = [
            "",
            "## Merkle proofs (issue 13, first round only)",
            "",
            "Proofs of events picked at random (one fixed sequence) from a stream of 100 B events appended in "
            "batches of 1000, against the whole tree; per second. stratalog: `inclusion_proof` (RFC 9162, "
            "hashes only), `verify_inclusion` with the event's 40-byte leaf data and the root, `verify_receipt` "
            "(the chain hash, the inclusion proof and the checkpoint's Ed25519 signature), `checkpoint` (the "
            "signed note); Python and Node call the same core, Node's store calls are Promises run on the libuv "
            "pool. tamperlog: `AppendOnlyLog.prove_inclusion`, which recomputes the hashes of the tree under "
            "each proof from the leaf hashes it keeps in memory (O(n) per proof), and "
            "`verify_inclusion_against` a checkpoint. hypercore: `core.proof({ block: { index, nodes: 0 }, "
            "upgrade: { start: 0, length } })`, the proof a peer is sent for one block (the block, its Merkle "
            "path, the tree's roots and the signature), and `verifyFullyRemote` on a second core that knows "
            "only the first one's key and manifest; it checks the signature along with the path, so it sits "
            "beside stratalog's receipts; hypercore documents no call that checks a path against a root alone. "
            f"Timed phases of {float(ENV['BENCH_PROOF_SECONDS']):g} s (Python, Node); the Rust core's are "
            "fixed counts.",
            "",
            "| | " + " | ".join(name for _s, name in systems) + " |",
            "|---|" + "---:|" * len(systems),
        ]
        for label, work, unit in rows:
            cells = []
            for s, _name in systems:
                w = work.get(s) if isinstance(work, dict) else work
                x = None if w is None else (sizes[s] if w == "proofs/events" else v(s, w))
                if x is None:
                    cells.append("n/a")
                elif unit == "count":
                    cells.append(f"{x:,.0f}")
                elif unit == "bytes":
                    cells.append(f"{x:.2f} B")
                else:
                    cells.append(f"{x:.2f}/s" if x < 10 else fmt_rate(x))
            if any(c != "n/a" for c in cells):
                out.append(f"| {label} | " + " | ".join(cells) + " |")
        ratios = []
        for a, b, w, what in (
            ("python-proofs", "tamperlog-proofs", "proofs/inclusion", "Python / tamperlog, inclusion proofs"),
            ("python-proofs", "tamperlog-proofs", "proofs/verify", "Python / tamperlog, verification"),
            ("node-proofs", "hypercore-proofs", "proofs/inclusion", "Node / hypercore, proofs one at a time"),
            ("node-proofs", "hypercore-proofs", "proofs/inclusion/16-in-flight", "Node / hypercore, 16 in flight"),
        ):
            x, y = v(a, w), v(b, w)
            if x and y:
                r = x / y
                nb = sizes.get(b)
                size = "" if nb is None or nb == sizes.get(a) else f" ({nb:,.0f} events for {SHORT_PROOF[b]})"
                ratios.append(f"{what} {r:.1f}x{size}" if r < 100 else f"{what} {r:,.0f}x{size}")
        x, y = v("node-proofs", "proofs/receipt-verify"), v("hypercore-proofs", "proofs/verify-signed")
        if x and y:
            ratios.append(f"Node receipts / hypercore verifyFullyRemote {x / y:.1f}x")
        if ratios:
            out += ["", "stratalog against its peers: " + "; ".join(ratios) + "."]
        return out

    # ------------------------------------------------------------ README

    def condensed(self) -> str:
        """The short table README.md's Benchmarks section shows."""
        rows = [
            ("append 100 B, batches of 1000, no fsync", "append/100B/x1000/nosync", 1, "events/s"),
            ("append 4 KiB, batches of 100, no fsync", "append/4KiB/x100/nosync", 4096e-6, "MB/s"),
            ("durable single-event append (paired duel; stratalog through Python)", DUEL, 1, "events/s"),
            ("durable, 16 threads (group commit)", "durable/16t", 1, "events/s"),
            ("verified sequential read, 100 B", "read/seq/100B", 1, "events/s"),
            ("full verify, 4 KiB events", "verify/4KiB", 4096e-6, "MB/s"),
            ("40 events at a random offset", "read/random/100B", 1, "µs"),
            ("open the dataset store", "open", 1, "ms"),
        ]
        systems = ["limit", *STRATALOG, "sqlite", "tamperlog", "hypercore", "commitlog"]
        out = ["| workload | " + " | ".join(SHORT[s] for s in systems) + " |"]
        out.append("|---|" + "---:|" * len(systems))
        for label, w, scale, unit in rows:
            cells = []
            for s in systems:
                v = self.v(s, w)
                if v is None:
                    cells.append("n/a")
                elif unit == "MB/s":
                    cells.append(f"{v * scale:.0f} MB/s")
                else:
                    cells.append(fmt_value(w, v))
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        t = self.targets()
        misses = [name for name, _m, _r, ok in t if ok is False]
        out += [
            "",
            f"Targets (issues 7 and 12): {sum(1 for r in t if r[3])} of {len(t)} pass"
            + (f"; missed: {'; '.join(misses)}." if misses else "."),
        ]
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------ markdown

    def markdown(self) -> str:
        i = self.info
        t = self.targets()
        passed = sum(1 for r in t if r[3])
        lines = [
            "# stratalog benchmarks: latest run",
            "",
            f"Written by `make bench` ({i['date']}, commit {i['commit']}). Every figure is the **median of "
            f"{i.get('rounds', ROUNDS)} rounds**; in each round every system runs every workload, the systems in a rotating "
            f"order. The whole run took {self.wall / 60:.1f} minutes.",
            "",
            "| machine | |",
            "|---|---|",
            f"| CPU | {i['cpu']}, {i['cores']} cores |",
            f"| memory | {i['memory']} |",
            f"| file system | {i['filesystem']} (the data directory, build/bench/data) |",
            f"| kernel | {i['kernel']} |",
            f"| load average | {i['load_start']} at the start, {i['load_end']} at the end |",
            f"| toolchains | {i['rustc']}; Python {i['python']} (SQLite {i['sqlite']}); Node {i['node']} |",
            "",
            f"## Targets (issues 7 and 12): {passed} of {len(t)} pass",
            "",
            "| target | measured | required | result |",
            "|---|---:|---:|:---:|",
        ]
        for name, measured, required, ok in t:
            lines.append(f"| {name} | {measured} | {required} | {'n/a' if ok is None else 'PASS' if ok else '**MISS**'} |")
        lines += [
            "",
            "## Appends",
            "",
            "Events per second. `xN` is the batch size (one call, one atomic batch); `fsync` means durable "
            "when the call returns (stratalog `fsync=true`, the limit and commitlog `fdatasync`, SQLite "
            "`synchronous=FULL`). In parentheses: the share of the limit's rate for the same bytes. The fsync'd "
            "cells ran seconds apart on a disk whose flush latency swings tenfold (see Spread): compare systems "
            "on them through the paired fsync duel below, not across columns.",
            "",
        ]
        lines += self.table(APPEND_ROWS, APPEND_SYSTEMS)
        lines += [
            "",
            "## Concurrent durable appends",
            "",
            "N threads (Node: N concurrent async appenders), each appending single 100 B events with fsync; "
            "total events per second. stratalog shares fdatasyncs between waiting appenders (group commit); "
            "the limit's threads each write and fdatasync on their own; SQLite's writers take turns on its "
            "write lock (`BEGIN IMMEDIATE`, busy timeout).",
            "",
        ]
        lines += self.table(DURABLE_ROWS, ["limit", *STRATALOG, "sqlite"])
        grp = [s for s in STRATALOG if self.v(s, "durable/1t") and self.v(s, "durable/16t")]
        if grp:
            lines += [
                "",
                "16 threads vs 1: "
                + ", ".join(f"{SHORT[s]} {self.v(s, 'durable/16t') / self.v(s, 'durable/1t'):.1f}x" for s in grp)
                + ".",
            ]
        lim, strat, sql = self.v("limit", DUEL), self.v("python", DUEL), self.v("sqlite", DUEL)
        if lim and strat and sql:
            lines += [
                "",
                "## Paired fsync duel",
                "",
                "This virtual disk's flush latency swings by an order of magnitude within seconds (see Spread "
                "below), so fsync'd cells measured seconds apart are not comparable across systems. The duel "
                "interleaves three writers of durable single 100 B events in 20 ms slices for 3 s per round: "
                "stratalog (`append(fsync=True)` through the Python package; every interface makes the same "
                "one `pwrite` + one `fdatasync` per call), the SQLite chain table with `synchronous=FULL` (one "
                "transaction per event), and the limit (`os.write` + `os.fdatasync`). The durability targets "
                "use these figures.",
                "",
                "| | limit | stratalog | SQLite chain |",
                "|---|---:|---:|---:|",
                f"| durable single events | {fmt_rate(lim)} | {fmt_rate(strat)} ({strat / lim:.0%} of the limit) | "
                f"{fmt_rate(sql)} (stratalog {strat / sql:.2f}x) |",
            ]
        lines += [
            "",
            "## Reads, verify, open",
            "",
            "`read/seq`: the whole stream in order, every event checked (stratalog: CRCs and the hash chain; "
            "SQLite: the chain recomputed from the rows; tamperlog: each entry against its leaf hash; "
            "hypercore and commitlog: their own reads, no chain). `read/random`: 40 events (4000 bytes) "
            "from a random offset of the 100 B stream, microseconds per call. `verify`: a full check of the "
            "stream (stratalog `verify`; SQLite the chain over all rows; tamperlog `verify_all_entries` + "
            "`verify_against` a checkpoint). `open`: milliseconds to open the store holding the read "
            "datasets, ready to append (stratalog reads of each stream's last segment only the record its "
            "tail marker names and what follows it). `open/1k-streams` (Rust core only): the same for a store "
            f"of {int(ENV['BENCH_STREAMS']):,} streams of {int(ENV['BENCH_STREAM_EVENTS']):,} events of 100 B. "
            "`rss/full-scan` (Rust core only): how far a fresh process's peak RSS (VmHWM) rises above its "
            f"RSS while it iterates over every event of a {int(ENV['BENCH_RSS_MIB']):,} MiB store, MiB; "
            "readers hold windows of at most 256 KiB, so any growth with the store's size would show. "
            "The limit for reads and verify is SHA-256 over the same payload bytes in memory.",
            "",
            f"Datasets: {int(ENV['BENCH_SEQ100']):,} events of 100 B and {int(ENV['BENCH_SEQ4K']):,} of 4 KiB; "
            f"tamperlog and hypercore {int(ENV['BENCH_SLOW_SEQ100']):,} and {int(ENV['BENCH_SLOW_SEQ4K']):,} "
            "(they append too slowly to build the large ones within the run's time budget; their rates are "
            "per event all the same, and tamperlog's open time grows with its size, as it reads every entry).",
            "",
        ]
        lines += self.table(READ_ROWS, ORDER)
        n = int(ENV["BENCH_MANY_STREAMS"])
        lines += [
            "",
            f"## {n:,} streams under `ulimit -n 1024` (Rust core, first round only)",
            "",
            "One 100 B event appended to each stream (each append creates the stream's directory and first "
            "segment durably), each read back and checked, the close (one sync of the file system for all of "
            "them), a reopen (streams are recovered on first use after a clean close), then batches of 100 "
            "events of 100 B to one stream and to streams picked at random, every stream used once in this "
            "open; `random-cold` is the same right after a reopen, each first use paying for its stream's "
            "recovery. The store keeps at most 256 segment files open.",
            "",
            "| cell | value |",
            "|---|---:|",
        ]
        for w, unit in (
            ("streams/append-one-each", "events/s"),
            ("streams/read-each", "events/s"),
            ("streams/close", "ms"),
            ("streams/open", "ms"),
            ("streams/single/100B/x100", "events/s"),
            ("streams/random/100B/x100", "events/s"),
            ("streams/random-cold/100B/x100", "events/s"),
        ):
            x = self.v("streams", w)
            shown = "n/a" if x is None else (fmt_value("open", x) if unit == "ms" else fmt_rate(x))
            lines.append(f"| {w} | {shown} |")
        lines += self.proofs_section()
        lines += self.retention_section()
        lines += self.tier_section()
        lines += [
            "",
            "## stratalog against its peers",
            "",
            "How many times the peer's rate stratalog reaches through the interface a user of that peer "
            "would use (for `read/random` and `open`: the peer's time divided by stratalog's).",
            "",
            "| workload | Python / SQLite chain | Python / tamperlog | Node / hypercore | Rust core / commitlog |",
            "|---|---:|---:|---:|---:|",
        ]
        pairs = [("python", "sqlite"), ("python", "tamperlog"), ("node", "hypercore"), ("core", "commitlog")]
        for w in APPEND_ROWS + DURABLE_ROWS + READ_ROWS:
            cells = []
            for a, b in pairs:
                x, y = self.v(a, w), self.v(b, w)
                if x is None or y is None or x == 0 or y == 0:
                    cells.append("n/a")
                else:
                    r = y / x if w.startswith(("read/random", "open")) else x / y
                    cells.append(f"{r:.1f}x" if r < 100 else f"{r:.0f}x")
            if any(c != "n/a" for c in cells):
                lines.append(f"| {w} | " + " | ".join(cells) + " |")
        lines += ["", "## Spread", ""]
        lines.append(
            "Largest max/min ratio over the rounds, per system (fsync'd cells on this virtual disk vary most): "
            + ", ".join(f"{SHORT[s]} {self.spread.get(s, 0):.1f}" for s in ORDER)
            + "."
        )
        if self.errors:
            lines += ["", "## Failures", ""]
            for s, err in self.errors.items():
                lines.append(f"- {s}: " + " / ".join(err))
        notes = os.path.join(ROOT, "bench", "NOTES.md")
        if os.path.exists(notes):
            with open(notes) as f:
                lines += ["", f.read().strip()]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- chart


def chart(report: Report, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("append/100B/x1000/nosync", "append 100 B, batches of 1000\n(events/s)", 1),
        ("append/4KiB/x100/nosync", "append 4 KiB, batches of 100\n(MB/s)", 4096e-6),
        (DUEL, "durable single events, paired fsync duel\n(events/s; stratalog through Python)", 1),
        ("durable/16t", "16 threads, durable single events\n(events/s)", 1),
        ("read/seq/100B", "verified sequential read, 100 B\n(events/s)", 1),
        ("verify/4KiB", "full verify, 4 KiB events\n(MB/s)", 4096e-6),
    ]
    colors = {
        "limit": "#7f7f7f",
        "core": "#08519c",
        "c": "#3182bd",
        "python": "#6baed6",
        "node": "#9ecae1",
        "node-sync": "#c6dbef",
        "commitlog": "#a1d99b",
        "sqlite": "#fd8d3c",
        "tamperlog": "#e6550d",
        "hypercore": "#a63603",
    }
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.2))
    for ax, (w, title, scale) in zip(axes.flat, panels):
        systems = [s for s in APPEND_SYSTEMS if report.v(s, w) is not None]
        vals = [report.v(s, w) * scale for s in systems]
        y = range(len(systems))
        ax.barh(list(y), vals, color=[colors[s] for s in systems])
        names = [("stratalog" if w == DUEL and s == "python" else SHORT[s]) for s in systems]
        ax.set_yticks(list(y), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        # Every bar starts well left of the shortest one, so none vanishes.
        ax.set_xlim(left=min(vals) / 8 if vals else 1)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        top = max(vals) if vals else 1
        ax.set_xlim(right=top * 12)
        ax.grid(axis="x", which="major", alpha=0.3)
        for yi, val in zip(y, vals):
            label = f"{val / 1e6:.2f}M" if val >= 1e6 else f"{val / 1e3:.0f}k" if val >= 1e4 else f"{val:.0f}"
            ax.text(val * 1.1, yi, label, va="center", fontsize=7)
    i = report.info
    fig.suptitle(
        f"stratalog vs the physical limit and its peers, log scale, longer is better "
        f"(median of {i.get('rounds', ROUNDS)} rounds; {i['cpu']}, {i['cores']} cores, {i['filesystem'].split(' on ')[0]}; {i['date']})",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    if sys.argv[1:] == ["--report"]:
        # Rewrites latest.md and latest.png from the last run's raw figures
        # (build/bench/raw.json), e.g. after editing bench/NOTES.md.
        with open(os.path.join(BUILD, "raw.json")) as f:
            write(json.load(f))
        return
    systems = [s for s in os.environ.get("BENCH_SYSTEMS", ",".join(SYSTEMS)).split(",") if s]
    t0 = time.perf_counter()
    os.makedirs(RESULTS, exist_ok=True)
    load_start = sh("cut -d' ' -f1-3 /proc/loadavg")
    print("== datasets")
    prepare()
    results: dict = defaultdict(list)
    errors: dict = {}
    for r in range(ROUNDS):
        order = systems[r % len(systems):] + systems[: r % len(systems)]
        load = sh("cut -d' ' -f1 /proc/loadavg")
        print(f"== round {r + 1}/{ROUNDS} (load {load})")
        for s in order:
            if r > 0 and s in ONCE:
                continue
            secs = run_driver(s, results, errors)
            print(f"  {s}: {secs:.1f} s")
    info = machine()
    info["load_start"] = load_start
    info["rounds"] = str(ROUNDS)
    info["load_end"] = sh("cut -d' ' -f1-3 /proc/loadavg")
    raw = {
        "results": [[s, w, v] for (s, w), v in results.items()],
        "info": info,
        "errors": errors,
        "wall": time.perf_counter() - t0,
    }
    with open(os.path.join(BUILD, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    shutil.rmtree(os.path.join(DATA, "scratch"), ignore_errors=True)
    write(raw)


def write(raw: dict) -> None:
    """latest.md and latest.png from the raw figures of a run."""
    results = {(s, w): v for s, w, v in raw["results"]}
    med = {k: statistics.median(v) for k, v in results.items()}
    spread: dict = {}
    for (s, _w), vals in results.items():
        if min(vals) > 0:
            spread[s] = max(spread.get(s, 0.0), max(vals) / min(vals))
    report = Report(med, spread, raw["info"], raw["errors"], raw["wall"])
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(report.markdown())
    chart(report, os.path.join(RESULTS, "latest.png"))
    with open(os.path.join(BUILD, "readme-table.md"), "w") as f:
        f.write(report.condensed())
    print(f"== wrote bench/results/latest.md and latest.png (the run took {raw['wall'] / 60:.1f} min)")
    for name, measured, required, ok in report.targets():
        print(f"  {'PASS' if ok else 'MISS' if ok is False else 'n/a '}  {name}: {measured} (needs {required})")


if __name__ == "__main__":
    main()
