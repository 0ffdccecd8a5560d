#!/usr/bin/env bash
# `make test-dist-c`: the C tarball of `make dist`, tested as a user gets it.
#
#  1. its name carries the header's version, and it holds exactly
#     include/stratalog.h, lib/libstratalog.so.MAJOR.MINOR.PATCH, the
#     soname link and libstratalog.so, lib/.debug/ with the debug info,
#     libstratalog.a and lib/pkgconfig/stratalog.pc, under one top directory;
#     libstratalog.so needs glibc 2.28 at most and nothing else
#     (tests/dist/glibc.sh, which must refuse, each for its reason,
#     libraries built to break each of its rules);
#  2. its stratalog.pc finds the files relative to itself (${pcfiledir}),
#     so the tarball works wherever it is unpacked;
#  3. unpacked where the build never was, with PATH=/usr/bin:/bin (no cargo,
#     no rustc), tests/c/installed.sh passes: the SONAME and the links, the
#     exported symbols (exactly the header's functions), the C API tests
#     (tests/c/test_api.c) and the quickstart, linked through pkg-config
#     shared and static, and stratalog_version().
#
# Usage: tests/dist/c.sh dist/stratalog-VERSION-linux-ARCH.tar.gz
# Needs binutils, cc, pkg-config, gdb and valgrind: installed with apt-get
# when missing and running as root, as CI does.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARBALL="$(realpath "${1:?usage: c.sh dist/stratalog-VERSION-PLATFORM.tar.gz}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-dist-c.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { echo "test-dist-c: $*" >&2; exit 1; }

missing=()
command -v readelf >/dev/null || missing+=(binutils)
command -v cc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v gdb >/dev/null || missing+=(gdb)
command -v valgrind >/dev/null || missing+=(valgrind)
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || fail "needs: ${missing[*]} (install them, or run as root to have them installed)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# shellcheck source=../lib/version.sh
source "$ROOT/tests/lib/version.sh"
TOP="stratalog-$VERSION-linux-$(uname -m)"
[[ "$(basename "$TARBALL")" == "$TOP.tar.gz" ]] || fail "the tarball is $(basename "$TARBALL"), expected $TOP.tar.gz"

say "1. the tarball's contents"
tar -tzvf "$TARBALL" | awk '{ $1 = $1; print }' | cut -d' ' -f1,6- | sed 's|^\(.\)[^ ]* |\1 |' | sort -k2 >"$WORK/listing"
cat "$WORK/listing"
cat >"$WORK/expected" <<LIST
d $TOP/
d $TOP/include/
- $TOP/include/stratalog.h
d $TOP/lib/
d $TOP/lib/.debug/
- $TOP/lib/.debug/$REALNAME.debug
- $TOP/lib/libstratalog.a
l $TOP/lib/libstratalog.so -> $SONAME
l $TOP/lib/$SONAME -> $REALNAME
- $TOP/lib/$REALNAME
d $TOP/lib/pkgconfig/
- $TOP/lib/pkgconfig/stratalog.pc
LIST
sort -k2 -o "$WORK/expected" "$WORK/expected"
diff -u "$WORK/expected" "$WORK/listing" || fail "the tarball's contents differ (- expected, + tarball)"
mkdir -p "$WORK/contents"
tar -C "$WORK/contents" -xzf "$TARBALL" "$TOP/lib/$REALNAME"
bash "$ROOT/tests/dist/glibc.sh" "$WORK/contents/$TOP/lib/$REALNAME" || fail "libstratalog.so needs more than glibc 2.28"
# The check refuses what it must, each for its own reason: a library that
# calls glibc's gettid() (glibc 2.30) linked by this machine's cc (a
# versioned symbol newer than 2.28) and by the release linker (against
# 2.28's symbols: unversioned); one that needs libgcc_s (not glibc's);
# one with no glibc symbol versions at all.
printf '#include <unistd.h>\nint gettid(void);\nint ids(void) { return getpid() + gettid(); }\n' >"$WORK/gettid.c"
printf '#include <unistd.h>\nint id(void) { return getpid(); }\n' >"$WORK/getpid.c"
printf 'int one(void) { return 1; }\n' >"$WORK/plain.c"
cc -shared -fPIC -o "$WORK/libnewer.so" "$WORK/gettid.c"
cc -shared -fPIC -o "$WORK/libgcc-s.so" "$WORK/getpid.c" -Wl,--no-as-needed -lgcc_s
cc -shared -fPIC -nostdlib -o "$WORK/libunbound.so" "$WORK/plain.c"
refusals=("libnewer.so:needs GLIBC_2.30" "libgcc-s.so:needs libraries beyond glibc: libgcc_s.so.1"
    "libunbound.so:no glibc symbol versions")
if [[ -x "$ROOT/build/link-venv/bin/maturin" ]]; then
    "$ROOT/tools/link/cc" -shared -fPIC -o "$WORK/libunversioned.so" "$WORK/gettid.c"
    refusals+=("libunversioned.so:needs symbols no glibc 2.28 library provides: gettid")
fi
for refusal in "${refusals[@]}"; do
    lib="$WORK/${refusal%%:*}"
    if bash "$ROOT/tests/dist/glibc.sh" "$lib" 2>"$WORK/refused"; then
        fail "tests/dist/glibc.sh passed $(basename "$lib")"
    fi
    grep -qF "${refusal#*:}" "$WORK/refused" || fail "tests/dist/glibc.sh refused $(basename "$lib") for another reason: $(cat "$WORK/refused")"
    echo "refused as it should be: $(cat "$WORK/refused")"
done

say "2. a relocatable stratalog.pc"
# Unpacked somewhere the build never saw: nothing may depend on where the
# tarball lands.
mkdir -p "$WORK/elsewhere"
tar -C "$WORK/elsewhere" -xzf "$TARBALL"
PREFIX="$WORK/elsewhere/$TOP"
grep -qx 'prefix=${pcfiledir}/../..' "$PREFIX/lib/pkgconfig/stratalog.pc" || fail "stratalog.pc is not relocatable"
echo "prefix=\${pcfiledir}/../.."

say "3. the installed-library tests on the unpacked tarball, PATH=/usr/bin:/bin"
for tool in cargo rustc rustup; do
    if env -i PATH=/usr/bin:/bin bash -c "command -v $tool" >/dev/null; then fail "$tool is on PATH=/usr/bin:/bin"; fi
done
env -i PATH=/usr/bin:/bin HOME="$WORK" LANG=C.UTF-8 TMPDIR="$WORK" bash "$ROOT/tests/c/installed.sh" "$PREFIX" ||
    fail "the C library from the tarball failed its tests"

say "test-dist-c: the C tarball is good"
