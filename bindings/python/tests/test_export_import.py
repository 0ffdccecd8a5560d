"""`stratalog export` and `stratalog import` (issue 15): a stream as JSON
lines with its chain hashes, and back into an empty stream."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import REPO, VECTOR_EVENTS, VECTOR_HEADS, cli_path
from conftest import run_cli as run_installed_cli

import stratalog
from stratalog.cli import main as cli_main

ZERO_HEAD = "0:" + "0" * 64

# The exact export of the spec's test vectors (docs/FORMAT.md) on stream 7.
VECTOR_EXPORT = (
    '{"stream":7,"offset":0,"data":"YWxwaGE=","hash":"94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009"}\n'
    '{"stream":7,"offset":1,"data":"YmV0YQ==","hash":"d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141"}\n'
    '{"stream":7,"offset":2,"data":"Z2FtbWE=","hash":"4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861"}\n'
    '{"stream":7,"offset":3,"data":"","hash":"3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc"}\n'
    '{"stream":7,"head":"4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc"}\n'
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the CLI in this process (its `main`, which the installed script
    calls): dozens of cases, without a Python start-up each. The installed
    script itself is run by the stdin tests below and by test_cli.py."""
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli_main(list(args), stdout=out, stderr=err)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 2
    return subprocess.CompletedProcess(["stratalog", *args], code, out.getvalue(), err.getvalue())


def run_cli_stdin(*args: str, stdin: bytes, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs the installed `stratalog` script with ``stdin`` on its standard input."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [cli_path(), *args], input=stdin, capture_output=True, timeout=timeout, env=env, cwd=REPO
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    )


def export(path: Path, stream: int, *extra: str) -> str:
    out = run_cli("export", str(path), "--stream", str(stream), *extra)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout


def chain_hash(previous: bytes, offset: int, event: bytes) -> bytes:
    return hashlib.sha256(previous + offset.to_bytes(8, "little") + event).digest()


def mixed_events(count: int, seed: int) -> list[bytes]:
    """Empty events, binary bytes (every byte value), text that compresses,
    and random bytes that do not, of sizes up to 2000 bytes."""
    rng = random.Random(seed)
    events: list[bytes] = [b"", bytes(range(256)), b"\x00" * 1500, b"\n\r\"\\{}"]
    while len(events) < count:
        kind = rng.randrange(4)
        if kind == 0:
            events.append(b"")
        elif kind == 1:
            events.append(rng.randbytes(rng.randrange(1, 2000)))
        elif kind == 2:
            events.append(b"audit record %d " % len(events) * rng.randrange(1, 60))
        else:
            events.append(bytes([rng.randrange(256)]) * rng.randrange(1, 2000))
    return events


@pytest.fixture
def vectors(tmp_path: Path) -> Path:
    path = tmp_path / "vectors"
    with stratalog.open(path) as store:
        store.append_batch(7, VECTOR_EVENTS[:2])
        store.append(7, VECTOR_EVENTS[2])
        store.append(7, VECTOR_EVENTS[3])
    return path


def test_help_lists_export_and_import() -> None:
    out = run_installed_cli("--help")
    assert out.returncode == 0
    assert "export" in out.stdout and "import" in out.stdout
    assert run_installed_cli("export", "--help").returncode == 0
    assert run_installed_cli("import", "--help", module=True).returncode == 0


def test_export_of_the_test_vectors_is_exact(vectors: Path) -> None:
    assert export(vectors, 7) == VECTOR_EXPORT
    lines = VECTOR_EXPORT.splitlines()
    assert json.loads(lines[-1])["head"] == VECTOR_HEADS[-1]
    for line, head in zip(lines, VECTOR_HEADS):
        doc = json.loads(line)
        assert list(doc) == ["stream", "offset", "data", "hash"]
        assert f"{doc['offset'] + 1}:{doc['hash']}" == head
    # Ranges of it are the same lines, after the base line of a range from
    # N > 0 (the head before N) and with the head after the last one.
    assert export(vectors, 7, "--from", "1", "--to", "3") == (
        '{"stream":7,"base":"%s"}\n' % VECTOR_HEADS[0]
        + "".join(line + "\n" for line in lines[1:3])
        + '{"stream":7,"head":"%s"}\n' % VECTOR_HEADS[2]
    )
    assert export(vectors, 7, "--from", "4") == '{"stream":7,"base":"%s"}\n' % VECTOR_HEADS[3] + lines[-1] + "\n"
    assert export(vectors, 7, "--from", "0", "--to", "1") == (
        lines[0] + "\n" + '{"stream":7,"head":"%s"}\n' % VECTOR_HEADS[0]
    )
    assert export(vectors, 7, "--to", "0") == '{"stream":7,"head":"%s"}\n' % ZERO_HEAD
    # A stream with no events: the empty head alone.
    assert export(vectors, 8) == '{"stream":8,"head":"%s"}\n' % ZERO_HEAD


@pytest.mark.parametrize("compression", [None, *(c.value for c in stratalog.Compression)])
@pytest.mark.parametrize(
    ("segment_size", "checkpoint_interval"), [(4096, 1), (16384, 7), (None, None)], ids=["4k", "16k", "default"]
)
def test_export_then_import_gives_the_same_head(
    tmp_path: Path, compression: str | None, segment_size: int | None, checkpoint_interval: int | None
) -> None:
    source, copy = tmp_path / "source", tmp_path / "copy"
    events = mixed_events(300, seed=len(str(compression)) + (segment_size or 0))
    with stratalog.open(
        source, segment_size=segment_size, checkpoint_interval=checkpoint_interval, compression=compression
    ) as store:
        for i in range(0, len(events), 5):
            store.append_batch(5, events[i : i + 5])
        store.append(6, b"another stream")
        head = store.chain_head(5)
        if segment_size == 4096:
            assert store.stats(5).segments > 5
    exported = export(source, 5)
    assert len(exported.splitlines()) == len(events) + 1
    assert json.loads(exported.splitlines()[-1]) == {"stream": 5, "head": str(head)}

    (tmp_path / "stream5.jsonl").write_text(exported)
    out = run_cli("import", str(copy), str(tmp_path / "stream5.jsonl"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"imported 300 events from {tmp_path / 'stream5.jsonl'} into stream 5 of {copy}: head {head}\n"

    with stratalog.open_read_only(copy) as store:
        assert store.chain_head(5) == head
        assert store.streams() == [5]
        assert [event for _, event in store.iter(5)] == events
        store.verify_against(5, head)
    # Byte-identical: the copy exports to the very same lines.
    assert export(copy, 5) == exported
    assert run_cli("head", str(copy), "--stream", "5").stdout == f"{head}\n"


def test_import_in_batches_of_many_and_of_large_events(tmp_path: Path) -> None:
    """More events than one batch holds, and events whose bytes fill more
    than one batch: the batches still make the one chain."""
    source = tmp_path / "source"
    small = [b"%d" % i for i in range(2500)]
    large = [bytes([i]) * (1 << 20) for i in range(10)]
    with stratalog.open(source) as store:
        store.append_batch(1, small)
        store.append_batch(2, large)
        heads = {1: store.chain_head(1), 2: store.chain_head(2)}
    copy = tmp_path / "copy"
    for stream in (1, 2):
        file = tmp_path / f"{stream}.jsonl"
        file.write_text(export(source, stream))
        out = run_cli("--json", "import", str(copy), str(file))
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "ok": True,
            "command": "import",
            "path": str(copy),
            "file": str(file),
            "stream": stream,
            "events": len(small if stream == 1 else large),
            "head": str(heads[stream]),
        }
    with stratalog.open_read_only(copy) as store:
        assert store.chain_head(1) == heads[1] and store.chain_head(2) == heads[2]
        assert store.read_from(2, 9) == [large[9]]
        store.verify(1)
        store.verify(2)


def test_import_from_stdin(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    out = run_cli_stdin("import", str(copy), "-", stdin=VECTOR_EXPORT.encode())
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"imported 4 events from stdin into stream 7 of {copy}: head {VECTOR_HEADS[-1]}\n"
    assert export(copy, 7) == VECTOR_EXPORT


def test_import_of_an_empty_export_creates_the_store_and_appends_nothing(tmp_path: Path) -> None:
    file = tmp_path / "empty.jsonl"
    file.write_text('{"stream":9,"head":"%s"}\n' % ZERO_HEAD)
    out = run_cli("import", str(tmp_path / "copy"), str(file))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("imported 0 events ") and out.stdout.endswith(f"head {ZERO_HEAD}\n")
    with stratalog.open_read_only(tmp_path / "copy") as store:
        assert store.chain_head(9).next_offset == 0 and store.streams() == []


def test_export_ranges_start_from_the_stores_chain(tmp_path: Path) -> None:
    path = tmp_path / "s"
    events = mixed_events(200, seed=3)
    with stratalog.open(path, segment_size=8192, checkpoint_interval=16) as store:
        store.append_batch(4, events)
        leaves = [store.leaf_data(4, n)[8:] for n in range(len(events))]
    for start, end in [(0, 200), (1, 2), (17, 100), (150, None), (None, 33), (199, 200), (64, 64), (0, 0), (200, 200)]:
        extra = [*(("--from", str(start)) if start is not None else ()), *(("--to", str(end)) if end is not None else ())]
        lines = [json.loads(line) for line in export(path, 4, *extra).splitlines()]
        first, last = start or 0, 200 if end is None else end
        if first:  # the base line: the head before the first offset, from the store
            assert lines.pop(0) == {"stream": 4, "base": f"{first}:{leaves[first - 1].hex()}"}
        *rows, tail = lines
        assert [r["offset"] for r in rows] == list(range(first, last))
        assert all(r["stream"] == 4 for r in rows)
        assert [base64.b64decode(r["data"], validate=True) for r in rows] == events[first:last]
        assert [r["hash"] for r in rows] == [h.hex() for h in leaves[first:last]]
        if rows:  # the first hash chains from h(first - 1), which the export took from the store
            before = leaves[first - 1] if first else bytes(32)
            assert rows[0]["hash"] == chain_hash(before, first, events[first]).hex()
        expected_head = f"{last}:{leaves[last - 1].hex()}" if last else ZERO_HEAD
        assert tail == {"stream": 4, "head": expected_head}


def test_export_out_of_range_is_an_error(vectors: Path) -> None:
    past = run_cli("export", str(vectors), "--stream", "7", "--to", "5")
    assert (past.returncode, past.stdout) == (2, "")
    assert "OffsetOutOfRangeError" in past.stderr
    doc = json.loads(run_cli("export", str(vectors), "--stream", "7", "--from", "9", "--json").stdout)
    assert doc["ok"] is False and doc["code"] == "STRATALOG_STATUS_OFFSET_OUT_OF_RANGE"
    backwards = run_cli("export", str(vectors), "--stream", "7", "--from", "3", "--to", "2", "--json")
    assert backwards.returncode == 2
    assert json.loads(backwards.stdout)["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT"
    assert run_cli("export", str(vectors)).returncode == 2  # --stream is required
    missing = run_cli("export", str(vectors.parent / "missing"), "--stream", "7")
    assert missing.returncode == 2 and "cannot open" in missing.stderr


def test_export_works_beside_a_running_writer(tmp_path: Path, vectors: Path) -> None:
    file = tmp_path / "other.jsonl"
    file.write_text(VECTOR_EXPORT.replace('"stream":7', '"stream":70'))
    with stratalog.open(vectors) as writer:  # holds the writer lock
        writer.append(7, b"delta")
        exported = export(vectors, 7)
        assert exported.splitlines()[-1] == '{"stream":7,"head":"%s"}' % writer.chain_head(7)
        # Import writes, so it cannot open a store another writer holds.
        locked = run_cli("--json", "import", str(vectors), str(file))
        assert locked.returncode == 2 and json.loads(locked.stdout)["code"] == "STRATALOG_STATUS_LOCKED"
        assert "cannot open" in locked.stderr
        assert writer.chain_head(70).next_offset == 0


# -- pruned streams, and exports that start past offset 0 ------------------------


def verify_export(text: str) -> tuple[int, int]:
    """Checks an export on its own, with nothing but the standard library,
    as its recipient would: from the base line's head (the empty head
    without one), every event's hash chains on from the one before, and the
    head line is where the chain ends. Returns the offsets [first, end)."""
    docs = [json.loads(line) for line in text.splitlines()]
    stream = docs[0]["stream"]
    offset, chain = 0, bytes(32)
    if "base" in docs[0]:
        assert list(docs[0]) == ["stream", "base"]
        at, digest = docs.pop(0)["base"].split(":")
        offset, chain = int(at), bytes.fromhex(digest)
    first = offset
    *rows, tail = docs
    for row in rows:
        assert row["stream"] == stream and row["offset"] == offset
        chain = chain_hash(chain, offset, base64.b64decode(row["data"], validate=True))
        assert row["hash"] == chain.hex()
        offset += 1
    assert tail == {"stream": stream, "head": f"{offset}:{chain.hex()}"}
    return first, offset


@dataclass
class Pruned:
    path: Path
    first: int  # the first offset stream 7 holds after the prune
    events: list[bytes]  # every event ever appended to it
    hashes: list[bytes]  # h(n) of each, taken before the prune
    head: stratalog.ChainHead


@pytest.fixture
def pruned(tmp_path: Path) -> Pruned:
    """Stream 7 of 400 events in small segments, pruned to past 200 (as a
    user's test did: 20 batches of 20 events of 50 bytes)."""
    path = tmp_path / "pruned"
    events = [bytes([i]) * 50 for i in range(20) for _ in range(20)]
    with stratalog.open(path, segment_size=4096) as store:
        for i in range(0, len(events), 20):
            store.append_batch(7, events[i : i + 20])
        store.append(8, b"another stream")
        hashes = [store.leaf_data(7, n)[8:] for n in range(len(events))]
        first = store.prune(7, 200)
        assert 0 < first <= 200 and store.first_offset(7) == first
        assert store.first_head(7) == stratalog.ChainHead(first, hashes[first - 1])
        assert store.first_head(8) == stratalog.ChainHead.empty()
        head = store.chain_head(7)
    return Pruned(path, first, events, hashes, head)


def test_export_of_a_pruned_stream_starts_at_its_first_offset_and_verifies(pruned: Pruned) -> None:
    first = pruned.first
    base = f"{first}:{pruned.hashes[first - 1].hex()}"
    exported = export(pruned.path, 7)
    # The default --from is the first offset, and the export starts with the
    # hash before it, which only the prune anchor still holds.
    assert export(pruned.path, 7, "--from", str(first)) == exported
    lines = exported.splitlines()
    assert json.loads(lines[0]) == {"stream": 7, "base": base}
    assert json.loads(lines[-1]) == {"stream": 7, "head": str(pruned.head)}
    assert verify_export(exported) == (first, 400)
    rows = [json.loads(line) for line in lines[1:-1]]
    assert [base64.b64decode(r["data"]) for r in rows] == pruned.events[first:]
    assert [r["hash"] for r in rows] == [h.hex() for h in pruned.hashes[first:]]
    # Ranges past the first offset, and the empty range at it.
    part = export(pruned.path, 7, "--from", str(first + 1), "--to", str(first + 10))
    assert json.loads(part.splitlines()[0]) == {"stream": 7, "base": f"{first + 1}:{pruned.hashes[first].hex()}"}
    assert verify_export(part) == (first + 1, first + 10)
    assert export(pruned.path, 7, "--to", str(first)) == '{"stream":7,"base":"%s"}\n{"stream":7,"head":"%s"}\n' % (
        base,
        base,
    )
    # The installed script, on its own start-up, does the same.
    out = run_installed_cli("export", str(pruned.path), "--stream", "7")
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == exported
    # The other stream, never pruned, still exports from 0 with no base line.
    assert json.loads(export(pruned.path, 8).splitlines()[0])["offset"] == 0


def test_export_below_the_first_offset_is_a_pruned_error(pruned: Pruned) -> None:
    first = pruned.first
    for extra in (
        ("--from", "0"),
        ("--from", str(first - 1)),
        ("--to", str(first - 1)),
        ("--from", "0", "--to", str(first)),
    ):
        name, offset = extra[0], int(extra[1])
        out = run_cli("export", str(pruned.path), "--stream", "7", *extra)
        assert (out.returncode, out.stdout) == (2, ""), extra
        assert out.stderr == (
            f"stratalog: {pruned.path}: PrunedError: offset {offset} of stream 7 was pruned: "
            f"the first retained offset is {first} ({name})\n"
        )
        doc = json.loads(run_cli("--json", "export", str(pruned.path), "--stream", "7", *extra).stdout)
        assert (doc["ok"], doc["code"], doc["stream"], doc["offset"], doc["first_offset"]) == (
            False,
            "STRATALOG_STATUS_PRUNED",
            7,
            offset,
            first,
        )


def test_export_of_a_pruned_stream_checks_its_prune_anchor(pruned: Pruned) -> None:
    """The hash before the first offset comes from the prune anchor, which
    must check out and lead to the store's own chain: a forged or damaged
    one fails the export (exit 1) before it prints a line."""
    anchor = pruned.path / "streams" / f"{7:020}" / "ANCHOR"
    good = anchor.read_bytes()
    # A forged hash with its CRC recomputed: the anchor parses, but the
    # chain does not follow from it.
    forged = bytearray(good)
    forged[40] ^= 1
    forged[-4:] = zlib.crc32(bytes(forged[:-4])).to_bytes(4, "little")
    anchor.write_bytes(bytes(forged))
    out = run_cli("export", str(pruned.path), "--stream", "7")
    assert (out.returncode, out.stdout) == (1, "")  # not even the base line
    assert "ChainMismatchError" in out.stderr and "prune anchor" in out.stderr
    out = run_cli("--json", "export", str(pruned.path), "--stream", "7")
    assert out.returncode == 1 and json.loads(out.stdout)["code"] == "STRATALOG_STATUS_CHAIN_MISMATCH"
    # A damaged one (CRC) is corruption.
    damaged = bytearray(good)
    damaged[40] ^= 1
    anchor.write_bytes(bytes(damaged))
    out = run_cli("--json", "export", str(pruned.path), "--stream", "7")
    assert out.returncode == 1 and json.loads(out.stdout)["code"] == "STRATALOG_STATUS_CORRUPTION", out.stdout
    # The anchor as the prune wrote it exports again.
    anchor.write_bytes(good)
    assert verify_export(export(pruned.path, 7)) == (pruned.first, 400)


def test_import_of_an_export_from_past_zero_into_an_empty_stream_is_refused(
    tmp_path: Path, pruned: Pruned, target: Path
) -> None:
    """Appending cannot start a stream past offset 0: refused, nothing
    appended, no store created, and the message says to back up instead."""
    file = tmp_path / "pruned.jsonl"
    file.write_text(export(pruned.path, 7))
    new = tmp_path / "new"
    out = run_cli("import", str(new), str(file))
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith(
        f"stratalog: import: refused, nothing appended: {file} starts at offset {pruned.first} "
        f"(an export of a pruned stream, or one from --from {pruned.first}), and {new} does not exist: "
        "appending cannot start a stream past offset 0"
    ), out.stderr
    assert "`stratalog backup STORE DEST`" in out.stderr
    assert not new.exists()
    for argv in (("import", str(target), str(file)), ("--json", "import", str(target), str(file))):
        out = run_cli(*argv)
        assert out.returncode == 1, out.stderr
        assert f"and stream 7 of {target} is empty: appending cannot start a stream past offset 0" in out.stderr
        _assert_untouched(target)
    doc = json.loads(out.stdout)
    assert (doc["ok"], doc["code"], doc["expected"], doc["actual"]) == (
        False,
        "STRATALOG_STATUS_OFFSET_MISMATCH",
        pruned.first,
        0,
    )
    # A file from before the base line (offsets from N > 0, no base line) is
    # refused as a bad file, with a word on what it lacks.
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(line + "\n" for line in export(pruned.path, 7).splitlines()[1:]))
    out = run_cli("import", str(target), str(bare))
    assert out.returncode == 1
    assert f"line 1: offset {pruned.first} where 0 was due" in out.stderr
    assert "begins with its base line" in out.stderr
    _assert_untouched(target)


def test_import_continues_a_stream_that_ends_at_the_exports_base(tmp_path: Path, pruned: Pruned) -> None:
    """What to do instead: back the pruned store up, then bring the backup
    up to date with an export from where it ends."""
    backup = tmp_path / "backup"
    out = run_cli("backup", str(pruned.path), str(backup))
    assert out.returncode == 0, out.stderr
    more = [b"more %d" % i for i in range(30)]
    with stratalog.open(pruned.path) as store:
        store.append_batch(7, more)
        head = store.chain_head(7)
    file = tmp_path / "more.jsonl"
    file.write_text(export(pruned.path, 7, "--from", str(pruned.head.next_offset)))
    assert verify_export(file.read_text()) == (400, 430)
    out = run_cli("import", str(backup), str(file))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"imported 30 events from {file} into stream 7 of {backup}: head {head}\n"
    with stratalog.open_read_only(backup) as store:
        assert store.first_offset(7) == pruned.first and store.chain_head(7) == head
        assert store.read_from(7, 400) == more
        store.verify_against(7, pruned.head)
        store.verify_against(7, head)
    assert export(backup, 7) == export(pruned.path, 7)
    # Twice is refused: the stream no longer ends where the file starts.
    again = run_cli("--json", "import", str(backup), str(file))
    assert again.returncode == 1
    assert f"stream 7 of {backup} ends at offset 430, not at 400, where {file} starts" in again.stderr
    doc = json.loads(again.stdout)
    assert (doc["code"], doc["expected"], doc["actual"]) == ("STRATALOG_STATUS_OFFSET_MISMATCH", 400, 430)
    with stratalog.open_read_only(backup) as store:
        assert store.chain_head(7) == head


def test_import_of_an_export_from_past_zero_refuses_another_history(tmp_path: Path, vectors: Path) -> None:
    """A stream that ends at the base's offset, with another hash, holds
    another history: refused, nothing appended."""
    file = tmp_path / "rest.jsonl"
    file.write_text(export(vectors, 7, "--from", "2"))
    other = tmp_path / "other"
    with stratalog.open(other) as store:
        store.append_batch(7, [b"ALPHA", b"BETA"])
        before = store.chain_head(7)
    out = run_cli("--json", "import", str(other), str(file))
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["code"] == "STRATALOG_STATUS_CHAIN_MISMATCH"
    assert f"{other} holds another history: it ends at {before}, and {file} continues {VECTOR_HEADS[1]}" in (
        doc["message"]
    )
    with stratalog.open_read_only(other) as store:
        assert store.chain_head(7) == before
    # The same range onto the first two vectors goes on to the very same head.
    copy = tmp_path / "copy"
    first = tmp_path / "first.jsonl"
    first.write_text(export(vectors, 7, "--to", "2"))
    assert run_cli("import", str(copy), str(first)).returncode == 0
    out = run_cli("import", str(copy), str(file))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"imported 2 events from {file} into stream 7 of {copy}: head {VECTOR_HEADS[-1]}\n"
    assert export(copy, 7) == VECTOR_EXPORT


# -- import refusals -------------------------------------------------------------


def _lines() -> list[str]:
    return VECTOR_EXPORT.splitlines()


def _edit(n: int, **changes: Any) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        doc = json.loads(lines[n])
        doc.update(changes)
        return [*lines[:n], json.dumps(doc, separators=(",", ":")), *lines[n + 1 :]]

    return edit


OTHER_HASH = "ab" * 32

# Each case: how it spoils the export of the test vectors, and what the
# refusal says about it.
REFUSALS: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "empty file": (lambda lines: [], "no head line after line 0"),
    "two streams": (_edit(1, stream=8), "line 2: stream 8, after lines of stream 7: an export holds one stream"),
    "head of another stream": (_edit(4, stream=8), "line 5: stream 8, after lines of stream 7"),
    "offsets from 1": (lambda lines: lines[1:], "line 1: offset 1 where 0 was due"),
    "an offset left out": (lambda lines: [lines[0], *lines[2:]], "line 2: offset 2 where 1 was due"),
    "an offset twice": (lambda lines: [lines[0], lines[1], *lines[1:]], "line 3: offset 1 where 2 was due"),
    "offsets swapped": (lambda lines: [lines[1], lines[0], *lines[2:]], "line 1: offset 1 where 0 was due"),
    "offset as a string": (_edit(0, offset="0"), "line 1: offset '0' where 0 was due"),
    "stream negative": (
        lambda lines: [line.replace('"stream":7', '"stream":-7') for line in lines],
        "line 1: stream -7 is not an integer",
    ),
    "stream a boolean": (
        lambda lines: [line.replace('"stream":7', '"stream":true') for line in lines],
        "line 1: stream True is not an integer",
    ),
    "a hash that is not the chain's": (
        _edit(2, hash=OTHER_HASH),
        f"line 3: hash '{OTHER_HASH}' of offset 2 is not its chain hash, {VECTOR_HEADS[2][2:]}",
    ),
    "a hash in capitals": (
        _edit(0, hash=VECTOR_HEADS[0][2:].upper()),
        "line 1: hash '94530AC6",
    ),
    "data changed, hash kept": (
        _edit(1, data=base64.b64encode(b"BETA").decode()),
        f"line 2: hash '{VECTOR_HEADS[1][2:]}' of offset 1 is not its chain hash",
    ),
    "no head line": (lambda lines: lines[:-1], "no head line after line 4: the file is cut short"),
    "a head with another hash": (
        _edit(4, head=f"4:{OTHER_HASH}"),
        f"line 5: head 4:{OTHER_HASH} is not the head of the events before it, {VECTOR_HEADS[3]}",
    ),
    "a head of another length": (
        _edit(4, head=VECTOR_HEADS[2]),
        f"line 5: head {VECTOR_HEADS[2]} is not the head of the events before it, {VECTOR_HEADS[3]}",
    ),
    "a head that is not a head": (_edit(4, head="4-3cb8"), "line 5: head '4-3cb8' is not a chain head"),
    "a head line that is not last": (
        lambda lines: [*lines[:3], '{"stream":7,"head":"%s"}' % VECTOR_HEADS[2], *lines[3:]],
        "line 5: a line after the head line, which must be the last",
    ),
    "two head lines": (lambda lines: [*lines, lines[-1]], "line 6: a line after the head line"),
    "a line after the head": (lambda lines: [*lines, "{}"], "line 6: a line after the head line"),
    "malformed JSON": (
        lambda lines: [lines[0], lines[1][:-1], *lines[2:]],
        "line 2: not JSON: Expecting ',' delimiter at column 115",
    ),
    "not JSON at all": (lambda lines: ["alpha", *lines[1:]], "line 1: not JSON: Expecting value at column 1"),
    "a blank line": (lambda lines: [lines[0], "", *lines[1:]], "line 2: not JSON: Expecting value at column 1"),
    "a JSON array": (lambda lines: ["[7, 0]", *lines[1:]], "line 1: expected an event"),
    "an extra key": (_edit(0, note="x"), "not keys ['data', 'hash', 'note', 'offset', 'stream']"),
    "a missing key": (
        lambda lines: [lines[0].replace(',"data":"YWxwaGE="', ""), *lines[1:]],
        "not keys ['hash', 'offset', 'stream']",
    ),
    "a duplicate key": (
        lambda lines: [lines[0].replace("{", '{"offset":0,', 1), *lines[1:]],
        "line 1: not JSON: duplicate key 'offset'",
    ),
    "base64 without padding": (_edit(0, data="YWxwaGE"), "line 1: data of offset 0 is not standard base64"),
    "base64 with a bad character": (_edit(0, data="YWx!aGE="), "line 1: data of offset 0 is not standard base64"),
    "urlsafe base64": (
        _edit(0, data=base64.urlsafe_b64encode(b"\xfb\xff").decode()),
        "line 1: data of offset 0 is not standard base64",
    ),
    "non-canonical base64": (_edit(0, data="YWxwaGF="), "(not in canonical form)"),
    "data not a string": (_edit(0, data=None), "line 1: data of offset 0 is not standard base64"),
    "not UTF-8": (lambda lines: ['{"stream":7,"offset":0,"data":"\udcff"}', *lines[1:]], "line 1: not UTF-8 text"),
    "a base line not first": (
        lambda lines: [lines[0], '{"stream":7,"base":"%s"}' % VECTOR_HEADS[0], *lines[1:]],
        "line 2: a base line after line 1: it must be the first",
    ),
    "a base that is not a head": (
        lambda lines: ['{"stream":7,"base":"1-9453"}', *lines[1:]],
        "line 1: base '1-9453' is not a chain head",
    ),
    "a base with a hash at 0": (
        lambda lines: ['{"stream":7,"base":"0:%s"}' % OTHER_HASH, *lines],
        f"line 1: base '0:{OTHER_HASH}' is not a chain head",
    ),
    "a base of another hash": (
        lambda lines: ['{"stream":7,"base":"1:%s"}' % OTHER_HASH, *lines[1:]],
        f"line 2: hash '{VECTOR_HEADS[1][2:]}' of offset 1 is not its chain hash",
    ),
    "a base at another offset": (
        lambda lines: ['{"stream":7,"base":"%s"}' % VECTOR_HEADS[1], *lines[1:]],
        "line 2: offset 1 where 2 was due: offsets start at 2",
    ),
    "a base of another stream": (
        lambda lines: ['{"stream":8,"base":"%s"}' % VECTOR_HEADS[0], *lines[1:]],
        "line 2: stream 7, after lines of stream 8",
    ),
    "a base line with an event's keys": (
        lambda lines: ['{"stream":7,"base":"%s","offset":1}' % VECTOR_HEADS[0], *lines[1:]],
        "not keys ['base', 'offset', 'stream']",
    ),
}


def _write(file: Path, lines: list[str]) -> None:
    file.write_bytes("".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A store where stream 7 (the export's) is empty and stream 3 is not."""
    path = tmp_path / "target"
    with stratalog.open(path) as store:
        store.append_batch(3, [b"kept", b"as is"])
    return path


def _assert_untouched(target: Path) -> None:
    with stratalog.open_read_only(target) as store:
        assert store.chain_head(7).next_offset == 0
        assert store.streams() == [3]
        assert store.read_from(3) == [b"kept", b"as is"]


@pytest.mark.parametrize("case", list(REFUSALS))
def test_import_refuses_a_bad_file_and_appends_nothing(tmp_path: Path, target: Path, case: str) -> None:
    file = tmp_path / "bad.jsonl"
    spoil, reason = REFUSALS[case]
    _write(file, spoil(_lines()))
    out = run_cli("import", str(target), str(file))
    assert out.returncode == 1, (case, out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr.startswith(f"stratalog: import: refused, nothing appended: {file}: "), out.stderr
    assert reason in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    _assert_untouched(target)
    doc = json.loads(run_cli("--json", "import", str(target), str(file)).stdout)
    assert doc["ok"] is False and doc["command"] == "import"
    assert doc["code"] == "STRATALOG_STATUS_VERIFICATION_FAILED"
    _assert_untouched(target)


@pytest.mark.parametrize("case", ["a hash that is not the chain's", "no head line", "malformed JSON"])
def test_import_refuses_a_bad_file_on_stdin(target: Path, case: str) -> None:
    spoil, reason = REFUSALS[case]
    data = "".join(line + "\n" for line in spoil(_lines())).encode()
    out = run_cli_stdin("import", str(target), "-", stdin=data)
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith("stratalog: import: refused, nothing appended: stdin: ")
    assert reason in out.stderr, out.stderr
    _assert_untouched(target)


def test_a_refused_file_creates_no_store(tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    _write(file, REFUSALS["no head line"][0](_lines()))
    assert run_cli("import", str(tmp_path / "new"), str(file)).returncode == 1
    assert not (tmp_path / "new").exists()


def test_import_into_a_non_empty_stream_is_refused(tmp_path: Path, vectors: Path) -> None:
    file = tmp_path / "v.jsonl"
    file.write_text(VECTOR_EXPORT)
    with stratalog.open(vectors) as store:
        store.append(7, b"delta")
        head = store.chain_head(7)
    for argv in (("import", str(vectors), str(file)), ("--json", "import", str(vectors), str(file))):
        out = run_cli(*argv)
        assert out.returncode == 1, out.stderr
        assert "refused, nothing appended" in out.stderr and "is not empty (next offset 5)" in out.stderr
        with stratalog.open_read_only(vectors) as store:
            assert store.chain_head(7) == head
    doc = json.loads(out.stdout)
    assert (doc["ok"], doc["code"], doc["expected"], doc["actual"]) == (
        False,
        "STRATALOG_STATUS_OFFSET_MISMATCH",
        0,
        5,
    )
    # Another stream of the same store takes it.
    other = tmp_path / "other.jsonl"
    other.write_text(VECTOR_EXPORT.replace('"stream":7', '"stream":70'))
    assert run_cli("import", str(vectors), str(other)).returncode == 0
    with stratalog.open_read_only(vectors) as store:
        assert str(store.chain_head(70)) == VECTOR_HEADS[-1] and store.chain_head(7) == head


def test_import_refuses_an_event_too_large_for_the_store_before_appending(tmp_path: Path, target: Path) -> None:
    """A thousand events that fit, then one larger than the store's
    max_event_size: refused before the first batch, not after it."""
    source = tmp_path / "source"
    big = b"x" * ((16 << 20) + 1)
    with stratalog.open(source, max_event_size=32 << 20) as store:
        store.append_batch(7, [b"small"] * 1500)
        store.append(7, big)
    file = tmp_path / "big.jsonl"
    file.write_text(export(source, 7))
    out = run_cli("--json", "import", str(target), str(file))
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["code"] == "STRATALOG_STATUS_EVENT_TOO_LARGE"
    assert "refused, nothing appended" in out.stderr
    _assert_untouched(target)


def test_import_of_an_unreadable_file_exits_2(tmp_path: Path, target: Path) -> None:
    out = run_cli("import", str(target), str(tmp_path / "missing.jsonl"))
    assert out.returncode == 2 and "cannot read" in out.stderr
    doc = json.loads(run_cli("import", str(target), str(tmp_path), "--json").stdout)
    assert doc["ok"] is False and doc["code"] == "STRATALOG_STATUS_IO"
    _assert_untouched(target)
    assert run_cli("import", str(target)).returncode == 2  # FILE is required


def test_main_runs_export_in_process(vectors: Path) -> None:
    import io

    from stratalog.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["export", str(vectors), "--stream", "7"], stdout=out, stderr=err) == 0
    assert out.getvalue() == VECTOR_EXPORT
    assert sys.modules["stratalog.cli"].__file__ is not None
