#!/usr/bin/env python3
"""Runs every code block of README.md, so the README cannot drift from the code.

Blocks run in order, as a reader would type them into one terminal that
starts in a clone of the repository: a scratch `clone` directory that holds
symlinks to the repository's top-level entries (so `./bindings/python`,
`make install` and friends work verbatim), with HOME pointing at a scratch
`home` beside it (not inside the clone) and a fresh virtualenv first on PATH
(so `pip install` and the `stratalog` CLI stay inside it). A `cd` in a block
carries over to the blocks after it (variables do not), so a README that
moves to the user's own project runs the rest of its snippets there.

- `npm install` must run outside the clone: a user installs the packed Node
  package into their own project, where a path relative to the clone does
  not exist. A js block must run outside the clone too.
- The supported Node version is stated once: README.md's "Node >= N" and
  bindings/node/README.md's "Node.js N or later" must match the `engines`
  field of bindings/node/package.json.

- ```sh: each block runs with bash -e. The first block holds `make demo`
  and `make test` themselves; `make test` is what runs this script, so
  that block is checked with `make -n` (the targets exist and resolve).
  So is a block that runs `make dist`: `make test` has built dist/ before
  this script runs (`make test-dist`), and the blocks after it install
  those very files as a user without Rust would: from there on, PATH holds
  no directory with cargo, rustc or rustup, and a block that installs
  (`pip install`, `npm install`, `tar -x`) must finish within
  INSTALL_SECONDS.
- ```c: saved as app.c in the current directory (the next sh block compiles it).
- ```python: run with the virtualenv's python.
- ```js: saved as a .mjs file and run with node.
- ```rust: compiled and run by `cargo test --doc -p stratalog-core`, which
  includes this README (core/src/lib.rs); checked here to be present.
- ```text: not code.

Usage: check_readme.py REPO_ROOT
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
TOOLCHAIN = ("cargo", "rustc", "rustup")
INSTALLS = re.compile(r"\b(pip|npm) install\b|\btar -x")
# Issue 17: each prebuilt package installs in seconds, with no toolchain.
INSTALL_SECONDS = 30


def blocks(readme: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(readme)]


# Prepended to every sh block: refuses `npm install` inside the clone, and
# records the directory the block ends in for the next blocks.
SH_PRELUDE = """set -euo pipefail
trap 'pwd >"$README_CWD_FILE"' EXIT
npm() {
    case "${1:-}" in
    install | i | add)
        case "$PWD/" in
        "$README_CLONE"/*)
            echo "README: \\`npm install\\` runs inside the clone ($PWD); a user runs it in their own project" >&2
            return 1
            ;;
        esac
        ;;
    esac
    command npm "$@"
}
"""


def check_node_versions(repo: Path) -> None:
    """One supported Node version, stated the same way everywhere."""
    engines = json.loads((repo / "bindings/node/package.json").read_text())["engines"]["node"]
    wanted = re.fullmatch(r">=\s*(\d+)", engines)
    if not wanted:
        sys.exit(f"bindings/node/package.json: engines.node {engines!r} is not '>=N'")
    stated = {
        "README.md": re.findall(r"Node\s*(?:>=|≥)\s*(\d+)", (repo / "README.md").read_text()),
        "bindings/node/README.md": re.findall(
            r"Node\.js\s+(\d+)\s+or\s+later", (repo / "bindings/node/README.md").read_text()
        ),
    }
    for name, versions in stated.items():
        if not versions:
            sys.exit(f"{name} does not state the supported Node version")
        for version in versions:
            if version != wanted.group(1):
                sys.exit(f"{name} says Node {version}, package.json engines says {engines}")


def inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> float:
    print(f"--- {what}", flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env=env)
    if result.returncode != 0:
        sys.exit(f"README block failed ({what}): exit {result.returncode}")
    return time.monotonic() - started


def without_toolchain(path: str) -> str:
    """PATH less every directory that holds cargo, rustc or rustup."""
    kept = [d for d in path.split(os.pathsep) if not any(os.path.exists(os.path.join(d, t)) for t in TOOLCHAIN)]
    stripped = os.pathsep.join(kept)
    for tool in TOOLCHAIN:
        if shutil.which(tool, path=stripped):
            sys.exit(f"{tool} is still on PATH after removing the toolchain's directories")
    return stripped


def main(repo: Path) -> None:
    readme = (repo / "README.md").read_text()
    found = blocks(readme)
    if not found:
        sys.exit("no code blocks in README.md")
    lib_rs = (repo / "core/src/lib.rs").read_text()
    if any(lang == "rust" for lang, _ in found) and "README.md" not in lib_rs:
        sys.exit("README has rust blocks but core/src/lib.rs does not include README.md as doctests")

    check_node_versions(repo)

    with tempfile.TemporaryDirectory(prefix="stratalog-readme-") as tmp:
        clone = Path(tmp) / "clone"
        clone.mkdir()
        for entry in repo.iterdir():
            if entry.name not in {".git", "build", "node_modules", "data", "demo-data"}:
                (clone / entry.name).symlink_to(entry)
        home = Path(tmp) / "home"
        home.mkdir()
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = dict(os.environ)
        env["HOME"] = str(home)
        env["README_CLONE"] = str(clone)
        cwd_file = Path(tmp) / "cwd"
        env["README_CWD_FILE"] = str(cwd_file)
        env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
        env.pop("PYTHONPATH", None)
        # Cargo and npm caches stay where they are: only HOME moves.
        env.setdefault("CARGO_HOME", str(Path.home() / ".cargo"))
        env.setdefault("RUSTUP_HOME", str(Path.home() / ".rustup"))
        env.setdefault("npm_config_cache", str(Path.home() / ".npm"))
        env["CARGO_TARGET_DIR"] = str(repo / "target")

        work = clone
        no_toolchain = False
        counts: dict[str, int] = {}
        for index, (lang, code) in enumerate(found):
            counts[lang] = counts.get(lang, 0) + 1
            what = f"block {index + 1} ({lang or 'plain'})"
            if lang == "sh":
                if re.search(r"^make (demo|test|dist)\b", code, re.M):
                    targets = re.findall(r"^make (\w+)", code, re.M)
                    if "dist" in targets and not (repo / "dist").is_dir():
                        sys.exit(f"README {what}: runs `make dist`, and there is no dist/: run `make dist` first")
                    run(["make", "-n", "-C", str(repo), *targets], work, env, what + ": make -n")
                    if "dist" in targets:
                        env["PATH"] = without_toolchain(env["PATH"])
                        no_toolchain = True
                        print(f"    (no cargo, rustc or rustup on PATH from here on: {env['PATH']})", flush=True)
                    continue
                script = Path(tmp) / f"block{index}.sh"
                script.write_text(SH_PRELUDE + code)
                seconds = run(["bash", str(script)], work, env, what)
                if no_toolchain and INSTALLS.search(code):
                    print(f"    (installed in {seconds:.1f} s, with no Rust toolchain)", flush=True)
                    if seconds >= INSTALL_SECONDS:
                        sys.exit(f"README {what}: the install took {seconds:.0f} s, more than {INSTALL_SECONDS} s")
                work = Path(cwd_file.read_text().strip())
                print(f"    (now in {work})", flush=True)
            elif lang == "c":
                (work / "app.c").write_text(code)
            elif lang == "python":
                script = Path(tmp) / f"block{index}.py"
                script.write_text(code)
                run([str(venv / "bin" / "python"), str(script)], work, env, what)
            elif lang == "js":
                if inside(work, clone) or inside(work.resolve(), repo):
                    sys.exit(f"README {what}: a js block runs inside the clone ({work}); it belongs in the user's project")
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
