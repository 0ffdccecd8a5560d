"""Issue 18: more streams than the process may open files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import stratalog

# The program, which failed at stream 1018, in a child process so
# that the lowered limit does not reach the rest of the tests.
PROGRAM = textwrap.dedent(
    """
    import os, resource, sys, stratalog
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    path = sys.argv[1]
    with stratalog.open(path) as s:
        for st in range(5000):
            s.append(st, b"x" * 10)
        held = len(os.listdir("/proc/self/fd"))
        assert held < 256 + 32, held
        assert all(s.read_from(st, 0) == [b"x" * 10] for st in range(0, 5000, 7))
    with stratalog.open(path, max_open_files=32) as s:
        assert s.options.max_open_files == 32
        assert len(s.streams()) == 5000
        for st in range(5000):
            s.append(st, b"y", fsync=(st % 1000 == 0))
        assert len(os.listdir("/proc/self/fd")) < 32 + 32
        assert s.read_from(4999, 0) == [b"x" * 10, b"y"]
        assert s.verify(1234).events == 2
    with stratalog.open_read_only(path, max_open_files=16) as r:
        assert r.options.max_open_files == 16
        assert [r.chain_head(st).next_offset for st in range(0, 5000, 499)] == [2] * 11
    print("ok")
    """
)


def test_five_thousand_streams_under_a_limit_of_1024_descriptors(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "s")], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# A limit below the pool's (256 by default), with descriptors the
# application holds on top: the pool gives way instead of failing EMFILE.
CRAMPED = textwrap.dedent(
    """
    import os, resource, sys, stratalog
    path, writable = sys.argv[1], sys.argv[2] == "write"
    resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))
    mine = [os.open("/dev/null", os.O_RDONLY) for _ in range(40)]
    store = stratalog.open(path) if writable else stratalog.open_read_only(path)
    with store as s:
        assert s.options.max_open_files == 256
        for st in range(1000):
            assert s.read_from(st, 0) == [b"x" * 10], st
        if writable:
            for st in range(1000):
                s.append(st, b"y", fsync=(st % 100 == 0))
            assert s.read_from(999, 0) == [b"x" * 10, b"y"]
        assert s.verify(500).events == (2 if writable else 1)
        # The application's own opens still have room.
        mine += [os.open("/dev/null", os.O_RDONLY) for _ in range(8)]
    print("ok")
    """
)


@pytest.mark.parametrize("mode", ["read", "write"])
def test_a_process_limit_below_the_pool_gives_way_instead_of_failing(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as s:
        for st in range(1000):
            s.append(st, b"x" * 10)
    out = subprocess.run(
        [sys.executable, "-c", CRAMPED, str(path), mode], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_max_open_files_is_checked(tmp_path: Path) -> None:
    with pytest.raises(stratalog.InvalidArgumentError, match="max_open_files"):
        stratalog.open(tmp_path / "s", max_open_files=7)
    with pytest.raises(OverflowError):
        stratalog.open(tmp_path / "s", max_open_files=-1)
    with stratalog.open(tmp_path / "s") as store:
        assert store.options.max_open_files == 256
