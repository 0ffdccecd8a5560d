#!/usr/bin/env bash
# `make test-dist-python`: the wheel and sdist of `make dist`, tested as a
# user gets them.
#
#  1. exactly one wheel, tagged cp310-abi3-manylinux_2_28 (or an older
#     manylinux) in its name and its WHEEL file; `auditwheel show` agrees;
#     its extension needs glibc 2.28 at most and nothing else but Python's
#     C API (tests/dist/glibc.sh); it carries the CLI entry point, the stubs
#     (_native.pyi) and py.typed. The sdist holds pyproject.toml and the
#     build backend (`make dist-python` builds the wheel from it with pip,
#     so the sdist is known to build).
#  2. for each CPython >= 3.10 this machine has (python3.10 ... python3.14
#     on PATH or under pyenv; python3 at least), in a fresh virtualenv with
#     env -i PATH=<venv>/bin:/usr/bin:/bin (no cargo, no rustc):
#     `pip install --no-index <wheel>` finishes in under 30 s; the wheel's
#     version, stratalog.__version__ (the library's stratalog_version())
#     and the header agree; the quickstart and the `stratalog` CLI run; and
#     the package's test suite (bindings/python/tests, with pytest from PyPI)
#     passes against the installed wheel: all of it on the oldest, its
#     core files on the others (and on the newest, its thread, wait,
#     cursor and fork tests too).
#
# Usage: tests/dist/python.sh DIST_DIR TOOLS_VENV (the venv with auditwheel)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIST="$(realpath "${1:?usage: python.sh DIST_DIR TOOLS_VENV}")"
TOOLS="$(realpath "${2:?usage: python.sh DIST_DIR TOOLS_VENV}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-dist-python.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { echo "test-dist-python: $*" >&2; exit 1; }

# shellcheck source=../lib/version.sh
source "$ROOT/tests/lib/version.sh"
shopt -s nullglob
wheels=("$DIST"/stratalog-*.whl)
((${#wheels[@]} == 1)) || fail "expected one wheel in $DIST, found ${#wheels[@]}: ${wheels[*]}"
WHEEL="${wheels[0]}"
SDIST="$DIST/stratalog-$VERSION.tar.gz"

say "1. $(basename "$WHEEL"): tags, auditwheel, contents"
name_re="^stratalog-${VERSION//./\\.}-cp310-abi3-manylinux_2_([0-9]+)_x86_64(\\.manylinux[0-9_a-z]+)*\\.whl$"
[[ "$(basename "$WHEEL")" =~ $name_re ]] || fail "the wheel's name is not stratalog-$VERSION-cp310-abi3-manylinux_2_N_x86_64.whl"
((BASH_REMATCH[1] <= 28)) || fail "the wheel needs glibc 2.${BASH_REMATCH[1]}, newer than manylinux_2_28"
"$TOOLS/bin/python" - "$WHEEL" "$VERSION" <<'PY' || fail "the wheel's metadata or contents are wrong"
import configparser, re, sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
info = f"stratalog-{version}.dist-info"
meta = z.read(f"{info}/WHEEL").decode()
tags = re.findall(r"^Tag: (.*)$", meta, re.M)
print("WHEEL tags:", ", ".join(tags))
assert tags and all(re.fullmatch(r"cp310-abi3-manylinux_2_([0-9]+)_x86_64", t) and int(t.split("_")[2]) <= 28 for t in tags), tags
assert "Root-Is-Purelib: false" in meta, meta
m = z.read(f"{info}/METADATA").decode()
assert re.search(rf"^Version: {re.escape(version)}$", m, re.M), "METADATA version"
assert re.search(r"^Requires-Python: >=3\.10$", m, re.M), "Requires-Python"
ep = configparser.ConfigParser()
ep.read_string(z.read(f"{info}/entry_points.txt").decode())
assert ep.get("console_scripts", "stratalog", fallback=None) == "stratalog.cli:main", dict(ep.items("console_scripts"))
for wanted in ["stratalog/__init__.py", "stratalog/cli.py", "stratalog/py.typed", "stratalog/_native.pyi",
               "stratalog/_native.abi3.so"]:
    assert wanted in names, f"{wanted} missing: {sorted(names)}"
print(f"{len(names)} files: the CLI, _native.pyi, py.typed, stratalog/_native.abi3.so")
PY
"$TOOLS/bin/auditwheel" show "$WHEEL" >"$WORK/auditwheel.out" 2>&1 || { cat "$WORK/auditwheel.out" >&2; fail "auditwheel show failed"; }
cat "$WORK/auditwheel.out"
grep -qE 'consistent with the following platform tag: "?manylinux_2_(1[0-9]|2[0-8])_x86_64' <(tr -s ' \n' ' ' <"$WORK/auditwheel.out") ||
    fail "auditwheel does not find the wheel manylinux_2_28 (or older)"
mkdir -p "$WORK/unzipped"
"$TOOLS/bin/python" -m zipfile -e "$WHEEL" "$WORK/unzipped"
bash "$ROOT/tests/dist/glibc.sh" "$WORK/unzipped/stratalog/_native.abi3.so" '^_?Py' ||
    fail "the extension needs more than glibc 2.28 and Python"
[[ -f "$SDIST" ]] || fail "no sdist $SDIST"
tar -tzf "$SDIST" >"$WORK/sdist.list"
grep -qx "stratalog-$VERSION/build_backend/stratalog_build.py" "$WORK/sdist.list" || fail "the sdist lacks the build backend"
grep -qx "stratalog-$VERSION/pyproject.toml" "$WORK/sdist.list" || fail "the sdist lacks pyproject.toml"
echo "sdist $(basename "$SDIST"): pyproject.toml and the build backend"

# The user's environment is env -i with a clean PATH, plus this machine's
# settings for reaching PyPI (pip's and proxy variables: the test suite's
# build-without-Rust test fetches maturin), none of which is a toolchain.
keep=()
for var in $(compgen -e); do
    case "$var" in PIP_* | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY | SSL_CERT_*) keep+=("$var=${!var}") ;; esac
done

# Every CPython >= 3.10 here, one per minor version: on PATH, or pyenv's
# (the machine image carries several). python3 itself in any case.
pythons=()
versions=()
add_python() {
    local v
    # pyenv's shim for a version it lacks fails instead of running.
    v="$("$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null)" || return 0
    [[ " ${versions[*]} " != *" $v "* ]] || return 0
    pythons+=("$1")
    versions+=("$v")
}
for minor in 10 11 12 13 14; do
    for exe in "$(command -v "python3.$minor" || true)" "$HOME"/.pyenv/versions/3."$minor".*/bin/python3."$minor"; do
        [[ -n "$exe" && -x "$exe" ]] && add_python "$exe"
    done
done
add_python "$(command -v python3)"

by_version="$(for i in "${!pythons[@]}"; do echo "${versions[$i]} ${pythons[$i]}"; done | sort -V)"
oldest="$(head -n 1 <<<"$by_version" | cut -d' ' -f2-)"
newest="$(tail -n 1 <<<"$by_version" | cut -d' ' -f2-)"
say "2. on ${#pythons[@]} CPythons: pip install of the wheel with no cargo on PATH, then the test suite"
pytest_req="$(grep -E '^pytest[<>=!~ ]' "$ROOT/bindings/python/requirements-dev.txt")"
# The witness tests' own witness signs with it (an independent Ed25519).
crypto_req="$(grep -E '^cryptography[<>=!~ ]' "$ROOT/bindings/python/requirements-dev.txt")"
# The tier tests run against moto_server from the test tools' virtualenv
# (an S3 server, not part of what is tested), and tamper with objects
# through boto3, installed with the full suite below.
boto_req="$(grep -E '^boto3[<>=!~ ]' "$ROOT/bindings/python/requirements-dev.txt")"
keep+=("STRATALOG_MOTO_SERVER=$ROOT/build/python-venv/bin/moto_server")
# The Azure tier tests run against Azurite, installed from npm into
# build/azurite by the Makefile (an Azure Blob API, not part of what is
# tested), with the node that runs it.
keep+=("STRATALOG_AZURITE=$ROOT/build/azurite/node_modules/.bin/azurite-blob" "STRATALOG_NODE=$(command -v node)")
for py in "${pythons[@]}"; do
    v="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    say "Python $v ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
    venv="$WORK/venv-$v"
    "$py" -m venv "$venv"
    user() { env -i "${keep[@]}" PATH="$venv/bin:/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"; }
    for tool in cargo rustc rustup; do
        if user bash -c "command -v $tool" >/dev/null; then fail "$tool is on the clean PATH"; fi
    done
    start=$SECONDS
    user python -m pip install --quiet --no-index "$WHEEL" || fail "pip install of the wheel failed on Python $v"
    took=$((SECONDS - start))
    ((took < 30)) || fail "pip install of the wheel took ${took}s on Python $v"
    got="$(cd "$WORK" && user python -c 'import importlib.metadata as m, stratalog; print(m.version("stratalog"), stratalog.__version__)' 2>&1)" ||
        fail "import stratalog failed on Python $v: $got"
    [[ "$got" == "$VERSION $VERSION" ]] || fail "Python $v: the wheel's version and stratalog.__version__ (stratalog_version()) say '$got', the header $VERSION"
    (cd "$WORK" && user python "$ROOT/examples/python/quickstart.py" "$WORK/qs-$v/store" >/dev/null) || fail "the quickstart failed on Python $v"
    head="$(cd "$WORK" && user stratalog head "$WORK/qs-$v/store" --stream 7)" || fail "the stratalog CLI failed on Python $v"
    echo "pip install ${took}s; stratalog $got; quickstart; CLI head $head"
    user python -m pip install --quiet "$pytest_req" "$crypto_req" ||
        fail "pip install $pytest_req $crypto_req failed on Python $v"
    # The whole suite on the oldest CPython (the abi3 floor); `make
    # test-python` runs it too, from source, on the build's Python. The
    # others get the store, error and vector tests, which cross every kind
    # of call the extension makes, and the newest also what leans most on
    # the interpreter (threads and the GIL, blocking waits, iterators,
    # fork). make test stays within its time budget this way.
    tests=("$ROOT"/bindings/python/tests/test_{store,errors,vectors,typed_api}.py)
    if [[ "$py" == "$oldest" ]]; then
        tests=("$ROOT/bindings/python/tests")
        user python -m pip install --quiet "$boto_req" || fail "pip install $boto_req failed on Python $v"
    elif [[ "$py" == "$newest" ]]; then
        tests+=("$ROOT"/bindings/python/tests/test_{threads,wait,cursors,fork}.py)
    fi
    # From $WORK, so the source tree is not on sys.path (conftest.py also
    # refuses to test it).
    (cd "$WORK" && user env PYTHONDONTWRITEBYTECODE=1 pytest "${tests[@]}" -p no:cacheprovider -q) ||
        fail "the test suite failed against the wheel on Python $v"
done

say "test-dist-python: the wheel and the sdist are good on Python ${versions[*]}"
