#!/usr/bin/env bash
# The stratalog demo, run by `make demo` after it has built the C library,
# installed the Python package into build/python-venv and the Node package
# into examples/node. It tells one story in a terminal:
#
#   1. C, Python and Node append to one store in turn (one process at a time);
#   2. each language reads the chain head back: the same 40 bytes, and the
#      head the format spec predicts for these events;
#   3. the stratalog CLI verifies the store;
#   4. a copy with one flipped byte: the CLI names the stream and offset;
#   5. a copy with its last event cut off still verifies on its own, and
#      `verify --against` the head kept in step 2 catches it.
#
# Usage: examples/demo.sh C_APPEND_BINARY PYTHON_VENV_BIN DEMO_DIR
set -euo pipefail

c_append=$1
venv=$2
demo_dir=$(mkdir -p "$3" && cd "$3" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
store=$demo_dir/shared
python=$venv/python
cli=$venv/stratalog
expected=4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc

if [ -t 1 ]; then
    bold=$'\e[1m' dim=$'\e[2m' green=$'\e[32m' red=$'\e[31m' cyan=$'\e[36m' reset=$'\e[0m'
else
    bold='' dim='' green='' red='' cyan='' reset=''
fi
step() { printf '\n%s== %s%s\n' "$bold$cyan" "$*" "$reset"; }
say() { printf '   %s\n' "$*"; }
ok() { printf '   %s%s%s\n' "$green" "$*" "$reset"; }
bad() { printf '   %s%s%s\n' "$red" "$*" "$reset"; }
run() { printf '   %s$ %s%s\n' "$dim" "$*" "$reset"; "$@" 2>&1 | sed 's/^/     /'; return "${PIPESTATUS[0]}"; }
die() { bad "$*"; exit 1; }

rm -rf "$store" "$demo_dir/tampered" "$demo_dir/truncated"
segment=$store/streams/00000000000000000001/00000000000000000000.seg

step "1. Three languages append to one store, one after the other"
head_c=$("$c_append" "$store" 1 alpha beta)
say "C      appends 'alpha', 'beta'  -> head $head_c"
head_py=$("$python" "$repo/examples/python/append.py" "$store" 1 gamma)
say "Python appends 'gamma'          -> head $head_py"
head_node=$(cd "$repo/examples/node" && node append.mjs "$store" 1 '')
say "Node   appends ''               -> head $head_node"

step "2. Each language reads the chain head back"
read_c=$("$c_append" "$store" 1)
read_py=$("$python" "$repo/examples/python/append.py" "$store" 1)
read_node=$(cd "$repo/examples/node" && node append.mjs "$store" 1)
say "C      $read_c"
say "Python $read_py"
say "Node   $read_node"
[ "$read_c" = "$read_py" ] && [ "$read_py" = "$read_node" ] || die "the languages disagree"
[ "$read_c" = "$expected" ] || die "the head is not the one docs/FORMAT.md predicts"
ok "all three agree, and it is the head docs/FORMAT.md predicts for these four events"
say "Keep this head somewhere the store's owner cannot write: it is the proof."

step "3. The CLI verifies every checksum and chain link"
run "$cli" verify "$store" || die "verification failed"

step "4. Someone flips one byte of a copy"
cp -r "$store" "$demo_dir/tampered"
"$python" - "$demo_dir/tampered/streams/00000000000000000001/00000000000000000000.seg" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[data.find(b"gamma")] ^= 0x20  # 'g' becomes 'G'
open(path, "wb").write(data)
PY
say "('gamma' became 'Gamma' in $demo_dir/tampered)"
if run "$cli" verify "$demo_dir/tampered"; then die "the tampering went unnoticed"; fi
ok "caught: the CLI names stream 1, offset 2, and the file"

step "5. Someone cuts the last event off a copy"
cp -r "$store" "$demo_dir/truncated"
size=$(stat -c %s "$segment")
truncate -s $((size - 60)) "$demo_dir/truncated/streams/00000000000000000001/00000000000000000000.seg"
say "(the last 60-byte record is gone: what is left is a valid, shorter chain)"
run "$cli" verify "$demo_dir/truncated" || die "the shorter chain should verify on its own"
say "A hash chain alone cannot see its own tail cut. The head kept in step 2 can:"
if run "$cli" verify "$demo_dir/truncated" --stream 1 --against "$read_c"; then die "the truncation went unnoticed"; fi
ok "caught by verify --against the kept head"

step "Done"
say "The store is in $store; try: $cli dump $store --stream 1"
