#!/usr/bin/env python3
"""Append events to one stream as a single atomic batch and print the head.

With no events it only prints the stream's chain head (opening read-only).
`make demo` uses it, with its C and Node twins, to show that three languages
writing one store in turn agree on the chain head.

Run alone (after `pip install ./bindings/python`):
    python examples/python/append.py STORE_DIR STREAM [EVENT...]
"""

from __future__ import annotations

import sys

import stratalog


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(f"usage: {argv[0]} STORE_DIR STREAM [EVENT...]", file=sys.stderr)
        return 2
    path, stream, events = argv[1], int(argv[2]), [e.encode() for e in argv[3:]]
    if events:
        with stratalog.open(path) as store:
            head = store.append_batch(stream, events, fsync=True)
    else:
        with stratalog.open_read_only(path) as store:
            head = store.chain_head(stream)
    print(head)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
