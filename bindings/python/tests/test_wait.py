"""store.wait(): sleep until a stream grows, time out, or end at close."""

from __future__ import annotations

import os
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
