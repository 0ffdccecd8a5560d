"""The build backend of `pip install ./bindings/python`: maturin, without
its silent toolchain download.

When `cargo` is not on PATH, maturin's backend quietly fetches a whole Rust
toolchain (about 800 MB) into a cache directory and builds with that; pip
shows none of it. This wrapper stops first instead, and says what to install.
Setting STRATALOG_FETCH_RUST=1 hands the build to maturin as it is, download
included. Every PEP 517 hook is maturin's, behind the same check.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, Callable

import maturin

FETCH_RUST = "STRATALOG_FETCH_RUST"

MESSAGE = f"""
stratalog: building this package from source needs a Rust toolchain (cargo and
rustc, Rust 1.89 or later), and `cargo` is not on PATH.

  Install it with rustup, then run pip again:
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
      . "$HOME/.cargo/env"
  (see https://rustup.rs; a distribution's rustc may be older than 1.89).

Or install the prebuilt wheel, which needs no Rust toolchain (Linux x86_64,
glibc 2.28 or later, any CPython >= 3.10; `make dist` in a clone builds it):
      pip install stratalog-<version>-cp310-abi3-manylinux_2_28_x86_64.whl

Or let the build download a private toolchain, about 800 MB, into a cache
directory (maturin's automatic install): {FETCH_RUST}=1 pip install ...
"""


def _require_cargo() -> None:
    if shutil.which("cargo") is not None:
        return
    if os.environ.get(FETCH_RUST) == "1":
        sys.stderr.write(
            f"stratalog: cargo is not on PATH and {FETCH_RUST}=1: maturin downloads "
            "a Rust toolchain (about 800 MB) into a cache directory\n"
        )
        return
    sys.stderr.write(MESSAGE)
    sys.stderr.flush()
    raise SystemExit(1)


def _checked(hook: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _require_cargo()
        return hook(*args, **kwargs)

    wrapper.__name__ = hook.__name__
    wrapper.__doc__ = hook.__doc__
    return wrapper


get_requires_for_build_wheel = _checked(maturin.get_requires_for_build_wheel)
get_requires_for_build_sdist = _checked(maturin.get_requires_for_build_sdist)
get_requires_for_build_editable = _checked(maturin.get_requires_for_build_editable)
prepare_metadata_for_build_wheel = _checked(maturin.prepare_metadata_for_build_wheel)
prepare_metadata_for_build_editable = _checked(maturin.prepare_metadata_for_build_editable)
build_wheel = _checked(maturin.build_wheel)
build_sdist = _checked(maturin.build_sdist)
build_editable = _checked(maturin.build_editable)
