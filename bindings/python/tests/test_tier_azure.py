"""The object-storage tier on Azure Blob Storage (az://container/prefix)
against a real Azure API: Azurite's blob service on 127.0.0.1, started once
for this module (azurite_server.py). The emulator must enforce the two
conditions the tier's guarantees rest on (checked first, with raw
requests); then uploads, eviction and reads from the container,
verification straight from it (library and CLI), a second writer locked
out, a takeover that fences the first writer without a fork, and a
tampered blob."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

import stratalog
from azurite_server import ACCOUNT, AzuriteServer
from tier_helpers import SEGMENT, Proxy, cli, deleted_segments_held_open, events, fill


@pytest.fixture(scope="module")
def azurite() -> Iterator[AzuriteServer]:
    server = AzuriteServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def container(azurite: AzuriteServer) -> str:
    return azurite.new_container()


def url(container: str) -> str:
    return f"az://{container}/logs"


def test_azurite_enforces_the_conditional_puts_the_tier_relies_on(azurite: AzuriteServer, container: str) -> None:
    # Write-once (If-None-Match: *): the first put creates, a second is
    # refused with 409, as Azure answers; object_store reports either 409
    # or 412 as AlreadyExists.
    assert azurite.put_blob(container, "k", b"first", {"If-None-Match": "*"}) == 201
    assert azurite.put_blob(container, "k", b"second", {"If-None-Match": "*"}) == 409
    status, headers, body = azurite.request("GET", f"{container}/k")
    assert (status, body) == (200, b"first")
    etag = headers["etag"]
    # Compare-and-swap (If-Match): the current etag wins once, and the same
    # (now stale) etag is refused with 412 Precondition Failed.
    assert azurite.put_blob(container, "k", b"third", {"If-Match": etag}) == 201
    assert azurite.put_blob(container, "k", b"fourth", {"If-Match": etag}) == 412
    assert azurite.put_blob(container, "absent", b"x", {"If-Match": etag}) == 412
    assert azurite.get_blob(container, "k") == b"third"
    assert azurite.list_blobs(container) == ["k"]


def test_sync_tier_uploads_and_the_container_reads_and_verifies_alone(
    tmp_path: Path, azurite: AzuriteServer, container: str
) -> None:
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url(container), tier_options=azurite.options()) as store:
        head = fill(store, 1, 0, 400)
        fill(store, 2, 0, 15)
        store.sync_tier()
        stats = store.tier_stats()
        assert stats.pending_segments == 0 and stats.last_error is None and not stats.fenced
        assert stats.uploaded_segments >= 10 and stats.epoch == 1
    blobs = azurite.list_blobs(container)
    assert "logs/STRATALOG" in blobs and "logs/WRITER" in blobs
    assert f"logs/streams/{1:020}/MANIFEST" in blobs
    assert sum(b.endswith(".seg") for b in blobs) >= 10
    with stratalog.open_read_only(url(container), tier_options=azurite.options()) as remote:
        assert remote.read_only and remote.streams() == [1, 2]
        assert remote.verify_against(1, head).events == 400
        assert [e for _, e in remote.iter(1)] == events(1, 0, 400)
        assert remote.read_from(1, 222, max_bytes=1) == events(1, 222, 1)
        with pytest.raises(stratalog.ReadOnlyError):
            remote.append(1, b"no")


def test_evicted_segments_are_read_back_from_the_container(tmp_path: Path, azurite: AzuriteServer, container: str) -> None:
    opts = dict(segment_size=SEGMENT, tier=url(container), tier_options=azurite.options(), local_cache_bytes=0)
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        head = fill(store, 1, 0, 400)
        store.sync_tier()
        assert store.tier_stats().evicted_segments >= 10
        assert len(list((tmp_path / "a" / "streams" / f"{1:020}").glob("*.seg"))) == 1
        assert deleted_segments_held_open() == []
        assert [e for _, e in store.iter(1)] == events(1, 0, 400)
    with stratalog.open(tmp_path / "a", **opts) as store:  # type: ignore[arg-type]
        assert store.chain_head(1) == head
        store.verify_against(1, head)
        assert store.read_from(1, 3, max_bytes=1) == events(1, 3, 1)


def test_a_second_writer_is_locked_and_a_takeover_fences_the_first_without_a_fork(
    tmp_path: Path, azurite: AzuriteServer, container: str
) -> None:
    # A reaches the container through a proxy that can cut its network.
    proxy = Proxy(azurite.port)
    try:
        a_opts = {**azurite.options(), "endpoint": f"{proxy.endpoint}/{ACCOUNT}"}
        a = stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url(container), tier_options=a_opts, tier_lease=1.0)
        with a:
            synced = fill(a, 7, 0, 100)
            a.sync_tier()
            # Another directory (another machine) while A lives: LOCKED,
            # with or without takeover.
            for takeover in (False, True):
                with pytest.raises(stratalog.LockedError):
                    stratalog.open(
                        tmp_path / "b", tier=url(container), tier_options=azurite.options(), tier_takeover=takeover, tier_lease=1.0
                    )
            # A is cut off and keeps appending; once its lease expires a
            # standby takes over, from what the container holds.
            proxy.set_down(True)
            unsynced = fill(a, 7, 100, 100)
            deadline = time.monotonic() + 30
            while True:
                try:
                    b = stratalog.open(
                        tmp_path / "b",
                        segment_size=SEGMENT,
                        tier=url(container),
                        tier_options=azurite.options(),
                        tier_takeover=True,
                        tier_lease=1.0,
                    )
                    break
                except stratalog.LockedError:
                    assert time.monotonic() < deadline, "the standby never took over"
                    time.sleep(0.3)
            with b:
                assert b.tier_stats().epoch == 2
                assert b.chain_head(7) == synced
                # A's network is back: its next manifest or lease write is a
                # compare-and-swap on a version B replaced, so A is fenced.
                proxy.set_down(False)
                assert unsynced.next_offset > synced.next_offset
                deadline = time.monotonic() + 60
                while True:
                    try:
                        a.sync_tier()
                    except stratalog.LockedError:
                        break
                    except stratalog.IOError:
                        pass  # still retrying what failed while it was cut off
                    else:
                        pytest.fail("A's sync_tier succeeded after the takeover: the container forked")
                    assert time.monotonic() < deadline, a.tier_stats()
                assert a.tier_stats().fenced
                with pytest.raises(stratalog.LockedError):
                    a.append(7, b"late")
                head = b.append(7, b"standby B")
                b.sync_tier()
                # A restarts on its old disk: the lease is B's.
                with pytest.raises(stratalog.LockedError):
                    stratalog.open(tmp_path / "a", tier=url(container), tier_options=azurite.options())
    finally:
        proxy.close()
    # The container holds one chain: A's up to the takeover, then B's.
    with stratalog.open_read_only(url(container), tier_options=azurite.options()) as remote:
        remote.verify_against(7, head)
        got = [e for _, e in remote.iter(7)]
        assert got[:-1] == events(7, 0, 100) and got[-1] == b"standby B"
    # B closed with everything in the container and released the lease: a
    # new directory opens at once and continues from B's last event, while
    # A's copy, which diverged, is refused, never uploaded over B's history.
    with stratalog.open(tmp_path / "c", tier=url(container), tier_options=azurite.options()) as c:
        assert c.chain_head(7) == head and c.tier_stats().epoch == 3
        c.sync_tier()  # and so releases the lease in turn at close
    with pytest.raises(stratalog.InvalidArgumentError, match="diverged"):
        stratalog.open(tmp_path / "a", tier=url(container), tier_options=azurite.options())


def test_cli_verifies_from_the_container_and_catches_a_tampered_blob(
    tmp_path: Path, azurite: AzuriteServer, container: str
) -> None:
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url(container), tier_options=azurite.options()) as store:
        head = fill(store, 4, 0, 300)
        store.sync_tier()
    # The CLI reaches Azurite the other way object_store offers: the
    # emulator's account and key by default, its address from the
    # environment.
    emulator = {"AZURITE_BLOB_STORAGE_URL": f"http://127.0.0.1:{azurite.port}"}
    tier_args = ["--tier-option", "use_emulator=true"]
    ok = cli("verify", url(container), "--stream", "4", "--against", str(head), *tier_args, env=emulator)
    assert ok.returncode == 0, ok.stderr
    assert "300" in ok.stdout
    short = cli("verify", url(container), "--stream", "4", "--against", f"301:{'00' * 32}", *tier_args, env=emulator)
    assert short.returncode == 1, short.stdout + short.stderr

    seg = sorted(b for b in azurite.list_blobs(container) if b.endswith(".seg"))[1]
    body = bytearray(azurite.get_blob(container, seg))
    body[len(body) // 2] ^= 0x01
    assert azurite.put_blob(container, seg, bytes(body)) == 201
    bad = cli("verify", url(container), "--stream", "4", *tier_args, env=emulator)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "checksum mismatch" in bad.stdout and "FAILED" in bad.stdout, bad.stdout
    with stratalog.open_read_only(url(container), tier_options=azurite.options()) as remote:
        with pytest.raises((stratalog.CorruptionError, stratalog.ChainMismatchError)):
            remote.verify(4)


def test_azure_tier_errors_are_clear(tmp_path: Path, azurite: AzuriteServer, container: str) -> None:
    with pytest.raises(stratalog.InvalidArgumentError, match="acount_name"):
        stratalog.open(tmp_path / "x", tier=url(container), tier_options={**azurite.options(), "acount_name": "x"})
    with pytest.raises(stratalog.InvalidArgumentError, match="acount_name"):
        stratalog.open_read_only(url(container), tier_options={**azurite.options(), "acount_name": "x"})
    with pytest.raises(stratalog.InvalidArgumentError, match="use_emulator ignores endpoint"):
        stratalog.open(tmp_path / "x", tier=url(container), tier_options={**azurite.options(), "use_emulator": "true"})
    with pytest.raises(stratalog.InvalidArgumentError, match="Gen1"):
        stratalog.open(tmp_path / "x", tier=f"adl://{container}/logs", tier_options=azurite.options())
    # A wrong key: the emulator refuses the signature, and a writer cannot
    # open without the container. Both say what the service said.
    wrong = {**azurite.options(), "access_key": "d3Jvbmc="}
    with pytest.raises(stratalog.IOError, match="AuthorizationFailure"):
        stratalog.open(tmp_path / "y", tier=url(container), tier_options=wrong)
    with pytest.raises(stratalog.IOError, match="ContainerNotFound"):
        stratalog.open(tmp_path / "y", tier="az://no-such-container/logs", tier_options=azurite.options())
    with pytest.raises(stratalog.IOError, match="ContainerNotFound"):
        stratalog.open_read_only("az://no-such-container/logs", tier_options=azurite.options())
