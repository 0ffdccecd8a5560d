"""The public API as a typed client sees it. `mypy --strict` checks this
file (make test-python), so the stubs and annotations must describe what
the package really returns; pytest runs it too."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import stratalog
from stratalog import ChainHead, Compression, Store, StoreOptions, VerifyReport


def audit(store: Store, stream: int, records: list[bytes]) -> ChainHead:
    head: ChainHead = store.append_batch(stream, records, expected_offset=store.chain_head(stream).next_offset)
    return head


def events_of(store: Store, stream: int) -> Iterator[tuple[int, bytes]]:
    it: stratalog.EventIterator = store.iter(stream, start=0)
    with it:
        for offset, event in it:
            yield offset, event


def test_typed_round_trip(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "typed", segment_size=4096, compression=Compression.LZ4) as store:
        head = audit(store, 1, [b"a", bytes(b"b")])
        single: ChainHead = store.append(1, bytearray(b"c"), fsync=True)
        assert single.next_offset == head.next_offset + 1
        page: list[bytes] = store.read_from(1, 0, max_bytes=1024)
        assert page == [b"a", b"b", b"c"]
        assert list(events_of(store, 1)) == [(0, b"a"), (1, b"b"), (2, b"c")]
        report: VerifyReport = store.verify_against(1, head)
        assert report.head == single and report.events == 3
        options: StoreOptions = store.options
        assert options.compression is Compression.LZ4
        streams: list[int] = store.streams()
        assert streams == [1]
        text: str = str(head)
        assert ChainHead.parse(text) == head
        # One text form per head, up to the hex digits' case: no sign or
        # leading zero on the offset (docs/FORMAT.md).
        assert ChainHead.parse(f" {head.next_offset}:{head.hex().upper()}\n") == head
        for offset in (f"+{head.next_offset}", f"0{head.next_offset}"):
            with pytest.raises(stratalog.InvalidArgumentError):
                ChainHead.parse(f"{offset}:{head.hex()}")
        hex_digest: str = head.hex()
        assert len(hex_digest) == 64
        path: str | None = store.path
        assert path is not None


def test_typed_retention(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "kept", segment_size=4096) as store:
        for i in range(40):
            store.append_batch(2, [b"record %d" % (i * 50 + j) * 4 for j in range(50)])
        head = store.chain_head(2)
        first: int = store.prune(2, 1000)
        assert first == store.first_offset(2) > 0
        kept: int = store.prune_keep_last(2, 500)
        at_most: int = store.prune_keep_bytes(2, 1 << 20)
        assert first <= kept <= at_most
        try:
            store.read_from(2, 0)
        except stratalog.PrunedError as e:
            stream: int | None = e.stream
            offset: int = e.offset
            first_kept: int = e.first_offset
            assert (stream, offset, first_kept) == (2, 0, at_most)
        heads: dict[int, ChainHead] = store.backup(tmp_path / "backup")
        assert heads == {2: head}


def test_typed_errors() -> None:
    store = stratalog.open_in_memory(max_event_size=4)
    try:
        store.append(0, b"12345")
    except stratalog.EventTooLargeError as e:
        size: int = e.size
        limit: int = e.max_size
        assert (size, limit) == (5, 4)
    try:
        store.append(0, b"1", expected_offset=3)
    except stratalog.OffsetMismatchError as e:
        expected: int = e.expected
        actual: int = e.actual
        assert (expected, actual) == (3, 0)
    store.close()
    with pytest.raises(stratalog.ClosedError):
        store.streams()
    try:
        stratalog.open_read_only("/nonexistent/stratalog/store")
    except stratalog.IOError as e:
        code: int | None = e.errno
        status: stratalog.Status | int = e.status
        assert code is not None and status == stratalog.Status.IO


def test_typed_witnesses() -> None:
    """The witness API's types; an unreachable witness fails at once."""
    key = stratalog.SigningKey.generate("example.com/typed")
    cosigner: str = stratalog.SigningKey.generate("example.com/witness").cosigner_vkey
    with stratalog.open_in_memory() as store:
        store.append(0, b"x")
        witnesses: list[str | tuple[str, str]] = [(cosigner, "http://127.0.0.1:9/nowhere")]
        try:
            store.witness_checkpoint(0, key, witnesses, size=1, origin="example.com/typed/0")
        except stratalog.WitnessError as e:
            status: stratalog.Status | int = e.status
            assert status == stratalog.Status.WITNESS_FAILED
        else:  # pragma: no cover
            raise AssertionError("an unreachable witness cosigned")
        note: str = store.checkpoint(0, key)
    checked: tuple[int, bytes] = stratalog.verify_witnessed_checkpoint(note, key.vkey, [cosigner], 0)
    assert checked[0] == 1
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_witnessed_checkpoint(note, key.vkey, [cosigner])


def test_typed_timestamps(tmp_path: Path) -> None:
    import datetime

    with stratalog.open(tmp_path / "timed", timestamps=True) as store:
        timed: bool = store.options.timestamps
        assert timed
        store.append(4, b"x")
        when: stratalog.TimeLike = datetime.datetime(2200, 1, 1, tzinfo=datetime.timezone.utc)
        end: int = store.seek_time(4, when)
        assert end == 1 == store.seek_time(4, 7_258_118_400.0) == store.seek_time(4, 7_258_118_400)
        first: int = store.prune_keep_newer(4, 0)
        assert first == 0
    with stratalog.open_in_memory(timestamps=True) as mem:
        assert mem.options.timestamps
