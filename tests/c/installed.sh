#!/usr/bin/env bash
# The C library as a user has it: a prefix filled by `make install`, or the
# `make dist` tarball unpacked. tests/c/run.sh runs this after `make
# install`; tests/dist/c.sh runs it on the unpacked tarball with
# PATH=/usr/bin:/bin (no cargo, no rustc). Only the prefix and the sources
# of the tests and examples are used, never the build tree.
#
#  1. lib/ holds libstratalog.so.MAJOR.MINOR.PATCH, whose SONAME follows
#     the ABI policy (CHANGELOG.md: libstratalog.so.0.MINOR in 0.x,
#     libstratalog.so.MAJOR from 1.0), with libstratalog.so -> SONAME ->
#     the file; it is stripped and gdb finds its line information through
#     the .gnu_debuglink in lib/.debug/; the header is include/stratalog.h.
#  2. its dynamic symbol table defines exactly the functions the header
#     declares, and nothing else (the version script ffi/libstratalog.map).
#  3. through pkg-config alone: tests/c/test_api.c linked against the shared
#     library (it records the SONAME) and against libstratalog.a passes;
#     examples/c/quickstart.c links shared, with `pkg-config --static`
#     (under valgrind) and with `cc -static`, and verifies; the library's
#     stratalog_version() and stratalog.pc's version are the header's.
#
# Usage: tests/c/installed.sh PREFIX
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="$(realpath "${1:?usage: installed.sh PREFIX}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-installed.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { echo "installed C library ($PREFIX): $*" >&2; exit 1; }
# shellcheck source=../lib/version.sh
source "$ROOT/tests/lib/version.sh"
CC="${CC:-cc}"
STRICT=(-std=c11 -Wall -Wextra -Werror -pedantic -g -O1)
LIB="$PREFIX/lib"
SO="$LIB/$REALNAME"

say "1. $REALNAME: SONAME $SONAME, the links, stripped, debug info; libstratalog.a without debug info"
cmp "$PREFIX/include/stratalog.h" "$ROOT/include/stratalog.h" || fail "include/stratalog.h is not this release's header"
[[ -f "$SO" && ! -L "$SO" ]] || fail "no lib/$REALNAME"
[[ -f "$LIB/libstratalog.a" ]] || fail "no lib/libstratalog.a"
got="$(readelf -d "$SO" | sed -n 's/.*(SONAME).*Library soname: \[\(.*\)\]/\1/p')"
[[ "$got" == "$SONAME" ]] || fail "the SONAME is '$got', expected $SONAME"
[[ "$(readlink "$LIB/$SONAME")" == "$REALNAME" && "$(readlink "$LIB/libstratalog.so")" == "$SONAME" ]] ||
    fail "the links are not libstratalog.so -> $SONAME -> $REALNAME"
# Output is captured before grep reads it: with pipefail, a grep -q that
# stops early can turn the writer's SIGPIPE into a missed finding.
sections="$(readelf -S --wide "$SO")"
if grep -qE ' \.(debug_[a-z_]+|symtab) ' <<<"$sections"; then
    fail "$REALNAME still has debug info or a symbol table"
fi
grep -qF "$REALNAME.debug" <<<"$(readelf -p .gnu_debuglink "$SO")" || fail "$REALNAME has no .gnu_debuglink to $REALNAME.debug"
[[ -f "$LIB/.debug/$REALNAME.debug" ]] || fail "no lib/.debug/$REALNAME.debug"
where="$(gdb -nx -batch -ex 'info line stratalog_open' "$SO" 2>&1)"
echo "$where"
grep -qE '^Line [0-9]+ of ".*ffi/src/[a-z_/]+\.rs"' <<<"$where" ||
    fail "gdb found no line information through lib/.debug/$REALNAME.debug"
# The archive's debug info is stripped, as distributions strip theirs
# (its symbols stay: a static link needs them).
archive_sections="$(readelf -S --wide "$LIB/libstratalog.a")"
if grep -qE ' \.debug_[a-z_]+ ' <<<"$archive_sections"; then
    fail "libstratalog.a still has debug info"
fi
grep -qE ' \.symtab ' <<<"$archive_sections" || fail "libstratalog.a has no symbol table"
echo "$REALNAME $(stat -c %s "$SO") bytes, debug info $(stat -c %s "$LIB/.debug/$REALNAME.debug") bytes; libstratalog.a $(stat -c %s "$LIB/libstratalog.a") bytes"

say "2. exported symbols: exactly the header's functions"
grep -E '^[a-z].*[ *]stratalog_[a-z0-9_]+\(' "$ROOT/include/stratalog.h" |
    grep -oE 'stratalog_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$WORK/declared"
# Every defined dynamic symbol of any type (functions, data, TLS), with its
# type: a stratalog_ name that is not a function is as wrong as a foreign one.
readelf --dyn-syms --wide "$SO" |
    awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 != "" { sub(/@.*/, "", $8); print $8, $4 }' | sort -u >"$WORK/defined"
sed 's/$/ FUNC/' "$WORK/declared" | diff -u - "$WORK/defined" ||
    fail "the library's defined dynamic symbols differ from the header's functions (- header, + library)"
echo "$(wc -l <"$WORK/declared") functions, all declared in the header; nothing else defined"

say "3. tests/c/test_api.c and the quickstart, through pkg-config"
export PKG_CONFIG_PATH="$LIB/pkgconfig"
[[ "$(pkg-config --modversion stratalog)" == "$VERSION" ]] || fail "stratalog.pc's version is not $VERSION"
[[ "$(realpath "$(pkg-config --variable=libdir stratalog)")" == "$(realpath "$LIB")" ]] ||
    fail "stratalog.pc's libdir is $(pkg-config --variable=libdir stratalog), not $LIB"
cp "$ROOT/tests/c/test_api.c" "$ROOT/examples/c/quickstart.c" "$WORK/"
cat >"$WORK/version.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <stratalog.h>
int main(void) {
    printf("%s %u\n", stratalog_version(), (unsigned)stratalog_version_number());
    return strcmp(stratalog_version(), STRATALOG_VERSION_STRING) != 0 ||
           stratalog_version_number() != STRATALOG_VERSION_NUMBER;
}
C
cd "$WORK"
cflags="$(pkg-config --cflags stratalog)"
libs="$(pkg-config --libs stratalog)"
static_libs="$(pkg-config --static --libs stratalog)"
static_libs="${static_libs/-lstratalog/-Wl,-Bstatic -lstratalog -Wl,-Bdynamic}"
# shellcheck disable=SC2086 # word splitting of pkg-config output is intended
{
    "$CC" "${STRICT[@]}" test_api.c -o test_api $cflags $libs -lpthread
    "$CC" "${STRICT[@]}" test_api.c -o test_api_static $cflags $static_libs
    "$CC" "${STRICT[@]}" version.c -o version $cflags $libs
    "$CC" "${STRICT[@]}" quickstart.c -o app $cflags $libs
    "$CC" "${STRICT[@]}" quickstart.c -o app-static $cflags $static_libs
    # As a user would: `cc -static` with exactly what `pkg-config --static`
    # says (glibc's warnings about getaddrinfo and getpwuid_r in static
    # programs are expected and shown only on failure).
    "$CC" -static "${STRICT[@]}" quickstart.c -o app-fully-static \
        $(pkg-config --static --cflags --libs stratalog) >static-link.log 2>&1 ||
        { cat static-link.log >&2; fail "cc -static with pkg-config --static failed"; }
}
for exe in app version test_api; do
    needed="$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(libstratalog[^]]*\)\]/\1/p')"
    [[ "$needed" == "$SONAME" ]] || fail "$exe needs '$needed', expected $SONAME"
done
for exe in app-static test_api_static; do
    if grep -q libstratalog <<<"$(readelf -d "$exe")"; then fail "$exe depends on libstratalog.so"; fi
done
if grep -q INTERP <<<"$(readelf -l app-fully-static)"; then fail "the cc -static quickstart is not static"; fi

LD_LIBRARY_PATH="$LIB" ./version >version.out || { cat version.out >&2; fail "stratalog_version() is not the header's $VERSION"; }
[[ "$(cat version.out)" == "$VERSION $VERSION_NUMBER" ]] || fail "stratalog_version() says '$(cat version.out)', the header $VERSION $VERSION_NUMBER"
echo "stratalog_version(): $(cat version.out)"
LD_LIBRARY_PATH="$LIB" ./test_api "$WORK/test-api-shared" || fail "test_api against $SONAME failed"
./test_api_static "$WORK/test-api-static" || fail "test_api against libstratalog.a failed"
LD_LIBRARY_PATH="$LIB" ./app "$WORK/quickstart" >app.out || { cat app.out >&2; fail "the quickstart failed"; }
cat app.out
grep -q '^verified' app.out || fail "the quickstart did not verify"
timeout 900 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    ./app-static "$WORK/quickstart-static" >/dev/null || fail "the static quickstart failed under valgrind"
./app-fully-static "$WORK/quickstart-fully-static" >app-fully-static.out
grep -q '^verified' app-fully-static.out || fail "the cc -static quickstart did not verify"
echo "test_api shared and static; the quickstart shared (needs $SONAME), static, cc -static: all pass"
