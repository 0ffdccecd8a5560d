"""store.wait(): sleep until a stream grows, time out, or end at close."""

from __future__ import annotations

import os
import subprocess
import sys
import signal
import threading
import time
from pathlib import Path

import pytest

import stratalog


def test_wait_returns_the_new_next_offset_when_an_append_passes_it() -> None:
    with stratalog.open_in_memory() as store:
        store.append_batch(1, [b"a", b"b"])
        assert store.wait(1, 0) == 2  # already past: at once
        got: list[int] = []
        waiter = threading.Thread(target=lambda: got.append(store.wait(1, 2, timeout=30)))
        waiter.start()
        time.sleep(0.05)
        assert waiter.is_alive() and got == []
        store.append_batch(1, [b"c", b"d", b"e"])
        waiter.join(10)
        assert got == [5]


def test_wait_times_out_with_a_timeout_error(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s") as store:
        started = time.monotonic()
        with pytest.raises(stratalog.TimeoutError) as info:
            store.wait(3, 0, timeout=0.15)
        assert time.monotonic() - started >= 0.15
        assert isinstance(info.value, TimeoutError) and isinstance(info.value, stratalog.Error)
        assert (info.value.stream, info.value.offset, info.value.status) == (3, 0, stratalog.Status.TIMEOUT)
        with pytest.raises(ValueError):
            store.wait(3, 0, timeout=-1)


def test_close_ends_a_waiter_with_closed_error() -> None:
    store = stratalog.open_in_memory()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            store.wait(9, 0)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            errors.append(e)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    store.close()
    waiter.join(10)
    assert not waiter.is_alive() and len(errors) == 1
    assert isinstance(errors[0], stratalog.ClosedError)


def test_ctrl_c_interrupts_a_wait() -> None:
    with stratalog.open_in_memory() as store:
        timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            store.wait(1, 0)
        timer.join()
        assert time.monotonic() - started < 5


WRITER = """
import sys, stratalog
with stratalog.open(sys.argv[1], segment_size=4096) as s:
    for i in range(0, 600, 6):
        s.append_batch(5, [b"event %d" % n for n in range(i, i + 6)])
"""


def test_a_read_only_store_follows_a_writer_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s"
    stratalog.open(path).close()
    with stratalog.open_read_only(path) as reader:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        try:
            seen: list[bytes] = []
            while len(seen) < 600:
                grown = reader.wait(5, len(seen), timeout=30)
                assert grown % 6 == 0  # whole batches only
                seen += reader.read_from(5, len(seen), max_bytes=2**64 - 1)
                assert len(seen) == grown
            assert seen == [b"event %d" % n for n in range(600)]
        finally:
            assert writer.wait(30) == 0
        assert reader.stats(5).segments > 1  # it followed rotations
        with pytest.raises(stratalog.TimeoutError):
            reader.wait(5, 600, timeout=0.05)


def test_follow_yields_the_past_then_new_events_and_ends_at_close_or_timeout(tmp_path: Path) -> None:
    store = stratalog.open(tmp_path / "s")
    store.append_batch(1, [b"a", b"b"])
    got: list[tuple[int, bytes]] = []

    def consume() -> None:
        for item in store.follow(1, 1):
            got.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.05)
    store.append(1, b"c")
    store.append_batch(1, [b"d", b"e"])
    deadline = time.monotonic() + 10
    while len(got) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == [(1, b"b"), (2, b"c"), (3, b"d"), (4, b"e")]
    store.close()  # ends the follower
    consumer.join(10)
    assert not consumer.is_alive()
    with stratalog.open(tmp_path / "s") as again:
        started = time.monotonic()
        assert list(again.follow(1, 3, timeout=0.1)) == [(3, b"d"), (4, b"e")]
        assert time.monotonic() - started >= 0.1


def test_follow_on_a_read_only_store_follows_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s"
    stratalog.open(path).close()
    with stratalog.open_read_only(path) as reader:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        try:
            got = []
            for offset, event in reader.follow(5, timeout=30):
                got.append((offset, event))
                if len(got) == 600:
                    break
            assert got == [(n, b"event %d" % n) for n in range(600)]
        finally:
            assert writer.wait(30) == 0


def test_follow_takes_one_iterator_on_across_many_wakeups() -> None:
    # Every wakeup extends the same iterator (Store.extend_iter under the
    # hood): all events arrive once, in order, across segment rotations.
    with stratalog.open_in_memory(segment_size=4096, checkpoint_interval=16) as store:
        got: list[tuple[int, bytes]] = []

        def writer() -> None:
            for i in range(300):
                store.append(5, b"e%d" % i)

        thread = threading.Thread(target=writer)
        thread.start()
        for offset, event in store.follow(5, timeout=2.0):
            got.append((offset, event))
            if offset == 299:
                break
        thread.join()
    assert got == [(i, b"e%d" % i) for i in range(300)]


def test_extend_iter_goes_on_from_the_end_and_refuses_a_closed_iterator() -> None:
    with stratalog.open_in_memory() as store:
        store.append_batch(1, [b"a", b"b"])
        events = store.iter(1)
        assert list(events) == [(0, b"a"), (1, b"b")]
        assert events.closed
        store.append(1, b"c")
        assert store._native.extend_iter(events) is True
        assert list(events) == [(2, b"c")]
        events.close()
        assert store._native.extend_iter(events) is False


EXIT_WHILE_WAITING = """
import atexit, sys, threading, time
late = []

def late_hook():
    # Registered before stratalog's own hook, so it runs after it: the
    # exiting thread, and a thread it starts and joins, may still use a
    # store there.
    worker = threading.Thread(target=lambda: late.append(late[0].append(1, b"from a thread at exit")))
    worker.start()
    worker.join()
    print("late hook", late[0].append(1, b"at exit"), flush=True)

atexit.register(late_hook)
import stratalog
mode, path = sys.argv[1], sys.argv[2]
writer = stratalog.open(path)
late.append(writer)
writer.append_batch(1, [b"x" * 100] * 50000)

def forever(call):
    while True:
        call()

if mode == "wait":
    # One asleep for good, the others in and out of the library.
    threading.Thread(target=writer.wait, args=(2, 0), daemon=True).start()
    target = lambda: forever(lambda: writer.wait(1, 0))
elif mode == "follow":
    reader = stratalog.open_read_only(path)
    target = lambda: [None for _ in reader.follow(1)]
else:
    target = lambda: forever(lambda: [None for _ in writer.iter(1)])
for _ in range(4):
    threading.Thread(target=target, daemon=True).start()
time.sleep(0.05)
print("exiting", flush=True)
"""


@pytest.mark.parametrize("mode", ["wait", "follow", "iter"])
def test_the_interpreter_exits_cleanly_with_daemon_threads_in_library_calls(tmp_path: Path, mode: str) -> None:
    # CPython before 3.14 ends a daemon thread that takes the GIL back
    # during finalization with pthread_exit, which crashed (SIGSEGV) when
    # that thread was coming back from a wait, a follow or a read.
    for attempt in range(5):
        path = tmp_path / f"{mode}-{attempt}"
        run = subprocess.run(
            [sys.executable, "-c", EXIT_WHILE_WAITING, mode, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, (attempt, run.returncode, run.stderr)
        with stratalog.open_read_only(path) as store:
            assert store.read_from(1, 50000) == [b"from a thread at exit", b"at exit"]
        lines = run.stdout.splitlines()
        assert lines[0] == "exiting" and lines[1].startswith("late hook 50002:"), run.stdout
