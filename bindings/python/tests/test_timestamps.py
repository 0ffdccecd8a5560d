"""Per-batch timestamps (issue 15): ``open(..., timestamps=True)``,
Store.seek_time / prune_keep_newer with datetimes and Unix seconds, and
``stratalog prune --keep-newer`` / ``stratalog tail --since``."""

from __future__ import annotations

import datetime
import json
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_cli, segments

import stratalog
from stratalog import PrunedError

STREAM = 3
SEGMENT_SIZE = 4096  # the smallest the options allow: several segments
BATCHES = 30
PER_BATCH = 10  # a prune keeps the stream's last 64-event chunk whole
FAR_FUTURE = datetime.datetime(2200, 1, 1, tzinfo=datetime.timezone.utc)
UTC = datetime.timezone.utc


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Batch:
    first: int  # its first offset
    before: int  # wall-clock Unix ms just before the append
    after: int  # and just after it


def fill(store: stratalog.Store, count: int = BATCHES, stream: int = STREAM) -> list[Batch]:
    """``count`` batches a few milliseconds apart, with the wall clock
    read around each append."""
    batches = []
    for _ in range(count):
        time.sleep(0.004)
        before = now_ms()
        first = store.chain_head(stream).next_offset
        store.append_batch(stream, [b"event %05d " % (first + j) + b"." * 80 for j in range(PER_BATCH)])
        after = now_ms()
        batches.append(Batch(first, before, after))
    return batches


def between(batches: list[Batch], i: int) -> int:
    """A time (Unix ms) after batch ``i`` ended and before batch ``i + 1``
    began: every batch up to ``i`` is earlier, every later one not."""
    t = batches[i].after + 1
    assert t <= batches[i + 1].before, "the batches are not apart"
    return t


@pytest.fixture
def timed(tmp_path: Path) -> tuple[Path, list[Batch]]:
    path = tmp_path / "timed"
    with stratalog.open(path, segment_size=SEGMENT_SIZE, timestamps=True) as store:
        assert store.options.timestamps is True
        batches = fill(store)
    assert len(segments(path, STREAM)) > 5
    return path, batches


def test_seek_time_finds_the_first_batch_at_or_after_a_time(timed: tuple[Path, list[Batch]]) -> None:
    path, batches = timed
    end = BATCHES * PER_BATCH
    with stratalog.open_read_only(path) as store:
        for i in range(BATCHES - 1):
            t = between(batches, i)
            expected = batches[i + 1].first
            assert store.seek_time(STREAM, t / 1000) == expected, i
            # The same time as an aware datetime, a naive (local) one, and a
            # float that is not a whole number of milliseconds.
            assert store.seek_time(STREAM, datetime.datetime.fromtimestamp(t / 1000, tz=UTC)) == expected
            assert store.seek_time(STREAM, datetime.datetime.fromtimestamp(t / 1000)) == expected
            assert store.seek_time(STREAM, (t + 0.999) / 1000) == expected
        # Before everything, after everything, an unknown stream.
        assert store.seek_time(STREAM, 0) == 0
        assert store.seek_time(STREAM, 0.0) == 0
        assert store.seek_time(STREAM, batches[0].before // 1000 - 1) == 0
        assert store.seek_time(STREAM, FAR_FUTURE) == end
        assert store.seek_time(STREAM, 2**40) == end  # int seconds
        assert store.seek_time(99, FAR_FUTURE) == 0
        # Reading from the answer is a plain read.
        start = store.seek_time(STREAM, between(batches, 9) / 1000)
        assert store.read_from(STREAM, start, max_bytes=1)[0].startswith(b"event %05d " % start)


def test_datetime_and_seconds_agree_to_the_millisecond(tmp_path: Path) -> None:
    # A datetime and its timestamp() always give the same milliseconds:
    # floats are taken to the microsecond first, then rounded down.
    from stratalog._store import _unix_ms

    for micros in (0, 1, 999, 1000, 123_456, 999_999):
        dt = datetime.datetime(2026, 12, 4, 15, 0, 0, micros, tzinfo=UTC)
        assert _unix_ms("when", dt) == _unix_ms("when", dt.timestamp()) == int(dt.timestamp() * 10**6) // 1000
    assert _unix_ms("when", 1.7) == 1700
    assert _unix_ms("when", 0.0009) == 0
    assert _unix_ms("when", 1_796_396_400) == 1_796_396_400_000


def test_bad_times_are_refused(tmp_path: Path) -> None:
    with stratalog.open_in_memory(timestamps=True) as store:
        assert store.options.timestamps is True
        store.append(1, b"x")
        for bad in (-1, -0.001, datetime.datetime(1969, 12, 31, 23, 59, tzinfo=UTC), float("nan"), float("inf")):
            with pytest.raises(stratalog.InvalidArgumentError) as info:
                store.seek_time(1, bad)
            assert isinstance(info.value, ValueError)
            with pytest.raises(ValueError):
                store.prune_keep_newer(1, bad)
        for wrong in ("2026-01-01", True, None, b"1", datetime.date(2026, 1, 1)):
            with pytest.raises(TypeError):
                store.seek_time(1, wrong)  # type: ignore[arg-type]
        with pytest.raises(OverflowError):
            store.seek_time(-1, 0)
    with pytest.raises(stratalog.ClosedError):
        store.seek_time(1, 0)


def test_prune_keep_newer_removes_older_segments(timed: tuple[Path, list[Batch]]) -> None:
    path, batches = timed
    before_prune = len(segments(path, STREAM))
    t = between(batches, 19)
    with stratalog.open(path) as store:
        head = store.chain_head(STREAM)
        kept_from = store.seek_time(STREAM, t / 1000)
        assert kept_from == batches[20].first
        first = store.prune_keep_newer(STREAM, datetime.datetime.fromtimestamp(t / 1000, tz=UTC))
        assert 0 < first <= kept_from
        assert store.first_offset(STREAM) == first
        with pytest.raises(PrunedError) as info:
            store.read_from(STREAM, first - 1)
        assert info.value.first_offset == first
        with pytest.raises(PrunedError):
            next(iter(store.iter(STREAM, 0)))
        assert store.read_from(STREAM, first)[0].startswith(b"event %05d " % first)
        # Times before the first batch now answer the stream's first offset.
        assert store.seek_time(STREAM, 0) == first
        assert store.seek_time(STREAM, t / 1000) == kept_from
        store.verify_against(STREAM, head)
        # Pruning again by the same time removes nothing more.
        assert store.prune_keep_newer(STREAM, t / 1000) == first
    assert len(segments(path, STREAM)) < before_prune


def test_a_store_without_timestamps_has_nothing_earlier(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    with stratalog.open(path, segment_size=SEGMENT_SIZE) as store:
        assert store.options.timestamps is False
        fill(store, count=20)
        assert store.seek_time(STREAM, FAR_FUTURE) == 0
        assert store.seek_time(STREAM, 2**40) == 0
        n = len(segments(path, STREAM))
        assert store.prune_keep_newer(STREAM, FAR_FUTURE) == 0
        assert len(segments(path, STREAM)) == n
        store.read_from(STREAM, 0)


def test_reopen_keeps_working(timed: tuple[Path, list[Batch]]) -> None:
    path, batches = timed
    with stratalog.open(path, segment_size=SEGMENT_SIZE, timestamps=True) as store:
        assert store.seek_time(STREAM, between(batches, 5) / 1000) == batches[6].first
        more = fill(store, count=5)
        assert store.seek_time(STREAM, between(more, 2) / 1000) == more[3].first
        assert store.seek_time(STREAM, (more[0].before - 1) / 1000) <= more[0].first
        assert store.seek_time(STREAM, FAR_FUTURE) == (BATCHES + 5) * PER_BATCH
        store.verify(STREAM)
    # A writable open without the option still reads the recorded times.
    with stratalog.open(path, segment_size=SEGMENT_SIZE) as store:
        assert store.options.timestamps is False
        assert store.seek_time(STREAM, between(batches, 5) / 1000) == batches[6].first
    with stratalog.open_read_only(path) as store:
        assert store.seek_time(STREAM, between(more, 2) / 1000) == more[3].first


def test_seek_time_releases_the_gil(timed: tuple[Path, list[Batch]]) -> None:
    path, batches = timed
    t = between(batches, 14) / 1000
    with stratalog.open_read_only(path) as store:
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda: results.extend(store.seek_time(STREAM, t) for _ in range(50)))
            for _ in range(4)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert results == [batches[15].first] * 200


def test_cli_prune_keep_newer(timed: tuple[Path, list[Batch]], tmp_path: Path) -> None:
    path, batches = timed
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    t1, t2 = between(batches, 9), between(batches, 19)
    with stratalog.open(copy) as store:
        expected1 = store.prune_keep_newer(STREAM, t1 / 1000)
        expected2 = store.prune_keep_newer(STREAM, t2 / 1000)
    assert 0 < expected1 < expected2

    # Unix seconds, with a fraction.
    out = run_cli("prune", str(path), "--stream", str(STREAM), "--keep-newer", f"{t1 / 1000:.3f}")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{expected1}\n"

    # ISO 8601, UTC with Z, and --json.
    iso = datetime.datetime.fromtimestamp(t2 / 1000, tz=UTC).isoformat(timespec="milliseconds")
    iso = iso.replace("+00:00", "Z")
    out = run_cli("--json", "prune", str(path), "--stream", str(STREAM), "--keep-newer", iso)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc == {
        "ok": True,
        "command": "prune",
        "path": str(path),
        "stream": STREAM,
        "keep_newer_ms": t2,
        "first_offset": expected2,
    }
    # A naive ISO time is local time: the same instant prunes nothing more.
    local = datetime.datetime.fromtimestamp(t2 / 1000).isoformat(timespec="milliseconds")
    out = run_cli("prune", str(path), "--stream", str(STREAM), "--keep-newer", local, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["first_offset"] == expected2
    with stratalog.open_read_only(path) as store:
        assert store.first_offset(STREAM) == expected2

    base = ("prune", str(path), "--stream", str(STREAM))
    for bad in ("yesterday", "-5", "1969-12-31T23:00:00+00:00"):
        usage = run_cli("--json", *base, "--keep-newer", bad)
        assert usage.returncode == 2, bad
        assert json.loads(usage.stdout)["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT"
    both = run_cli(*base, "--keep-newer", "0", "--keep-last", "5")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert "--keep-newer" in run_cli("prune", "--help").stdout


def test_cli_tail_since(timed: tuple[Path, list[Batch]]) -> None:
    path, batches = timed
    t = between(batches, 26)
    start = batches[27].first
    iso = datetime.datetime.fromtimestamp(t / 1000, tz=UTC).isoformat(timespec="milliseconds")
    for when in (iso, f"{t / 1000:.3f}"):
        out = run_cli("tail", str(path), "--stream", str(STREAM), "--since", when, "--json")
        assert out.returncode == 0, out.stderr
        offsets = [json.loads(line)["offset"] for line in out.stdout.splitlines()]
        assert offsets == list(range(start, BATCHES * PER_BATCH))
    out = run_cli("tail", str(path), "--stream", str(STREAM), "--since", "2200-01-01T00:00:00")
    assert out.returncode == 0 and out.stdout == ""
    both = run_cli("tail", str(path), "--stream", str(STREAM), "--since", iso, "--from", "3")
    assert both.returncode == 2 and "not allowed with" in both.stderr
