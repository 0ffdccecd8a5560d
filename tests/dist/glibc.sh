#!/usr/bin/env bash
# What one prebuilt library of `make dist` needs from the system it is
# installed on, against the promise that it loads on any Linux with glibc
# 2.28 or later (the release linker, tools/link/cc, links it so):
#
#  - no glibc symbol version newer than 2.28;
#  - every symbol it needs (weak ones aside) carries a version, so the
#    system library that provides it is known; only the symbols the host
#    process provides may have none (PROVIDED_BY_HOST, a regular
#    expression: Python's C API for the extension module). An unversioned
#    one is a function the 2.28 symbol set lacks (glibc's gettid() came in
#    2.30): it would resolve here and fail to load on an older glibc;
#  - it needs no shared library but glibc's own.
#
# Usage: tests/dist/glibc.sh LIBRARY [PROVIDED_BY_HOST]
set -euo pipefail
LIB="${1:?usage: glibc.sh LIBRARY [PROVIDED_BY_HOST]}"
HOST_SYMBOLS="${2:-}"
fail() { echo "glibc.sh: $(basename "$LIB"): $*" >&2; exit 1; }

newest="$(objdump -T "$LIB" | { grep -oE 'GLIBC_2\.[0-9]+' || true; } | sort -uV | tail -n 1)"
[[ -n "$newest" ]] || fail "no glibc symbol versions at all"
((${newest#GLIBC_2.} <= 28)) || fail "needs $newest, newer than glibc 2.28"

unversioned="$(nm -D --undefined-only "$LIB" | awk '$1 == "U" && $2 !~ /@/ { print $2 }')"
if [[ -n "$HOST_SYMBOLS" ]]; then
    unversioned="$(grep -vE "$HOST_SYMBOLS" <<<"$unversioned" || true)"
fi
[[ -z "$unversioned" ]] || fail "needs symbols no glibc 2.28 library provides: $(tr '\n' ' ' <<<"$unversioned")"

needed="$(readelf -d "$LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
others="$(grep -vE '^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|ld-linux-[a-z0-9_-]+\.so\.[0-9]+)$' <<<"$needed" || true)"
[[ -z "$others" ]] || fail "needs libraries beyond glibc: $(tr '\n' ' ' <<<"$others")"

echo "$(basename "$LIB"): glibc symbols up to $newest, all versioned, needs only $(tr '\n' ' ' <<<"$needed")"
