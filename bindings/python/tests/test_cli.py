"""The `stratalog` command (installed console script and `python -m`)."""

from __future__ import annotations

import base64
import errno
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    SEGMENT_HEADER,
    VECTOR_EVENTS,
    VECTOR_HEADS,
    cli_path,
    crash_after_appending,
    flip_byte,
    run_cli,
    segments,
)

import stratalog


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    with stratalog.open(path, segment_size=4096) as store:
        store.append_batch(7, VECTOR_EVENTS)
        for i in range(200):
            store.append(9, b"audit %d" % i + b"." * 50)
        store.append(11, b"\x00\xffbinary")
    return path


def test_help_and_version() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("head", "verify", "dump", "stats"):
        assert command in out.stdout
    out = run_cli("--version", module=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"stratalog {stratalog.__version__}"


def test_usage_errors_exit_2(clean: Path) -> None:
    assert run_cli().returncode == 2
    assert run_cli("frobnicate", str(clean)).returncode == 2
    assert run_cli("dump", str(clean)).returncode == 2  # --stream is required
    assert run_cli("head", str(clean), "--stream", "-1").returncode == 2
    assert run_cli("head", str(clean), "--stream", str(2**64)).returncode == 2
    bad_head = run_cli("verify", str(clean), "--stream", "7", "--against", "nope")
    assert bad_head.returncode == 2 and "not a chain head" in bad_head.stderr
    no_stream = run_cli("verify", str(clean), "--against", VECTOR_HEADS[0])
    assert no_stream.returncode == 2 and "--stream" in no_stream.stderr


def test_unreadable_store_exits_2(tmp_path: Path) -> None:
    out = run_cli("verify", str(tmp_path / "missing"))
    assert out.returncode == 2
    assert "cannot open" in out.stderr and out.stdout == ""
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x").write_text("x")
    assert run_cli("stats", str(tmp_path / "junk")).returncode == 2


def test_head(clean: Path) -> None:
    out = run_cli("head", str(clean), "--stream", "7")
    assert (out.returncode, out.stdout) == (0, VECTOR_HEADS[-1] + "\n")
    out = run_cli("head", str(clean))
    lines = out.stdout.splitlines()
    assert lines[0] == f"stream 7: {VECTOR_HEADS[-1]}"
    assert [line.split(":")[0] for line in lines] == ["stream 7", "stream 9", "stream 11"]
    doc = json.loads(run_cli("--json", "head", str(clean)).stdout)
    assert [s["stream"] for s in doc["streams"]] == [7, 9, 11]
    assert doc["streams"][0]["text"] == VECTOR_HEADS[-1]
    one = json.loads(run_cli("head", str(clean), "--stream", "7", "--json").stdout)
    assert one == {
        "stream": 7,
        "next_offset": 4,
        "hash": VECTOR_HEADS[-1][2:],
        "text": VECTOR_HEADS[-1],
        "torn_tails": [],
    }
    # A stream that does not exist has the empty head.
    assert run_cli("head", str(clean), "--stream", "5").stdout.strip() == "0:" + "0" * 64


def test_verify_clean_store_exits_0(clean: Path) -> None:
    out = run_cli("verify", str(clean))
    assert out.returncode == 0, out.stderr
    assert "stream 7: ok (4 events, 14 bytes, 1 segment, 0 checkpoints)" in out.stdout
    assert out.stdout.splitlines()[-1] == "verified 3 streams: intact"
    assert out.stderr == ""  # no progress bar when stderr is not a terminal
    out = run_cli("verify", str(clean), "--stream", "7", "--against", VECTOR_HEADS[1], module=True)
    assert out.returncode == 0
    assert f"holds the history of {VECTOR_HEADS[1]}" in out.stdout
    doc = json.loads(run_cli("verify", "--json", str(clean)).stdout)
    assert doc["ok"] is True
    assert [s["ok"] for s in doc["streams"]] == [True, True, True]
    assert doc["streams"][0]["report"]["head"]["text"] == VECTOR_HEADS[-1]
    assert doc["streams"][1]["report"]["segments"] > 1


def test_verify_tampered_store_exits_1(clean: Path) -> None:
    flip_byte(segments(clean, 9)[0], SEGMENT_HEADER + 60)
    out = run_cli("verify", str(clean))
    assert out.returncode == 1
    assert "stream 9: FAILED at offset 0: CorruptionError: corruption in stream 9" in out.stdout
    assert "stream 7: ok" in out.stdout
    assert out.stdout.splitlines()[-1] == "verification FAILED: 1 of 3 streams"
    doc = json.loads(run_cli("verify", str(clean), "--json").stdout)
    assert doc["ok"] is False
    bad = [s for s in doc["streams"] if not s["ok"]]
    assert bad == [
        {
            "stream": 9,
            "ok": False,
            "error": "CorruptionError",
            "code": "STRATALOG_STATUS_CORRUPTION",
            "status": "CORRUPTION",
            "offset": 0,
            "message": bad[0]["message"],
        }
    ]
    # The intact stream alone still verifies.
    assert run_cli("verify", str(clean), "--stream", "7").returncode == 0


def test_verify_store_written_with_a_larger_event_limit(tmp_path: Path) -> None:
    """The CLI opens with default options (16 MiB), yet a store whose writer
    allowed 64 MiB verifies: each segment records its own limit."""
    path = tmp_path / "big"
    big = bytes(range(256)) * (24 * 4096)  # 24 MiB
    with stratalog.open(path, max_event_size=64 << 20) as store:
        head = store.append(3, big)
    out = run_cli("verify", str(path), "--stream", "3", "--against", str(head))
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert str(head) in out.stdout
    assert run_cli("head", str(path), "--stream", "3").stdout.strip().endswith(str(head))
    with stratalog.open_read_only(path) as reader:
        assert reader.read_from(3, 0) == [big]


def test_verify_against_detects_rollback_exit_1(clean: Path) -> None:
    seg = segments(clean, 7)[-1]
    os.truncate(seg, SEGMENT_HEADER)  # the whole (single) batch is gone
    assert run_cli("verify", str(clean), "--stream", "7").returncode == 0  # a chain can't see it
    out = run_cli("verify", str(clean), "--stream", "7", "--against", VECTOR_HEADS[-1])
    assert out.returncode == 1
    assert "ChainMismatchError" in out.stdout and "truncated or rolled back" in out.stdout
    doc = json.loads(run_cli("verify", str(clean), "--stream", "7", "--against", VECTOR_HEADS[-1], "--json").stdout)
    assert doc["ok"] is False and doc["against"] == VECTOR_HEADS[-1]
    assert doc["streams"][0]["error"] == "ChainMismatchError"


def test_verify_corrupt_active_segment_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as store:
        store.append_batch(0, [b"first", b"second"])
        store.append(0, b"third")
    # Damage (not a torn tail) in the middle of the only, active segment.
    flip_byte(segments(path, 0)[0], SEGMENT_HEADER + 10)
    out = run_cli("verify", str(path))
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Corruption" in out.stdout + out.stderr


def test_cli_reads_while_another_process_writes(clean: Path) -> None:
    with stratalog.open(clean) as writer:  # holds the writer lock
        writer.append(7, b"live")
        out = run_cli("verify", str(clean))
        assert out.returncode == 0, out.stdout + out.stderr
        head = run_cli("head", str(clean), "--stream", "7").stdout.strip()
        assert head == str(writer.chain_head(7))
        assert stratalog.ChainHead.parse(head).next_offset == 5


def test_dump(clean: Path) -> None:
    out = run_cli("dump", str(clean), "--stream", "7")
    assert out.returncode == 0
    assert out.stdout.splitlines() == ["0\talpha", "1\tbeta", "2\tgamma", "3\t"]
    out = run_cli("dump", str(clean), "--stream", "9", "--from", "10", "--limit", "2")
    assert out.stdout.splitlines() == ["10\taudit 10" + "." * 50, "11\taudit 11" + "." * 50]
    out = run_cli("dump", str(clean), "--stream", "11")
    assert out.stdout == "0\thex:00ff62696e617279\n"
    lines = run_cli("dump", str(clean), "--stream", "11", "--json").stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"offset": 0, "size": 8, "text": None, "base64": base64.b64encode(b"\x00\xffbinary").decode()}
    ]
    lines = run_cli("--json", "dump", str(clean), "--stream", "7", "--limit", "1").stdout.splitlines()
    assert json.loads(lines[0])["text"] == "alpha" and len(lines) == 1
    past = run_cli("dump", str(clean), "--stream", "7", "--from", "9")
    assert past.returncode == 2 and "OffsetOutOfRangeError" in past.stderr


def test_dump_of_a_pruned_stream_starts_at_its_first_offset(clean: Path) -> None:
    """Without --from, dump starts where the stream starts now; --from below
    it is a PRUNED error (exit 2) that names the first offset."""
    with stratalog.open(clean) as store:
        first = store.prune(9, 150)
        assert 0 < first < 150
    out = run_cli("dump", str(clean), "--stream", "9")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{n}\taudit {n}" + "." * 50 for n in range(first, 200)]
    assert run_cli("dump", str(clean), "--stream", "9", "--from", str(first)).stdout == out.stdout
    lines = run_cli("--json", "dump", str(clean), "--stream", "9", "--limit", "2").stdout.splitlines()
    assert [json.loads(line)["offset"] for line in lines] == [first, first + 1]
    for start in (0, first - 1):
        below = run_cli("dump", str(clean), "--stream", "9", "--from", str(start))
        assert (below.returncode, below.stdout) == (2, "")
        assert f"PrunedError: offset {start} of stream 9 was pruned: the first retained offset is {first}" in (
            below.stderr
        )
        doc = json.loads(run_cli("--json", "dump", str(clean), "--stream", "9", "--from", str(start)).stdout)
        assert (doc["ok"], doc["code"], doc["offset"], doc["first_offset"]) == (
            False,
            "STRATALOG_STATUS_PRUNED",
            start,
            first,
        )
    # An unpruned stream still dumps from 0.
    assert run_cli("dump", str(clean), "--stream", "7").stdout.splitlines()[0] == "0\talpha"


def test_dump_of_damaged_stream_exits_1(clean: Path) -> None:
    flip_byte(segments(clean, 9)[1], SEGMENT_HEADER + 70)
    out = run_cli("dump", str(clean), "--stream", "9")
    assert out.returncode == 1
    assert "CorruptionError" in out.stderr
    assert out.stdout.startswith("0\taudit 0")  # the intact prefix was printed


def test_dump_into_a_closed_pipe(clean: Path) -> None:
    with stratalog.open(clean) as store:
        store.append_batch(12, [b"line %d" % i for i in range(50_000)])
    cmd = [cli_path(), "dump", str(clean), "--stream", "12"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert first == b"0\tline 0\n"
    assert b"Traceback" not in err


def test_tail_prints_the_last_events_or_from_an_offset(clean: Path) -> None:
    out = run_cli("tail", str(clean), "--stream", "9")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{i}\taudit {i}" + "." * 50 for i in range(190, 200)]
    out = run_cli("tail", str(clean), "--stream", "7", "--from", "2", "--json")
    assert [json.loads(line)["text"] for line in out.stdout.splitlines()] == ["gamma", ""]
    assert run_cli("tail", str(clean), "--stream", "7", "--from", "4").stdout == ""
    past = run_cli("tail", str(clean), "--stream", "7", "--from", "9", "--json")
    assert past.returncode == 2 and json.loads(past.stdout)["code"] == "STRATALOG_STATUS_OFFSET_OUT_OF_RANGE"


def test_tail_follow_prints_new_events_as_they_come_and_ctrl_c_exits_0(clean: Path) -> None:
    with subprocess.Popen(
        [cli_path(), "tail", str(clean), "--stream", "7", "--from", "3", "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = json.loads(proc.stdout.readline())
            assert (first["offset"], first["text"]) == (3, "")
            with stratalog.open(clean) as writer:  # the CLI holds no lock
                writer.append_batch(7, [b"delta", b"epsilon"])
                writer.append(7, b"zeta")
            got = [json.loads(proc.stdout.readline()) for _ in range(3)]
            assert [(g["offset"], g["text"]) for g in got] == [(4, "delta"), (5, "epsilon"), (6, "zeta")]
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_stats(clean: Path) -> None:
    out = run_cli("stats", str(clean))
    assert out.returncode == 0
    assert out.stdout.splitlines()[-1].startswith("3 streams, 205 events, ")
    doc = json.loads(run_cli("stats", str(clean), "--json").stdout)
    assert doc["total"]["streams"] == 3 and doc["total"]["events"] == 205
    by_stream = {s["stream"]: s for s in doc["streams"]}
    assert by_stream[7]["head"] == VECTOR_HEADS[-1]
    assert by_stream[9]["segments"] == len(segments(clean, 9)) > 1
    on_disk = sum(f.stat().st_size for f in (clean / "streams").rglob("*.seg"))
    assert doc["total"]["bytes"] == on_disk


def test_progress_bar_only_on_a_terminal(clean: Path) -> None:
    # stderr is a pseudo-terminal: the bar is drawn (forced, as the store is
    # small and the bar otherwise waits 0.3 s before appearing).
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [cli_path(), "verify", str(clean), "--progress"], stdout=subprocess.PIPE, stderr=slave, timeout=60
        )
        os.close(slave)
        slave = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"verify [" in drawn and b"streams" in drawn
    assert b"verify [" not in proc.stdout
    # --no-progress on a terminal, and a pipe by default: nothing on stderr.
    assert run_cli("verify", str(clean), "--no-progress").stderr == ""


def test_main_is_callable_in_process(clean: Path) -> None:
    import io

    from stratalog.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["head", str(clean), "--stream", "7"], stdout=out, stderr=err) == 0
    assert out.getvalue() == VECTOR_HEADS[-1] + "\n"
    assert sys.modules["stratalog.cli"].__file__ is not None


def test_verify_and_head_say_when_a_tail_would_be_cut(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with stratalog.open(path) as store:
        store.append(5, b"kept", fsync=True)
    crash_after_appending(path, 5, [b"torn", b"batch"])
    seg = segments(path, 5)[-1]
    os.truncate(seg, seg.stat().st_size - 2)
    for command in ("verify", "head"):
        out = run_cli(command, str(path))
        assert out.returncode == 0, out.stderr
        assert "stream 5: an unfinished batch of" in out.stderr and str(seg) in out.stderr
        assert "next read-write open cuts it off" in out.stderr
        assert out.stderr.count("unfinished batch") == 1  # the library's log record is not repeated
        doc = json.loads(run_cli(command, str(path), "--json").stdout)
        [torn] = doc["torn_tails"]
        assert torn["stream"] == 5 and torn["segment"] == str(seg) and torn["dropped_bytes"] > 0
    # The CLI only reads: the tail is still there for a writer to cut.
    with stratalog.open(path) as writer:
        assert len(writer.torn_tails) == 1
    out = run_cli("verify", str(path))
    assert "unfinished batch" not in out.stderr


def test_json_failures_are_json_on_stdout_with_stable_codes(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    out = run_cli("verify", str(missing), "--json")
    assert out.returncode == 2
    doc = json.loads(out.stdout)
    assert doc["ok"] is False and doc["code"] == "STRATALOG_STATUS_IO" and doc["errno"] == errno.ENOENT
    assert "no such directory" in doc["message"] and doc["path"] == str(missing)
    assert "cannot open" in out.stderr  # the text still goes to stderr

    plain = tmp_path / "file"
    plain.write_text("not a store")
    for command in ("head", "verify", "dump", "stats"):
        extra = ("--stream", "1") if command == "dump" else ()
        out = run_cli(command, str(plain), *extra, "--json")
        assert out.returncode == 2, command
        doc = json.loads(out.stdout)
        assert (doc["code"], doc["errno"], doc["command"]) == ("STRATALOG_STATUS_IO", errno.ENOTDIR, command)
        assert "not a directory" in doc["message"]

    not_a_store = tmp_path / "dir"
    not_a_store.mkdir()
    doc = json.loads(run_cli("head", str(not_a_store), "--json").stdout)
    assert doc["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT" and "not a stratalog store" in doc["message"]

    # A bad command line, with --json anywhere: JSON too, exit 2.
    for argv in (("verify", "--json"), ("--json", "head"), ("head", str(tmp_path), "--stream", "-1", "--json")):
        out = run_cli(*argv)
        assert out.returncode == 2, argv
        doc = json.loads(out.stdout)
        assert doc["ok"] is False and doc["code"] == "STRATALOG_STATUS_INVALID_ARGUMENT", argv
        assert "usage" in out.stderr

    # A stream damaged mid-read: dump prints the events it could, then the failure.
    path = tmp_path / "s"
    with stratalog.open(path) as store:
        for event in (b"a", b"b", b"c"):
            store.append(2, event)
    seg = segments(path, 2)[0]
    flip_byte(seg, SEGMENT_HEADER + (56 + 1 + 4) + 56)  # the payload of event 1
    out = run_cli("dump", str(path), "--stream", "2", "--json")
    assert out.returncode == 1
    *events, failure = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["offset"] for e in events] == [0]
    assert failure["ok"] is False and failure["code"] == "STRATALOG_STATUS_CORRUPTION"
    assert (failure["stream"], failure["offset"]) == (2, 1)
