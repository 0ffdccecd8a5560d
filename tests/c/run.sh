#!/usr/bin/env bash
# The C side of the test suite (`make test-c`):
#
#  1. include/stratalog.h compiles alone and twice in one file, as C11 and
#     as C++, with -Wall -Wextra -Werror -pedantic, and links from C++.
#  2. tests/c/test_api.c, linked dynamically and statically against
#     libstratalog, runs under -fsanitize=address,undefined and under
#     valgrind memcheck (errors and definite/indirect leaks fail the run;
#     the two valgrind runs go at once).
#  3. `make install` into a temporary PREFIX, then tests/c/installed.sh
#     there: libstratalog.so.MAJOR.MINOR.PATCH with its SONAME and links,
#     stripped with its debug info beside it, exporting exactly the header's
#     functions; test_api.c and examples/c/quickstart.c built through
#     pkg-config (shared, --static, cc -static) and run. `make uninstall`
#     leaves no file of ours.
#
# Environment: CARGO (default cargo), CC (default cc), CXX (default c++),
# CARGO_TARGET_DIR (default ./target). Tools that are missing (a C++
# compiler, valgrind, pkg-config, gdb) are installed with apt-get when
# running as root, as CI does.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
CC="${CC:-cc}"
CXX="${CXX:-c++}"
OUT="$ROOT/build/c-tests"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-c-tests.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n== %s\n' "$*"; }

# ---- tools -----------------------------------------------------------------
missing=()
command -v "$CC" >/dev/null || missing+=(gcc)
command -v "$CXX" >/dev/null || missing+=(g++)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v gdb >/dev/null || missing+=(gdb)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "test-c needs: ${missing[*]} (install them, or run as root to have them installed)" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

STRICT=(-std=c11 -Wall -Wextra -Werror -pedantic -g -O1)
STRICT_CXX=(-std=c++11 -Wall -Wextra -Werror -pedantic -g)
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
STATIC_LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# --fair-sched=yes: valgrind runs one thread at a time, and without a fair
# hand-off the reader threads of threads_share_one_handle starve the writers
# for hours. `timeout` turns any other hang into a failure with a name.
VALGRIND=(timeout 900 valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
    --track-origins=yes)

# ---- the library -------------------------------------------------------------
say "building libstratalog (debug)"
# The library exactly as `cargo test --workspace` builds it, so that after
# `make test-rust` nothing is compiled again (`cargo build -p stratalog-ffi`
# resolves other features, without dev-dependencies, and rebuilt the
# library and a dozen crates under it). cargo test leaves its .so and .a in
# target/debug/deps/ only; cargo names them in its JSON messages, and they
# are linked into $OUT/lib for the tests.
LIBDIR="$OUT/lib"
mkdir -p "$LIBDIR"
"$CARGO" test --workspace --no-run --message-format=json-render-diagnostics >"$WORK/cargo.json"
python3 - "$WORK/cargo.json" "$LIBDIR" <<'PY'
import json, os, shutil, sys
found = {}
for line in open(sys.argv[1]):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    target = msg.get("target") or {}
    if msg.get("reason") == "compiler-artifact" and target.get("name") == "stratalog" and "cdylib" in target.get("kind", []):
        for path in msg["filenames"]:
            name = os.path.basename(path)
            if name in ("libstratalog.so", "libstratalog.a"):
                found[name] = path
if sorted(found) != ["libstratalog.a", "libstratalog.so"]:
    sys.exit(f"cargo test --no-run built no libstratalog.so and .a: {found}")
for name, path in found.items():
    dest = os.path.join(sys.argv[2], name)
    if os.path.lexists(dest):
        os.remove(dest)
    try:
        os.link(path, dest)
    except OSError:
        shutil.copy2(path, dest)
PY
mkdir -p "$OUT"
# VERSION, SONAME and REALNAME: the names `make install` gives the library.
# shellcheck source=../lib/version.sh
source tests/lib/version.sh

# ---- 1. the header -----------------------------------------------------------
say "header: C11 and C++, alone and twice"
"$CC" "${STRICT[@]}" -Iinclude -c tests/c/header_twice.c -o "$OUT/header_twice.o"
"$CXX" "${STRICT_CXX[@]}" -Iinclude tests/c/header_cpp.cpp -o "$OUT/header_cpp" \
    -L"$LIBDIR" -lstratalog -Wl,-rpath,"$LIBDIR"
"$OUT/header_cpp"
if "$CC" -std=c2x -E -x c /dev/null >/dev/null 2>&1; then
    "$CC" -std=c2x -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/header_twice.c -o "$OUT/header_c2x.o"
fi

say "header: declares exactly the stratalog_ functions libstratalog.so exports"
# cargo's cdylib also exports the C API a dependency defines (crc-fast,
# under object_store), which rustc's own version script keeps global; the
# library `make install` and `make dist` ship is linked with
# ffi/libstratalog.map and exports stratalog_* alone (installed.sh checks
# that exactly, below).
grep -E '^[a-z].*[ *]stratalog_[a-z0-9_]+\(' include/stratalog.h |
    grep -oE 'stratalog_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$WORK/declared"
nm -D --defined-only "$LIBDIR/libstratalog.so" | awk '$2 == "T" && $3 ~ /^stratalog_/ { print $3 }' |
    sort -u >"$WORK/exported"
if ! diff -u "$WORK/declared" "$WORK/exported"; then
    echo "the header and the library's exported functions differ (- header, + library)" >&2
    exit 1
fi
echo "$(wc -l <"$WORK/declared") functions"

# ---- 2. the API tests --------------------------------------------------------
say "building tests/c/test_api.c four ways"
SRC=(tests/c/test_api.c -Iinclude)
"$CC" "${STRICT[@]}" "${SAN[@]}" "${SRC[@]}" -o "$OUT/test_api_dynamic_asan" \
    -L"$LIBDIR" -lstratalog -Wl,-rpath,"$LIBDIR" -lpthread
"$CC" "${STRICT[@]}" "${SAN[@]}" "${SRC[@]}" -o "$OUT/test_api_static_asan" \
    "$LIBDIR/libstratalog.a" "${STATIC_LIBS[@]}"
"$CC" "${STRICT[@]}" "${SRC[@]}" -o "$OUT/test_api_dynamic" \
    -L"$LIBDIR" -lstratalog -Wl,-rpath,"$LIBDIR" -lpthread
"$CC" "${STRICT[@]}" "${SRC[@]}" -o "$OUT/test_api_static" \
    "$LIBDIR/libstratalog.a" "${STATIC_LIBS[@]}"
# The static builds must really not need the shared library.
for exe in test_api_static test_api_static_asan; do
    if readelf -d "$OUT/$exe" | grep -q 'libstratalog'; then
        echo "$exe depends on libstratalog.so" >&2
        exit 1
    fi
done

say "dynamic, ASan + UBSan"
"$OUT/test_api_dynamic_asan" "$WORK/dyn-asan"
say "static, ASan + UBSan"
"$OUT/test_api_static_asan" "$WORK/static-asan"
# valgrind runs a program on one core: the two builds run at once, each
# printing its output when it is done, in this order.
say "dynamic and static, valgrind"
declare -A valgrind_pid
for run in dynamic static; do
    "${VALGRIND[@]}" "$OUT/test_api_$run" "$WORK/$run-valgrind" >"$WORK/valgrind-$run.log" 2>&1 &
    valgrind_pid[$run]=$!
done
failed=()
for run in dynamic static; do
    status=0
    wait "${valgrind_pid[$run]}" || status=$?
    say "$run, valgrind (exit $status)"
    cat "$WORK/valgrind-$run.log"
    ((status == 0)) || failed+=("$run")
done
((${#failed[@]} == 0)) || { echo "valgrind failed: ${failed[*]}" >&2; exit 1; }

# ---- 3. install, pkg-config, the example ------------------------------------
say "make install into a temporary prefix"
PREFIX="$WORK/prefix"
make --no-print-directory -C "$ROOT" install PREFIX="$PREFIX" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; exit 1; }
INSTALLED=(include/stratalog.h "lib/$REALNAME" "lib/.debug/$REALNAME.debug" lib/libstratalog.a
    lib/pkgconfig/stratalog.pc)
for f in "${INSTALLED[@]}"; do
    [[ -f "$PREFIX/$f" && ! -L "$PREFIX/$f" ]] || { echo "make install did not install $f" >&2; exit 1; }
done
# The same checks and programs as on the `make dist` tarball (tests/dist/c.sh).
bash tests/c/installed.sh "$PREFIX"

say "make uninstall removes every file of ours and nothing else"
touch "$PREFIX/lib/libother.so" "$PREFIX/lib/.debug/libother.so.debug"
make --no-print-directory -C "$ROOT" uninstall PREFIX="$PREFIX" >"$WORK/uninstall.log" 2>&1 ||
    { cat "$WORK/uninstall.log" >&2; exit 1; }
left="$(cd "$PREFIX" && find . ! -type d | LC_ALL=C sort)"
if [[ "$left" != $'./lib/.debug/libother.so.debug\n./lib/libother.so' ]]; then
    printf 'after make uninstall, expected only the two foreign files, found:\n%s\n' "$left" >&2
    exit 1
fi
rm "$PREFIX/lib/libother.so" "$PREFIX/lib/.debug/libother.so.debug"
make --no-print-directory -C "$ROOT" uninstall PREFIX="$PREFIX" >"$WORK/uninstall.log" 2>&1 ||
    { cat "$WORK/uninstall.log" >&2; exit 1; }
[[ -z "$(cd "$PREFIX" && find . ! -type d)" && ! -e "$PREFIX/lib/.debug" ]] ||
    { echo "make uninstall left files or lib/.debug behind" >&2; exit 1; }
echo "left: $(cd "$PREFIX" && find . -mindepth 1 | sort | tr '\n' ' ')(empty standard directories)"

say "test-c: all C checks passed"
