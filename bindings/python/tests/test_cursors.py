"""Named consumer cursors (issue 14): commit where a consumer is, read it back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import stratalog


def test_commit_and_resume_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as store:
        head = store.append_batch(1, [b"a", b"b", b"c"])
        assert store.cursor(1, "siem-export") == 0
        store.commit_cursor(1, "siem-export", 2)
        assert store.cursor(1, "siem-export") == 2
        with pytest.raises(stratalog.OffsetOutOfRangeError) as info:
            store.commit_cursor(1, "siem-export", 4)
        assert (info.value.offset, info.value.next_offset) == (4, 3)
        with pytest.raises(stratalog.InvalidArgumentError, match="cursor name"):
            store.commit_cursor(1, "../escape", 1)
        with pytest.raises(TypeError):
            store.cursor(1, b"bytes")  # type: ignore[arg-type]
        assert store.chain_head(1) == head  # cursors are not events
    with stratalog.open(path) as store:
        assert store.cursor(1, "siem-export") == 2
        store.commit_cursor(1, "siem-export", 0)  # back, to reprocess
        assert store.cursor(1, "siem-export") == 0


CONSUMER = """
import sys, stratalog
with stratalog.open_read_only(sys.argv[1]) as r:
    at = r.cursor(1, "consumer")
    for offset, event in r.iter(1, at):
        r.commit_cursor(1, "consumer", offset + 1)
    print(r.cursor(1, "consumer"))
"""


def test_a_read_only_consumer_in_another_process_commits_while_the_writer_runs(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as writer:
        writer.append_batch(1, [b"e%d" % i for i in range(50)])
        out = subprocess.run([sys.executable, "-c", CONSUMER, str(path)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "50"
        assert writer.cursor(1, "consumer") == 50
        writer.append_batch(1, [b"more", b"events"])
        out = subprocess.run([sys.executable, "-c", CONSUMER, str(path)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "52"  # resumed at 50, went on
