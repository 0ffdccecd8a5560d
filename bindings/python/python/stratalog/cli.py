"""The ``stratalog`` command: inspect and verify a store from the shell.

::

    stratalog head   PATH [--stream N]                  chain heads
    stratalog verify PATH [--stream N] [--against HEAD] verify streams
    stratalog dump   PATH --stream N [--from OFFSET] [--limit K]
    stratalog stats  PATH                               streams, sizes
    stratalog tail   PATH --stream N [--from OFFSET | --since WHEN] [--follow]
    stratalog export STORE --stream S [--from N] [--to M]  events as JSON lines, with hashes
    stratalog import STORE FILE                         append an export to an empty stream, or the one it continues
    stratalog prune  STORE --stream S (--before N | --keep-last N | --keep-bytes N | --keep-newer WHEN)
    stratalog backup STORE DEST                         online (incremental) backup; prints its heads

    stratalog keygen NAME --out KEYFILE                 new signing key; prints its vkey
    stratalog checkpoint STORE --stream S --key KEYFILE [--size N] [--origin O] [--witness "VKEY URL"]...
    stratalog prove STORE --stream S --offset N --key KEYFILE [--size M]
    stratalog prove-consistency STORE --stream S --from M --key KEYFILE [--size N]
    stratalog verify-receipt RECEIPT --vkey VKEY --event FILE
    stratalog verify-checkpoint NOTE --vkey VKEY [--witness-vkey W]... [--min K]
    stratalog export-tiles STORE --stream S --key KEYFILE --out DIR [--size N]

Proofs: ``checkpoint`` prints a signed C2SP checkpoint note of the stream's
Merkle tree, ``prove`` a receipt (C2SP tlog-proof) of one event,
``prove-consistency`` the consistency proof (base64, one hash per line)
from size M, then the signed checkpoint of size N, and ``export-tiles``
writes a static tlog-tiles directory (and prints its checkpoint). Signing
records the last signed size per origin in the store (``signed/``), which
works from a read-only open too, and is refused (exit 1) for a smaller
size. ``verify-receipt`` needs no store: RECEIPT and FILE are paths (``-``:
stdin, for one of them), VKEY is the verifier key string or a path to a
file holding it. Key material is never printed.

Witnesses: each ``--witness "VKEY URL"`` of ``checkpoint`` (the witness's
cosigner verifier key, type 0x04, and its submission URL prefix, in one
argument) gets the checkpoint with a consistency proof (C2SP tlog-witness,
POST ``URL/add-checkpoint``), in order; the command prints the note with
every witness's cosignature, or exits 1 naming the first witness that did
not cosign. The store remembers the size each witness last cosigned per
origin (``witnessed/``). ``verify-checkpoint`` needs no store: it checks
NOTE (a path, ``-``: stdin) against the log's VKEY and, with
``--witness-vkey`` (repeatable; a key string or a file holding one), that
at least ``--min`` K of those witnesses cosigned it (default 1 with witness
keys, else 0).

Export and import: ``export`` prints one JSON object per event of the
offsets [N, M) (default: every event the stream holds, from its first
offset, which a prune moves past 0), ``{"stream":S,"offset":n,
"data":"<base64>","hash":"<hex h(n)>"}`` with the chain hash h(n), then
the line ``{"stream":S,"head":"<M>:<hex h(M-1)>"}``. An export from N > 0
(``--from N``, or a pruned stream) begins with the base line
``{"stream":S,"base":"<N>:<hex h(N-1)>"}``, the head its events continue
(for a pruned stream's first offset, the hash its prune anchor keeps), so
its lines verify on their own. It checks the hashes it computes against
the store's; ``--from`` or ``--to`` below a pruned stream's first offset
is a ``PRUNED`` error naming it (exit 2). ``dump`` also starts at the first
offset by default. ``import`` (FILE ``-``: stdin) appends such a file to a
stream that must be empty, creating the store if needed; an export with a
base line N:H goes only into a stream that ends at exactly N:H, which it
continues (appending cannot start a stream past 0: ``backup`` copies a
pruned stream). It first reads the whole file and checks every line,
offset and hash and the final head, and refuses (exit 1) with nothing
appended if anything is off or the stream does not end where the file
starts; then it appends in batches, syncs, and checks that the stream's
head is the file's.

Retention and backups: ``prune`` removes a stream's oldest events, whole
sealed segments at a time (never the active one), below offset N
(``--before``), or keeping at least the last N events (``--keep-last``),
at most N bytes of segments (``--keep-bytes``) or every batch appended at
or after WHEN (``--keep-newer``, by the times a store opened with
``timestamps`` records; nothing goes in a store that recorded none); it
prints the stream's new first offset, which may be below N. Reads below it
fail from then on; heads, proofs and ``verify --against`` an older head
still pass. WHEN (also ``tail --since``) is an ISO 8601 date and time,
``2026-12-04T15:00:00+00:00`` (``Z`` for UTC; without an offset it is local
time), or a number of seconds since the Unix epoch, ``1796396400.5``; it is
taken to the millisecond, rounded down.
``backup`` copies the store into DEST (hard links for sealed segments
where possible) while a writer keeps appending, writes a ``BACKUP``
manifest last, and prints the head of every stream in the backup, one
``stream S: HEAD`` line each; a second backup into DEST copies only what
is new. DEST is itself a store: ``verify DEST --stream S --against HEAD``
checks it. A DEST that holds anything else is refused (exit 2) untouched.

Every command but ``import`` and ``prune`` opens the store read-only: it takes no lock
and never writes, so it works while another process appends (it sees the
store as it was when it opened; ``tail --follow`` goes on with what the
writer appends, like ``tail -f``, until Ctrl-C, which exits 0). ``--json`` prints machine-readable output (``dump --json``
prints one JSON object per line). ``verify`` shows a progress bar on stderr
when stderr is a terminal.

Exit status (stable): 0 success; 1 verification failed (damage, a broken
chain, a stream that no longer holds the history of the ``--against``
head, a receipt or checkpoint that does not check out, an export whose
hashes are not the store's), or a checkpoint was refused (by the store, or
a witness did not cosign it), or an import was refused (a file that does
not check out, a stream that does not end where the file starts); 2
bad command line, or the store, a key or an input file could not be opened
or read (a read below a pruned stream's first offset included: ``PRUNED``).

With ``--json`` every outcome, failures included, is one JSON object on
stdout (``dump`` prints one per event, then one for a failure): failures
carry ``"ok": false``, a stable ``code`` (the C status name, e.g.
``STRATALOG_STATUS_CORRUPTION``; a bad command line is
``STRATALOG_STATUS_INVALID_ARGUMENT``), the ``message``, and the details
that apply (``stream``, ``offset``, ``errno``, ...). Text goes to stderr as
without ``--json``.
"""

from __future__ import annotations

import argparse
import base64
import builtins
import contextlib
import datetime
import errno
import hashlib
import itertools
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, NoReturn, Sequence

from . import __version__, _native
from ._errors import (
    ChainMismatchError,
    CheckpointRefusedError,
    CorruptionError,
    Error,
    EventTooLargeError,
    InvalidArgumentError,
    IOError as StoreIOError,
    OffsetMismatchError,
    OffsetOutOfRangeError,
    PrunedError,
    VerificationError,
    WitnessError,
)
from ._proofs import SigningKey, verify_witnessed_checkpoint
from ._store import Store, TimeLike, open_read_only
from ._store import _unix_ms as unix_ms
from ._store import open as open_writable
from ._types import U64_MAX, ChainHead, VerifyReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


def _u64(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= U64_MAX:
        raise argparse.ArgumentTypeError(f"must be in 0..2**64-1: {text}")
    return value


def _when(text: str) -> TimeLike:
    """A WHEN argument: Unix seconds (an int, or a decimal fraction), or an
    ISO 8601 date and time (naive: local time; ``Z``: UTC)."""
    stripped = text.strip()
    if stripped and stripped.replace(".", "", 1).isdigit() and stripped.isascii():
        return float(stripped) if "." in stripped else int(stripped)
    iso = stripped[:-1] + "+00:00" if stripped[-1:] in ("Z", "z") else stripped
    try:
        when = datetime.datetime.fromisoformat(iso)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time (expected an ISO 8601 date and time, e.g. 2026-12-04T15:00:00Z, "
            f"or a number of Unix seconds): {text!r}"
        ) from None
    try:
        unix_ms("WHEN", when)
    except (ValueError, OverflowError) as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    return when


def _head_arg(text: str) -> ChainHead:
    try:
        return ChainHead.parse(text)
    except Error:
        raise argparse.ArgumentTypeError(
            f"not a chain head (expected '<next_offset>:<64 hex digits>'): {text!r}"
        ) from None


def _parser(json_out: IO[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `json_out`, a bad command line is
    also reported there as JSON before the usual usage message and exit 2."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            if json_out is not None:
                _emit_json(
                    json_out,
                    {
                        "ok": False,
                        "code": "STRATALOG_STATUS_INVALID_ARGUMENT",
                        "error": "UsageError",
                        "message": f"{self.prog}: {message}",
                    },
                )
            super().error(message)

    common = Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output on stdout"
    )
    common.add_argument(
        "--tier-option",
        dest="tier_options",
        action="append",
        type=_tier_option,
        default=argparse.SUPPRESS,
        metavar="KEY=VALUE",
        help="for a PATH that is a tier's URL (s3://bucket/prefix, az://container/prefix): an object store option "
        "such as endpoint=http://127.0.0.1:9000, allow_http=true, region=us-east-1 or account_name=NAME (repeat it; "
        "credentials come from the AWS_* or AZURE_* environment variables)",
    )
    parser = Parser(
        prog="stratalog",
        description="Inspect and verify a stratalog store (opened read-only), sign checkpoints of its streams, "
        "prove events and check receipts, export a stream and import it into an empty one, prune a stream "
        "and back the store up.",
        epilog="Exit status: 0 success, 1 verification failed (or an import refused), 2 usage error or unreadable store.",
    )
    parser.add_argument("--version", action="version", version=f"stratalog {__version__}")
    parser.add_argument("--json", action="store_true", default=False, help="machine-readable output on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("head", parents=[common], help="print chain heads", description="Print chain heads.")
    p.add_argument("path", metavar="PATH", help="store directory")
    p.add_argument("--stream", type=_u64, metavar="N", help="only stream N (prints just its head)")

    p = sub.add_parser(
        "verify",
        parents=[common],
        help="verify streams",
        description="Verify every checksum and chain link of a stream (all streams by default). "
        "With --against, also prove the stream still holds the history HEAD summarizes. "
        "PATH may be a tier's URL (s3://bucket/prefix or az://container/prefix, with --tier-option): the stream is then "
        "verified straight from the bucket, with no local store.",
    )
    p.add_argument("path", metavar="PATH", help="store directory, or a tier's URL")
    p.add_argument("--stream", type=_u64, metavar="N", help="only stream N")
    p.add_argument(
        "--against", type=_head_arg, metavar="HEAD", help="a head '<next_offset>:<hex>' kept earlier (needs --stream)"
    )
    progress = p.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="always show the progress bar"
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")

    p = sub.add_parser(
        "dump", parents=[common], help="print the events of a stream", description="Print the events of a stream."
    )
    p.add_argument("path", metavar="PATH", help="store directory")
    p.add_argument("--stream", type=_u64, metavar="N", required=True, help="the stream")
    p.add_argument(
        "--from",
        dest="start",
        type=_u64,
        metavar="OFFSET",
        help="first offset (default: the stream's first offset, 0 unless it was pruned)",
    )
    p.add_argument("--limit", type=_u64, metavar="K", help="at most K events")

    p = sub.add_parser(
        "stats", parents=[common], help="streams, events and sizes", description="Streams, events and sizes."
    )
    p.add_argument("path", metavar="PATH", help="store directory")

    p = sub.add_parser(
        "tail",
        parents=[common],
        help="print the events of a stream, and with --follow those still to come",
        description="Print the events of a stream from --from, or from the first batch appended at or after "
        "--since (default: the last 10), and with --follow go on printing the events the writer appends, as "
        "they are committed, until Ctrl-C.",
    )
    p.add_argument("path", metavar="PATH", help="store directory")
    p.add_argument("--stream", type=_u64, metavar="N", required=True, help="the stream")
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--from", dest="start", type=_u64, metavar="OFFSET", help="first offset (default: the last 10 events)"
    )
    start.add_argument(
        "--since",
        type=_when,
        metavar="WHEN",
        help="start at the first batch appended at or after WHEN (ISO 8601, naive = local time, or Unix "
        "seconds), by the times a store opened with timestamps records",
    )
    p.add_argument("--follow", "-f", action="store_true", help="wait for new events and print them as they arrive")

    p = sub.add_parser(
        "export",
        parents=[common],
        help="print the events of a stream as JSON lines, with their chain hashes",
        description="Print one JSON object per event of the offsets [N, M) of a stream, "
        '{"stream":S,"offset":n,"data":"<base64>","hash":"<hex h(n)>"}, then the head line '
        '{"stream":S,"head":"<M>:<hex h(M-1)>"}; an export that starts past offset 0 begins with the base line '
        '{"stream":S,"base":"<N>:<hex h(N-1)>"}, the head its events continue. The hashes are computed and checked '
        "against the store's. A pruned stream exports from its first offset; below it is a PRUNED error. "
        "`stratalog import` reads it back.",
    )
    p.add_argument("path", metavar="STORE", help="store directory")
    p.add_argument("--stream", type=_u64, metavar="S", required=True, help="the stream")
    p.add_argument(
        "--from",
        dest="start",
        type=_u64,
        metavar="N",
        help="first offset (default: the stream's first offset, 0 unless it was pruned)",
    )
    p.add_argument("--to", dest="end", type=_u64, metavar="M", help="end offset, not included (default: every event)")

    p = sub.add_parser(
        "prune",
        parents=[common],
        help="remove a stream's oldest events (whole sealed segments)",
        description="Remove the oldest events of a stream in STORE (opened for writing), whole sealed segments "
        "at a time; the active segment always stays. Prints the stream's new first offset, which may be below "
        "--before. Reads below it fail from then on; heads, proofs and verify --against an older head still pass. "
        "WHEN is an ISO 8601 date and time (naive = local time, Z = UTC) or a number of Unix seconds.",
    )
    p.add_argument("path", metavar="STORE", help="store directory")
    p.add_argument("--stream", type=_u64, metavar="S", required=True, help="the stream")
    policy = p.add_mutually_exclusive_group(required=True)
    policy.add_argument("--before", type=_u64, metavar="N", help="remove the segments whose events all lie below N")
    policy.add_argument(
        "--keep-last", dest="keep_last", type=_u64, metavar="N", help="keep at least the last N events"
    )
    policy.add_argument(
        "--keep-bytes", dest="keep_bytes", type=_u64, metavar="N", help="keep at most N bytes of segment files"
    )
    policy.add_argument(
        "--keep-newer",
        dest="keep_newer",
        type=_when,
        metavar="WHEN",
        help="keep every batch appended at or after WHEN (a store opened with timestamps records the times)",
    )

    p = sub.add_parser(
        "backup",
        parents=[common],
        help="back the store up into a directory; prints the backup's heads",
        description="Back STORE up into DEST while writers keep appending (STORE is opened read-only): sealed "
        "segments are hard-linked where possible, active ones copied up to a committed head, a BACKUP manifest "
        "is written last. Prints the head of every stream in the backup. A second backup into DEST copies only "
        "what is new; a DEST holding anything else is refused, untouched.",
    )
    p.add_argument("path", metavar="STORE", help="store directory")
    p.add_argument("dest", metavar="DEST", help="the backup directory (created if needed)")

    p = sub.add_parser(
        "import",
        parents=[common],
        help="append an export to an empty stream (or to the stream it continues)",
        description="Append the events of FILE (the output of `stratalog export`) to their stream in STORE "
        "(opened for writing, created if needed), which must be empty, or, for an export that starts past "
        "offset 0 (its base line N:<hash>), must end at exactly that head. A stream cannot be started past "
        "offset 0 by appending, so an export of a pruned stream (or one from --from N) does not go into an "
        "empty stream: copy a pruned stream with `stratalog backup`. The whole file is checked first "
        "(one stream, offsets from the base on, every hash, the final head): if anything is off, or the stream "
        "does not end where the file starts, nothing is appended (exit 1). Then the events are appended in "
        "batches and synced, and the stream's head is checked against the file's.",
    )
    p.add_argument("path", metavar="STORE", help="store directory")
    p.add_argument("file", metavar="FILE", help="the export file ('-': stdin)")

    def signing(p: argparse.ArgumentParser) -> None:
        p.add_argument("path", metavar="STORE", help="store directory")
        p.add_argument("--stream", type=_u64, metavar="S", required=True, help="the stream")
        p.add_argument("--key", metavar="KEYFILE", required=True, help="the private key file (from keygen)")

    p = sub.add_parser(
        "keygen",
        parents=[common],
        help="make a signing key; prints its verifier key",
        description="Write a new Ed25519 signing key named NAME to KEYFILE (mode 0600, never overwritten) "
        "and print its verifier key string, which checks its checkpoints and receipts.",
    )
    p.add_argument("name", metavar="NAME", help="the key's name, e.g. example.com/audit (no spaces, no '+')")
    p.add_argument("--out", metavar="KEYFILE", required=True, help="where to write the private key")

    p = sub.add_parser(
        "checkpoint",
        parents=[common],
        help="print a signed checkpoint of a stream's tree",
        description="Print a signed C2SP checkpoint note of the Merkle tree of the first N events of a stream; "
        "with --witness, submit it to each witness (C2SP tlog-witness) and print it with their cosignatures.",
    )
    signing(p)
    p.add_argument("--size", type=_u64, metavar="N", help="tree size (default: every event)")
    p.add_argument("--origin", metavar="O", help="the log's origin line (default: '<key name>/<stream>')")
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="'VKEY URL'",
        help="a witness to cosign the checkpoint: its cosigner verifier key and submission URL prefix, "
        "in one argument (repeatable; each must cosign)",
    )

    p = sub.add_parser(
        "prove",
        parents=[common],
        help="print the receipt of one event",
        description="Print an offline receipt (C2SP tlog-proof) of event N against a checkpoint of size M: "
        "verify-receipt checks it with the event's bytes and the verifier key alone.",
    )
    signing(p)
    p.add_argument("--offset", type=_u64, metavar="N", required=True, help="the event")
    p.add_argument("--size", type=_u64, metavar="M", help="checkpoint size (default: every event)")

    p = sub.add_parser(
        "prove-consistency",
        parents=[common],
        help="print a consistency proof and a signed checkpoint",
        description="Print the consistency proof from the tree of M events to the tree of N (base64, one "
        "hash per line), then the signed checkpoint of size N.",
    )
    signing(p)
    p.add_argument("--from", dest="old_size", type=_u64, metavar="M", required=True, help="the older tree size")
    p.add_argument("--size", type=_u64, metavar="N", help="the newer tree size (default: every event)")

    p = sub.add_parser(
        "verify-receipt",
        parents=[common],
        help="check a receipt with the event and the verifier key (no store)",
        description="Check that RECEIPT proves the event in FILE is in the log whose checkpoint VKEY signed. "
        "Exit 0 if it does, 1 if not (the reason on stderr).",
    )
    p.add_argument("receipt", metavar="RECEIPT", help="the receipt file ('-': stdin)")
    p.add_argument(
        "--vkey", required=True, metavar="VKEY", help="the verifier key string, or a file holding it"
    )
    p.add_argument("--event", required=True, metavar="FILE", help="the event's bytes ('-': stdin)")
    p.add_argument(
        "--origin",
        metavar="O",
        help="the log the checkpoint must be of (its first line, e.g. example.com/log/7; default: any): "
        "one key signs every stream of a store, so say which stream's log you expect",
    )

    p = sub.add_parser(
        "verify-checkpoint",
        parents=[common],
        help="check a signed (and cosigned) checkpoint with the verifier keys (no store)",
        description="Check that NOTE is a checkpoint signed by VKEY and, with --witness-vkey, cosigned by at "
        "least K of those witnesses. Exit 0 if it is, 1 if not (the reason on stderr).",
    )
    p.add_argument("note", metavar="NOTE", help="the checkpoint file ('-': stdin)")
    p.add_argument("--vkey", required=True, metavar="VKEY", help="the log's verifier key string, or a file holding it")
    p.add_argument(
        "--witness-vkey",
        dest="witness_vkeys",
        action="append",
        default=[],
        metavar="W",
        help="a witness's cosigner verifier key (type 0x04), or a file holding it (repeatable)",
    )
    p.add_argument(
        "--min",
        dest="min_cosignatures",
        type=_u64,
        metavar="K",
        help="cosignatures required of the --witness-vkey keys (default: 1 with witness keys, else 0)",
    )
    p.add_argument(
        "--origin",
        metavar="O",
        help="the log the checkpoint must be of (its first line, e.g. example.com/log/7; default: any): "
        "one key signs every stream of a store, so say which stream's log you expect",
    )

    p = sub.add_parser(
        "export-tiles",
        parents=[common],
        help="write a stream's tree as a tlog-tiles directory",
        description="Write the tree of the first N events of a stream under DIR as a static C2SP tlog-tiles "
        "log (checkpoint, tile/..., tile/entries/...); prints the signed checkpoint.",
    )
    signing(p)
    p.add_argument("--out", metavar="DIR", required=True, help="the directory to write")
    p.add_argument("--size", type=_u64, metavar="N", help="tree size (default: every event)")
    return parser


# -- output helpers ----------------------------------------------------------


def _emit_json(out: IO[str], value: Any) -> None:
    out.write(json.dumps(value, sort_keys=False) + "\n")


#: Detail attributes of the exceptions, as they appear in JSON.
_DETAILS = ("stream", "offset", "expected", "actual", "next_offset", "first_offset", "size", "max_size", "errno")


def _error_dict(err: Error) -> dict[str, Any]:
    status = getattr(err, "status", None)
    number = getattr(status, "value", status)
    doc: dict[str, Any] = {
        "error": type(err).__name__,
        "code": _native.status_name(number) if isinstance(number, int) else None,
        "status": getattr(status, "name", status),
        "message": err.message,
        "offset": getattr(err, "offset", None),
    }
    for name in _DETAILS:
        value = getattr(err, name, None)
        if value is not None:
            doc[name] = value
    return doc


def _failure(
    out: IO[str], err: IO[str], as_json: bool, path: str, command: str, e: Error, text: str
) -> None:
    """Reports a failure that ends the command: text on stderr, and with
    --json one object on stdout."""
    err.write(text + "\n")
    if as_json:
        doc: dict[str, Any] = {"ok": False, "command": command, "path": path, **_error_dict(e)}
        if command == "verify":
            doc["streams"] = []
        _emit_json(out, doc)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Progress:
    """A one-line progress bar on stderr, redrawn in place."""

    WIDTH = 30

    def __init__(self, stream: IO[str], total_bytes: int, total_streams: int) -> None:
        self.out = stream
        self.total_bytes = max(total_bytes, 1)
        self.total_streams = total_streams
        self.start = time.monotonic()
        self.shown = False

    def draw(self, done_streams: int, done_bytes: int, current: int | None) -> None:
        fraction = min(done_bytes / self.total_bytes, 1.0)
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.start
        now = f" stream {current}" if current is not None else ""
        line = (
            f"\rverify [{bar}] {fraction * 100:5.1f}%  {done_streams}/{self.total_streams} streams"
            f"  {done_bytes / 1048576:.1f}/{self.total_bytes / 1048576:.1f} MiB  {elapsed:.1f}s{now}"
        )
        self.out.write(line + "\x1b[K")
        self.out.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\r\x1b[K")
            self.out.flush()


@dataclass
class _Outcome:
    stream: int
    report: VerifyReport | None = None
    error: Error | None = None


# -- commands ----------------------------------------------------------------


def _torn_dicts(store: Store) -> list[dict[str, Any]]:
    """The torn tails the open found, for --json output."""
    return [
        {"stream": t.stream, "segment": t.segment, "kept_len": t.kept_len, "dropped_bytes": t.dropped_bytes}
        for t in store.torn_tails
    ]


def _cmd_head(store: Store, args: argparse.Namespace, out: IO[str]) -> int:
    if args.stream is not None:
        head = store.chain_head(args.stream)
        if args.json:
            _emit_json(out, {"stream": args.stream, **head.to_dict(), "torn_tails": _torn_dicts(store)})
        else:
            out.write(f"{head}\n")
        return EXIT_OK
    heads = [(s, store.chain_head(s)) for s in store.streams()]
    if args.json:
        _emit_json(out, {"streams": [{"stream": s, **h.to_dict()} for s, h in heads], "torn_tails": _torn_dicts(store)})
    else:
        for s, h in heads:
            out.write(f"stream {s}: {h}\n")
    return EXIT_OK


def _verify_all(
    store: Store,
    streams: Sequence[int],
    against: Callable[[int], ChainHead | None],
    on_done: Callable[[int, _Outcome], None],
    on_start: Callable[[int], None],
) -> list[_Outcome]:
    outcomes = []
    for i, stream in enumerate(streams):
        on_start(stream)
        outcome = _Outcome(stream)
        try:
            head = against(stream)
            if head is not None:
                outcome.report = store.verify_against(stream, head)
            else:
                outcome.report = store.verify(stream)
        except Error as err:
            outcome.error = err
        outcomes.append(outcome)
        on_done(i, outcome)
    return outcomes


def _cmd_verify(store: Store, args: argparse.Namespace, out: IO[str], err: IO[str], path: str) -> int:
    # A backup is verified against its manifest: each stream it lists
    # against the head it lists (a listed stream gone is a failure). A
    # stream it does not list (copied by a backup cut short, or appended to
    # the directory since) is verified on its own and said to be outside it.
    manifest = store.backup_manifest() if args.against is None else None
    listed = None if manifest is None else {s.stream: s.head for s in manifest}
    if args.stream is not None:
        streams = [args.stream]
    elif listed is not None:
        streams = sorted(set(listed) | set(store.streams()))
    else:
        streams = store.streams()
    unlisted = [] if listed is None else [s for s in streams if s not in listed]

    def against(stream: int) -> ChainHead | None:
        return args.against if listed is None else listed.get(stream)

    # A manifest that lists nothing over stream files: a first backup cut
    # short, which holds nothing yet.
    cut_short = listed is not None and not listed and args.stream is None and bool(unlisted)
    show = args.progress if args.progress is not None else err.isatty()
    sizes = {s: store.stats(s).bytes for s in streams} if show else {}

    if not show:
        outcomes = _verify_all(store, streams, against, lambda i, o: None, lambda s: None)
    else:
        bar = _Progress(err, sum(sizes.values()), len(streams))
        state: dict[str, Any] = {"done": 0, "bytes": 0, "current": None}
        lock = threading.Lock()

        def started(stream: int) -> None:
            with lock:
                state["current"] = stream

        def done(i: int, outcome: _Outcome) -> None:
            with lock:
                state["done"] = i + 1
                state["bytes"] += sizes.get(outcome.stream, 0)
                state["current"] = None

        result: list[list[_Outcome]] = []
        worker = threading.Thread(
            target=lambda: result.append(_verify_all(store, streams, against, done, started)),
            name="stratalog-verify",
            daemon=True,
        )
        worker.start()
        # Draw only for verifications that take a while, unless forced; a
        # forced bar is drawn at least once, with the final state.
        delay = 0.0 if args.progress else 0.3
        while True:
            running = worker.is_alive()
            if time.monotonic() - bar.start >= delay:
                with lock:
                    bar.draw(state["done"], state["bytes"], state["current"])
            if not running:
                break
            worker.join(0.1)
        bar.clear()
        if not result:  # pragma: no cover - the worker catches stratalog errors
            raise RuntimeError("verification thread failed")
        outcomes = result[0]

    failed = [o for o in outcomes if o.error is not None]
    incomplete = (
        f"this backup's manifest lists no stream, though the directory holds {_plural(len(unlisted), 'stream')}: "
        "a first backup cut short holds nothing yet (take the backup again), and what is appended to a "
        "backup's directory is no backup"
    )
    if args.json:
        entries = []
        for o in outcomes:
            entry: dict[str, Any] = {"stream": o.stream, "ok": o.error is None}
            if o.report is not None:
                entry["report"] = o.report.to_dict()
            if o.error is not None:
                entry.update(_error_dict(o.error))
            entries.append(entry)
        doc: dict[str, Any] = {
            "ok": not failed and not cut_short,
            "path": path,
            "streams": entries,
            "torn_tails": _torn_dicts(store),
        }
        if args.against is not None:
            doc["against"] = str(args.against)
        if listed is not None:
            doc["backup"] = {
                "manifest": [{"stream": s.stream, "first_offset": s.first_offset, "head": str(s.head)} for s in manifest or []],
                "unlisted": unlisted,
            }
            if cut_short:
                doc["backup"]["error"] = incomplete
        _emit_json(out, doc)
    else:
        for o in outcomes:
            if o.report is not None:
                r = o.report
                detail = (
                    f"{_plural(r.events, 'event')}, {r.bytes} bytes, "
                    f"{_plural(r.segments, 'segment')}, {_plural(r.checkpoints, 'checkpoint')}"
                )
                if args.against is not None:
                    also = f"; holds the history of {args.against}"
                elif listed is not None and o.stream in listed:
                    also = "; the head the backup's manifest lists"
                elif listed is not None:
                    also = "; not in the backup's manifest, so not part of the backup"
                else:
                    also = ""
                out.write(f"stream {o.stream}: ok ({detail}), head {r.head}{also}\n")
            elif o.error is not None:
                where = getattr(o.error, "offset", None)
                at = f" at offset {where}" if where is not None else ""
                out.write(f"stream {o.stream}: FAILED{at}: {type(o.error).__name__}: {o.error.message}\n")
        of_backup = " against the backup's manifest" if listed is not None else ""
        if cut_short:
            out.write(f"verification FAILED: {incomplete}\n")
        elif failed:
            out.write(f"verification FAILED: {len(failed)} of {_plural(len(outcomes), 'stream')}{of_backup}\n")
        else:
            out.write(f"verified {_plural(len(outcomes), 'stream')}{of_backup}: intact\n")
    if cut_short:
        return EXIT_FAILED
    if not failed:
        return EXIT_OK
    if all(isinstance(o.error, VerificationError) for o in failed):
        return EXIT_FAILED
    # Something else went wrong (I/O, ...): the store could not be read.
    return EXIT_ERROR


def _printable(event: bytes) -> str | None:
    try:
        text = event.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _print_event(out: IO[str], as_json: bool, offset: int, event: bytes) -> None:
    text = _printable(event)
    if as_json:
        _emit_json(
            out,
            {
                "offset": offset,
                "size": len(event),
                "text": text,
                "base64": base64.b64encode(event).decode("ascii"),
            },
        )
    else:
        shown = text if text is not None else "hex:" + event.hex()
        out.write(f"{offset}\t{shown}\n")


def _cmd_dump(store: Store, args: argparse.Namespace, out: IO[str]) -> int:
    # By default from the first offset the stream holds (a pruned stream's
    # is past 0); an explicit --from below it is the iterator's PRUNED error.
    start = store.first_offset(args.stream) if args.start is None else args.start
    events = store.iter(args.stream, start)
    with events:
        limited = events if args.limit is None else itertools.islice(events, args.limit)
        for offset, event in limited:
            _print_event(out, args.json, offset, event)
    return EXIT_OK


#: Events `tail` prints without --from.
TAIL_LAST = 10


def _cmd_tail(store: Store, args: argparse.Namespace, out: IO[str]) -> int:
    end = store.chain_head(args.stream).next_offset
    if args.since is not None:
        start = store.seek_time(args.stream, args.since)
    elif args.start is not None:
        start = args.start
    else:
        start = max(end - TAIL_LAST, store.first_offset(args.stream))
    if args.follow:
        try:
            for offset, event in store.follow(args.stream, start):
                _print_event(out, args.json, offset, event)
                out.flush()
        except KeyboardInterrupt:
            pass
        return EXIT_OK
    if start < end:
        with store.iter(args.stream, start) as events:
            for offset, event in events:
                _print_event(out, args.json, offset, event)
    elif start > end:
        store.read_from(args.stream, start)  # raises OffsetOutOfRangeError
    return EXIT_OK


def _cmd_stats(store: Store, args: argparse.Namespace, out: IO[str], path: str) -> int:
    rows: list[dict[str, Any]] = []
    events = segment_count = size_total = 0
    for stream in store.streams():
        head = store.chain_head(stream)
        stats = store.stats(stream)
        events += stats.events
        segment_count += stats.segments
        size_total += stats.bytes
        rows.append(
            {"stream": stream, "events": stats.events, "segments": stats.segments, "bytes": stats.bytes, "head": str(head)}
        )
    total = {"streams": len(rows), "events": events, "segments": segment_count, "bytes": size_total}
    if args.json:
        _emit_json(out, {"path": path, "streams": rows, "total": total})
        return EXIT_OK
    out.write(f"{'stream':>20}  {'events':>12}  {'segments':>8}  {'bytes':>14}  head\n")
    for r in rows:
        out.write(f"{r['stream']:>20}  {r['events']:>12}  {r['segments']:>8}  {r['bytes']:>14}  {r['head']}\n")
    out.write(
        f"{_plural(len(rows), 'stream')}, {_plural(events, 'event')}, "
        f"{_plural(segment_count, 'segment')}, {size_total} bytes of segments\n"
    )
    return EXIT_OK


# -- export and import ---------------------------------------------------------

#: ``import`` appends in batches of at most this many events, and of at most
#: this many bytes (or one event, if that alone is larger).
IMPORT_BATCH_EVENTS = 1000
IMPORT_BATCH_BYTES = 4 << 20

_ZERO_HASH = bytes(32)
_EVENT_KEYS = frozenset(("stream", "offset", "data", "hash"))
_HEAD_KEYS = frozenset(("stream", "head"))
_BASE_KEYS = frozenset(("stream", "base"))

def _chain_hash(previous: bytes, offset: int, event: bytes) -> bytes:
    """h(offset) = SHA-256(h(offset - 1) || u64_le(offset) || event)."""
    h = hashlib.sha256(previous)
    h.update(offset.to_bytes(8, "little"))
    h.update(event)
    return h.digest()


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":")) + "\n"


def _leaf_hash(store: Store, stream: int, offset: int) -> bytes:
    """h(offset) as the store has it, from the leaf data
    ``u64_le(offset) || h(offset)``."""
    leaf = store.leaf_data(stream, offset)
    if len(leaf) != 40 or int.from_bytes(leaf[:8], "little") != offset:
        raise ChainMismatchError(
            f"chain mismatch in stream {stream}: the leaf data of offset {offset} is not "
            f"u64_le({offset}) || hash: {leaf.hex()}",
            stream=stream,
            offset=offset,
        )
    return leaf[8:]


def _hash_before(store: Store, stream: int, offset: int, first: ChainHead) -> bytes:
    """h(offset - 1) as the store has it: the zero hash before offset 0; the
    hash before the first offset of a pruned stream from ``first``
    (:meth:`Store.first_head`, which the prune anchor keeps); else from the
    leaf data of ``offset - 1``."""
    if offset == 0:
        return _ZERO_HASH
    if offset == first.next_offset:
        return first.hash
    return _leaf_hash(store, stream, offset - 1)


def _cmd_export(store: Store, args: argparse.Namespace, out: IO[str]) -> int:
    stream = args.stream
    head = store.chain_head(stream)
    base = store.first_head(stream)
    first = base.next_offset
    start = first if args.start is None else args.start
    end = head.next_offset if args.end is None else args.end
    for name, offset in (("--to", end), ("--from", start)):
        if offset > head.next_offset:
            raise OffsetOutOfRangeError(
                f"offset {offset} is out of range: stream {stream} ends at {head.next_offset} ({name})",
                stream=stream,
                offset=offset,
                next_offset=head.next_offset,
            )
    for name, offset in (("--from", start), ("--to", end)):
        if offset < first:
            raise PrunedError(
                f"offset {offset} of stream {stream} was pruned: the first retained offset is {first} ({name})",
                stream=stream,
                offset=offset,
                first_offset=first,
            )
    if start > end:
        raise InvalidArgumentError(f"invalid argument: --from {start} is after --to {end}")
    chain = _hash_before(store, stream, start, base)
    if start > 0:
        # The head the events continue, so that the lines verify on their own.
        out.write(_json_line({"stream": stream, "base": f"{start}:{chain.hex()}"}))
    expected = start
    if start < end:
        with store.iter(stream, start) as events:
            for offset, event in itertools.islice(events, end - start):
                if offset != expected:
                    raise ChainMismatchError(
                        f"chain mismatch in stream {stream}: read offset {offset} where {expected} was due",
                        stream=stream,
                        offset=expected,
                    )
                chain = _chain_hash(chain, offset, event)
                out.write(_json_line({"stream": stream, "offset": offset, "data": _b64(event), "hash": chain.hex()}))
                expected += 1
    if expected != end:
        raise ChainMismatchError(
            f"chain mismatch in stream {stream}: the events ended at offset {expected}, before {end}",
            stream=stream,
            offset=expected,
        )
    # The chain computed here must end where the store's does.
    stored = head.hash if end == head.next_offset else _hash_before(store, stream, end, base)
    if chain != stored:
        raise ChainMismatchError(
            f"chain mismatch in stream {stream}: the hash computed for offset {end - 1}, {chain.hex()}, "
            f"is not the store's, {stored.hex()}",
            stream=stream,
            offset=end - 1,
        )
    out.write(_json_line({"stream": stream, "head": f"{end}:{chain.hex()}"}))
    return EXIT_OK


@dataclass
class _ExportFile:
    """What a pass over an export file found (complete once ``head`` is set):
    ``base`` is the head its events continue, from its base line (the empty
    head for an export from offset 0, which has none)."""

    stream: int | None = None
    base: ChainHead = ChainHead.empty()
    events: int = 0
    largest: int = 0
    head: ChainHead | None = None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(f"duplicate key {key!r}")
        doc[key] = value
    return doc


def _is_u64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64_MAX


def _read_export(source: IO[bytes], name: str, found: _ExportFile) -> Iterator[tuple[int, bytes]]:
    """Yields the ``(offset, event)`` of the export file ``source``, checking
    each line as it goes (one line in memory at a time): one stream, an
    optional base line first (``N:h(N-1)``, for an export from offset N >
    0), offsets N, N+1, ... (0, 1, ... without one), every hash the chain
    hash, and last the head line, whose head must be the one the events
    make. Raises VerificationError, naming the line, at the first thing
    that is off; fills in ``found``."""
    chain = _ZERO_HASH
    number = 0

    def refused(why: str, offset: int | None = None) -> VerificationError:
        return VerificationError(f"{name}: line {number}: {why}", stream=found.stream, offset=offset)

    def head_in(doc: dict[str, Any], key: str) -> ChainHead:
        text = doc[key]
        try:
            head = ChainHead.parse(text) if isinstance(text, str) else None
        except Error:
            head = None
        if head is None:
            raise refused(f"{key} {text!r} is not a chain head '<next_offset>:<64 hex digits>'")
        return head

    for number, raw in enumerate(source, 1):
        if found.head is not None:
            raise refused("a line after the head line, which must be the last")
        try:
            doc = json.loads(raw.decode("utf-8").rstrip("\r\n"), object_pairs_hook=_unique_keys)
        except UnicodeDecodeError:
            raise refused("not UTF-8 text") from None
        except json.JSONDecodeError as e:
            raise refused(f"not JSON: {e.msg} at column {e.pos + 1}") from None
        except (ValueError, RecursionError) as e:
            raise refused(f"not JSON: {e}") from None
        if not isinstance(doc, dict) or set(doc) not in (_EVENT_KEYS, _HEAD_KEYS, _BASE_KEYS):
            found_keys = f"keys {sorted(doc)}" if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
            raise refused(
                'expected an event {"stream","offset","data","hash"}, the head line {"stream","head"} '
                'or a first base line {"stream","base"}, '
                f"not {found_keys}"
            )
        stream = doc["stream"]
        if not _is_u64(stream):
            raise refused(f"stream {stream!r} is not an integer in 0..2**64-1")
        if found.stream is None:
            found.stream = stream
        elif stream != found.stream:
            raise refused(f"stream {stream}, after lines of stream {found.stream}: an export holds one stream")
        if "base" in doc:
            if number != 1:
                raise refused("a base line after line 1: it must be the first")
            found.base = head_in(doc, "base")
            chain = found.base.hash
            continue
        if "head" in doc:
            claimed = head_in(doc, "head")
            computed = ChainHead(found.base.next_offset + found.events, chain)
            if claimed != computed:
                raise refused(f"head {claimed} is not the head of the events before it, {computed}")
            found.head = computed
            continue
        offset, data, digest = doc["offset"], doc["data"], doc["hash"]
        due = found.base.next_offset + found.events
        if not _is_u64(offset) or offset != due:
            why = f"offset {offset!r} where {due} was due: offsets start at {found.base.next_offset} and go up by one"
            if number == 1 and _is_u64(offset) and offset > 0:
                why += (
                    f"; an export from offset {offset} begins with its base line "
                    f'{{"stream":{stream},"base":"{offset}:<hex h({offset - 1})>"}}, which `stratalog export` writes'
                )
            raise refused(why)
        if offset == U64_MAX:
            raise refused(f"offset {offset}: the last offset a stream can hold is {U64_MAX - 1}", offset)
        try:
            if not isinstance(data, str):
                raise ValueError("not a string")
            event = base64.b64decode(data, validate=True)
            if _b64(event) != data:
                raise ValueError("not in canonical form")
        except ValueError as e:
            raise refused(f"data of offset {offset} is not standard base64 with padding ({e})", offset) from None
        chain = _chain_hash(chain, offset, event)
        if digest != chain.hex():
            raise refused(f"hash {digest!r} of offset {offset} is not its chain hash, {chain.hex()}", offset)
        found.events += 1
        found.largest = max(found.largest, len(event))
        yield offset, event
    if found.head is None:
        raise VerificationError(
            f"{name}: no head line after line {number}: the file is cut short or not an export",
            stream=found.stream,
        )


def _import_source(file: str, stack: contextlib.ExitStack) -> IO[bytes]:
    """The export file, ready to be read twice: a regular file as it is;
    stdin, a pipe or a device copied to a temporary file first."""
    if file == "-":
        source: IO[bytes] = sys.stdin.buffer
    else:
        source = stack.enter_context(builtins.open(file, "rb"))
        if stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            return source
    spool = stack.enter_context(tempfile.TemporaryFile(prefix="stratalog-import-"))
    shutil.copyfileobj(source, spool, 1 << 20)
    spool.seek(0)
    return spool


def _append_export(
    store: Store, stream: int, start: int, source: IO[bytes], name: str, progress: list[int]
) -> ChainHead:
    """Appends the events of ``source`` (checked again as they are read) to
    ``stream``, from offset ``start`` on, in batches, each one only at the
    offset it is due; counts what is appended in ``progress[0]``. Returns
    the head."""
    batch: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        store.append_batch(stream, batch, expected_offset=start + progress[0])
        progress[0] += len(batch)
        batch, size = [], 0

    for _offset, event in _read_export(source, name, _ExportFile()):
        if batch and (len(batch) >= IMPORT_BATCH_EVENTS or size + len(event) > IMPORT_BATCH_BYTES):
            flush()
        batch.append(event)
        size += len(event)
    if batch:
        flush()
    store.sync(stream)
    return store.chain_head(stream)


def _cmd_import(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    as_json = bool(args.json)
    path = os.fsdecode(args.path)
    name = "stdin" if args.file == "-" else args.file

    def failed(e: Error, text: str, code: int) -> int:
        _failure(out, err, as_json, path, "import", e, f"stratalog: import: {text}")
        return code

    def unreadable(e: OSError) -> int:
        why = f"cannot read {name}: {e.strerror or e}"
        return failed(StoreIOError(why, errno=e.errno), why, EXIT_ERROR)

    refused = "refused, nothing appended"
    with contextlib.ExitStack() as stack:
        # First pass: the whole file checks out, or nothing is appended.
        found = _ExportFile()
        try:
            source = _import_source(args.file, stack)
            for _ in _read_export(source, name, found):
                pass
        except OSError as e:
            return unreadable(e)
        except VerificationError as e:
            return failed(e, f"{refused}: {e.message}", EXIT_FAILED)
        assert found.stream is not None and found.head is not None
        stream, events, base = found.stream, found.events, found.base

        def starts_past_zero(target: str) -> OffsetMismatchError:
            first = base.next_offset
            return OffsetMismatchError(
                f"{name} starts at offset {first} (an export of a pruned stream, or one from --from {first}), "
                f"and {target}: appending cannot start a stream past offset 0, so import takes an export from "
                f"offset {first} only into a stream that ends at its base, {base}. To copy a pruned stream, back "
                "its store up instead: `stratalog backup STORE DEST` makes a store that keeps the prune anchor "
                "and verifies against the same heads",
                expected=first,
                actual=0,
            )

        if base.next_offset > 0 and not os.path.exists(path):
            missing = starts_past_zero(f"{path} does not exist")
            return failed(missing, f"{refused}: {missing.message}", EXIT_FAILED)

        library_log = logging.getLogger("stratalog")
        was_disabled, library_log.disabled = library_log.disabled, True
        try:
            store = stack.enter_context(open_writable(path))
        except Error as e:
            return failed(e, f"cannot open {path}: {e.message}", EXIT_ERROR)
        finally:
            library_log.disabled = was_disabled
        for torn in store.torn_tails:
            err.write(
                f"stratalog: note: stream {torn.stream}: cut off an unfinished batch of {torn.dropped_bytes} "
                f"bytes at the end of {torn.segment} (a crash during an append left it; it held no "
                "acknowledged event).\n"
            )
        try:
            before = store.chain_head(stream)
            if base.next_offset == 0 and before.next_offset != 0:
                raise OffsetMismatchError(
                    f"stream {stream} of {path} is not empty (next offset {before.next_offset}): "
                    "import appends an export from offset 0 only to an empty stream",
                    expected=0,
                    actual=before.next_offset,
                )
            if base.next_offset > 0 and before.next_offset == 0:
                raise starts_past_zero(f"stream {stream} of {path} is empty")
            if before.next_offset != base.next_offset:
                raise OffsetMismatchError(
                    f"stream {stream} of {path} ends at offset {before.next_offset}, not at {base.next_offset}, "
                    f"where {name} starts: import continues a stream only from the head the export starts at",
                    expected=base.next_offset,
                    actual=before.next_offset,
                )
            if before != base:
                raise ChainMismatchError(
                    f"chain mismatch in stream {stream}: {path} holds another history: it ends at {before}, "
                    f"and {name} continues {base}",
                    stream=stream,
                    offset=base.next_offset - 1,
                )
            limit = store.options.max_event_size
            if found.largest > limit:
                raise EventTooLargeError(
                    f"{name} holds an event of {found.largest} bytes, more than the store's "
                    f"max_event_size of {limit}",
                    size=found.largest,
                    max_size=limit,
                )
        except Error as e:
            return failed(e, f"{refused}: {e.message}", EXIT_FAILED)

        # Second pass: append, then sync and check where the stream ends.
        progress = [0]
        try:
            source.seek(0)
            head = _append_export(store, stream, base.next_offset, source, name, progress)
            if head != found.head:
                raise ChainMismatchError(
                    f"chain mismatch in stream {stream}: it ends at {head}, not at the file's head {found.head}",
                    stream=stream,
                )
            store.close()
        except Error as e:
            return failed(
                e,
                f"FAILED after appending {progress[0]} of {_plural(events, 'event')} to stream {stream} of "
                f"{path}: {type(e).__name__}: {e.message}",
                EXIT_FAILED if isinstance(e, VerificationError) else EXIT_ERROR,
            )
        except OSError as e:
            err.write(f"stratalog: import: FAILED after appending {progress[0]} of {_plural(events, 'event')} "
                      f"to stream {stream} of {path}\n")
            return unreadable(e)
    if as_json:
        _emit_json(
            out,
            {"ok": True, "command": "import", "path": path, "file": args.file, "stream": stream,
             "events": events, "head": str(head)},
        )
    else:
        out.write(f"imported {_plural(events, 'event')} from {name} into stream {stream} of {path}: head {head}\n")
    return EXIT_OK


# -- retention and backups ------------------------------------------------------


def _cmd_prune(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    as_json = bool(args.json)
    path = os.fsdecode(args.path)

    def failed(e: Error, text: str, code: int) -> int:
        _failure(out, err, as_json, path, "prune", e, f"stratalog: prune: {text}")
        return code

    if not os.path.isdir(path):
        # A writable open would create a store there: prune never does.
        missing = StoreIOError(f"{path} is not a store directory", errno=errno.ENOENT)
        return failed(missing, f"cannot open {path}: {missing.message}", EXIT_ERROR)
    library_log = logging.getLogger("stratalog")
    was_disabled, library_log.disabled = library_log.disabled, True
    try:
        store = open_writable(path)
    except Error as e:
        return failed(e, f"cannot open {path}: {e.message}", EXIT_ERROR)
    finally:
        library_log.disabled = was_disabled
    for torn in store.torn_tails:
        err.write(
            f"stratalog: note: stream {torn.stream}: cut off an unfinished batch of {torn.dropped_bytes} "
            f"bytes at the end of {torn.segment} (a crash during an append left it; it held no "
            "acknowledged event).\n"
        )
    stream = args.stream
    try:
        with store:
            if args.keep_last is not None:
                policy, value = "keep_last", args.keep_last
                first = store.prune_keep_last(stream, value)
            elif args.keep_bytes is not None:
                policy, value = "keep_bytes", args.keep_bytes
                first = store.prune_keep_bytes(stream, value)
            elif args.keep_newer is not None:
                # The time as the milliseconds compared, in JSON.
                policy, value = "keep_newer_ms", unix_ms("WHEN", args.keep_newer)
                first = store.prune_keep_newer(stream, args.keep_newer)
            else:
                policy, value = "before", args.before
                first = store.prune(stream, value)
    except Error as e:
        return failed(
            e,
            f"{path}: {type(e).__name__}: {e.message}",
            EXIT_FAILED if isinstance(e, VerificationError) else EXIT_ERROR,
        )
    if as_json:
        _emit_json(
            out,
            {"ok": True, "command": "prune", "path": path, "stream": stream, policy: value, "first_offset": first},
        )
    else:
        out.write(f"{first}\n")
    return EXIT_OK


def _cmd_backup(store: Store, args: argparse.Namespace, out: IO[str], path: str) -> int:
    dest = os.fsdecode(args.dest)
    heads = store.backup(dest)
    if args.json:
        _emit_json(
            out,
            {
                "ok": True,
                "command": "backup",
                "path": path,
                "dest": dest,
                "streams": [{"stream": s, **h.to_dict()} for s, h in sorted(heads.items())],
            },
        )
    else:
        for s, h in sorted(heads.items()):
            out.write(f"stream {s}: {h}\n")
    return EXIT_OK


# -- proofs --------------------------------------------------------------------

#: The commands that sign with --key, on a store.
_SIGNING = ("checkpoint", "prove", "prove-consistency", "export-tiles")
#: The commands that open no store.
_STORELESS = ("keygen", "verify-receipt", "verify-checkpoint")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _note_dict(note: str) -> dict[str, Any]:
    origin, size, root = note.split("\n", 3)[:3]
    return {"origin": origin, "size": int(size), "root": base64.b64decode(root).hex()}


def _cmd_checkpoint(store: Store, key: SigningKey, args: argparse.Namespace, out: IO[str]) -> int:
    if args.witness:
        note = store.witness_checkpoint(args.stream, key, args.witness, size=args.size, origin=args.origin)
    else:
        note = store.checkpoint(args.stream, key, size=args.size, origin=args.origin)
    if args.json:
        doc: dict[str, Any] = {"ok": True, "stream": args.stream, **_note_dict(note), "vkey": key.vkey, "checkpoint": note}
        if args.witness:
            doc["witnesses"] = [w.split(None, 1)[0] for w in args.witness]
        _emit_json(out, doc)
    else:
        out.write(note)
    return EXIT_OK


def _cmd_prove(store: Store, key: SigningKey, args: argparse.Namespace, out: IO[str]) -> int:
    receipt = store.receipt(args.stream, args.offset, key, size=args.size)
    if args.json:
        note = _note_dict(receipt.split("\n\n", 1)[1])
        _emit_json(
            out,
            {"ok": True, "stream": args.stream, "offset": args.offset, "size": note["size"], "root": note["root"],
             "vkey": key.vkey, "receipt": receipt},
        )
    else:
        out.write(receipt)
    return EXIT_OK


def _cmd_prove_consistency(store: Store, key: SigningKey, args: argparse.Namespace, out: IO[str]) -> int:
    # Sign first: the proof is to the tree the checkpoint names.
    note = store.checkpoint(args.stream, key, size=args.size)
    size = int(note.split("\n", 2)[1])
    proof = store.consistency_proof(args.stream, args.old_size, size)
    if args.json:
        _emit_json(
            out,
            {"ok": True, "stream": args.stream, "old_size": args.old_size,
             "old_root": store.tree_root(args.stream, args.old_size).hex(), **_note_dict(note),
             "proof": [_b64(h) for h in proof], "vkey": key.vkey, "checkpoint": note},
        )
    else:
        out.write("".join(_b64(h) + "\n" for h in proof) + note)
    return EXIT_OK


def _cmd_export_tiles(store: Store, key: SigningKey, args: argparse.Namespace, out: IO[str]) -> int:
    note = store.export_tiles(args.stream, key, args.out, size=args.size)
    if args.json:
        _emit_json(out, {"ok": True, "stream": args.stream, "dir": args.out, **_note_dict(note), "checkpoint": note})
    else:
        out.write(note)
    return EXIT_OK


def _cmd_keygen(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    as_json = bool(args.json)
    try:
        key = SigningKey.generate(args.name)
        key.save(args.out)
    except Error as e:
        code = EXIT_ERROR
        _failure(out, err, as_json, args.out, "keygen", e, f"stratalog: keygen: {type(e).__name__}: {e.message}")
        return code
    if as_json:
        _emit_json(out, {"ok": True, "name": key.name, "key_id": key.key_id, "vkey": key.vkey, "path": args.out})
    else:
        out.write(key.vkey + "\n")
    return EXIT_OK


class _InputError(Exception):
    pass


def _read_input(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with builtins.open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise _InputError(f"cannot read {path}: {e.strerror or e}") from None


def _vkey_arg(value: str) -> str:
    """--vkey: the verifier key string, or a file holding it."""
    if os.path.isfile(value):
        try:
            with builtins.open(value, "r", encoding="utf-8") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise _InputError(f"cannot read the verifier key file {value}: {e}") from None
    return value.strip()


def _cmd_verify_receipt(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    as_json = bool(args.json)
    if args.receipt == "-" and args.event == "-":
        err.write("stratalog: verify-receipt: RECEIPT and --event cannot both be stdin\n")
        return EXIT_ERROR
    try:
        raw = _read_input(args.receipt)
        event = _read_input(args.event)
        vkey = _vkey_arg(args.vkey)
    except _InputError as e:
        text = f"stratalog: verify-receipt: {e}"
        err.write(text + "\n")
        if as_json:
            _emit_json(out, {"ok": False, "command": "verify-receipt", "path": args.receipt, "code": "STRATALOG_STATUS_IO",
                             "error": "IOError", "status": "IO", "message": str(e), "offset": None})
        return EXIT_ERROR
    try:
        receipt = raw.decode("utf-8")
    except UnicodeDecodeError:
        receipt = None
    try:
        if receipt is None:
            raise VerificationError("verification failed: the receipt is not UTF-8 text")
        offset = _native.verify_receipt(receipt, vkey, event, args.origin)
        size, root = _native.verify_checkpoint(receipt.split("\n\n", 1)[1], vkey)
    except (VerificationError, InvalidArgumentError) as e:
        _failure(out, err, as_json, args.receipt, "verify-receipt", e,
                 f"stratalog: verify-receipt: FAILED: {e.message}")
        return EXIT_FAILED
    origin = receipt.split("\n\n", 1)[1].split("\n", 1)[0]
    if as_json:
        _emit_json(out, {"ok": True, "command": "verify-receipt", "path": args.receipt, "offset": offset,
                         "size": size, "root": root.hex(), "origin": origin, "vkey": vkey})
    else:
        out.write(f"receipt ok: event {offset} is in {origin} at size {size}\n")
    return EXIT_OK


def _cmd_verify_checkpoint(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    as_json = bool(args.json)
    try:
        raw = _read_input(args.note)
        vkey = _vkey_arg(args.vkey)
        witnesses = [_vkey_arg(w) for w in args.witness_vkeys]
    except _InputError as e:
        err.write(f"stratalog: verify-checkpoint: {e}\n")
        if as_json:
            _emit_json(out, {"ok": False, "command": "verify-checkpoint", "path": args.note, "code": "STRATALOG_STATUS_IO",
                             "error": "IOError", "status": "IO", "message": str(e), "offset": None})
        return EXIT_ERROR
    required = args.min_cosignatures
    if required is None:
        required = 1 if witnesses else 0
    try:
        try:
            note = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError("verification failed: the checkpoint is not UTF-8 text") from None
        size, root = verify_witnessed_checkpoint(note, vkey, witnesses, required, origin=args.origin)
        # Which of the witnesses cosigned: each alone, 1 of 1.
        cosigned: list[str] = []
        for w in witnesses:
            try:
                verify_witnessed_checkpoint(note, vkey, [w], 1)
                cosigned.append(w)
            except VerificationError:
                pass
    except (VerificationError, InvalidArgumentError) as e:
        _failure(out, err, as_json, args.note, "verify-checkpoint", e,
                 f"stratalog: verify-checkpoint: FAILED: {e.message}")
        return EXIT_FAILED
    origin = note.split("\n", 1)[0]
    if as_json:
        _emit_json(out, {"ok": True, "command": "verify-checkpoint", "path": args.note, "origin": origin, "size": size,
                         "root": root.hex(), "vkey": vkey, "cosigned_by": cosigned, "min": required})
    else:
        also = f", cosigned by {len(cosigned)} of {len(witnesses)} witness{'' if len(witnesses) == 1 else 'es'}" if witnesses else ""
        out.write(f"checkpoint ok: {origin} at size {size}{also}\n")
    return EXIT_OK


def _tier_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(out if "--json" in argv else None)
    args = parser.parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    if args.command == "verify" and args.against is not None and args.stream is None:
        parser.error("verify --against needs --stream: a head belongs to one stream")
    if args.command == "keygen":
        return _cmd_keygen(args, out, err)
    if args.command == "verify-receipt":
        return _cmd_verify_receipt(args, out, err)
    if args.command == "verify-checkpoint":
        return _cmd_verify_checkpoint(args, out, err)
    if args.command == "import":
        return _cmd_import(args, out, err)
    if args.command == "prune":
        return _cmd_prune(args, out, err)
    path = os.fsdecode(args.path)
    key: SigningKey | None = None
    if args.command in _SIGNING:
        try:
            key = SigningKey.from_file(args.key)
        except Error as e:
            _failure(out, err, as_json, path, args.command, e, f"stratalog: cannot read the key {args.key}: {e.message}")
            return EXIT_ERROR
    # The CLI reports torn tails itself (below), not through the library's
    # log record as well.
    library_log = logging.getLogger("stratalog")
    was_disabled, library_log.disabled = library_log.disabled, True
    try:
        if "://" in path:
            store = open_read_only(path, tier_options=dict(getattr(args, "tier_options", None) or []))
        else:
            store = open_read_only(path)
    except VerificationError as e:
        text = f"stratalog: {path}: {type(e).__name__}: {e.message}"
        _failure(out, err, as_json, path, args.command, e, text)
        return EXIT_FAILED
    except Error as e:
        _failure(out, err, as_json, path, args.command, e, f"stratalog: cannot open {path}: {e.message}")
        return EXIT_ERROR
    finally:
        library_log.disabled = was_disabled
    if args.command in ("head", "verify"):
        for torn in store.torn_tails:
            err.write(
                f"stratalog: note: stream {torn.stream}: an unfinished batch of {torn.dropped_bytes} bytes "
                f"ends {torn.segment} (a crash during an append left it; it holds no acknowledged event). "
                "It is ignored here, and the next read-write open cuts it off.\n"
            )
    try:
        with store:
            if args.command == "head":
                return _cmd_head(store, args, out)
            if args.command == "verify":
                return _cmd_verify(store, args, out, err, path)
            if args.command == "dump":
                return _cmd_dump(store, args, out)
            if args.command == "tail":
                return _cmd_tail(store, args, out)
            if args.command == "export":
                return _cmd_export(store, args, out)
            if args.command == "backup":
                return _cmd_backup(store, args, out, path)
            if key is not None:
                if args.command == "checkpoint":
                    return _cmd_checkpoint(store, key, args, out)
                if args.command == "prove":
                    return _cmd_prove(store, key, args, out)
                if args.command == "prove-consistency":
                    return _cmd_prove_consistency(store, key, args, out)
                return _cmd_export_tiles(store, key, args, out)
            return _cmd_stats(store, args, out, path)
    except BrokenPipeError:
        # `stratalog dump ... | head`: the reader went away; that is fine.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except (VerificationError, CheckpointRefusedError, WitnessError) as e:
        _failure(out, err, as_json, path, args.command, e, f"stratalog: {path}: {type(e).__name__}: {e.message}")
        return EXIT_FAILED
    except Error as e:
        _failure(out, err, as_json, path, args.command, e, f"stratalog: {path}: {type(e).__name__}: {e.message}")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
