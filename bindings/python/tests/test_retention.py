"""Retention and backups (issue 15): Store.prune / prune_keep_last /
prune_keep_bytes / first_offset / backup, PrunedError, and the `stratalog
prune` and `stratalog backup` commands."""

from __future__ import annotations

import json
import threading
import zlib
from pathlib import Path

import pytest
from conftest import run_cli, segments

import stratalog
from stratalog import ChainHead, PrunedError, Status

STREAM = 5
SEGMENT_SIZE = 4096  # the smallest the options allow
EVENTS = 2000
BATCH = 50
SIZES = (1200, 1500, 1999, 2000)  # tree sizes above any first offset a prune below 1000 leaves


def event(i: int) -> bytes:
    return b"event %05d " % i + bytes([i % 251]) * (i % 37)


def fill(store: stratalog.Store, stream: int = STREAM, start: int = 0, count: int = EVENTS) -> ChainHead:
    head = store.chain_head(stream)
    for base in range(start, start + count, BATCH):
        head = store.append_batch(stream, [event(i) for i in range(base, min(base + BATCH, start + count))])
    return head


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A store whose stream 5 holds EVENTS events over dozens of 4 KiB segments."""
    path = tmp_path / "store"
    with stratalog.open(path, segment_size=SEGMENT_SIZE, checkpoint_interval=16) as store:
        fill(store)
        fill(store, stream=6, count=300)
    assert len(segments(path, STREAM)) > 20
    return path


Proofs = tuple[dict[int, bytes], dict[tuple[int, int], list[bytes]], dict[tuple[int, int], list[bytes]]]


def proofs(store: stratalog.Store, first: int) -> Proofs:
    """Roots at SIZES, inclusion proofs of retained events and consistency
    proofs between sizes above ``first``."""
    roots = {n: store.tree_root(STREAM, n) for n in SIZES}
    inclusion = {
        (off, n): store.inclusion_proof(STREAM, off, n) for n in SIZES for off in (first, 1100, n - 1) if off < n
    }
    consistency = {(m, n): store.consistency_proof(STREAM, m, n) for m in SIZES for n in SIZES if m <= n}
    return roots, inclusion, consistency


def test_prune_keeps_heads_proofs_and_verification(filled: Path) -> None:
    with stratalog.open(filled) as store:
        head = store.chain_head(STREAM)
        assert store.first_offset(STREAM) == 0
        before = proofs(store, 1000)
        old_heads = {n: store.verify(STREAM).head for n in (EVENTS,)}
        stats = store.stats(STREAM)

        first = store.prune(STREAM, 1000)
        assert 0 < first <= 1000
        assert store.first_offset(STREAM) == first
        assert store.stats(STREAM).first_offset == first
        assert store.stats(STREAM).segments < stats.segments
        assert store.chain_head(STREAM) == head

        with pytest.raises(PrunedError) as info:
            store.read_from(STREAM, 0)
        err = info.value
        assert isinstance(err, stratalog.Error) and err.status is Status.PRUNED == 19
        assert (err.stream, err.offset, err.first_offset) == (STREAM, 0, first)
        assert str(first) in str(err)
        with pytest.raises(PrunedError) as info:
            store.read_from(STREAM, first - 1)
        assert (info.value.offset, info.value.first_offset) == (first - 1, first)
        with pytest.raises(PrunedError) as info:
            list(store.iter(STREAM, 0))
        assert info.value.first_offset == first and info.value.stream == STREAM

        assert store.read_from(STREAM, first, max_bytes=1)[0] == event(first)
        assert [e for _, e in store.iter(STREAM, first)] == [event(i) for i in range(first, EVENTS)]
        assert next(iter(store.iter(STREAM, first))) == (first, event(first))

        report = store.verify(STREAM)
        assert report.head == head and report.events == EVENTS - first
        assert store.verify_against(STREAM, head).head == head
        assert old_heads[EVENTS] == head
        assert proofs(store, 1000) == before
        for (off, n), proof in before[1].items():
            stratalog.verify_inclusion(off, n, before[0][n], proof, store.leaf_data(STREAM, off))

        # A second prune at or below the first offset changes nothing.
        assert store.prune(STREAM, first) == first
        assert store.prune(STREAM, 0) == first
        # Other streams are untouched; a stream that does not exist starts at 0.
        assert store.first_offset(6) == 0 and store.read_from(6, 0, max_bytes=1) == [event(0)]
        assert store.prune(99, 10) == 0 and store.first_offset(99) == 0

    with stratalog.open(filled) as store:
        assert store.first_offset(STREAM) == first
        assert store.chain_head(STREAM) == head
        assert proofs(store, 1000) == before
        store.verify_against(STREAM, head)
        with pytest.raises(PrunedError):
            store.read_from(STREAM, 0)
        # Appends go on from the head.
        after = fill(store, start=EVENTS, count=100)
        store.verify_against(STREAM, head)
        store.verify_against(STREAM, after)

    with stratalog.open_read_only(filled) as reader:
        assert reader.first_offset(STREAM) == first
        with pytest.raises(PrunedError) as info:
            reader.read_from(STREAM, 3)
        assert info.value.first_offset == first
        reader.verify_against(STREAM, after)
        with pytest.raises(stratalog.ReadOnlyError) as ro:
            reader.prune(STREAM, 1800)
        assert ro.value.status is Status.READ_ONLY
        with pytest.raises(stratalog.ReadOnlyError):
            reader.prune_keep_last(STREAM, 10)
        with pytest.raises(stratalog.ReadOnlyError):
            reader.prune_keep_bytes(STREAM, 10)
        assert reader.first_offset(STREAM) == first


def test_prune_never_removes_the_active_segment(tmp_path: Path) -> None:
    with stratalog.open(tmp_path / "s", segment_size=SEGMENT_SIZE) as store:
        head = store.append_batch(1, [b"a", b"b", b"c"])
        assert store.prune(1, 1000) == 0
        assert store.read_from(1, 0) == [b"a", b"b", b"c"]
        store.verify_against(1, head)


def test_keep_last_and_keep_bytes(filled: Path) -> None:
    with stratalog.open(filled) as store:
        head = store.chain_head(STREAM)
        first = store.prune_keep_last(STREAM, 500)
        assert 0 < first <= EVENTS - 500
        assert store.first_offset(STREAM) == first
        assert store.read_from(STREAM, EVENTS - 500, max_bytes=1) == [event(EVENTS - 500)]
        # Keeping more than is left removes nothing.
        assert store.prune_keep_last(STREAM, 1900) == first

        limit = 6 * SEGMENT_SIZE
        kept = store.prune_keep_bytes(STREAM, limit)
        assert first <= kept < EVENTS
        assert store.stats(STREAM).bytes <= limit
        assert sum(p.stat().st_size for p in segments(filled, STREAM)) <= limit
        with pytest.raises(PrunedError) as info:
            store.read_from(STREAM, kept - 1)
        assert info.value.first_offset == kept
        # The active segment always stays, whatever the limit.
        last = store.prune_keep_bytes(STREAM, 0)
        assert kept <= last < EVENTS
        assert store.read_from(STREAM, EVENTS - 1) == [event(EVENTS - 1)]
        store.verify_against(STREAM, head)
        with pytest.raises(OverflowError):
            store.prune_keep_last(STREAM, -1)


def test_backup_while_a_thread_appends(filled: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    stop = threading.Event()
    errors: list[BaseException] = []
    with stratalog.open(filled) as store:
        store.prune(STREAM, 600)

        def append() -> None:
            i = 0
            try:
                while not stop.is_set():
                    store.append_batch(6, [b"live %d" % (i + j) for j in range(20)])
                    i += 20
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        writer = threading.Thread(target=append)
        writer.start()
        try:
            heads = store.backup(dest)  # a str works as well as a Path
        finally:
            stop.set()
            writer.join()
        assert not errors
        assert set(heads) == {STREAM, 6}
        assert all(isinstance(h, ChainHead) for h in heads.values())
        assert heads[STREAM] == store.chain_head(STREAM)
        assert 300 <= heads[6].next_offset <= store.chain_head(6).next_offset
        assert (dest / "BACKUP").is_file()
        manifest = (dest / "BACKUP").read_text()
        for stream, head in heads.items():
            assert f" {head}\n" in manifest and f"stream {stream} " in manifest

        with stratalog.open_read_only(dest) as backup:
            assert backup.streams() == [STREAM, 6]
            for stream, head in heads.items():
                assert backup.chain_head(stream) == head
                backup.verify_against(stream, head)
            assert backup.first_offset(STREAM) == store.first_offset(STREAM) > 0
            with pytest.raises(PrunedError):
                backup.read_from(STREAM, 0)

        # Incremental: more appends, another prune, the same destination.
        fill(store, start=EVENTS, count=400)
        store.append(7, b"new stream")
        store.prune(STREAM, 1500)
        again = store.backup(str(dest))
        assert again[STREAM] == store.chain_head(STREAM) and again[STREAM].next_offset == EVENTS + 400
        assert again[7] == store.chain_head(7) and again[6] == store.chain_head(6)
        with stratalog.open_read_only(dest) as backup:
            for stream, head in again.items():
                backup.verify_against(stream, head)
            assert backup.first_offset(STREAM) == store.first_offset(STREAM)
            assert backup.read_from(STREAM, EVENTS + 399) == [event(EVENTS + 399)]


def test_backup_from_a_read_only_store(filled: Path, tmp_path: Path) -> None:
    with stratalog.open(filled) as writer:  # holds the lock while the reader backs up
        with stratalog.open_read_only(filled) as reader:
            heads = reader.backup(tmp_path / "b")
        assert heads == {STREAM: writer.chain_head(STREAM), 6: writer.chain_head(6)}
    with stratalog.open(tmp_path / "b") as backup:  # a backup is a store
        for stream, head in heads.items():
            backup.verify_against(stream, head)


def test_backup_refuses_a_directory_that_is_not_a_backup(filled: Path, tmp_path: Path) -> None:
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with stratalog.open(filled) as store:
        with pytest.raises(stratalog.InvalidArgumentError) as info:
            store.backup(dest)
        assert info.value.status is Status.INVALID_ARGUMENT
        assert isinstance(info.value, ValueError)
        # Nor into the store itself.
        with pytest.raises(stratalog.InvalidArgumentError):
            store.backup(filled)
    # The file is untouched, and nothing is left beside it.
    assert {p.name for p in dest.iterdir()} == {"notes.txt"}
    assert (dest / "notes.txt").read_text() == "mine"


def test_closed_store_refuses_retention_calls(filled: Path, tmp_path: Path) -> None:
    store = stratalog.open(filled)
    store.close()
    for call in (
        lambda: store.prune(STREAM, 10),
        lambda: store.prune_keep_last(STREAM, 10),
        lambda: store.prune_keep_bytes(STREAM, 10),
        lambda: store.first_offset(STREAM),
        lambda: store.backup(tmp_path / "b"),
    ):
        with pytest.raises(stratalog.ClosedError):
            call()


def test_pruned_error_pickles_and_is_exported() -> None:
    import pickle

    from stratalog import _errors

    err = _errors._from_native(19, "pruned", 0, 5, 3, 0, 0, 0, 0, 0, 64)
    assert type(err) is PrunedError and isinstance(err, IndexError)
    assert (err.stream, err.offset, err.first_offset) == (5, 3, 64)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is PrunedError and again.first_offset == 64 and again.message == "pruned"
    assert "PrunedError" in stratalog.__all__ and PrunedError.__module__ == "stratalog"
    assert Status.PRUNED == 19


# -- the CLI ---------------------------------------------------------------------


def test_cli_prune_before_keep_last_and_keep_bytes(filled: Path) -> None:
    with stratalog.open_read_only(filled) as store:
        head = store.chain_head(STREAM)

    out = run_cli("prune", str(filled), "--stream", str(STREAM), "--before", "700")
    assert out.returncode == 0, out.stderr
    first = int(out.stdout)
    assert 0 < first <= 700 and out.stdout == f"{first}\n"

    out = run_cli("--json", "prune", str(filled), "--stream", str(STREAM), "--keep-last", "900")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc == {
        "ok": True, "command": "prune", "path": str(filled), "stream": STREAM, "keep_last": 900,
        "first_offset": doc["first_offset"],
    }
    assert first <= doc["first_offset"] <= EVENTS - 900

    out = run_cli("prune", str(filled), "--stream", str(STREAM), "--keep-bytes", str(4 * SEGMENT_SIZE), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["keep_bytes"] == 4 * SEGMENT_SIZE and doc["first_offset"] > first
    last = doc["first_offset"]

    with stratalog.open_read_only(filled) as store:
        assert store.first_offset(STREAM) == last
        store.verify_against(STREAM, head)
    assert run_cli("verify", str(filled), "--stream", str(STREAM), "--against", str(head)).returncode == 0

    # Reads below the first offset fail in the CLI with the detail.
    out = run_cli("--json", "dump", str(filled), "--stream", str(STREAM), "--from", "0")
    assert out.returncode == 2
    doc = json.loads(out.stdout.splitlines()[-1])
    assert doc["code"] == "STRATALOG_STATUS_PRUNED" and doc["first_offset"] == last and doc["stream"] == STREAM


def test_cli_prune_usage_and_failures(filled: Path, tmp_path: Path) -> None:
    base = ("prune", str(filled), "--stream", str(STREAM))
    assert run_cli(*base).returncode == 2  # one policy is required
    both = run_cli(*base, "--before", "5", "--keep-last", "5")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    usage = run_cli("--json", *base, "--keep-bytes", "x")
    assert usage.returncode == 2 and json.loads(usage.stdout)["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT"

    missing = run_cli("--json", "prune", str(tmp_path / "missing"), "--stream", "1", "--before", "1")
    assert missing.returncode == 2 and "cannot open" in missing.stderr
    assert json.loads(missing.stdout)["code"] == "STRATALOG_STATUS_IO"
    assert not (tmp_path / "missing").exists()

    with stratalog.open(filled) as writer:  # holds the writer lock
        locked = run_cli("--json", *base, "--before", "1000")
        assert locked.returncode == 2 and "cannot open" in locked.stderr
        doc = json.loads(locked.stdout)
        assert doc["ok"] is False and doc["code"] == "STRATALOG_STATUS_LOCKED" and doc["command"] == "prune"
        assert writer.first_offset(STREAM) == 0


def test_cli_backup(filled: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    with stratalog.open(filled) as writer:  # backup opens read-only: it works beside a writer
        heads = {s: writer.chain_head(s) for s in writer.streams()}
        out = run_cli("backup", str(filled), str(dest))
        assert out.returncode == 0, out.stderr
        assert out.stdout == "".join(f"stream {s}: {h}\n" for s, h in sorted(heads.items()))

        writer.append(6, b"more")
        out = run_cli("--json", "backup", str(filled), str(dest))
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["ok"] is True and doc["command"] == "backup" and doc["dest"] == str(dest)
        assert [(s["stream"], s["text"]) for s in doc["streams"]] == [
            (STREAM, str(heads[STREAM])), (6, str(writer.chain_head(6)))
        ]
    for s in doc["streams"]:
        check = run_cli("verify", str(dest), "--stream", str(s["stream"]), "--against", s["text"])
        assert check.returncode == 0, check.stderr

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    refused = run_cli("--json", "backup", str(filled), str(taken))
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT"
    assert {p.name for p in taken.iterdir()} == {"keep.txt"}
    assert (taken / "keep.txt").read_text() == "mine"

    missing = run_cli("backup", str(tmp_path / "missing"), str(tmp_path / "b2"))
    assert missing.returncode == 2 and "cannot open" in missing.stderr


def _rewrite_manifest(backup: Path, streams: list[stratalog.BackedUpStream]) -> None:
    """A BACKUP manifest listing ``streams`` (docs/FORMAT.md, *Backup
    manifest*), as a backup cut short leaves it."""
    body = "stratalog backup 1\n" + "".join(f"stream {s.stream} {s.first_offset} {s.head}\n" for s in streams)
    (backup / "BACKUP").write_text(body + f"crc32 {zlib.crc32(body.encode()):08x}\n")


def test_a_backup_verifies_against_its_manifest(filled: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    with stratalog.open(filled) as writer:
        writer.append(6, b"another stream")
        heads = writer.backup(dest)
        assert writer.backup_manifest() is None  # a store, not a backup
        first = writer.first_offset(STREAM)
    with stratalog.open_read_only(dest) as backup:
        manifest = backup.backup_manifest()
    assert manifest == [
        stratalog.BackedUpStream(STREAM, first, heads[STREAM]),
        stratalog.BackedUpStream(6, 0, heads[6]),
    ]
    assert heads[6].next_offset >= 1
    out = run_cli("verify", str(dest))
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith("verified 2 streams against the backup's manifest: intact\n"), out.stdout
    assert f"head {heads[6]}; the head the backup's manifest lists\n" in out.stdout

    # An incremental backup cut short: the old manifest, which lists one
    # stream, over the files of two. Only what it lists is the backup; the
    # other is verified on its own and said to be outside it.
    _rewrite_manifest(dest, manifest[:1])
    out = run_cli("verify", str(dest))
    assert out.returncode == 0, out.stderr
    assert f"head {heads[6]}; not in the backup's manifest, so not part of the backup\n" in out.stdout, out.stdout
    assert f"head {heads[STREAM]}; the head the backup's manifest lists\n" in out.stdout
    assert out.stdout.endswith("verified 2 streams against the backup's manifest: intact\n")
    # A stream the manifest lists that is gone fails.
    _rewrite_manifest(dest, [*manifest, stratalog.BackedUpStream(9, 0, heads[6])])
    gone = run_cli("verify", str(dest))
    assert gone.returncode == 1 and "stream 9: FAILED" in gone.stdout, gone.stdout

    # A first backup cut short: a manifest that lists nothing, over files.
    _rewrite_manifest(dest, [])
    out = run_cli("verify", str(dest))
    assert out.returncode == 1, out.stdout
    assert out.stdout.endswith(
        "verification FAILED: this backup's manifest lists no stream, though the directory holds 2 streams: "
        "a first backup cut short holds nothing yet (take the backup again), and what is appended to a "
        "backup's directory is no backup\n"
    ), out.stdout
    doc = json.loads(run_cli("--json", "verify", str(dest)).stdout)
    assert doc["ok"] is False and doc["backup"]["manifest"] == [] and doc["backup"]["unlisted"] == [STREAM, 6]

    # A damaged manifest is corruption, not "no backup".
    (dest / "BACKUP").write_text("stratalog backup 1\ncrc32 00000000\n")
    with stratalog.open_read_only(dest) as backup, pytest.raises(stratalog.CorruptionError, match="backup manifest"):
        backup.backup_manifest()


def test_help_lists_prune_and_backup() -> None:
    out = run_cli("--help")
    assert "prune" in out.stdout and "backup" in out.stdout
    out = run_cli("prune", "--help")
    assert "--keep-last" in out.stdout and "--keep-bytes" in out.stdout and "--before" in out.stdout
