"""Round trips, reading, iteration, options and argument handling."""

from __future__ import annotations

import array
import logging
import os
from pathlib import Path

import pytest
from conftest import REPO, crash_after_appending, segments

import stratalog
from stratalog import ChainHead, Compression


def test_round_trip_across_reopen(store_path: Path) -> None:
    events = [os.urandom(n) for n in range(0, 3000, 7)]
    with stratalog.open(store_path, segment_size=8192, checkpoint_interval=16) as store:
        assert store.path == str(store_path)
        heads = [store.append_batch(3, events[i : i + 10]) for i in range(0, len(events), 10)]
        store.append(4, b"other stream")
        store.sync(4)
        store.sync()
        final = store.chain_head(3)
        assert final == heads[-1]
        assert final.next_offset == len(events)
    assert len(segments(store_path, 3)) > 3  # rotation happened

    with stratalog.open(store_path) as store:
        assert store.streams() == [3, 4]
        assert store.chain_head(3) == final
        assert [e for _, e in store.iter(3)] == events
        report = store.verify(3)
        assert report.events == len(events)
        assert report.bytes == sum(map(len, events))
        assert report.segments == len(segments(store_path, 3))
        assert report.checkpoints >= len(events) // 16 - 1
        assert report.head == final
        for head in heads:
            assert store.verify_against(3, head).head == final
            assert store.verify_against(3, str(head)).head == final
        # The history goes on where it stopped.
        after = store.append(3, b"more")
        assert after.next_offset == final.next_offset + 1

    with stratalog.open_read_only(store_path) as ro:
        assert ro.read_only
        assert ro.chain_head(3) == after
        assert ro.read_from(3, len(events)) == [b"more"]
        assert ro.read_from(4, 0) == [b"other stream"]


def test_read_from_pages_by_max_bytes(store: stratalog.Store) -> None:
    store.append_batch(1, [bytes([i]) * 100 for i in range(50)])
    page = store.read_from(1, 0, max_bytes=350)
    assert page == [bytes([i]) * 100 for i in range(3)]
    # At least one event even when it alone is over the budget.
    assert store.read_from(1, 10, max_bytes=1) == [bytes([10]) * 100]
    assert store.read_from(1, 10, max_bytes=0) == [bytes([10]) * 100]
    # Paging through everything.
    got, offset = [], 0
    while True:
        chunk = store.read_from(1, offset, max_bytes=999)
        if not chunk:
            break
        got += chunk
        offset += len(chunk)
    assert got == [bytes([i]) * 100 for i in range(50)]
    # At the end: empty; a stream that does not exist is empty too.
    assert store.read_from(1, 50) == []
    assert store.read_from(77, 0) == []
    assert store.read_from(1, 0) == got  # default budget 1 MiB


def test_events_accept_bytes_like(store: stratalog.Store) -> None:
    data = bytearray(b"0123456789")
    view = memoryview(b"abcdefghij")
    store.append_batch(2, [b"bytes", data, view, view[::2], array.array("B", [1, 2, 3])])
    store.append(2, bytearray(b"single"))
    store.append(2, memoryview(b"xyz")[1:])
    data[0:1] = b"X"  # the stored copy does not change with the bytearray
    assert store.read_from(2, 0) == [b"bytes", b"0123456789", b"abcdefghij", b"acegi", b"\x01\x02\x03", b"single", b"yz"]
    # Any iterable of events works, generators included.
    head = store.append_batch(2, (bytes([i]) for i in range(3)))
    assert head.next_offset == 10


def test_str_and_other_non_bytes_events_raise_type_error(store: stratalog.Store) -> None:
    with pytest.raises(TypeError, match="encode"):
        store.append(1, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="event 1 is a str"):
        store.append_batch(1, [b"ok", "text"])  # type: ignore[list-item]
    for bad in (1, 1.5, None, object(), [b"nested"]):
        with pytest.raises(TypeError):
            store.append(1, bad)  # type: ignore[arg-type]
    # A single event where a sequence is expected is refused, not split up.
    for single in (b"abc", "abc", bytearray(b"abc"), memoryview(b"abc")):
        with pytest.raises(TypeError, match="sequence"):
            store.append_batch(1, single)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.append_batch(1, 5)  # type: ignore[arg-type]
    # Nothing was written by any of these.
    assert store.chain_head(1) == ChainHead.empty()
    assert store.streams() == []


@pytest.mark.parametrize("bad", [-1, 2**64, 2**100, -(2**64)])
def test_out_of_range_ints_raise_overflow_error(store: stratalog.Store, bad: int) -> None:
    with pytest.raises(OverflowError):
        store.append(bad, b"x")
    with pytest.raises(OverflowError):
        store.chain_head(bad)
    with pytest.raises(OverflowError):
        store.read_from(0, bad)
    with pytest.raises(OverflowError):
        store.read_from(0, 0, max_bytes=bad)
    with pytest.raises(OverflowError):
        store.iter(bad)
    with pytest.raises(OverflowError):
        store.append(0, b"x", expected_offset=bad)
    with pytest.raises(OverflowError):
        stratalog.open_in_memory(segment_size=bad)
    assert store.streams() == []


def test_non_int_ids_raise_type_error(store: stratalog.Store) -> None:
    for bad in (1.0, "1", None, b"1"):
        with pytest.raises(TypeError):
            store.append(bad, b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.verify(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        stratalog.open_in_memory(checkpoint_interval=1.5)  # type: ignore[arg-type]


def test_largest_ids_work(store: stratalog.Store) -> None:
    top = 2**64 - 1
    store.append(top, b"at the top")
    assert store.streams() == [top]
    assert store.read_from(top, 0) == [b"at the top"]
    # expected_offset 2**64-1 is an offset like any other (no sentinel).
    with pytest.raises(stratalog.OffsetMismatchError) as info:
        store.append(top, b"x", expected_offset=top)
    assert (info.value.expected, info.value.actual) == (top, 1)


def test_expected_offset_guards_appends(store: stratalog.Store) -> None:
    h1 = store.append_batch(5, [b"a", b"b"], expected_offset=0)
    h2 = store.append(5, b"c", expected_offset=2)
    assert (h1.next_offset, h2.next_offset) == (2, 3)
    with pytest.raises(stratalog.OffsetMismatchError):
        store.append(5, b"d", expected_offset=2)
    assert store.chain_head(5) == h2


def test_iter_is_lazy_and_stops_at_the_head_it_saw(store: stratalog.Store) -> None:
    store.append_batch(1, [b"a", b"b", b"c"])
    it = store.iter(1)
    store.append(1, b"d")  # after the iterator was made
    assert list(it) == [(0, b"a"), (1, b"b"), (2, b"c")]
    assert it.closed
    assert next(it, None) is None  # exhausted stays exhausted
    assert list(store.iter(1, start=2)) == [(2, b"c"), (3, b"d")]
    assert list(store.iter(1, start=4)) == []
    assert list(store.iter(999)) == []
    with store.iter(1) as it2:
        assert next(it2) == (0, b"a")
    assert it2.closed
    with pytest.raises(StopIteration):
        next(it2)
    it3 = store.iter(1)
    assert iter(it3) is it3
    it3.close()
    assert list(it3) == []


def _rss_anon_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    pytest.skip("no RssAnon in /proc/self/status")


def test_iter_walks_a_large_stream_in_bounded_memory(tmp_path: Path) -> None:
    event = b"x" * 4096
    count = 16 * 1024  # 64 MiB of events
    with stratalog.open(tmp_path / "big", segment_size=1 << 20) as store:
        for _ in range(count // 256):
            store.append_batch(0, [event] * 256)
    with stratalog.open_read_only(tmp_path / "big") as store:
        before = _rss_anon_kib()
        peak = before
        seen = 0
        for offset, got in store.iter(0):
            assert offset == seen
            seen += 1
            if seen % 512 == 0:
                assert got == event
                peak = max(peak, _rss_anon_kib())
        assert seen == count
    # 64 MiB went by; the process grew by far less than that.
    assert peak - before < 16 * 1024, f"anonymous memory grew by {peak - before} KiB"


def test_options_and_compression(tmp_path: Path) -> None:
    with stratalog.open(
        tmp_path / "s", segment_size=8192, checkpoint_interval=10, compression="zstd", max_event_size=1000, fsync=True
    ) as store:
        assert store.options == stratalog.StoreOptions(8192, 10, Compression.ZSTD, 1000, True, 256)
        store.append(0, b"z" * 900)
        assert store.read_from(0, 0) == [b"z" * 900]
    # Compression made the record smaller than the event.
    assert segments(tmp_path / "s", 0)[0].stat().st_size < 900
    with stratalog.open_in_memory(compression=Compression.LZ4) as mem:
        assert mem.options.compression is Compression.LZ4
        assert mem.path is None
        assert "in memory" in repr(mem)
    defaults = stratalog.open_in_memory()
    assert defaults.options == stratalog.StoreOptions(64 << 20, 256, Compression.NONE, 16 << 20, False, 256)
    defaults.close()
    with pytest.raises(ValueError, match="compression"):
        stratalog.open_in_memory(compression="gzip")
    with pytest.raises(TypeError):
        stratalog.open_in_memory(compression=1)  # type: ignore[arg-type]


def test_stats_count_segments_without_reading(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s", segment_size=4096) as store:
        assert store.stats(5) == stratalog.StreamStats(0, 0, 0, 0)
        for i in range(200):
            store.append(5, b"event %d " % i * 4)
        stats = store.stats(5)
        files = segments(tmp_path / "s", 5)
        assert stats.segments == len(files) > 1
        assert stats.bytes == sum(f.stat().st_size for f in files)
        assert (stats.first_offset, stats.next_offset, stats.events) == (0, 200, 200)
    with stratalog.open_read_only(tmp_path / "s") as reader:
        assert reader.stats(5) == stats
        reader.close()
        with pytest.raises(stratalog.ClosedError):
            reader.stats(5)


def test_fsync_argument_and_store_default(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s", fsync=True) as store:
        store.append(0, b"durable by default")
        store.append(0, b"not synced", fsync=False)
        store.append_batch(0, [b"synced"], fsync=True)
    with stratalog.open(tmp_path / "s") as store:
        assert store.read_from(0, 0) == [b"durable by default", b"not synced", b"synced"]


@pytest.mark.parametrize("kind", ["str", "pathlib", "bytes"])
def test_paths_accept_str_pathlike_and_bytes(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "p"
    path: stratalog.PathLike = {"str": str(target), "pathlib": target, "bytes": os.fsencode(target)}[kind]
    with stratalog.open(path) as store:
        store.append(0, b"x")
        assert store.path == str(target)
    with stratalog.open_read_only(path) as ro:
        assert ro.read_from(0, 0) == [b"x"]
        assert repr(ro) == f"<stratalog.Store {str(target)!r} read-only>"


def test_context_manager_closes_even_on_error(store_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with stratalog.open(store_path) as store:
            store.append(0, b"x")
            raise RuntimeError("boom")
    assert store.closed
    assert "closed" in repr(store)
    # The writer lock was released: the store opens again.
    with stratalog.open(store_path) as again:
        assert again.read_from(0, 0) == [b"x"]


def test_store_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError):
        stratalog.Store(object(), None)  # type: ignore[arg-type]


def test_dropping_an_open_store_releases_it(store_path: Path) -> None:
    store = stratalog.open(store_path)
    store.append(0, b"kept")
    del store
    import gc

    gc.collect()
    with stratalog.open(store_path) as store:
        assert store.read_from(0, 0) == [b"kept"]


def test_torn_tails_are_reported_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as store:
        store.append_batch(3, [b"one", b"two"], fsync=True)
        whole = store.stats(3).bytes
        assert store.torn_tails == ()
    crash_after_appending(path, 3, [b"three", b"four"])
    seg = segments(path, 3)[-1]
    full = seg.stat().st_size
    os.truncate(seg, full - 3)  # a crash in the middle of the second batch

    with caplog.at_level(logging.WARNING, logger="stratalog"):
        with stratalog.open_read_only(path) as reader:
            assert reader.torn_tails == (stratalog.TornTail(3, str(seg), whole, full - 3 - whole),)
            assert reader.chain_head(3).next_offset == 2
    assert seg.stat().st_size == full - 3  # a reader leaves the bytes alone
    assert [r.getMessage() for r in caplog.records] == [
        f"stream 3: ignored an unfinished batch of {full - 3 - whole} bytes at the end of {seg} "
        "(left by a crash during an append; no acknowledged event is in it)"
    ]
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="stratalog"):
        with stratalog.open(path) as writer:
            assert [t.dropped_bytes for t in writer.torn_tails] == [full - 3 - whole]
    assert seg.stat().st_size == whole  # a writer cuts it off
    assert "cut off an unfinished batch" in caplog.records[0].getMessage()
    caplog.clear()

    with caplog.at_level(logging.WARNING, logger="stratalog"):
        with stratalog.open(path) as again:
            assert again.torn_tails == ()
    assert caplog.records == []


def test_a_read_only_handle_is_a_snapshot_and_says_so(tmp_path: Path) -> None:
    """Issue 19 item 3: a read-only handle is frozen at open. The behaviour
    and every place that documents it agree."""
    path = tmp_path / "s"
    with stratalog.open(path) as writer:
        writer.append_batch(1, [b"a", b"b"])
        with stratalog.open_read_only(path) as reader:
            writer.append(1, b"c")
            writer.append(2, b"new stream")
            assert reader.chain_head(1).next_offset == 2  # not 3
            assert reader.streams() == [1]
            assert list(reader.iter(1)) == [(0, b"a"), (1, b"b")]
        with stratalog.open_read_only(path) as again:  # a new open sees them
            assert again.chain_head(1).next_offset == 3 and again.streams() == [1, 2]
    root = REPO
    doc = stratalog.open_read_only.__doc__ or ""
    assert "snapshot" in doc and "never" in doc
    assert "snapshot" in (root / "README.md").read_text()
    assert "snapshot that never shows" in (root / "include" / "stratalog.h").read_text()
    assert "snapshot taken at open" in (root / "docs" / "ARCHITECTURE.md").read_text()
