#!/usr/bin/env python3
"""Runs every code block of README.md, so the README cannot drift from the code.

Blocks run in order, in a scratch directory that holds symlinks to the
repository's top-level entries (so `./bindings/python`, `make install` and
friends work verbatim) with HOME pointing into it and a fresh virtualenv
first on PATH (so `pip install` and the `stratalog` CLI stay inside it).

- ```sh: each block runs with bash -e. The first block holds `make demo`
  and `make test` themselves; `make test` is what runs this script, so
  that block is checked with `make -n` (the targets exist and resolve).
- ```c: saved as app.c (the next sh block compiles it).
- ```python: run with the virtualenv's python.
- ```js: saved as a .mjs file and run with node.
- ```rust: compiled and run by `cargo test --doc -p stratalog-core`, which
  includes this README (core/src/lib.rs); checked here to be present.
- ```text: not code.

Usage: check_readme.py REPO_ROOT
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(readme: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(readme)]


def run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    print(f"--- {what}", flush=True)
    result = subprocess.run(cmd, cwd=cwd, env=env)
    if result.returncode != 0:
        sys.exit(f"README block failed ({what}): exit {result.returncode}")


def main(repo: Path) -> None:
    readme = (repo / "README.md").read_text()
    found = blocks(readme)
    if not found:
        sys.exit("no code blocks in README.md")
    lib_rs = (repo / "core/src/lib.rs").read_text()
    if any(lang == "rust" for lang, _ in found) and "README.md" not in lib_rs:
        sys.exit("README has rust blocks but core/src/lib.rs does not include README.md as doctests")

    with tempfile.TemporaryDirectory(prefix="stratalog-readme-") as tmp:
        work = Path(tmp)
        for entry in repo.iterdir():
            if entry.name not in {".git", "build", "node_modules", "data", "demo-data"}:
                (work / entry.name).symlink_to(entry)
        (work / "home").mkdir()
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = dict(os.environ)
        env["HOME"] = str(work / "home")
        env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
        env.pop("PYTHONPATH", None)
        # Cargo and npm caches stay where they are: only HOME moves.
        env.setdefault("CARGO_HOME", str(Path.home() / ".cargo"))
        env.setdefault("RUSTUP_HOME", str(Path.home() / ".rustup"))
        env.setdefault("npm_config_cache", str(Path.home() / ".npm"))
        env["CARGO_TARGET_DIR"] = str(repo / "target")

        counts: dict[str, int] = {}
        for index, (lang, code) in enumerate(found):
            counts[lang] = counts.get(lang, 0) + 1
            what = f"block {index + 1} ({lang or 'plain'})"
            if lang == "sh":
                if re.search(r"^make (demo|test)\b", code, re.M):
                    targets = re.findall(r"^make (\w+)", code, re.M)
                    run(["make", "-n", "-C", str(repo), *targets], work, env, what + ": make -n")
                    continue
                script = work / f"block{index}.sh"
                script.write_text("set -euo pipefail\n" + code)
                run(["bash", str(script)], work, env, what)
            elif lang == "c":
                (work / "app.c").write_text(code)
            elif lang == "python":
                script = work / f"block{index}.py"
                script.write_text(code)
                run([str(venv / "bin" / "python"), str(script)], work, env, what)
            elif lang == "js":
                script = work / f"block{index}.mjs"
                script.write_text(code)
                run(["node", str(script)], work, env, what)
            elif lang in {"rust", "text"}:
                continue
            else:
                sys.exit(f"README {what}: no runner for language {lang!r}; give the block one")
        summary = ", ".join(f"{n} {lang}" for lang, n in sorted(counts.items()))
        print(f"README: every block ran ({summary}; rust blocks run as doctests)")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
