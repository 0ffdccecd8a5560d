"""A tier on a file system (``file:///path``) and in memory
(``memory:///prefix``): no server needed. Uploads, eviction, reads and
verification from the tier (library and CLI), a second writer refused, a
tampered object caught."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

import stratalog

SEGMENT = 8192


def events(n: int) -> list[bytes]:
    return [f"event {i} ".encode() * 12 for i in range(n)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stratalog", *args], capture_output=True, text=True, timeout=120)


def test_a_file_tier_evicts_reads_back_verifies_and_fences(tmp_path: Path) -> None:
    url = f"file://{tmp_path / 'tier'}"
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url, local_cache_bytes=0) as store:
        for i in range(0, 300, 10):
            head = store.append_batch(5, events(300)[i : i + 10])
        store.sync_tier()
        stats = store.tier_stats()
        assert stats.pending_segments == 0 and stats.last_error is None
        assert stats.uploaded_segments >= 5
        local = list((tmp_path / "a" / "streams" / f"{5:020}").glob("*.seg"))
        assert len(local) == 1, local
        assert [e for _, e in store.iter(5)] == events(300)

        with pytest.raises(stratalog.LockedError):
            stratalog.open(tmp_path / "b", segment_size=SEGMENT, tier=url)

    with stratalog.open_read_only(url) as remote:
        assert remote.verify_against(5, head).events == 300
    done = cli("verify", url, "--stream", "5", "--against", str(head))
    assert done.returncode == 0, done.stderr

    uploaded = min((tmp_path / "tier" / "streams" / f"{5:020}").glob("*.seg"))
    data = bytearray(uploaded.read_bytes())
    data[200] ^= 0x01
    uploaded.write_bytes(bytes(data))
    done = cli("verify", url, "--stream", "5")
    assert done.returncode == 1, (done.stdout, done.stderr)


def test_a_memory_tier_lives_as_long_as_the_process(tmp_path: Path) -> None:
    url = "memory:///python-test"
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url) as store:
        head = store.append_batch(1, events(50))
        store.sync_tier()
    with stratalog.open_read_only(url) as remote:
        assert remote.verify_against(1, head).events == 50
        assert [e for _, e in remote.iter(1)] == events(50)


def test_file_and_memory_tiers_take_no_options(tmp_path: Path) -> None:
    for url in (f"file://{tmp_path / 'tier'}", "memory:///x"):
        with pytest.raises(stratalog.InvalidArgumentError, match="takes no options"):
            stratalog.open(tmp_path / "a", tier=url, tier_options={"region": "us-east-1"})


def test_cli_export_and_dump_of_a_pruned_stream_in_a_bucket(tmp_path: Path) -> None:
    """Read from the bucket, a pruned stream dumps and exports from its
    first offset on, exactly as from the writer's directory: the hash
    before the first offset, which the export's base line carries, comes
    from the first head (the prune anchor's) in either case."""
    url = f"file://{tmp_path / 'tier'}"
    with stratalog.open(tmp_path / "a", segment_size=SEGMENT, tier=url) as store:
        for i in range(0, 300, 10):
            store.append_batch(5, events(300)[i : i + 10])
        first = store.prune(5, 150)
        assert first > 0
        base = store.first_head(5)
        # h(first - 1), computed here from the events the prune removed.
        chain = bytes(32)
        for offset, event in enumerate(events(300)[:first]):
            chain = hashlib.sha256(chain + offset.to_bytes(8, "little") + event).digest()
        assert (base.next_offset, base.hash) == (first, chain)
        store.sync_tier()
    with stratalog.open_read_only(url) as remote:
        assert remote.first_head(5) == base
    dumped = cli("dump", url, "--stream", "5", "--limit", "1")
    assert dumped.returncode == 0, dumped.stderr
    assert dumped.stdout == f"{first}\t{events(300)[first].decode()}\n"
    exported = cli("export", url, "--stream", "5")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0] == f'{{"stream":5,"base":"{base}"}}'
    assert exported.stdout == cli("export", str(tmp_path / "a"), "--stream", "5").stdout
    later = cli("export", url, "--stream", "5", "--from", str(first + 1))
    assert later.returncode == 0, later.stderr
    assert later.stdout == cli("export", str(tmp_path / "a"), "--stream", "5", "--from", str(first + 1)).stdout
