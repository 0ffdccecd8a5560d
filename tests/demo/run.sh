#!/usr/bin/env bash
# `make demo` opens with its story, not with build output (`make test-demo`):
#
#  1. examples/quietly.sh prints one line for a step that succeeds, and the
#     step's whole output and its exit status for one that fails;
#  2. `make demo` prints at most a few progress lines before step 1 of the
#     story, and the story runs to its end;
#  3. `make demo` with a build that fails (a stand-in for cargo) shows the
#     build's whole error output and fails.
#
# Environment: as for `make demo` (CARGO_TARGET_DIR, CC, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stratalog-demo-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { echo "test-demo: $*" >&2; exit 1; }
MAX_BEFORE_STORY=6

say "examples/quietly.sh: one line on success, everything on failure"
out="$(bash examples/quietly.sh "$WORK/ok.log" "a step" bash -c 'seq 1 500; echo warning: noise >&2')"
[[ "$out" =~ ^'   a step ... ok ('[0-9]+'s)'$ ]] || fail "a successful step printed: $out"
[[ "$(wc -l <"$WORK/ok.log")" -eq 501 ]] || fail "the log of a successful step is incomplete"
status=0
out="$(bash examples/quietly.sh "$WORK/bad.log" "a step" bash -c 'seq 1 500; echo "error: the real cause" >&2; exit 7')" || status=$?
[[ $status -eq 7 ]] || fail "a failing step exited $status, not 7"
grep -q 'a step ... FAILED (exit 7' <<<"$out" || fail "a failing step did not say FAILED"
for line in 1 250 500 'error: the real cause'; do
    grep -qx "$line" <<<"$out" || fail "a failing step did not print its output line '$line'"
done
echo ok

say "make demo: the story comes first"
make --no-print-directory demo DEMO_DIR="$WORK/demo-data" >"$WORK/demo.out" 2>&1 ||
    { cat "$WORK/demo.out"; fail "make demo failed"; }
before=$(grep -n -m1 '^== 1\. ' "$WORK/demo.out" | cut -d: -f1) || { cat "$WORK/demo.out"; fail "no story in the output"; }
before=$((before - 1))
sed -n "1,${before}p" "$WORK/demo.out"
# Blank lines do not count.
printed=$(sed -n "1,${before}p" "$WORK/demo.out" | grep -c .) || true
((printed <= MAX_BEFORE_STORY)) || fail "$printed lines before the story (at most $MAX_BEFORE_STORY)"
grep -q '^== Done' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "the story did not finish"; }
echo "$printed lines before the story"

say "make demo with a failing build: the error is shown in full"
cat >"$WORK/badcargo" <<'SH'
#!/bin/sh
for i in $(seq 1 120); do echo "error[E0425]: made-up error $i at core/src/lib.rs:$i" >&2; done
exit 101
SH
chmod +x "$WORK/badcargo"
status=0
make --no-print-directory demo DEMO_DIR="$WORK/demo-data" CARGO="$WORK/badcargo" >"$WORK/fail.out" 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "make demo succeeded with a failing build"
for i in 1 60 120; do
    grep -q "made-up error $i at core/src/lib.rs:$i\$" "$WORK/fail.out" ||
        { cat "$WORK/fail.out"; fail "error line $i of the build is not shown"; }
done
grep -q 'cargo build --release -p stratalog-ffi ... FAILED' "$WORK/fail.out" ||
    { cat "$WORK/fail.out"; fail "the failing step is not named"; }
if grep -q '^== 1\. ' "$WORK/fail.out"; then fail "the story ran after a failed build"; fi
echo ok

say "test-demo: passed"
