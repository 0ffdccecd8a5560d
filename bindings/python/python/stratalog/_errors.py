"""The exception hierarchy: one class per status code of the C ABI.

Every error raised by the library is a :class:`stratalog.Error`. Its message
is the library's own (``stratalog_last_error()``) and its attributes carry
the structured detail (``stratalog_last_error_detail()``)::

    Error
    ├── InvalidArgumentError      (also ValueError)
    │   └── NullArgumentError     (a bug in the binding, never expected)
    ├── IOError                   (also OSError, with .errno)
    ├── VerificationError         (the history, a proof, checkpoint or receipt does not check out)
    │   ├── CorruptionError       bytes fail a checksum or the structure
    │   └── ChainMismatchError    intact records do not form the chain
    ├── CheckpointRefusedError    signing would fork the log (smaller size, other tree)
    ├── WitnessError              a witness did not cosign a checkpoint
    ├── OffsetMismatchError       .expected / .actual
    ├── OffsetOutOfRangeError     (also IndexError) .offset / .next_offset
    ├── PrunedError               (also IndexError) .offset / .first_offset: pruned away
    ├── EventTooLargeError        (also ValueError) .size / .max_size
    ├── LockedError               another writer holds the store
    ├── ReadOnlyError             the store was opened read-only
    ├── ClosedError               the store was closed
    ├── PoisonedError             an earlier write/fsync failed on the stream
    ├── ForkedError               a forked child wrote through its parent's store
    ├── TimeoutError              (also the builtin TimeoutError) a wait ran out
    └── PanicError                a bug in stratalog
"""

from __future__ import annotations

import builtins
import enum
from typing import Any

__all__ = [
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


class Status(enum.IntEnum):
    """The status codes of the C ABI (``enum stratalog_status``)."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    IO = 3
    CORRUPTION = 4
    CHAIN_MISMATCH = 5
    OFFSET_MISMATCH = 6
    OFFSET_OUT_OF_RANGE = 7
    EVENT_TOO_LARGE = 8
    LOCKED = 9
    READ_ONLY = 10
    CLOSED = 11
    PANIC = 12
    POISONED = 13
    FORKED = 14
    TIMEOUT = 15
    VERIFICATION_FAILED = 16
    CHECKPOINT_REFUSED = 17
    WITNESS_FAILED = 18
    PRUNED = 19


class Error(Exception):
    """Base class of every error stratalog raises.

    ``status`` is the :class:`Status` the C library returned, ``message`` its
    description. ``stream`` is the stream concerned when the library says
    which (corruption, chain mismatch, offset out of range, poisoned), else
    None.
    """

    status: Status | int

    def __init__(self, message: str = "", *, stream: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stream = stream

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(Error, ValueError):
    """An argument was rejected before anything was done (bad options, an
    empty batch, a path that is not UTF-8, text that is not a head, ...)."""

    status = Status.INVALID_ARGUMENT


class NullArgumentError(InvalidArgumentError):
    """The library was passed a NULL pointer: a bug in the binding."""

    status = Status.NULL_ARGUMENT


class IOError(Error, OSError):  # noqa: A001 - deliberately stratalog.IOError
    """The operating system reported an I/O failure. Also an :class:`OSError`
    whose ``errno`` is the OS error code (None when the OS gave none)."""

    status = Status.IO

    def __init__(self, message: str = "", *, errno: int | None = None) -> None:
        Error.__init__(self, message)
        if errno:
            self.errno = errno
            self.strerror = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # errno lives in OSError's C slots, not in __dict__: pass it again.
        return (_rebuild_io_error, (type(self), self.message, self.errno), self.__dict__)


class VerificationError(Error):
    """Something does not check out. Raised as such (status
    ``VERIFICATION_FAILED``) when a proof, signed checkpoint or receipt
    fails :func:`stratalog.verify_receipt` and friends (the message says
    which part and why); its subclasses :class:`CorruptionError` and
    :class:`ChainMismatchError` say the stored history is not what was
    written, with ``offset`` where the check failed (the first bad event or
    record; None for a proof). Catch this to handle every kind of
    verification failure."""

    status = Status.VERIFICATION_FAILED

    def __init__(self, message: str = "", *, stream: int | None = None, offset: int | None = None) -> None:
        super().__init__(message, stream=stream)
        self.offset = offset


class CorruptionError(VerificationError):
    """Bytes on disk fail a checksum, or a record's or file's structure is
    wrong."""

    status = Status.CORRUPTION


class ChainMismatchError(VerificationError):
    """Records are intact but do not form the hash chain, or the stream no
    longer holds the history a given head summarizes (truncation, rollback,
    rewrite)."""

    status = Status.CHAIN_MISMATCH


class CheckpointRefusedError(Error):
    """:meth:`Store.checkpoint` (or a receipt or tiles export, which sign
    one) refused to sign: a smaller size than a checkpoint signed before for
    the origin, or a tree that does not extend the one signed before (a
    store restored from an old backup and appended to). Signing it would
    fork the log. The store records the last signed head per origin under
    ``signed/``."""

    status = Status.CHECKPOINT_REFUSED


class WitnessError(Error):
    """:meth:`Store.witness_checkpoint` got no cosignature from a witness:
    it could not be reached (or timed out after 30 s), answered an HTTP
    error (the message has the status and the witness's text: 403 the
    log's signature, 404 an origin it does not know, 422 a consistency
    proof that fails, i.e. the witness saw another history), answered
    with no valid cosignature by its key, or last cosigned a larger size.
    The message names the witness (key name and URL). Nothing is
    returned; what earlier witnesses cosigned is remembered (``witnessed/``)."""

    status = Status.WITNESS_FAILED


class OffsetMismatchError(Error):
    """An append's ``expected_offset`` did not match the stream's next offset;
    nothing was written. ``expected`` is what the caller passed, ``actual`` the
    stream's next offset."""

    status = Status.OFFSET_MISMATCH

    def __init__(self, message: str = "", *, expected: int = 0, actual: int = 0) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class OffsetOutOfRangeError(Error, IndexError):
    """A read started past the end of the stream. ``offset`` is the offset
    asked for, ``next_offset`` where the stream ends."""

    status = Status.OFFSET_OUT_OF_RANGE

    def __init__(
        self, message: str = "", *, stream: int | None = None, offset: int = 0, next_offset: int = 0
    ) -> None:
        super().__init__(message, stream=stream)
        self.offset = offset
        self.next_offset = next_offset


class PrunedError(Error, IndexError):
    """A read or iterator started below the stream's first offset: those
    events were removed by :meth:`Store.prune` (or ``prune_keep_last`` /
    ``prune_keep_bytes``). ``stream`` and ``offset`` say which read,
    ``first_offset`` is the stream's first retained offset, where reading
    may start again."""

    status = Status.PRUNED

    def __init__(
        self, message: str = "", *, stream: int | None = None, offset: int = 0, first_offset: int = 0
    ) -> None:
        super().__init__(message, stream=stream)
        self.offset = offset
        self.first_offset = first_offset


class EventTooLargeError(Error, ValueError):
    """An event is larger than the store's maximum event size. ``size`` is
    the event's size, ``max_size`` the limit."""

    status = Status.EVENT_TOO_LARGE

    def __init__(self, message: str = "", *, size: int = 0, max_size: int = 0) -> None:
        super().__init__(message)
        self.size = size
        self.max_size = max_size


class LockedError(Error):
    """Another process, or another open handle in this process, writes the
    store. (The lock is per open: opening one directory twice for writing in
    one process is locked too.)"""

    status = Status.LOCKED


class ReadOnlyError(Error):
    """The store was opened read-only."""

    status = Status.READ_ONLY


class ClosedError(Error):
    """The store was closed."""

    status = Status.CLOSED


class PoisonedError(Error):
    """An earlier write or fsync failed on this stream, so the state of its
    file is unknown: it refuses appends until the store is reopened."""

    status = Status.POISONED


class ForkedError(Error):
    """This process is a child made by ``fork()`` (``os.fork``, the fork
    start method of ``multiprocessing``, a pre-forking server) and the store
    was opened by its parent: writing through the parent's handle would fork
    the chain, so appends and sync() are refused. Reads still work, and
    closing the child's copy writes nothing and keeps the parent's lock.
    Open the store in the child instead (after the parent closed it)."""

    status = Status.FORKED


class TimeoutError(Error, builtins.TimeoutError):
    """:meth:`Store.wait` ran out of time before the stream grew past the
    offset. ``stream`` and ``offset`` say which wait."""

    status = Status.TIMEOUT

    def __init__(self, message: str = "", *, stream: int | None = None, offset: int | None = None) -> None:
        super().__init__(message, stream=stream)
        self.offset = offset


class PanicError(Error):
    """The library panicked: a bug in stratalog. The store is still usable."""

    status = Status.PANIC


def _rebuild_io_error(cls: type[IOError], message: str, errno: int | None) -> IOError:
    return cls(message, errno=errno)


_SIMPLE: dict[int, type[Error]] = {
    Status.NULL_ARGUMENT: NullArgumentError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.LOCKED: LockedError,
    Status.READ_ONLY: ReadOnlyError,
    Status.CLOSED: ClosedError,
    Status.PANIC: PanicError,
    Status.FORKED: ForkedError,
    Status.CHECKPOINT_REFUSED: CheckpointRefusedError,
    Status.WITNESS_FAILED: WitnessError,
}


def _status(code: int) -> Status | int:
    try:
        return Status(code)
    except ValueError:
        return code


def _from_native(
    status: int,
    message: str,
    os_error: int,
    stream: int,
    offset: int,
    expected: int,
    actual: int,
    next_offset: int,
    size: int,
    max_size: int,
    first_offset: int = 0,
) -> Error:
    """Builds the exception for a failed C call (called by ``_native``).

    The arguments are the status, stratalog_last_error() and the fields of
    stratalog_error_detail; fields that do not apply to the status are 0.
    """
    err: Error
    if status == Status.IO:
        err = IOError(message, errno=os_error or None)
    elif status == Status.CORRUPTION:
        err = CorruptionError(message, stream=stream, offset=offset)
    elif status == Status.CHAIN_MISMATCH:
        err = ChainMismatchError(message, stream=stream, offset=offset)
    elif status == Status.OFFSET_MISMATCH:
        err = OffsetMismatchError(message, expected=expected, actual=actual)
    elif status == Status.OFFSET_OUT_OF_RANGE:
        err = OffsetOutOfRangeError(message, stream=stream, offset=offset, next_offset=next_offset)
    elif status == Status.PRUNED:
        err = PrunedError(message, stream=stream, offset=offset, first_offset=first_offset)
    elif status == Status.EVENT_TOO_LARGE:
        err = EventTooLargeError(message, size=size, max_size=max_size)
    elif status == Status.VERIFICATION_FAILED:
        err = VerificationError(message)
    elif status == Status.TIMEOUT:
        err = TimeoutError(message, stream=stream, offset=offset)
    elif status == Status.POISONED:
        err = PoisonedError(message, stream=stream)
    elif status in _SIMPLE:
        err = _SIMPLE[status](message)
    else:
        err = Error(message)
        err.status = _status(status)
    return err
