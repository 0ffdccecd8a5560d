"""The GIL is released during disk work; one store serves many threads; a
close from another thread never crashes a reader."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import stratalog


def test_other_threads_run_during_a_long_append(store: stratalog.Store) -> None:
    """While one thread is inside a long append (hundreds of MiB to hash and
    write), a pure-Python thread keeps counting: the GIL was released."""
    event = b"\xab" * (4 << 20)
    batch = [event] * 32  # 128 MiB, the same bytes object (no copy)
    ticks: list[float] = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        start = time.monotonic()
        head = store.append_batch(0, batch)
        end = time.monotonic()
    finally:
        stop.set()
        counter.join()
    assert head.next_offset == 32
    during = [t for t in ticks if start <= t <= end]
    duration = end - start
    assert duration > 0.05, f"the append was too quick ({duration:.3f}s) to tell anything"
    # The counter ran all along: many ticks, and no gap as long as the call.
    assert len(during) > 1000, f"only {len(during)} ticks in {duration:.3f}s"
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert max(gaps) < duration / 2, f"counter stalled {max(gaps):.3f}s of {duration:.3f}s"


def test_other_threads_run_during_verify_and_reads(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s") as store:
        store.append_batch(0, [b"v" * (1 << 20)] * 64)
        for call in (lambda: store.verify(0), lambda: store.read_from(0, 0, max_bytes=1 << 30)):
            ticks = 0
            stop = threading.Event()

            def count() -> None:
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1

            counter = threading.Thread(target=count)
            counter.start()
            try:
                time.sleep(0.02)
                before = ticks
                call()
                progressed = ticks - before
            finally:
                stop.set()
                counter.join()
            assert progressed > 1000, progressed


def test_threads_append_and_read_through_one_store(tmp_path: Path) -> None:
    writers, per_writer = 4, 300
    errors: list[BaseException] = []
    with stratalog.open(tmp_path / "s", segment_size=16384, checkpoint_interval=32) as store:

        def write_own(n: int) -> None:
            try:
                for i in range(per_writer):
                    store.append(n, b"w%d-%d" % (n, i))
                    store.append(100, b"shared %d %d" % (n, i))  # contended stream
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        def guarded(n: int) -> None:
            # Optimistic concurrency on one stream with expected_offset.
            try:
                done = 0
                while done < 50:
                    head = store.chain_head(200)
                    try:
                        store.append(200, b"g%d" % n, expected_offset=head.next_offset)
                        done += 1
                    except stratalog.OffsetMismatchError:
                        pass
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        def read() -> None:
            try:
                for _ in range(60):
                    for s in store.streams():
                        events = [e for _, e in store.iter(s)]
                        assert events == store.read_from(s, 0, max_bytes=1 << 30)[: len(events)]
                    store.verify(100)
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=write_own, args=(n,)) for n in range(writers)]
        threads += [threading.Thread(target=guarded, args=(n,)) for n in range(3)]
        threads += [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for n in range(writers):
            assert store.read_from(n, 0, max_bytes=1 << 30) == [b"w%d-%d" % (n, i) for i in range(per_writer)]
        shared = store.read_from(100, 0, max_bytes=1 << 30)
        assert len(shared) == writers * per_writer
        for n in range(writers):  # each writer's events in its own order
            mine = [e for e in shared if e.startswith(b"shared %d " % n)]
            assert mine == [b"shared %d %d" % (n, i) for i in range(per_writer)]
        assert store.chain_head(200).next_offset == 150
        for s in store.streams():
            store.verify(s)


@pytest.mark.parametrize("round_", range(5))
def test_close_while_other_threads_use_the_store(tmp_path: Path, round_: int) -> None:
    store = stratalog.open(tmp_path / "s", segment_size=8192)
    store.append_batch(0, [b"x" * 100] * 500)
    outcomes: list[str] = []
    started = threading.Barrier(5)

    def hammer(kind: int) -> None:
        started.wait()
        try:
            while True:
                if kind == 0:
                    store.read_from(0, 0, max_bytes=10_000)
                elif kind == 1:
                    store.verify(0)
                elif kind == 2:
                    store.append(1, b"more")
                else:
                    for _ in store.iter(0):
                        pass
        except stratalog.ClosedError:
            outcomes.append("closed")
        except BaseException as e:  # pragma: no cover - reported below
            outcomes.append(repr(e))

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.01 * (round_ + 1))
    store.close()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == ["closed"] * 4
    assert store.closed
    with stratalog.open(tmp_path / "s") as again:  # the lock was released
        again.verify(0)
        again.verify(1)


def test_an_iterator_shared_by_two_threads_never_crashes(store: stratalog.Store) -> None:
    # A thread that finds the other inside next() retries at once: 5,000
    # events already make millions of such collisions, in about a second.
    store.append_batch(0, [b"%d" % i for i in range(5_000)])
    it = store.iter(0)
    seen: list[list[int]] = [[], []]
    busy = [0, 0]

    def take(n: int) -> None:
        while True:
            try:
                item = next(it)
            except StopIteration:
                return
            except RuntimeError:  # the other thread is inside next()
                busy[n] += 1
                continue
            seen[n].append(item[0])

    threads = [threading.Thread(target=take, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every event was handed out exactly once, each thread saw them in order.
    assert sorted(seen[0] + seen[1]) == list(range(5_000))
    assert all(s == sorted(s) for s in seen)
