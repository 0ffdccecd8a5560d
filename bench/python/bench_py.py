"""The Python drivers of `make bench`.

    python bench_py.py prepare              SQLite and tamperlog read datasets
    python bench_py.py run python|sqlite|tamperlog|duel

``python`` is stratalog through the installed package (bindings/python);
``sqlite`` is the hash-chained audit table users build by hand on Python's
built-in sqlite3 (WAL, one transaction per batch, the chain computed in
Python); ``tamperlog`` is the pure-Python RFC 6962 log from PyPI. Every
measurement is one JSON line, with the workload names of the Rust driver
(bench/rust/src/main.rs). Environment: BENCH_DATA, BENCH_SECONDS,
BENCH_SEQ100, BENCH_SEQ4K, BENCH_SLOW_SEQ100, BENCH_SLOW_SEQ4K (the smaller
datasets of the slow peers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from typing import Any, Callable

DATA = os.environ.get("BENCH_DATA", "build/bench/data")
BUDGET = float(os.environ.get("BENCH_SECONDS", "0.4"))
SEQ100 = int(os.environ.get("BENCH_SEQ100", "1000000"))
SEQ4K = int(os.environ.get("BENCH_SEQ4K", "65536"))
SLOW_SEQ100 = int(os.environ.get("BENCH_SLOW_SEQ100", "100000"))
SLOW_SEQ4K = int(os.environ.get("BENCH_SLOW_SEQ4K", "8192"))
STREAM_100, STREAM_4K = 1, 2
RANDOM_EVENTS, RANDOM_MAX_BYTES = 40, 4000
APPEND_CELLS = [(100, 1), (100, 100), (100, 1000), (4096, 1), (4096, 100), (4096, 1000)]
THREADS = [1, 4, 16]
ZERO = bytes(32)


def emit(system: str, workload: str, value: float, unit: str) -> None:
    print(json.dumps({"system": system, "workload": workload, "value": value, "unit": unit}), flush=True)


def events(size: int, count: int) -> list[bytes]:
    """The same bytes as every other driver: byte j of event i is (i*31+j) % 251."""
    return [bytes((i * 31 + j) % 251 for j in range(size)) for i in range(count)]


def append_name(size: int, batch: int, fsync: bool) -> str:
    return f"append/{'4KiB' if size == 4096 else '100B'}/x{batch}/{'fsync' if fsync else 'nosync'}"


def run_warm(minimum: int, fn: Callable[[], None]) -> tuple[int, float]:
    """run_for after an untimed warm-up of a quarter of the budget (at least
    3 calls), as every driver does for its append cells."""
    start = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - start < BUDGET / 4:
        fn()
        n += 1
    return run_for(minimum, fn)


def run_for(minimum: int, fn: Callable[[], None]) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    while n < minimum or time.perf_counter() - start < BUDGET:
        fn()
        n += 1
    return n, time.perf_counter() - start


def run_threads(threads: int, fn: Callable[[], None]) -> float:
    stop = threading.Event()
    counts = [0] * threads

    def work(k: int) -> None:
        n = 0
        while not stop.is_set():
            fn()
            n += 1
        counts[k] = n

    start = time.perf_counter()
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    time.sleep(BUDGET)
    stop.set()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def scratch(name: str) -> str:
    path = os.path.join(DATA, "scratch", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def dataset(name: str) -> str:
    return os.path.join(DATA, "datasets", name)


def timed_opens(fn: Callable[[], Callable[[], None]], minimum: int = 10) -> float:
    """Mean milliseconds of fn(), which opens and returns its closer (untimed)."""
    total = 0.0
    n = 0
    start = time.perf_counter()
    while n < minimum or time.perf_counter() - start < BUDGET:
        t0 = time.perf_counter()
        close = fn()
        total += time.perf_counter() - t0
        close()
        n += 1
    return total * 1e3 / n


class Rng:
    def __init__(self) -> None:
        self.x = 0x9E3779B97F4A7C15

    def below(self, n: int) -> int:
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        self.x = x
        return x % n


# ---------------------------------------------------------------- stratalog


def run_python() -> None:
    import stratalog

    for fsync in (False, True):
        for size, batch in APPEND_CELLS:
            evs = events(size, batch)
            path = scratch("python")
            store = stratalog.open(path)
            if batch == 1:
                ev = evs[0]
                n, secs = run_warm(20 if fsync else 50, lambda: store.append(1, ev, fsync=fsync))
            else:
                n, secs = run_warm(20 if fsync else 50, lambda: store.append_batch(1, evs, fsync=fsync))
            store.close()
            shutil.rmtree(path)
            emit("python", append_name(size, batch, fsync), n * batch / secs, "events/s")
    ev = events(100, 1)[0]
    for threads in THREADS:
        path = scratch("python")
        store = stratalog.open(path)
        rate = run_threads(threads, lambda: store.append(1, ev, fsync=True))
        store.close()
        shutil.rmtree(path)
        emit("python", f"durable/{threads}t", rate, "events/s")

    path = dataset("stratalog")
    store = stratalog.open_read_only(path)
    for stream, count, name in ((STREAM_100, SEQ100, "100B"), (STREAM_4K, SEQ4K, "4KiB")):
        start = time.perf_counter()
        n = 0
        for _offset, _event in store.iter(stream):
            n += 1
        secs = time.perf_counter() - start
        assert n == count, (n, count)
        emit("python", f"read/seq/{name}", n / secs, "events/s")
    rng = Rng()

    def random_read() -> None:
        got = store.read_from(STREAM_100, rng.below(SEQ100 - RANDOM_EVENTS), max_bytes=RANDOM_MAX_BYTES)
        assert len(got) == RANDOM_EVENTS

    n, secs = run_for(100, random_read)
    emit("python", "read/random/100B", secs * 1e6 / n, "us")
    for stream, count, name in ((STREAM_100, SEQ100, "100B"), (STREAM_4K, SEQ4K, "4KiB")):
        start = time.perf_counter()
        report = store.verify(stream)
        secs = time.perf_counter() - start
        assert report.events == count
        emit("python", f"verify/{name}", count / secs, "events/s")
    store.close()

    def open_store() -> Callable[[], None]:
        return stratalog.open(path).close

    emit("python", "open", timed_opens(open_store), "ms")


# ---------------------------------------------------------------- SQLite


class ChainTable:
    """The audit table users write by hand: every row stores
    h = sha256(prev + offset.to_bytes(8, 'little') + payload)."""

    def __init__(self, path: str, synchronous: str = "NORMAL") -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS log (offset INTEGER PRIMARY KEY, payload BLOB NOT NULL, hash BLOB NOT NULL)"
        )

    def head(self) -> tuple[int, bytes]:
        row = self.conn.execute("SELECT offset, hash FROM log ORDER BY offset DESC LIMIT 1").fetchone()
        return (0, ZERO) if row is None else (row[0] + 1, row[1])

    def append_batch(self, batch: list[bytes]) -> None:
        """One transaction per batch; the tail is read inside it, so
        concurrent writers (other connections) keep the chain whole."""
        sha256 = hashlib.sha256
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        offset, prev = self.head()
        rows = []
        for payload in batch:
            prev = sha256(prev + offset.to_bytes(8, "little") + payload).digest()
            rows.append((offset, payload, prev))
            offset += 1
        c.executemany("INSERT INTO log VALUES (?, ?, ?)", rows)
        c.execute("COMMIT")

    def check_all(self) -> int:
        """Reads every row in order and recomputes the chain."""
        sha256 = hashlib.sha256
        prev = ZERO
        expect = 0
        for offset, payload, stored in self.conn.execute("SELECT offset, payload, hash FROM log ORDER BY offset"):
            prev = sha256(prev + offset.to_bytes(8, "little") + payload).digest()
            if offset != expect or prev != stored:
                raise RuntimeError(f"chain broken at {offset}")
            expect += 1
        return expect

    def read_from(self, offset: int, count: int) -> list[bytes]:
        """`count` rows from `offset`, each checked against the stored hash
        of the row before it."""
        sha256 = hashlib.sha256
        if offset == 0:
            prev = ZERO
        else:
            prev = self.conn.execute("SELECT hash FROM log WHERE offset = ?", (offset - 1,)).fetchone()[0]
        out = []
        for off, payload, stored in self.conn.execute(
            "SELECT offset, payload, hash FROM log WHERE offset >= ? ORDER BY offset LIMIT ?", (offset, count)
        ):
            prev = sha256(prev + off.to_bytes(8, "little") + payload).digest()
            if prev != stored:
                raise RuntimeError(f"chain broken at {off}")
            out.append(payload)
        return out

    def close(self) -> None:
        self.conn.close()


def run_sqlite() -> None:
    for fsync in (False, True):
        for size, batch in APPEND_CELLS:
            evs = events(size, batch)
            path = scratch("sqlite")
            os.makedirs(path)
            table = ChainTable(os.path.join(path, "log.db"), "FULL" if fsync else "NORMAL")
            n, secs = run_warm(20 if fsync else 50, lambda: table.append_batch(evs))
            table.close()
            shutil.rmtree(path)
            emit("sqlite", append_name(size, batch, fsync), n * batch / secs, "events/s")
    ev = events(100, 1)
    for threads in THREADS:
        path = scratch("sqlite")
        os.makedirs(path)
        db = os.path.join(path, "log.db")
        ChainTable(db, "FULL").close()
        local = threading.local()

        def append_one() -> None:
            table = getattr(local, "table", None)
            if table is None:
                table = local.table = ChainTable(db, "FULL")
            table.append_batch(ev)

        rate = run_threads(threads, append_one)
        shutil.rmtree(path)
        emit("sqlite", f"durable/{threads}t", rate, "events/s")

    for name, count in (("100B", SEQ100), ("4KiB", SEQ4K)):
        table = ChainTable(os.path.join(dataset("sqlite"), f"{name}.db"))
        for workload in ("read/seq", "verify"):
            start = time.perf_counter()
            n = table.check_all()
            secs = time.perf_counter() - start
            assert n == count
            emit("sqlite", f"{workload}/{name}", n / secs, "events/s")
        if name == "100B":
            rng = Rng()

            def random_read() -> None:
                got = table.read_from(rng.below(SEQ100 - RANDOM_EVENTS), RANDOM_EVENTS)
                assert len(got) == RANDOM_EVENTS

            n, secs = run_for(100, random_read)
            emit("sqlite", "read/random/100B", secs * 1e6 / n, "us")
        table.close()

    def open_db() -> Callable[[], None]:
        table = ChainTable(os.path.join(dataset("sqlite"), "100B.db"))
        table.head()
        return table.close

    emit("sqlite", "open", timed_opens(open_db), "ms")


# ---------------------------------------------------------------- tamperlog


def run_tamperlog() -> None:
    from tamperlog import AppendOnlyLog, Checkpoint, JSONLStorage

    for size, batch in APPEND_CELLS:
        evs = events(size, batch)
        path = scratch("tamperlog")
        log = AppendOnlyLog(JSONLStorage(os.path.join(path, "log.jsonl")))

        def append_batch() -> None:
            for payload in evs:  # no batch API: one append (one file write) per event
                log.append(payload)

        n, secs = run_warm(3, append_batch)
        shutil.rmtree(path)
        emit("tamperlog", append_name(size, batch, False), n * batch / secs, "events/s")

    for name, count in (("100B", SLOW_SEQ100), ("4KiB", SLOW_SEQ4K)):
        log_path = os.path.join(dataset("tamperlog"), f"{name}.jsonl")
        with open(log_path + ".checkpoint") as f:
            checkpoint = Checkpoint.from_dict(json.load(f))
        log = AppendOnlyLog(JSONLStorage(log_path))
        start = time.perf_counter()
        for i in range(len(log)):
            log.entry(i)
            log.verify_entry(i)
        secs = time.perf_counter() - start
        assert len(log) == count
        emit("tamperlog", f"read/seq/{name}", count / secs, "events/s")
        if name == "100B":
            rng = Rng()

            def random_read() -> None:
                first = rng.below(count - RANDOM_EVENTS)
                for i in range(first, first + RANDOM_EVENTS):
                    log.entry(i)
                    log.verify_entry(i)

            n, secs = run_for(100, random_read)
            emit("tamperlog", "read/random/100B", secs * 1e6 / n, "us")
        start = time.perf_counter()
        log.verify_all_entries()
        log.verify_against(checkpoint)
        secs = time.perf_counter() - start
        emit("tamperlog", f"verify/{name}", count / secs, "events/s")

    def open_log() -> Callable[[], None]:
        AppendOnlyLog(JSONLStorage(os.path.join(dataset("tamperlog"), "100B.jsonl")))
        return lambda: None

    emit("tamperlog", "open", timed_opens(open_log, minimum=3), "ms")


# ---------------------------------------------------------------- proofs (issue 13)

# Inclusion proofs of a BENCH_PROOF_EVENTS (1,000,000) event stream of 100 B
# events; each timed phase runs for BENCH_PROOF_SECONDS (2 s). Run once, in
# the first round, as the Rust core's "proofs" system is.
PROOF_EVENTS = int(os.environ.get("BENCH_PROOF_EVENTS", "1000000"))
PROOF_SECONDS = float(os.environ.get("BENCH_PROOF_SECONDS", "2"))
# tamperlog recomputes the Merkle tree hashes under each proof (every leaf
# hash, each proof), so its proofs of a large log take about a second each.
SLOW_PROOF_EVENTS = int(os.environ.get("BENCH_SLOW_PROOF_EVENTS", "1000000"))
VERIFY_SET = 20_000  # proofs kept and checked over and over


def proof_offsets(n: int, count: int) -> list[int]:
    """The Rust driver's sequence of random offsets (the same xorshift,
    the same seed)."""
    rng = Rng()
    return [rng.below(n) for _ in range(count)]


def timed_loop(items: list, fn: Callable[[Any], object], minimum: int, chunk: int = 100) -> tuple[int, float]:
    """Calls fn on items, cycling, `chunk` calls between clock reads, for
    PROOF_SECONDS and at least `minimum` calls; (calls, seconds)."""
    start = time.perf_counter()
    n = 0
    k = len(items)
    while n < minimum or time.perf_counter() - start < PROOF_SECONDS:
        for i in range(n, n + chunk):
            fn(items[i % k])
        n += chunk
    return n, time.perf_counter() - start


def run_python_proofs() -> None:
    """System "python-proofs": stratalog's proofs through the Python package.

    proofs/build (events/s): the first root, which builds the tree of the
    whole stream; proofs/inclusion (proofs/s): `store.inclusion_proof` of
    random events against the whole tree; proofs/verify (proofs/s):
    `stratalog.verify_inclusion` of 20,000 of them, with their leaf data and
    the root, checked over and over; proofs/checkpoint (checkpoints/s):
    signed checkpoints of the whole tree; proofs/receipt-verify (receipts/s):
    `stratalog.verify_receipt` (the chain hash, the inclusion proof and the
    Ed25519 signature) of 2,000 receipts."""
    import stratalog

    n = PROOF_EVENTS
    path = scratch("python-proofs")
    store = stratalog.open(path)
    emit("python-proofs", "proofs/events", n, "events")
    evs = events(100, 1000)
    for at in range(0, n, 1000):
        store.append_batch(1, evs[: min(1000, n - at)])
    start = time.perf_counter()
    root = store.tree_root(1)
    emit("python-proofs", "proofs/build", n / (time.perf_counter() - start), "events/s")

    offsets = proof_offsets(n, 200_000)
    proof = store.inclusion_proof
    hashes = 0

    def prove(o: int) -> None:
        nonlocal hashes
        hashes += len(proof(1, o, n))

    count, secs = timed_loop(offsets, prove, minimum=1000)
    assert hashes >= count * ((n - 1).bit_length() - 1), (hashes, count)  # about log2(n) each
    emit("python-proofs", "proofs/inclusion", count / secs, "proofs/s")

    kept = offsets[:VERIFY_SET]
    cases = [(o, proof(1, o, n), store.leaf_data(1, o)) for o in kept]
    verify = stratalog.verify_inclusion

    def check(case: tuple[int, list[bytes], bytes]) -> None:
        o, p, leaf = case
        verify(o, n, root, p, leaf)

    count, secs = timed_loop(cases, check, minimum=1000)
    emit("python-proofs", "proofs/verify", count / secs, "proofs/s")

    key = stratalog.SigningKey.generate("bench.example/log")
    count, secs = timed_loop([None], lambda _: store.checkpoint(1, key, size=n), minimum=100)
    emit("python-proofs", "proofs/checkpoint", count / secs, "checkpoints/s")

    receipts = [(store.receipt(1, o, key, size=n), evs[o % 1000]) for o in kept[:2000]]
    vkey = key.vkey
    verify_receipt = stratalog.verify_receipt
    count, secs = timed_loop(receipts, lambda r: verify_receipt(r[0], vkey, r[1]), minimum=100)
    emit("python-proofs", "proofs/receipt-verify", count / secs, "receipts/s")
    store.close()
    shutil.rmtree(path)


def run_python_export() -> None:
    """System "python-export": the CLI's `stratalog export` of a stream of
    BENCH_EXPORT_EVENTS 100 B events into a JSON-lines file, and
    `stratalog import` of that file into a fresh store (which checks every
    hash before it appends anything); events/s of each, end to end."""
    import stratalog

    n = int(os.environ.get("BENCH_EXPORT_EVENTS", "200000"))
    path = scratch("python-export")
    store = stratalog.open(path)
    evs = events(100, 1000)
    for at in range(0, n, 1000):
        store.append_batch(1, evs[: min(1000, n - at)])
    head = store.chain_head(1)
    store.close()
    dump = path + ".jsonl"
    cli = [sys.executable, "-m", "stratalog"]
    start = time.perf_counter()
    with open(dump, "wb") as out:
        subprocess.run([*cli, "export", path, "--stream", "1"], stdout=out, check=True)
    emit("python-export", "export/export", n / (time.perf_counter() - start), "events/s")
    target = scratch("python-import")
    start = time.perf_counter()
    subprocess.run([*cli, "import", target, dump], stdout=subprocess.DEVNULL, check=True)
    emit("python-export", "export/import", n / (time.perf_counter() - start), "events/s")
    copy = stratalog.open_read_only(target)
    assert copy.chain_head(1) == head, (copy.chain_head(1), head)
    copy.close()
    shutil.rmtree(path)
    shutil.rmtree(target)
    os.remove(dump)


def run_tamperlog_proofs() -> None:
    """System "tamperlog-proofs": tamperlog's own inclusion proofs
    (`AppendOnlyLog.prove_inclusion`) of random entries of a log of
    BENCH_SLOW_PROOF_EVENTS 100 B entries, built through its `append` into
    its JSONL storage; and their checking with no log
    (`verify_inclusion_against` a checkpoint) of the proofs made, over and
    over. proofs/events is the log's size."""
    from tamperlog import AppendOnlyLog, JSONLStorage
    from tamperlog.log import verify_inclusion_against

    n = SLOW_PROOF_EVENTS
    path = scratch("tamperlog-proofs")
    log = AppendOnlyLog(JSONLStorage(os.path.join(path, "log.jsonl")))
    emit("tamperlog-proofs", "proofs/events", n, "events")
    evs = events(100, 1000)
    start = time.perf_counter()
    for i in range(n):
        log.append(evs[i % 1000])
    emit("tamperlog-proofs", "proofs/append", n / (time.perf_counter() - start), "events/s")
    start = time.perf_counter()
    checkpoint = log.checkpoint()
    emit("tamperlog-proofs", "proofs/build", n / (time.perf_counter() - start), "events/s")

    offsets = proof_offsets(n, 200_000)
    cases: list[tuple[int, list[bytes], bytes]] = []

    def prove(o: int) -> None:
        cases.append((o, log.prove_inclusion(o), log.entry(o)))

    count, secs = timed_loop(offsets, prove, minimum=3, chunk=1)
    emit("tamperlog-proofs", "proofs/inclusion", count / secs, "proofs/s")

    # The proofs just made (a few: about a second each at 1M entries),
    # checked over and over.
    def check(case: tuple[int, list[bytes], bytes]) -> None:
        o, p, payload = case
        verify_inclusion_against(checkpoint, o, payload, p)

    count, secs = timed_loop(cases, check, minimum=1000)
    emit("tamperlog-proofs", "proofs/verify", count / secs, "proofs/s")
    shutil.rmtree(path)


# ---------------------------------------------------------------- the fsync duel

DUEL_SECONDS = float(os.environ.get("BENCH_DUEL_SECONDS", "3"))
DUEL_SLICE = 0.02


def run_duel() -> None:
    """Durable single 100 B events, three ways, interleaved in 20 ms slices
    for BENCH_DUEL_SECONDS: stratalog (fsync=True), the SQLite chain table
    with synchronous=FULL (one transaction per event), and the limit
    (os.write + os.fdatasync). This disk's flush latency swings by an order
    of magnitude within seconds; slices this short expose all three to the
    same swings, so their ratios hold where separate cells do not. Python's
    own cost (a few µs per call) is small beside an fdatasync."""
    import stratalog

    ev = events(100, 1)[0]
    root = scratch("duel")
    os.makedirs(root)
    store = stratalog.open(os.path.join(root, "store"))
    table = ChainTable(os.path.join(root, "log.db"), "FULL")
    fd = os.open(os.path.join(root, "limit.bin"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)

    def limit() -> None:
        os.write(fd, ev)
        os.fdatasync(fd)

    ops: list[tuple[str, Callable[[], object]]] = [
        ("python", lambda: store.append(1, ev, fsync=True)),
        ("sqlite", lambda: table.append_batch([ev])),
        ("limit", limit),
    ]
    done = {name: 0 for name, _ in ops}
    spent = {name: 0.0 for name, _ in ops}
    end = time.perf_counter() + DUEL_SECONDS
    k = 0
    while time.perf_counter() < end:
        for name, op in ops[k % 3:] + ops[: k % 3]:
            start = time.perf_counter()
            n = 0
            while n < 1 or time.perf_counter() - start < DUEL_SLICE:
                op()
                n += 1
            spent[name] += time.perf_counter() - start
            done[name] += n
        k += 1
    store.close()
    table.close()
    os.close(fd)
    shutil.rmtree(root)
    for name, _ in ops:
        emit(name, "duel/100B/x1/fsync", done[name] / spent[name], "events/s")


# ---------------------------------------------------------------- datasets


def prepare() -> None:
    from tamperlog import AppendOnlyLog, JSONLStorage

    for name in ("sqlite", "tamperlog"):
        shutil.rmtree(dataset(name), ignore_errors=True)
        os.makedirs(dataset(name))
    for size, count, slow, name in ((100, SEQ100, SLOW_SEQ100, "100B"), (4096, SEQ4K, SLOW_SEQ4K, "4KiB")):
        evs = events(size, 1024)
        table = ChainTable(os.path.join(dataset("sqlite"), f"{name}.db"))
        for start in range(0, count, 1000):
            table.append_batch([evs[i % 1024] for i in range(start, min(count, start + 1000))])
        table.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        table.close()
        log_path = os.path.join(dataset("tamperlog"), f"{name}.jsonl")
        log = AppendOnlyLog(JSONLStorage(log_path))
        for i in range(slow):
            log.append(evs[i % 1024])
        with open(log_path + ".checkpoint", "w") as f:
            json.dump(log.checkpoint().to_dict(), f)


RUNS: dict[str, Callable[[], None]] = {
    "python": run_python,
    "sqlite": run_sqlite,
    "tamperlog": run_tamperlog,
    "duel": run_duel,
    "python-proofs": run_python_proofs,
    "python-export": run_python_export,
    "tamperlog-proofs": run_tamperlog_proofs,
}


def main() -> None:
    args = sys.argv[1:]
    if args == ["prepare"]:
        prepare()
    elif len(args) == 2 and args[0] == "run" and args[1] in RUNS:
        RUNS[args[1]]()
    else:
        sys.exit(f"usage: bench_py.py prepare | run {'|'.join(RUNS)}")


if __name__ == "__main__":
    main()
