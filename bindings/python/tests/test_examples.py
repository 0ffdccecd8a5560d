"""The examples in examples/python run end to end against the installed package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

import stratalog

EXAMPLES = REPO / "examples" / "python"


def run(script: str, *args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_quickstart(tmp_path: Path) -> None:
    lines = run("quickstart.py", str(tmp_path / "store"))
    assert lines[0] == "appended 2 events to stream 7, head 2:d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141"
    assert "verify_against(2:d18fbfbfce86...): ok" in lines
    with stratalog.open_read_only(tmp_path / "store") as store:
        assert store.read_from(7, 0) == [b"alpha", b"beta", b"gamma", b""]
    # Without an argument it uses (and removes) a temporary directory.
    assert run("quickstart.py")[-1].startswith("reopened read-only: streams [7]")


def test_audit_trail(tmp_path: Path) -> None:
    lines = run("audit_trail.py", str(tmp_path))
    assert lines[0].startswith("recorded 3 audit events; anchor 3:")
    assert "auditor: 3 events intact and consistent with the anchor" in lines
    assert "attacker: the forged log passes verify() on its own" in lines
    assert lines[-1].startswith("auditor: tampering detected at offset 2: chain mismatch")
    anchor = stratalog.ChainHead.parse((tmp_path / "anchor.txt").read_text())
    with stratalog.open_read_only(tmp_path / "audit-log") as store:
        assert store.verify_against(1, anchor).head == anchor
