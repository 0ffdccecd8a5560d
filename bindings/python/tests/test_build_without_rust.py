"""Building from source without a Rust toolchain (issue 19, item 1).

`pip install ./bindings/python` on a machine without cargo used to succeed
after quietly downloading a whole Rust toolchain (about 800 MB) through
maturin. The package's build backend (build_backend/stratalog_build.py) now
stops before any build step and says what to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO


def test_pip_install_without_cargo_stops_at_once_and_says_what_to_install(tmp_path: Path) -> None:
    # PATH holds this interpreter and nothing else, so no cargo anywhere.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {key: value for key, value in os.environ.items() if key not in {"STRATALOG_FETCH_RUST", "CARGO"}}
    env["PATH"] = str(bin_dir)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    started = time.monotonic()
    result = subprocess.run(
        # --target: should the build ever succeed, it must not replace the
        # package this suite is testing.
        ["python", "-m", "pip", "install", "--no-deps", "--target", str(tmp_path / "site"),
         str(REPO / "bindings" / "python")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # No toolchain was fetched: maturin's bootstrap (puccinialin) never ran.
    assert "puccinialin" not in output, output
    assert "Rust not found, installing" not in output, output
    # The message names what to install, and the way out.
    assert "needs a Rust toolchain" in output, output
    assert "`cargo` is not on PATH" in output, output
    assert "rustup" in output, output
    assert "cp310-abi3-manylinux_2_28_x86_64.whl" in output, output
    assert "STRATALOG_FETCH_RUST=1" in output, output
    # Fast: pip sets up maturin (from its cache or PyPI) and stops; the
    # toolchain download this replaces took over a minute.
    assert elapsed < 60, f"took {elapsed:.0f} s"
