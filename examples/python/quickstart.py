#!/usr/bin/env python3
"""stratalog quickstart: open a store, append events, read them back, verify.

Shows the core of the Python API: stratalog.open() as a context manager,
append_batch()/append() returning a ChainHead, read_from(), lazy iter(),
verify() and verify_against(), and the text form of a head.

Run alone (after `pip install ./bindings/python`):
    python examples/python/quickstart.py [STORE_DIR]
STORE_DIR must not exist yet or be empty; it defaults to a fresh temporary
directory. `make demo` runs it on demo-data/python/quickstart.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import stratalog


def main(directory: Path) -> None:
    with stratalog.open(directory) as store:
        # A batch is atomic: after any crash it is there whole or not at all.
        head = store.append_batch(7, [b"alpha", b"beta"])
        print(f"appended 2 events to stream 7, head {head}")
        store.append(7, b"gamma")
        store.append(7, b"", fsync=True)  # durable when this returns

        print("read_from(7, 1):", store.read_from(7, 1))
        for offset, event in store.iter(7):  # lazy, constant memory
            print(f"  {offset}: {event!r}")

        report = store.verify(7)
        print(f"verify: {report.events} events, {report.bytes} bytes intact, head {report.head}")
        # The head kept after the first batch still proves that history.
        store.verify_against(7, head)
        print(f"verify_against({head.next_offset}:{head.hex()[:12]}...): ok")

        # Heads depend only on the events: these are the spec's test vectors.
        assert str(store.chain_head(7)) == (
            "4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc"
        )

    # Reopened, the store holds the same history.
    with stratalog.open_read_only(directory) as store:
        text = str(store.chain_head(7))
        assert stratalog.ChainHead.parse(text) == store.chain_head(7)
        print(f"reopened read-only: streams {store.streams()}, head of 7 is {text}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp) / "store")
