#!/usr/bin/env bash
# Runs one build step of `make demo` quietly, so the demo's story is what a
# newcomer reads: the step's output goes to a log file, the terminal gets one
# progress line (with the log's latest line while it runs, on a terminal) and
# then "ok". If the step fails, its whole output is printed, and the exit
# status is the step's.
#
# Usage: examples/quietly.sh LOG LABEL COMMAND [ARG...]
set -uo pipefail

log=$1
label=$2
shift 2
mkdir -p "$(dirname "$log")"
: >"$log"
start=$SECONDS

monitor=
if [ -t 1 ]; then
    cols=$(tput cols 2>/dev/null || echo 80)
    (
        while sleep 0.5; do
            last=$(tail -n 1 "$log" 2>/dev/null | tr -d '\r' | sed 's/^[[:space:]]*//')
            line="   $label ... $((SECONDS - start))s  $last"
            printf '\r\e[K%s' "${line:0:cols-1}"
        done
    ) &
    monitor=$!
    trap 'kill "$monitor" 2>/dev/null' EXIT
fi

"$@" >"$log" 2>&1 </dev/null
status=$?

if [ -n "$monitor" ]; then
    kill "$monitor" 2>/dev/null
    wait "$monitor" 2>/dev/null
    printf '\r\e[K'
fi
elapsed=$((SECONDS - start))
if [ "$status" -eq 0 ]; then
    printf '   %s ... ok (%ss)\n' "$label" "$elapsed"
else
    printf '   %s ... FAILED (exit %s after %ss). Its output:\n\n' "$label" "$status" "$elapsed"
    cat "$log"
    printf '\n   (the same output is in %s)\n' "$log"
fi
exit "$status"
