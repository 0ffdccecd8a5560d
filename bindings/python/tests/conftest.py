"""Shared fixtures. The suite tests the INSTALLED package: it refuses to run
against the source tree (bindings/python/python), and a run that collects
no test fails instead of passing quietly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import stratalog

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[2]
SOURCE_PACKAGE = TESTS.parent / "python" / "stratalog"

# The spec's test vectors (docs/FORMAT.md): heads after appending alpha, beta,
# gamma and the empty event to an empty stream.
VECTOR_EVENTS = [b"alpha", b"beta", b"gamma", b""]
VECTOR_HEADS = [
    "1:94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009",
    "2:d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141",
    "3:4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861",
    "4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc",
]

SEGMENT_HEADER = 80
RECORD_OVERHEAD = 60


def pytest_configure(config: pytest.Config) -> None:
    installed = Path(stratalog.__file__).resolve().parent
    if installed == SOURCE_PACKAGE.resolve():
        raise pytest.UsageError(
            f"stratalog was imported from the source tree ({installed}); "
            "install it (pip install ./bindings/python) and run pytest from elsewhere"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # pytest exits 5 when it collected nothing; for this suite that means a
    # broken run (wrong path, import failure), so it must fail loudly.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A fresh directory path for a store (not created yet)."""
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path) -> Iterator[stratalog.Store]:
    """A fresh on-disk store, closed after the test."""
    with stratalog.open(store_path) as s:
        yield s


def stream_dir(path: Path, stream: int) -> Path:
    return path / "streams" / f"{stream:020d}"


def segments(path: Path, stream: int) -> list[Path]:
    return sorted(stream_dir(path, stream).glob("*.seg"))


def crash_after_appending(path: Path, stream: int, events: list[bytes]) -> None:
    """Appends ``events`` as one durable batch in a child process that then
    exits without closing the store, as a crash would leave it."""
    code = (
        "import os, sys, stratalog\n"
        "s = stratalog.open(sys.argv[1])\n"
        "s.append_batch(int(sys.argv[2]), [bytes.fromhex(e) for e in sys.argv[3:]], fsync=True)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(stream), *(e.hex() for e in events)], check=True)


def flip_byte(file: Path, position: int) -> None:
    """XORs one byte of a file (tampering with a store behind its back)."""
    with open(file, "r+b") as f:
        f.seek(position)
        byte = f.read(1)
        assert byte, f"{file} has no byte at {position}"
        f.seek(position)
        f.write(bytes([byte[0] ^ 0xFF]))


def cli_path() -> str:
    """The installed console script, next to this interpreter."""
    script = Path(sys.executable).parent / "stratalog"
    if script.exists():
        return str(script)
    found = shutil.which("stratalog")
    assert found, "the stratalog console script is not installed"
    return found


def run_cli(*args: str, module: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs the installed `stratalog` script (or `python -m stratalog`)."""
    cmd = [sys.executable, "-m", "stratalog", *args] if module else [cli_path(), *args]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
