"""Every exception class, each raised by a real condition where one can be
made (PanicError and NullArgumentError cannot: they mean a bug)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEGMENT_HEADER, TESTS, flip_byte, segments

import stratalog
from stratalog import ChainHead, Status, _errors, _native


def test_hierarchy() -> None:
    for cls in (
        stratalog.InvalidArgumentError,
        stratalog.NullArgumentError,
        stratalog.IOError,
        stratalog.VerificationError,
        stratalog.CorruptionError,
        stratalog.ChainMismatchError,
        stratalog.OffsetMismatchError,
        stratalog.OffsetOutOfRangeError,
        stratalog.EventTooLargeError,
        stratalog.LockedError,
        stratalog.ReadOnlyError,
        stratalog.ClosedError,
        stratalog.PoisonedError,
        stratalog.ForkedError,
        stratalog.PanicError,
    ):
        assert issubclass(cls, stratalog.Error)
        assert cls.__module__ == "stratalog"
    assert issubclass(stratalog.InvalidArgumentError, ValueError)
    assert issubclass(stratalog.EventTooLargeError, ValueError)
    assert issubclass(stratalog.IOError, OSError)
    assert stratalog.IOError is not OSError
    assert issubclass(stratalog.OffsetOutOfRangeError, IndexError)
    assert issubclass(stratalog.CorruptionError, stratalog.VerificationError)
    assert issubclass(stratalog.ChainMismatchError, stratalog.VerificationError)


def test_status_enum_matches_the_c_abi() -> None:
    for status in Status:
        assert _native.status_name(status.value) == f"STRATALOG_STATUS_{status.name}"
    assert _native.status_name(99) == "STRATALOG_STATUS_UNKNOWN"


def test_locked_error_when_opened_twice(store_path: Path) -> None:
    with stratalog.open(store_path) as first:
        first.append(0, b"x")
        with pytest.raises(stratalog.LockedError, match="locked") as info:
            stratalog.open(store_path)
        assert info.value.status is Status.LOCKED
        # A reader is not locked out.
        with stratalog.open_read_only(store_path) as reader:
            assert reader.read_from(0, 0) == [b"x"]
    with stratalog.open(store_path):
        pass  # released on close


def test_read_only_error(store_path: Path) -> None:
    with stratalog.open(store_path) as store:
        store.append(0, b"x")
    with stratalog.open_read_only(store_path) as ro:
        with pytest.raises(stratalog.ReadOnlyError, match="read-only"):
            ro.append(0, b"y")
        with pytest.raises(stratalog.ReadOnlyError):
            ro.append_batch(1, [b"y", b"z"])
        assert ro.options.fsync is False
        ro.sync()  # nothing to make durable: fine
        assert ro.streams() == [0]


def _closed_calls(store: stratalog.Store) -> list[tuple[str, object]]:
    head = ChainHead.empty()
    return [
        ("append", lambda: store.append(0, b"x")),
        ("append_batch", lambda: store.append_batch(0, [b"x"])),
        ("read_from", lambda: store.read_from(0, 0)),
        ("iter", lambda: store.iter(0)),
        ("chain_head", lambda: store.chain_head(0)),
        ("verify", lambda: store.verify(0)),
        ("verify_against", lambda: store.verify_against(0, head)),
        ("streams", lambda: store.streams()),
        ("sync", lambda: store.sync()),
        ("sync(stream)", lambda: store.sync(0)),
        ("options", lambda: store.options),
    ]


@pytest.mark.parametrize("kind", ["disk", "memory", "read-only"])
def test_closed_error_on_every_call(store_path: Path, kind: str) -> None:
    with stratalog.open(store_path) as seed:
        seed.append(0, b"x")
    store = {
        "disk": lambda: stratalog.open(store_path),
        "memory": lambda: stratalog.open_in_memory(),
        "read-only": lambda: stratalog.open_read_only(store_path),
    }[kind]()
    it = store.iter(0)
    store.close()
    assert store.closed
    store.close()  # idempotent
    for name, call in _closed_calls(store):
        with pytest.raises(stratalog.ClosedError) as info:
            call()  # type: ignore[operator]
        assert info.value.status is Status.CLOSED, name
    # An iterator made before close keeps its own state (the C contract).
    assert [e for _, e in it] == ([b"x"] if kind != "memory" else [])
    assert store.read_only is (kind == "read-only")


def test_corruption_error_from_a_flipped_byte(store_path: Path) -> None:
    with stratalog.open(store_path, segment_size=4096) as store:
        for i in range(100):
            store.append(0, b"event %03d" % i + b"." * 100)
        head = store.chain_head(0)
    first = segments(store_path, 0)[0]
    flip_byte(first, SEGMENT_HEADER + 56 + 3)  # inside event 0's payload
    with stratalog.open(store_path) as store:  # open reads only the last segment
        with pytest.raises(stratalog.CorruptionError) as info:
            store.verify(0)
        err = info.value
        assert (err.stream, err.offset) == (0, 0)
        assert err.status is Status.CORRUPTION
        assert str(err).startswith("corruption in stream 0 at offset 0")
        assert first.name in str(err)
        with pytest.raises(stratalog.CorruptionError):
            store.verify_against(0, head)
        with pytest.raises(stratalog.CorruptionError):
            store.read_from(0, 0)
        with pytest.raises(stratalog.CorruptionError):
            list(store.iter(0))
        # The rest of the history is still readable.
        assert store.read_from(0, 99) == [b"event 099" + b"." * 100]
        assert store.chain_head(0) == head


@pytest.mark.parametrize("damaged", [0, 3, 20])
def test_iter_yields_every_event_before_the_damage_then_raises(store_path: Path, damaged: int) -> None:
    # The iterator reads ahead in batches; an event it never returns still
    # must not cost the ones before it, nor move the error.
    with stratalog.open(store_path, segment_size=4096) as store:
        for i in range(100):
            store.append(0, b"event %03d" % i + b"." * 100)
    first = segments(store_path, 0)[0]
    flip_byte(first, first.read_bytes().index(b"event %03d" % damaged) + 3)
    with stratalog.open(store_path) as store:
        got = []
        with pytest.raises(stratalog.CorruptionError) as info:
            for offset, event in store.iter(0):
                got.append((offset, event))
        assert info.value.offset == damaged
        assert got == [(i, b"event %03d" % i + b"." * 100) for i in range(damaged)]


def test_chain_mismatch_error_after_truncation_and_rollback(store_path: Path) -> None:
    with stratalog.open(store_path) as store:
        store.append(0, b"alpha")
        kept_2 = store.append(0, b"beta")
        kept_3 = store.append(0, b"gamma")
    # An attacker cuts the last batch off the segment: the stream still
    # verifies on its own (a chain cannot see its own tail cut) ...
    seg = segments(store_path, 0)[-1]
    os.truncate(seg, SEGMENT_HEADER + (60 + 5) + (60 + 4))
    with stratalog.open(store_path) as store:
        assert store.verify(0).head == kept_2
        # ... but not against the head kept elsewhere.
        with pytest.raises(stratalog.ChainMismatchError, match="truncated or rolled back") as info:
            store.verify_against(0, kept_3)
        assert info.value.stream == 0
        assert info.value.offset == 2
        assert info.value.status is Status.CHAIN_MISMATCH
        # Refill: same length as before, different history.
        forged = store.append(0, b"GAMMA")
        assert forged.next_offset == kept_3.next_offset
        assert store.verify(0).head == forged
        with pytest.raises(stratalog.ChainMismatchError, match="rewritten") as info:
            store.verify_against(0, kept_3)
        assert info.value.offset == 2
        store.verify_against(0, kept_2)  # the untouched prefix still proves out


def test_chain_mismatch_error_for_a_head_of_another_history() -> None:
    with stratalog.open_in_memory() as a, stratalog.open_in_memory() as b:
        head = a.append_batch(1, [b"x", b"y"])
        b.append_batch(1, [b"x", b"z"])
        with pytest.raises(stratalog.ChainMismatchError):
            b.verify_against(1, head)
        with pytest.raises(stratalog.ChainMismatchError):
            b.verify_against(2, head)  # an empty stream holds no history


def test_offset_mismatch_error_carries_both_offsets(store: stratalog.Store) -> None:
    store.append_batch(4, [b"a", b"b", b"c"])
    with pytest.raises(stratalog.OffsetMismatchError) as info:
        store.append(4, b"d", expected_offset=7)
    assert (info.value.expected, info.value.actual) == (7, 3)
    assert "expected next offset 7, stream is at 3" in str(info.value)
    with pytest.raises(stratalog.OffsetMismatchError) as info:
        store.append_batch(9, [b"a"], expected_offset=1)
    assert (info.value.expected, info.value.actual) == (1, 0)


def test_offset_out_of_range_error(store: stratalog.Store) -> None:
    store.append_batch(2, [b"a", b"b"])
    with pytest.raises(stratalog.OffsetOutOfRangeError) as info:
        store.read_from(2, 3)
    assert (info.value.stream, info.value.offset, info.value.next_offset) == (2, 3, 2)
    assert isinstance(info.value, IndexError)
    with pytest.raises(stratalog.OffsetOutOfRangeError) as info:
        store.iter(2, start=5)  # refused when made, not at the first next()
    assert (info.value.stream, info.value.offset, info.value.next_offset) == (2, 5, 2)
    assert list(store.iter(2, start=2)) == []  # at the end: empty
    with pytest.raises(stratalog.OffsetOutOfRangeError):
        store.read_from(8, 1)  # a stream that does not exist ends at 0


def test_event_too_large_error(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s", max_event_size=16) as store:
        store.append(0, b"x" * 16)
        with pytest.raises(stratalog.EventTooLargeError) as info:
            store.append_batch(0, [b"ok", b"y" * 17])
        assert (info.value.size, info.value.max_size) == (17, 16)
        assert isinstance(info.value, ValueError)
        assert store.chain_head(0).next_offset == 1  # the batch is atomic


def test_invalid_argument_errors(tmp_path: Path, store: stratalog.Store) -> None:
    cases = {
        "segment_size": lambda: stratalog.open_in_memory(segment_size=100),
        "checkpoint_interval": lambda: stratalog.open_in_memory(checkpoint_interval=0),
        "max_event_size": lambda: stratalog.open(tmp_path / "m", max_event_size=0),
        "at least one event": lambda: store.append_batch(0, []),
        "empty": lambda: stratalog.open(""),
        "NUL": lambda: stratalog.open(str(tmp_path / "a\x00b")),
        "UTF-8": lambda: stratalog.open(os.fsencode(str(tmp_path)) + b"/\xff"),
        "not valid UTF-8": lambda: stratalog.open(str(tmp_path) + "/\udcff"),
    }
    for needle, call in cases.items():
        with pytest.raises(stratalog.InvalidArgumentError, match=needle) as info:
            call()
        assert isinstance(info.value, ValueError)
        assert info.value.status is Status.INVALID_ARGUMENT
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("not a store")
    with pytest.raises(stratalog.InvalidArgumentError, match="not a stratalog store"):
        stratalog.open(tmp_path / "junk")
    with pytest.raises(stratalog.InvalidArgumentError, match="not a stratalog store"):
        stratalog.open_read_only(tmp_path / "junk")
    assert not (tmp_path / "junk" / "STRATALOG").exists()


def test_io_error_is_an_oserror_with_errno(tmp_path: Path) -> None:
    with pytest.raises(stratalog.IOError) as info:
        stratalog.open_read_only(tmp_path / "missing")
    err = info.value
    assert isinstance(err, OSError)
    assert err.errno == errno.ENOENT
    assert err.status is Status.IO
    assert "missing" in str(err)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OSError) as info2:
        stratalog.open(tmp_path / "file")  # a file where the directory should be
    assert isinstance(info2.value, stratalog.IOError)
    assert info2.value.errno in (errno.EEXIST, errno.ENOTDIR)


def test_io_error_and_poisoned_error_from_a_failing_fsync(tmp_path: Path) -> None:
    """A disk whose fsync fails (EIO, by a seccomp filter in a child
    process): the durable append raises IOError, the stream is poisoned."""
    out = subprocess.run(
        [sys.executable, str(TESTS / "helpers_fsync_fails.py"), str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode == 3:
        pytest.skip("cannot install a seccomp filter here")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("IOError errno=5 oserror=True I/O error: fsync of"), lines
    assert lines[1].startswith("PoisonedError stream=0 stream 0 is poisoned"), lines
    assert lines[2] == "read durable"
    assert lines[3] == "sync(1) IOError errno=5"
    assert lines[4] == "sync(2) ok"
    assert lines[5] == "close PoisonedError closed=True"
    # Reopened, the store holds everything that was acknowledged.
    with stratalog.open(tmp_path / "s") as store:
        assert store.read_from(0, 0)[0] == b"durable"
        store.append(0, b"healthy again")
        store.verify(0)


def test_error_factory_for_statuses_that_mean_a_bug() -> None:
    """PANIC and NULL_ARGUMENT cannot be caused from Python (they mean a bug
    in the library or the binding); check their mapping directly."""
    panic = _errors._from_native(12, "stratalog panicked (this is a bug): x", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(panic) is stratalog.PanicError and panic.status is Status.PANIC
    null = _errors._from_native(1, "store must not be NULL", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(null) is stratalog.NullArgumentError and isinstance(null, ValueError)
    unknown = _errors._from_native(99, "from the future", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(unknown) is stratalog.Error and unknown.status == 99
    io = _errors._from_native(3, "I/O error: no errno", 0, 0, 0, 0, 0, 0, 0, 0)
    assert isinstance(io, stratalog.IOError) and io.errno is None
    witness = _errors._from_native(18, "witness w (http://x): HTTP 503", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(witness) is stratalog.WitnessError and witness.status is Status.WITNESS_FAILED
    assert isinstance(witness, stratalog.Error) and str(witness) == "witness w (http://x): HTTP 503"


def test_errors_survive_pickling(tmp_path: Path) -> None:
    """Errors cross process boundaries (multiprocessing) with their detail."""
    import pickle

    with pytest.raises(stratalog.IOError) as io_info:
        stratalog.open_read_only(tmp_path / "missing")
    with stratalog.open_in_memory() as store:
        store.append(0, b"x")
        with pytest.raises(stratalog.OffsetMismatchError) as om_info:
            store.append(0, b"y", expected_offset=5)
        with pytest.raises(stratalog.OffsetOutOfRangeError) as oor_info:
            store.read_from(0, 9)
    io = pickle.loads(pickle.dumps(io_info.value))
    assert type(io) is stratalog.IOError and io.errno == errno.ENOENT and str(io) == str(io_info.value)
    om = pickle.loads(pickle.dumps(om_info.value))
    assert (type(om), om.expected, om.actual, str(om)) == (stratalog.OffsetMismatchError, 5, 1, str(om_info.value))
    oor = pickle.loads(pickle.dumps(oor_info.value))
    assert (oor.stream, oor.offset, oor.next_offset) == (0, 9, 1)
