#!/usr/bin/env python3
"""An audit trail you can prove to an auditor was not changed.

Shows the tamper-evidence workflow: append JSON audit events (durably, with
expected_offset so two writers cannot interleave), keep the chain head
somewhere the log's owner cannot rewrite it (here a separate "anchor" file),
and later prove with verify_against() that the log still holds exactly that
history. Then it plays the attacker on a copy of the store: rewriting the
history into a perfectly valid chain passes verify() but not
verify_against() the kept head.

Run alone (after `pip install ./bindings/python`):
    python examples/python/audit_trail.py [WORK_DIR]
WORK_DIR defaults to a fresh temporary directory. `make demo` runs it on
demo-data/python/audit_trail.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import stratalog

AUDIT = 1  # the stream holding the audit trail


def record(store: stratalog.Store, actions: list[dict[str, Any]]) -> stratalog.ChainHead:
    """Appends audit events as one atomic, durable batch."""
    events = [json.dumps(a, sort_keys=True, separators=(",", ":")).encode() for a in actions]
    expected = store.chain_head(AUDIT).next_offset
    return store.append_batch(AUDIT, events, expected_offset=expected, fsync=True)


def main(work: Path) -> None:
    log_dir, anchor = work / "audit-log", work / "anchor.txt"

    # 1. The application records what happens.
    with stratalog.open(log_dir) as store:
        record(store, [{"user": "alice", "action": "login"}, {"user": "alice", "action": "read", "doc": 42}])
        head = record(store, [{"user": "bob", "action": "delete", "doc": 42}])
    # The head (40 bytes) goes where the log's owner cannot rewrite it: a
    # report, another system, a signature. Here: a separate file.
    anchor.write_text(f"{head}\n")
    print(f"recorded {head.next_offset} audit events; anchor {head}")

    # 2. Later, the auditor checks the log against the anchor.
    kept = stratalog.ChainHead.parse(anchor.read_text())
    with stratalog.open_read_only(log_dir) as store:
        report = store.verify_against(AUDIT, kept)
        print(f"auditor: {report.events} events intact and consistent with the anchor")
        for offset, event in store.iter(AUDIT):
            print(f"  {offset}: {json.loads(event)}")

    # 3. An attacker with write access rewrites history on a copy: they hide
    #    bob's delete by rebuilding the stream with different events. Every
    #    checksum and hash is recomputed, so the forged log verifies...
    forged_dir = work / "forged-log"
    shutil.rmtree(forged_dir, ignore_errors=True)
    shutil.copytree(log_dir, forged_dir)
    shutil.rmtree(forged_dir / "streams")
    with stratalog.open(forged_dir) as forged:
        record(forged, [{"user": "alice", "action": "login"}, {"user": "alice", "action": "read", "doc": 42}])
        record(forged, [{"user": "bob", "action": "read", "doc": 42}])
        forged.verify(AUDIT)
        print("attacker: the forged log passes verify() on its own")
        # ... but not against the anchor the auditor kept.
        try:
            forged.verify_against(AUDIT, kept)
        except stratalog.ChainMismatchError as e:
            print(f"auditor: tampering detected at offset {e.offset}: {e}")
        else:
            raise SystemExit("the forged history was not detected")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        main(target)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
