"""The object-storage tier against a real S3 API (moto_server on 127.0.0.1,
started here): uploads, eviction and reads from the bucket, verification
straight from the bucket (library and CLI), fencing of a second writer and
a takeover, kill -9 of a writer mid-upload, an unreachable bucket, a
tampered object."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Iterator

import pytest

import stratalog
from s3_server import MotoServer, aws_test_environment, set_aws_test_environment
from tier_helpers import SEGMENT, Proxy, cli, deleted_segments_held_open, events, fill, kill


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoServer]:
    set_aws_test_environment()
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


def options(endpoint: str) -> dict[str, str]:
    return {"endpoint": endpoint, "allow_http": "true", "region": "us-east-1"}


@pytest.fixture
def bucket(s3: MotoServer) -> str:
    return f"s3://{s3.new_bucket()}/logs"


def boto(s3: MotoServer) -> Any:
    import boto3  # moto[server] brings it

    return boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1")


def test_sync_tier_uploads_and_the_bucket_reads_and_verifies_alone(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint)) as store:
        head = fill(store, 1, 0, 400)
        fill(store, 2, 0, 15)
        store.sync_tier()
        stats = store.tier_stats()
        assert stats.pending_segments == 0 and stats.last_error is None and not stats.fenced
        assert stats.uploaded_segments >= 10 and stats.epoch == 1
        store.export_tiles(1, stratalog.SigningKey.generate("log.example/tier"), tmp_path / "tiles")
    client = boto(s3)
    name = bucket[5:].split("/")[0]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert "logs/STRATALOG" in keys and "logs/WRITER" in keys
    assert f"logs/streams/{1:020}/MANIFEST" in keys
    # The stream's Merkle tree as C2SP tlog-tiles beside its segments: the
    # very files export_tiles writes for the tree the bucket holds.
    exported = sorted(p for p in (tmp_path / "tiles" / "tile").rglob("*") if p.is_file())
    assert len(exported) >= 4
    for path in exported:
        key = f"logs/streams/{1:020}/{path.relative_to(tmp_path / 'tiles').as_posix()}"
        assert client.get_object(Bucket=name, Key=key)["Body"].read() == path.read_bytes(), key
    # Tile 0 is full at 400 leaves: the partial tiles of the sizes below it
    # that rounds ended at are gone (tlog-tiles allows it).
    assert f"logs/streams/{1:020}/tile/0/000" in keys
    tile0 = (f"logs/streams/{1:020}/tile/0/000.p/", f"logs/streams/{1:020}/tile/entries/000.p/")
    assert [k for k in keys if k.startswith(tile0)] == []
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        assert remote.read_only and remote.streams() == [1, 2]
        assert remote.verify_against(1, head).events == 400
        assert [e for _, e in remote.iter(1)] == events(1, 0, 400)
        assert remote.read_from(1, 222, max_bytes=1) == events(1, 222, 1)
        with pytest.raises(stratalog.ReadOnlyError):
            remote.append(1, b"no")
        # A snapshot with no directory: it never grows, and keeps nothing.
        assert remote.wait(1, 399) == 400
        with pytest.raises(stratalog.InvalidArgumentError, match="never grows"):
            remote.wait(1, 400)
        with pytest.raises(stratalog.InvalidArgumentError, match="reader of a bucket"):
            remote.commit_cursor(1, "projector", 10)
        with pytest.raises(stratalog.InvalidArgumentError, match="reader of a bucket"):
            remote.checkpoint(1, stratalog.SigningKey.generate("log.example/tier"))


def test_evicted_segments_are_read_back_from_the_bucket(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint), local_cache_bytes=0)
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        head = fill(store, 1, 0, 400)
        store.sync_tier()
        assert store.tier_stats().evicted_segments >= 10
        assert len(list((tmp_path / "a" / "streams" / f"{1:020}").glob("*.seg"))) == 1
        # No descriptor keeps an evicted file's space: reads go to the bucket.
        assert deleted_segments_held_open() == []
        assert [e for _, e in store.iter(1)] == events(1, 0, 400)
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        assert store.chain_head(1) == head
        store.verify_against(1, head)
        assert store.read_from(1, 3, max_bytes=1) == events(1, 3, 1)
        assert store.tier_stats().copied_back_segments == 0
    # With room in the cache, what is read from the bucket is copied back.
    opts["local_cache_bytes"] = 1 << 30
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        assert [e for _, e in store.iter(1)] == events(1, 0, 400)
        deadline = time.monotonic() + 20
        while store.tier_stats().copied_back_segments < 10:
            assert time.monotonic() < deadline, store.tier_stats()
            time.sleep(0.05)
        assert len(list((tmp_path / "a" / "streams" / f"{1:020}").glob("*.seg"))) >= 11
        store.verify_against(1, head)


def test_cli_verifies_from_the_bucket_and_catches_a_tampered_object(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint)) as store:
        head = fill(store, 4, 0, 300)
        store.sync_tier()
    tier_args = ["--tier-option", f"endpoint={s3.endpoint}", "--tier-option", "allow_http=true"]
    ok = cli("verify", bucket, "--stream", "4", "--against", str(head), *tier_args)
    assert ok.returncode == 0, ok.stderr
    assert "300" in ok.stdout
    short = cli("verify", bucket, "--stream", "4", "--against", f"301:{'00' * 32}", *tier_args)
    assert short.returncode == 1, short.stdout + short.stderr

    client = boto(s3)
    name = bucket[5:].split("/")[0]
    seg = sorted(o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"] if o["Key"].endswith(".seg"))[1]
    body = bytearray(client.get_object(Bucket=name, Key=seg)["Body"].read())
    body[len(body) // 2] ^= 0x01
    client.put_object(Bucket=name, Key=seg, Body=bytes(body))
    bad = cli("verify", bucket, "--stream", "4", *tier_args)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "checksum mismatch" in bad.stdout and "FAILED" in bad.stdout, bad.stdout
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        with pytest.raises((stratalog.CorruptionError, stratalog.ChainMismatchError)):
            remote.verify(4)
    # Cut short, or removed: damage too (exit 1), never "could not run".
    client.put_object(Bucket=name, Key=seg, Body=bytes(body[:-100]))
    cut = cli("verify", bucket, "--stream", "4", *tier_args)
    assert cut.returncode == 1 and "CorruptionError" in cut.stdout, cut.stdout + cut.stderr
    client.delete_object(Bucket=name, Key=seg)
    gone = cli("verify", bucket, "--stream", "4", *tier_args)
    assert gone.returncode == 1 and "ChainMismatchError" in gone.stdout, gone.stdout + gone.stderr
    with pytest.raises(stratalog.InvalidArgumentError, match="endpiont"):
        stratalog.open_read_only(bucket, tier_options={"endpiont": s3.endpoint})


WRITER = textwrap.dedent(
    """
    import os, sys, stratalog
    path, url, endpoint, lease = sys.argv[1:5]
    opts = {"endpoint": endpoint, "allow_http": "true", "region": "us-east-1"}
    store = stratalog.open(path, segment_size=8192, tier=url, tier_options=opts, tier_lease=float(lease))
    n = int(os.environ.get("EVENTS", "300"))
    for i in range(0, n, 10):
        store.append_batch(7, [b"writer A %d" % j for j in range(i, i + 10)])
    print(store.chain_head(7), flush=True)
    if os.environ.get("SYNC") == "1":
        print("syncing", flush=True)
        store.sync_tier()
        print("synced", store.chain_head(7), flush=True)
    sys.stdin.read()
    """
)


def start_writer(tmp_path: Path, path: Path, url: str, endpoint: str, lease: float, **env: str) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen(
        [sys.executable, str(script), str(path), url, endpoint, str(lease)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **aws_test_environment(), **env},
    )


def test_a_second_writer_is_locked_and_a_standby_takes_over_a_dead_one(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    a = start_writer(tmp_path, tmp_path / "a", bucket, s3.endpoint, 1.0, SYNC="1")
    assert a.stdout is not None
    a.stdout.readline()
    assert a.stdout.readline().strip() == "syncing"
    synced = stratalog.ChainHead.parse(a.stdout.readline().split()[1])
    # Another machine (another directory), while A lives: LOCKED, with or
    # without takeover.
    for takeover in (False, True):
        with pytest.raises(stratalog.LockedError):
            stratalog.open(tmp_path / "b", tier=bucket, tier_options=options(s3.endpoint), tier_takeover=takeover, tier_lease=1.0)
    kill(a)
    # What A would leave had it died between its puts and its manifest
    # write: a segment under its epoch that no manifest lists.
    client = boto(s3)
    name, prefix = bucket[5:].split("/", 1)
    stream_dir = f"{prefix}/streams/{7:020}/"
    orphan = f"{stream_dir}{1 << 40:020}-{1:08x}.seg"
    client.put_object(Bucket=name, Key=orphan, Body=b"put, never listed")

    def objects() -> set[str]:
        # Tiles aside: a full tile makes partial ones go.
        found = client.list_objects_v2(Bucket=name, Prefix=stream_dir)["Contents"]
        return {o["Key"] for o in found if "/tile/" not in o["Key"]}

    listed = objects() - {orphan}
    # A's machine is gone: once its lease expires, a standby takes over and
    # continues the chain from the bucket.
    deadline = time.monotonic() + 20
    while True:
        try:
            b = stratalog.open(tmp_path / "b", segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint), tier_takeover=True, tier_lease=1.0)
            break
        except stratalog.LockedError:
            assert time.monotonic() < deadline, "the standby never took over"
            time.sleep(0.3)
    with b:
        assert b.chain_head(7) == synced
        assert b.tier_stats().epoch == 2
        head = b.append(7, b"standby B")
        b.sync_tier()
        # B swept what A put and never listed; all A listed stays.
        keys = objects()
        assert orphan not in keys and listed <= keys
        assert b.tier_stats().last_error is None
        # A restarts on its old disk: its lease is gone, so LOCKED.
        with pytest.raises(stratalog.LockedError):
            stratalog.open(tmp_path / "a", tier=bucket, tier_options=options(s3.endpoint))
    # B closed with everything in the bucket, so it released the lease: A's
    # directory opens again at once and continues from B's last event.
    with stratalog.open(tmp_path / "a", tier=bucket, tier_options=options(s3.endpoint)) as again:
        assert again.chain_head(7) == head and again.tier_stats().epoch == 3
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        remote.verify_against(7, head)
        got = [e for _, e in remote.iter(7)]
        assert got[-1] == b"standby B" and len(got) == synced.next_offset + 1


BACKLOG_WRITER = textwrap.dedent(
    """
    import sys, stratalog
    path, url, endpoint = sys.argv[1:4]
    opts = {"endpoint": endpoint, "allow_http": "true", "region": "us-east-1"}
    store = stratalog.open(path, segment_size=8192, tier=url, tier_options=opts)
    print("opened", flush=True)
    sys.stdin.readline()
    for i in range(0, 20000, 10):
        store.append_batch(7, [b"writer A %d" % j for j in range(i, i + 10)])
    print(store.chain_head(7), flush=True)
    sys.stdin.readline()
    print("syncing", flush=True)
    store.sync_tier()
    print("synced", flush=True)
    sys.stdin.read()
    """
)


def test_a_writer_killed_mid_upload_resumes_and_loses_nothing(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    # The writer builds a backlog while its bucket is unreachable, then is
    # killed 0.2 s into uploading it; a restart uploads the rest.
    script = tmp_path / "backlog.py"
    script.write_text(BACKLOG_WRITER)
    local = tmp_path / "a"
    proxy = Proxy(s3.port)
    try:
        a = subprocess.Popen(
            [sys.executable, str(script), str(local), bucket, proxy.endpoint],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **aws_test_environment()},
        )
        assert a.stdin is not None and a.stdout is not None
        assert a.stdout.readline().strip() == "opened"
        proxy.set_down(True)
        a.stdin.write("\n")
        a.stdin.flush()
        head = stratalog.ChainHead.parse(a.stdout.readline().strip())
        assert head.next_offset == 20000
        proxy.set_down(False)
        a.stdin.write("\n")
        a.stdin.flush()
        assert a.stdout.readline().strip() == "syncing"
        time.sleep(0.2)
        kill(a)
    finally:
        proxy.close()
    # The same machine restarts: same writer id, so the same lease.
    with stratalog.open(local, segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint)) as store:
        assert store.chain_head(7) == head
        store.sync_tier()
        stats = store.tier_stats()
        # The restart had uploads left to do: the kill came mid-upload.
        assert stats.pending_segments == 0 and stats.uploaded_segments > 0, stats
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        remote.verify_against(7, head)
        assert remote.read_from(7, 19999, max_bytes=1) == [b"writer A 19999"]


def sync_tier_once_it_works(store: stratalog.Store) -> None:
    """``sync_tier()`` until it succeeds (a retry past a fault's backoff);
    then nothing is pending and no error is left."""
    deadline = time.monotonic() + 60
    while True:
        try:
            store.sync_tier()
            break
        except stratalog.IOError:
            assert time.monotonic() < deadline, store.tier_stats()
    stats = store.tier_stats()
    assert stats.pending_segments == 0 and stats.last_error is None, stats


def test_appends_go_on_while_the_bucket_is_unreachable(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    proxy = Proxy(s3.port)
    try:
        with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=bucket, tier_options=options(proxy.endpoint)) as store:
            fill(store, 3, 0, 50)
            proxy.set_down(True)
            head = fill(store, 3, 50, 400)
            with pytest.raises(stratalog.IOError):
                store.sync_tier()
            stats = store.tier_stats()
            assert stats.pending_segments >= 10 and stats.pending_bytes > 0
            assert stats.last_error
            proxy.set_down(False)
            sync_tier_once_it_works(store)
    finally:
        proxy.close()
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        remote.verify_against(3, head)


def test_a_checkpoint_signs_only_what_the_bucket_holds(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    key = stratalog.SigningKey.generate("log.example/tier")
    proxy = Proxy(s3.port)
    try:
        with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=bucket, tier_options=options(proxy.endpoint)) as store:
            fill(store, 5, 0, 150)
            # No sync_tier: the checkpoint seals and uploads what it signs.
            note = store.checkpoint(5, key)
            size, root = stratalog.verify_checkpoint(note, key.vkey)
            assert size == 150
            with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
                assert remote.chain_head(5).next_offset == 150
                assert remote.tree_root(5, 150) == root
                assert [e for _, e in remote.iter(5)] == events(5, 0, 150)
            # Unreachable: what the bucket holds is still signed; the rest is not.
            proxy.set_down(True)
            assert store.checkpoint(5, key, size=150) == note
            fill(store, 5, 150, 10)
            with pytest.raises(stratalog.IOError):
                store.checkpoint(5, key)
            proxy.set_down(False)
            assert stratalog.verify_checkpoint(store.checkpoint(5, key), key.vkey)[0] == 160
    finally:
        proxy.close()


def test_appends_never_wait_for_a_bucket_that_stopped_answering(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    proxy = Proxy(s3.port)
    try:
        opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(proxy.endpoint))
        with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
            fill(store, 4, 0, 50)
            store.sync_tier()
            proxy.set_stalled(True)
            # Every request now hangs (until the client's 30 s timeout),
            # the uploader's among them. Appends seal dozens of segments
            # and fsync: were they waiting for an upload, this would take
            # many timeouts.
            heads: list[stratalog.ChainHead] = []
            appending = threading.Thread(target=lambda: (heads.append(fill(store, 4, 50, 400)), store.sync()))
            appending.start()
            appending.join(60)
            assert not appending.is_alive() and heads, "the appends waited for the bucket"
            stats = store.tier_stats()
            assert stats.pending_segments >= 10 and stats.pending_bytes > 0
            proxy.set_stalled(False)
            sync_tier_once_it_works(store)
    finally:
        proxy.close()
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        remote.verify_against(4, heads[0])


def test_puts_cut_half_way_are_retried_and_lose_nothing(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    proxy = Proxy(s3.port)
    try:
        opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(proxy.endpoint))
        with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
            # Every connection is cut once 2 KiB of requests went through
            # it: each segment's PUT (8 KiB) breaks off half-way.
            proxy.cut_requests_after(2048)
            head = fill(store, 5, 0, 400)
            with pytest.raises(stratalog.IOError):
                store.sync_tier()
            stats = store.tier_stats()
            assert stats.pending_segments >= 10 and stats.last_error
            proxy.cut_requests_after(None)
            sync_tier_once_it_works(store)
    finally:
        proxy.close()
    # Only whole objects are listed: the bucket alone verifies every event.
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        assert remote.verify_against(5, head).events == 400
    client = boto(s3)
    name, prefix = bucket[5:].split("/", 1)
    listed = client.list_objects_v2(Bucket=name, Prefix=f"{prefix}/streams/{5:020}/")["Contents"]
    for obj in listed:
        if obj["Key"].endswith(".seg"):
            assert obj["Size"] > 2048, obj


def test_tier_errors_are_clear(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    with pytest.raises(stratalog.InvalidArgumentError, match="not supported"):
        stratalog.open(tmp_path / "x", tier="gs://bucket/p")
    with pytest.raises(stratalog.InvalidArgumentError, match="unknown tier option"):
        stratalog.open(tmp_path / "x", tier=bucket, tier_options={"region": "us-east-1", "bogus": "1"})
    for alone in ({"tier_options": options(s3.endpoint)}, {"local_cache_bytes": 5}, {"tier_takeover": True}, {"tier_lease": 5.0}):
        with pytest.raises(stratalog.InvalidArgumentError, match="need a tier"):
            stratalog.open(tmp_path / "x", **alone)  # type: ignore[arg-type]
    with pytest.raises(stratalog.InvalidArgumentError, match="allow_http=true"):
        stratalog.open(tmp_path / "x", tier=bucket, tier_options={"endpoint": s3.endpoint, "region": "us-east-1"})
    with pytest.raises(stratalog.InvalidArgumentError, match="tier_lease"):
        stratalog.open(tmp_path / "x", tier=bucket, tier_options=options(s3.endpoint), tier_lease=float("nan"))
    with pytest.raises(stratalog.InvalidArgumentError, match="tier_lease"):
        stratalog.open(tmp_path / "x", tier=bucket, tier_options=options(s3.endpoint), tier_lease=1e30)
    with stratalog.open(tmp_path / "plain") as plain:
        with pytest.raises(stratalog.InvalidArgumentError, match="no tier"):
            plain.sync_tier()


def test_a_bucket_reader_opened_before_a_prune_reads_pruned_as_pruned(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint))
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        head = fill(store, 6, 0, 600)
        store.sync_tier()
        with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
            assert remote.first_offset(6) == 0
            first = store.prune_keep_last(6, 200)
            assert 0 < first <= 400
            store.sync_tier()
            # The objects it lists below `first` are gone from the bucket:
            # the read says why, with where the stream starts now.
            with pytest.raises(stratalog.PrunedError) as pruned:
                remote.read_from(6, 0, max_bytes=1)
            assert (pruned.value.offset, pruned.value.first_offset) == (0, first)
            assert [e for _, e in remote.iter(6, first)] == events(6, first, 600 - first)
            assert remote.verify_against(6, head).events == 600 - first


def test_a_prune_reaches_the_bucket_and_the_bucket_verifies_from_there(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint), local_cache_bytes=2 * SEGMENT)
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        fill(store, 5, 0, 600)
        store.sync_tier()
        first = store.prune_keep_last(5, 200)
        assert 0 < first <= 400
        head = fill(store, 5, 600, 50)
        store.sync_tier()
        assert store.tier_stats().last_error is None
    client = boto(s3)
    name, prefix = bucket[5:].split("/", 1)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name, Prefix=f"{prefix}/streams/{5:020}/")["Contents"]]
    bases = sorted({int(k.rsplit("/", 1)[1][:20]) for k in keys if k.endswith((".seg", ".idx"))})
    assert bases[0] == first, (first, bases)
    assert [k.rsplit("/", 1)[1] for k in keys if "/ANCHOR-" in k] == [f"ANCHOR-{first:020}"]
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        assert remote.first_offset(5) == first
        assert remote.verify_against(5, head).events == 650 - first
        with pytest.raises(stratalog.PrunedError):
            remote.read_from(5, first - 1, max_bytes=1)
        assert [e for _, e in remote.iter(5, first)] == events(5, first, 650 - first)
    tier_args = ["--tier-option", f"endpoint={s3.endpoint}", "--tier-option", "allow_http=true"]
    ok = cli("verify", bucket, "--stream", "5", "--against", str(head), *tier_args)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_proofs_of_a_pruned_stream_from_the_bucket_and_after_a_move(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    key = stratalog.SigningKey.generate("log.example/tier")
    opts = dict(segment_size=SEGMENT, tier=bucket, tier_options=options(s3.endpoint))
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        fill(store, 5, 0, 700)
        first = store.prune(5, 650)
        # The tile holding the first offset is partial in the bucket (700 leaves).
        assert 512 < first <= 650, first
        store.sync_tier()
        root = store.tree_root(5)
        proof = store.inclusion_proof(5, 690)
        note = store.checkpoint(5, key)
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        assert remote.tree_root(5) == root
        assert remote.inclusion_proof(5, 690) == proof
        stratalog.verify_inclusion(690, 700, root, proof, remote.leaf_data(5, 690))
    # A planned move to a directory with no tree files.
    with stratalog.open(tmp_path / "b", **opts) as moved:  # type: ignore[arg-type]
        assert moved.first_offset(5) == first
        assert moved.tree_root(5) == root
        assert moved.checkpoint(5, key) == note


def test_a_manifest_of_over_1024_segments_is_folded_into_a_part(tmp_path: Path, s3: MotoServer, bucket: str) -> None:
    # One 3000-byte event per 4096-byte segment: every append seals one.
    payloads = [f"event {i} ".encode().ljust(3000, b".") for i in range(1030)]
    opts = dict(segment_size=4096, tier=bucket, tier_options=options(s3.endpoint))
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        for payload in payloads:
            head = store.append(2, payload)
        store.sync_tier()
        assert store.tier_stats().last_error is None
    client = boto(s3)
    name, prefix = bucket[5:].split("/", 1)
    stream_dir = f"{prefix}/streams/{2:020}/"
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=stream_dir)
    listed = [o for page in pages for o in page["Contents"]]
    sealed = sum(1 for o in listed if o["Key"].endswith(".seg"))
    assert sealed == 1030  # sync_tier sealed the last one too
    parts = [o["Key"] for o in listed if o["Key"].endswith(".part")]
    assert [p.rsplit("/", 1)[1][:41] for p in parts] == [f"{0:020}-{1024:020}"]
    manifest = client.get_object(Bucket=name, Key=f"{stream_dir}MANIFEST")["Body"].read()
    assert manifest[8:12] == (3).to_bytes(4, "little")
    assert len(manifest) == 80 + 4 + 124 + (sealed - 1024) * 152 + 4
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        assert remote.verify_against(2, head).events == 1030
        assert remote.read_from(2, 7, max_bytes=1) == [payloads[7]]
    tier_args = ["--tier-option", f"endpoint={s3.endpoint}", "--tier-option", "allow_http=true"]
    ok = cli("verify", bucket, "--stream", "2", "--against", str(head), *tier_args)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # The last entry's copy of its segment's header says another
    # checkpoint interval than the segment (a good CRC): verify says so.
    interval_at = len(manifest) - 4 - 152 + 136 + 4
    interval = int.from_bytes(manifest[interval_at : interval_at + 8], "little")
    assert interval > 0
    lying = bytearray(manifest[:-4])
    lying[interval_at : interval_at + 8] = (interval * 2).to_bytes(8, "little")
    lying += zlib.crc32(lying).to_bytes(4, "little")
    client.put_object(Bucket=name, Key=f"{stream_dir}MANIFEST", Body=bytes(lying))
    with stratalog.open_read_only(bucket, tier_options=options(s3.endpoint)) as remote:
        with pytest.raises(stratalog.CorruptionError, match="manifest entry records"):
            remote.verify(2)
    client.put_object(Bucket=name, Key=f"{stream_dir}MANIFEST", Body=manifest)

    # A part with a flipped byte is corruption, named as such.
    part = client.get_object(Bucket=name, Key=parts[0])["Body"].read()
    client.put_object(Bucket=name, Key=parts[0], Body=part[:100] + bytes([part[100] ^ 1]) + part[101:])
    with pytest.raises(stratalog.CorruptionError, match=r"\.part"):
        stratalog.open_read_only(bucket, tier_options=options(s3.endpoint))
    bad = cli("verify", bucket, "--stream", "2", *tier_args)
    assert bad.returncode != 0 and ".part" in bad.stdout + bad.stderr, bad.stdout + bad.stderr
