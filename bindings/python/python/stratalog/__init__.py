"""stratalog: an embeddable, append-only, tamper-evident event log.

Events (byte strings) are appended to numbered streams. Every event is
linked to the one before it by a SHA-256 hash chain, so any edit, deletion,
reordering or insertion is found by :meth:`Store.verify`, and truncation or
rollback by :meth:`Store.verify_against` a :class:`ChainHead` kept
elsewhere::

    import stratalog

    with stratalog.open("data") as store:
        head = store.append_batch(7, [b"alpha", b"beta"])
        store.append(7, b"gamma")
        for offset, event in store.iter(7):
            print(offset, event)
        store.verify_against(7, head)     # the history `head` covers is intact

Each stream is also a Merkle tree: :meth:`Store.checkpoint` signs its root
with a :class:`SigningKey` (C2SP checkpoints), :meth:`Store.receipt` gives
an offline proof that one event is in the log, and
:func:`verify_receipt`, :func:`verify_inclusion`,
:func:`verify_consistency` and :func:`verify_checkpoint` check them with no
store. :meth:`Store.witness_checkpoint` has the checkpoint cosigned by
witnesses (C2SP tlog-witness) and :func:`verify_witnessed_checkpoint`
checks k of n cosignatures.

This package calls the C ABI of libstratalog (``include/stratalog.h``)
through a thin native module; errors are :class:`stratalog.Error`
subclasses, one per status code. The ``stratalog`` command (also
``python -m stratalog``) verifies and inspects stores from the shell.
"""

from __future__ import annotations

from . import _native
from ._errors import (
    ChainMismatchError,
    CheckpointRefusedError,
    ClosedError,
    CorruptionError,
    Error,
    EventTooLargeError,
    InvalidArgumentError,
    IOError,
    LockedError,
    NullArgumentError,
    OffsetMismatchError,
    OffsetOutOfRangeError,
    PanicError,
    PoisonedError,
    PrunedError,
    ForkedError,
    TimeoutError,
    ReadOnlyError,
    Status,
    VerificationError,
    WitnessError,
)
from ._store import BytesLike, EventIterator, PathLike, Store, TimeLike, open, open_in_memory, open_read_only
from ._proofs import (
    LEAF_DATA_SIZE,
    SigningKey,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
    verify_witnessed_checkpoint,
)
from ._types import BackedUpStream, ChainHead, Compression, StoreOptions, StreamStats, TierStats, TornTail, VerifyReport

# Public classes present themselves as stratalog.X (in reprs and tracebacks).
for _cls in (
    Store, SigningKey, ChainHead, BackedUpStream, VerifyReport, StoreOptions, StreamStats, TierStats, TornTail, Compression, Status, Error, InvalidArgumentError,
    NullArgumentError, IOError, VerificationError, CorruptionError, ChainMismatchError,
    OffsetMismatchError, OffsetOutOfRangeError, PrunedError, EventTooLargeError, LockedError, ReadOnlyError,
    ClosedError, PoisonedError, ForkedError, TimeoutError, PanicError, CheckpointRefusedError, WitnessError,
):
    _cls.__module__ = __name__
del _cls

__version__: str = _native.version()
"""The version of libstratalog this package wraps (the package's version)."""

__all__ = [
    "__version__",
    "open",
    "open_in_memory",
    "open_read_only",
    "Store",
    "EventIterator",
    "SigningKey",
    "verify_receipt",
    "verify_checkpoint",
    "verify_witnessed_checkpoint",
    "verify_inclusion",
    "verify_consistency",
    "LEAF_DATA_SIZE",
    "ChainHead",
    "BackedUpStream",
    "VerifyReport",
    "StoreOptions",
    "StreamStats",
    "TierStats",
    "TornTail",
    "Compression",
    "BytesLike",
    "PathLike",
    "TimeLike",
    "Status",
    "Error",
    "InvalidArgumentError",
    "NullArgumentError",
    "IOError",
    "VerificationError",
    "CorruptionError",
    "ChainMismatchError",
    "CheckpointRefusedError",
    "WitnessError",
    "OffsetMismatchError",
    "OffsetOutOfRangeError",
    "PrunedError",
    "EventTooLargeError",
    "LockedError",
    "ReadOnlyError",
    "ClosedError",
    "PoisonedError",
    "ForkedError",
    "TimeoutError",
    "PanicError",
]
