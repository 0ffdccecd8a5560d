"""The Store class and the functions that open one."""

from __future__ import annotations

import datetime
import logging
import math
import os
from fractions import Fraction
from types import TracebackType
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence, Union

from . import _native
from ._errors import ClosedError, InvalidArgumentError, TimeoutError
from ._types import BackedUpStream, ChainHead, Compression, CompressionLike, StoreOptions, StreamStats, TierStats, TornTail, VerifyReport, check_u64

if TYPE_CHECKING:
    from ._proofs import SigningKey

__all__ = ["Store", "EventIterator", "open", "open_in_memory", "open_read_only", "BytesLike", "PathLike", "TimeLike"]

BytesLike = Union[bytes, bytearray, memoryview]
"""What an event may be: bytes (passed without a copy), bytearray or
memoryview (copied once). ``str`` is refused with TypeError: encode text
yourself."""

PathLike = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", bytes]

TimeLike = Union[datetime.datetime, int, float]
"""A point in time for :meth:`Store.seek_time` and
:meth:`Store.prune_keep_newer`: a :class:`datetime.datetime` (aware, or
naive for local time, as :meth:`datetime.datetime.timestamp` takes it), or
a number of seconds since the Unix epoch (an int, or a float such as
:func:`time.time` returns)."""

EventIterator = _native.EventIter
"""The iterator :meth:`Store.iter` returns: yields ``(offset, bytes)``."""

DEFAULT_READ_BYTES = 1 << 20


def _path(path: PathLike) -> str:
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError("invalid argument: path is not valid UTF-8") from None
    if not isinstance(raw, str):  # pragma: no cover - os.fspath guarantees it
        raise TypeError(f"path must be str or os.PathLike, not {type(path).__name__}")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError("invalid argument: path is not valid UTF-8") from None
    return raw


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _unix_ms(name: str, when: object) -> int:
    """``when`` (a :data:`TimeLike`) as whole Unix milliseconds, rounded
    down. A float is first rounded to the microsecond, exactly, as
    :meth:`datetime.datetime.fromtimestamp` rounds it, so a datetime and its
    ``timestamp()`` always give the same milliseconds (float arithmetic such
    as ``t * 1000`` could land one below). A naive datetime is local time.
    InvalidArgumentError (a ValueError) before the epoch, for NaN or an
    infinity; TypeError for anything else (bool included)."""
    if isinstance(when, datetime.datetime):
        # astimezone() takes a naive datetime as local time, as timestamp() does.
        micros = (when.astimezone(datetime.timezone.utc) - _EPOCH) // _MICROSECOND
    elif isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError(
            f"{name} must be a datetime.datetime or a number of seconds since the Unix epoch, "
            f"not {type(when).__name__}"
        )
    elif isinstance(when, int):
        micros = int(when) * 1_000_000
    elif not math.isfinite(when):
        raise InvalidArgumentError(f"invalid argument: {name} must be a finite number of seconds, got {when!r}")
    else:
        micros = round(Fraction(when) * 1_000_000)
    if micros < 0:
        raise InvalidArgumentError(f"invalid argument: {name} is before the Unix epoch ({when!r})")
    return check_u64(name, micros // 1000)


def _cursor_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a cursor name must be a str, not {type(name).__name__}")
    return name


def _opt_u64(name: str, value: int | None) -> int | None:
    return None if value is None else check_u64(name, value)


def _key(key: object) -> _native.SigningKey:
    from ._proofs import SigningKey

    if not isinstance(key, SigningKey):
        raise TypeError(f"key must be a stratalog.SigningKey, not {type(key).__name__}")
    return key._native


def _witness_specs(witnesses: object) -> list[str]:
    """``"<vkey> <url>"`` strings from strings or (vkey, url) tuples."""
    if isinstance(witnesses, (str, bytes)) or not isinstance(witnesses, Iterable):
        raise TypeError(
            "witnesses is a sequence of \"<vkey> <url>\" strings or (vkey, url) tuples, "
            f"not {type(witnesses).__name__}"
        )
    specs: list[str] = []
    for i, w in enumerate(witnesses):
        if isinstance(w, str):
            specs.append(w)
        elif isinstance(w, tuple) and len(w) == 2 and all(isinstance(x, str) for x in w):
            vkey, url = w
            if not vkey.strip() or not url.strip() or any(c.isspace() for c in vkey.strip() + url.strip()):
                raise InvalidArgumentError(f"witness {i}: neither the vkey nor the URL may be empty or hold spaces")
            specs.append(f"{vkey.strip()} {url.strip()}")
        else:
            raise TypeError(f"witness {i} must be a \"<vkey> <url>\" str or a (vkey, url) tuple of str, not {w!r}")
    return specs


class Store:
    """An open stratalog store. Make one with :func:`stratalog.open`,
    :func:`stratalog.open_in_memory` or :func:`stratalog.open_read_only`.

    A store is a directory of numbered streams (``stream`` is any int in
    0..2**64-1). Each stream is an append-only sequence of byte-string events
    with dense offsets 0, 1, 2, ..., linked by a SHA-256 hash chain.

    Use it as a context manager (it is closed on exit), or call
    :meth:`close`. One store may be used by many threads at once; every call
    that touches the disk releases the GIL. Any call on a closed store raises
    :class:`ClosedError`.
    """

    __slots__ = ("_native", "_path", "__weakref__")

    def __init__(self, native: _native.Store, path: str | None) -> None:
        """Internal: use :func:`stratalog.open` and friends."""
        if not isinstance(native, _native.Store):
            raise TypeError("use stratalog.open(), open_in_memory() or open_read_only() to make a Store")
        self._native = native
        self._path = path

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Syncs and closes the store, releasing its writer lock. Calls in
        progress on other threads finish first; every later call raises
        :class:`ClosedError`. Closing twice is a no-op. Raises
        :class:`IOError` if the final sync failed."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def path(self) -> str | None:
        """The store's directory, None for an in-memory store."""
        return self._path

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only."""
        return self._native.read_only

    @property
    def options(self) -> StoreOptions:
        """The options the store was opened with (the defaults for a
        read-only store, apart from ``max_event_size``)."""
        segment_size, interval, codec, max_event_size, fsync, max_open_files, timestamps = self._native.options()
        return StoreOptions(
            segment_size, interval, Compression(codec), max_event_size, fsync, max_open_files, timestamps
        )

    @property
    def torn_tails(self) -> tuple[TornTail, ...]:
        """The unfinished batches this open found at the ends of streams,
        left by a crash in the middle of an append: cut off by a writable
        open, ignored by a read-only one. Empty after a clean shutdown. Each
        one is also logged (logger ``"stratalog"``, level WARNING) when the
        store opens."""
        return tuple(TornTail(*t) for t in self._native.torn_tails())

    def __repr__(self) -> str:
        where = "in memory" if self._path is None else repr(self._path)
        flags = "".join((" read-only" if self.read_only else "", " closed" if self.closed else ""))
        return f"<stratalog.Store {where}{flags}>"

    # -- writing -------------------------------------------------------------

    def append_batch(
        self,
        stream: int,
        events: Iterable[BytesLike],
        *,
        expected_offset: int | None = None,
        fsync: bool | None = None,
    ) -> ChainHead:
        """Appends ``events`` to ``stream`` atomically: after any crash either
        all of them are in the stream or none is. Returns the new head.

        ``events`` is a non-empty iterable of bytes-like objects. With
        ``expected_offset`` the append happens only if the stream's next
        offset equals it (:class:`OffsetMismatchError` otherwise, nothing
        written): that makes concurrent writers safe. ``fsync`` True makes the
        batch durable before returning; None uses the store's default.

        Raises TypeError for an event that is not bytes-like (a ``str`` too),
        :class:`InvalidArgumentError` for an empty batch,
        :class:`EventTooLargeError`, :class:`ReadOnlyError`,
        :class:`ClosedError`, :class:`PoisonedError`, :class:`IOError`.
        """
        next_offset, digest = self._native.append_batch(
            stream, events, expected_offset, None if fsync is None else bool(fsync)
        )
        return ChainHead._trusted(next_offset, digest)

    def append(
        self,
        stream: int,
        event: BytesLike,
        *,
        expected_offset: int | None = None,
        fsync: bool | None = None,
    ) -> ChainHead:
        """Appends one event; see :meth:`append_batch`. Returns the new head,
        whose ``next_offset - 1`` is the event's offset."""
        next_offset, digest = self._native.append(
            stream, event, expected_offset, None if fsync is None else bool(fsync)
        )
        return ChainHead._trusted(next_offset, digest)

    def sync(self, stream: int | None = None) -> None:
        """Makes every append so far durable (survives a power loss): the
        appends to ``stream`` only, or with no argument those to every
        stream."""
        self._native.sync(stream)

    def sync_tier(self) -> None:
        """Seals the active segment of every stream holding unsealed events
        and waits until the tier's bucket holds everything appended before
        the call (the GIL is released meanwhile). Uploads otherwise run in
        the background; a machine lost before they finish loses what was
        not uploaded. Raises :class:`InvalidArgumentError` on a store without
        a tier, :class:`LockedError` once another writer took the tier
        over, :class:`IOError` if an upload fails meanwhile (uploads go on
        in the background; call again to wait again)."""
        self._native.sync_tier()

    def tier_stats(self) -> TierStats:
        """What the tier's uploader is doing now (see :class:`TierStats`)."""
        return TierStats(*self._native.tier_stats())

    # -- reading -------------------------------------------------------------

    def read_from(self, stream: int, offset: int = 0, *, max_bytes: int = DEFAULT_READ_BYTES) -> list[bytes]:
        """The events of ``stream`` from ``offset`` on, stopping before their
        total size would pass ``max_bytes`` but returning at least one event
        if there is one. Reading at the end returns ``[]``; past the end
        raises :class:`OffsetOutOfRangeError`, below the first offset of a
        pruned stream :class:`PrunedError`. Every event is checksummed and
        chain-verified before it is returned."""
        return self._native.read_from(stream, offset, max_bytes)

    def iter(self, stream: int, start: int = 0) -> EventIterator:
        """A lazy iterator of ``(offset, event)`` over ``stream`` from
        ``start`` to the head as it is now. It reads a bounded window at a
        time, so it walks streams of any size in constant memory. Errors
        (a start past the end or below a pruned stream's first offset,
        damage) are raised by ``next()``.

        It does not borrow the store: an iterator made before :meth:`close`
        goes on to the head it saw. Use it from one thread at a time; it is
        also a context manager that frees it early."""
        return self._native.iter(stream, start)

    def chain_head(self, stream: int) -> ChainHead:
        """The current head of ``stream`` (the empty head for a stream that
        does not exist). No I/O."""
        next_offset, digest = self._native.chain_head(stream)
        return ChainHead._trusted(next_offset, digest)

    def wait(self, stream: int, offset: int, timeout: float | None = None) -> int:
        """Blocks until ``stream``'s next offset is greater than ``offset``
        and returns it: at once if it already is, otherwise as soon as an
        append takes it there. Raises :class:`TimeoutError` after
        ``timeout`` seconds (None: never) and :class:`ClosedError` if the
        store is closed meanwhile. The GIL is released while waiting, and
        Ctrl-C interrupts it. On a store opened for writing the appends are
        its own (from any thread). A store from :func:`open_read_only`
        follows the writer in another process: the wait takes in what the
        writer has committed to the stream since (whole batches only), and
        later reads see it. A reader of a bucket never grows (it reads the
        manifests as they were at open): past its end it raises
        :class:`InvalidArgumentError` at once rather than wait forever."""
        return self._native.wait(stream, offset, timeout)

    def follow(self, stream: int, start: int = 0, *, timeout: float | None = None) -> Iterator[tuple[int, bytes]]:
        """Yields ``(offset, event)`` for every event of ``stream`` from
        ``start`` on, then blocks for new ones as they are appended, like
        ``tail -f``. It ends when the store is closed, or when no event
        arrives within ``timeout`` seconds (None: it never times out).

        On a store opened for writing it sees that store's appends; on one
        from :func:`open_read_only` it follows the writer in another
        process, taking in whole committed batches only (see
        :meth:`wait`). The GIL is released while it waits, and Ctrl-C
        interrupts it (KeyboardInterrupt). To resume after a restart, start
        from a committed :meth:`cursor`."""
        check_u64("stream", stream)
        next_offset = check_u64("start", start)
        # One iterator, taken on after each wait: it verifies on from where
        # it stopped instead of again from the nearest checkpoint.
        events: EventIterator | None = None
        try:
            while True:
                try:
                    self.wait(stream, next_offset, timeout)
                    if events is None or not self._native.extend_iter(events):
                        events = self.iter(stream, next_offset)
                    for offset, event in events:
                        next_offset = offset + 1
                        yield offset, event
                except (ClosedError, TimeoutError):
                    return
        finally:
            if events is not None:
                events.close()

    def cursor(self, stream: int, name: str) -> int:
        """Where the consumer ``name`` of ``stream`` committed it had
        processed up to (:meth:`commit_cursor`): the offset to resume
        reading from. 0 if it never committed; never past the stream's end
        as this store knows it.

        Raises :class:`InvalidArgumentError` for a bad name (1 to 128 ASCII
        letters, digits, ``.``, ``_`` or ``-``, not starting with ``.``),
        :class:`CorruptionError` if the cursor's file fails its checks."""
        return self._native.cursor(check_u64("stream", stream), _cursor_name(name))

    def commit_cursor(self, stream: int, name: str, offset: int) -> None:
        """Records, atomically and durably, that the consumer ``name`` of
        ``stream`` has processed every event before ``offset``, so that
        :meth:`cursor` returns it after a restart, a crash or a power loss
        (at-least-once: commit after processing). The events before
        ``offset`` are made durable first, so a cursor is never ahead of
        the data. Works on a store from :func:`open_read_only`, without the
        writer lock. Cursors are not events and never touch the chain. One
        consumer process per name.

        Raises :class:`OffsetOutOfRangeError` past the stream's end,
        :class:`InvalidArgumentError` for a bad name, or on a reader of a
        bucket, which has no directory to keep cursors in."""
        self._native.commit_cursor(check_u64("stream", stream), _cursor_name(name), check_u64("offset", offset))

    def stats(self, stream: int) -> StreamStats:
        """How many segments and bytes ``stream`` holds and which offsets,
        counted without reading its records (all zeros for a stream that
        does not exist)."""
        return StreamStats(*self._native.stats(stream))

    def streams(self) -> list[int]:
        """The ids of the streams holding at least one event, increasing."""
        return self._native.streams()

    # -- retention and backups -----------------------------------------------

    def first_offset(self, stream: int) -> int:
        """The first offset ``stream`` still holds: 0 unless it was pruned.
        Reads and iterators below it raise :class:`PrunedError`."""
        return self._native.first_offset(check_u64("stream", stream))

    def first_head(self, stream: int) -> ChainHead:
        """The head the events ``stream`` still holds continue: its
        :meth:`first_offset` F and the chain hash of event F - 1, which the
        prune anchor keeps (the empty head unless the stream was pruned).
        The retained events check out from it alone, as a whole stream does
        from the empty head. Raises :class:`ChainMismatchError` if the first
        retained segment does not start from it (a forged anchor)."""
        next_offset, digest = self._native.first_head(check_u64("stream", stream))
        return ChainHead._trusted(next_offset, digest)

    def prune(self, stream: int, before: int) -> int:
        """Removes the events of ``stream`` below ``before``, a whole sealed
        segment at a time, and returns the stream's first offset afterwards.
        A segment goes only if every event in it lies below ``before``, and
        the active segment never goes, so the result may be below
        ``before`` (it never moves back). The prune is durable before any
        file is removed: a crash leaves the old first offset or the new one.

        Afterwards, reads and iterators below the first offset raise
        :class:`PrunedError`; :meth:`verify` starts at it, and
        :meth:`verify_against` a head kept before still passes. Heads, Merkle
        roots, proofs and checkpoints about retained events stay valid and
        byte-identical. A stream that does not exist has first offset 0.

        With a tier, the bucket follows in the background: the anchor goes
        up, the stream's manifest moves to the new first offset, then the
        objects below it are deleted; :meth:`sync_tier` returns once it has.

        Raises :class:`ReadOnlyError` on a store from
        :func:`open_read_only`, :class:`ClosedError`, :class:`IOError`."""
        return self._native.prune(check_u64("stream", stream), check_u64("before", before))

    def prune_keep_last(self, stream: int, count: int) -> int:
        """:meth:`prune` so that ``stream`` keeps at least its last ``count``
        events (whole sealed segments go, as far as that allows). Returns
        the first offset."""
        return self._native.prune_keep_last(check_u64("stream", stream), check_u64("count", count))

    def prune_keep_bytes(self, stream: int, max_bytes: int) -> int:
        """:meth:`prune` so that the segment files of ``stream`` hold at most
        ``max_bytes`` bytes (the oldest sealed segments go first; the active
        segment always stays, whatever its size). Returns the first
        offset."""
        return self._native.prune_keep_bytes(check_u64("stream", stream), check_u64("max_bytes", max_bytes))

    def seek_time(self, stream: int, when: TimeLike) -> int:
        """The first offset of ``stream`` from which every batch was
        appended at or after ``when``, by the time each batch of a store
        opened with ``timestamps=True`` records: the offset just after the
        last batch recorded earlier, the stream's first offset if none is,
        its next offset if all are. Read from there with :meth:`iter` or
        :meth:`read_from`.

        ``when`` is a :class:`datetime.datetime` (aware, or naive for local
        time) or seconds since the Unix epoch (int or float); it is compared
        in whole milliseconds, rounded down (a float first rounded to the
        microsecond, so ``dt`` and ``dt.timestamp()`` agree). Batches
        written without timestamps are never taken as earlier, so a store
        that never recorded any returns its first offset whatever
        ``when`` is; a stream that does not exist returns 0. Times are the
        writer's wall clock, never earlier than the batch before, and are
        not part of the chain (they are covered by the record CRC only).
        The GIL is released.

        Raises :class:`InvalidArgumentError` (a ValueError) for a time
        before the epoch, TypeError for something that is not a time,
        :class:`ClosedError`, :class:`IOError`, :class:`CorruptionError`."""
        return self._native.seek_time(check_u64("stream", stream), _unix_ms("when", when))

    def prune_keep_newer(self, stream: int, when: TimeLike) -> int:
        """:meth:`prune` so that ``stream`` keeps every batch appended at or
        after ``when`` (as :meth:`seek_time` finds them; whole sealed
        segments go, as far as that allows, so older batches may stay).
        Returns the first offset. ``when`` as for :meth:`seek_time`; on a
        store that recorded no times nothing is removed. Raises as
        :meth:`prune` and :meth:`seek_time`."""
        return self._native.prune_keep_newer(check_u64("stream", stream), _unix_ms("when", when))

    def backup(self, dest: PathLike) -> dict[int, ChainHead]:
        """Backs the store up into directory ``dest`` while writers keep
        appending, and returns the head of every stream in the backup.

        Each stream is synced and snapshotted at one head; sealed segments
        are hard-linked where the file system allows (copied otherwise),
        active ones copied up to that head; prune anchors, tree files,
        cursors and signed-checkpoint records come along; everything is
        fsynced, and a ``BACKUP`` manifest with each stream's first offset
        and head is written last. The backup is itself a store: open it
        with :func:`open_read_only` and :meth:`verify_against` the returned
        heads. A second backup into the same directory copies only what is
        new. Works on a read-only store too, beside a writer in another
        process. The GIL is released throughout.

        Raises :class:`InvalidArgumentError` if ``dest`` holds something
        that is not a backup (it is left untouched) or is the store itself,
        :class:`LockedError` if another backup into it is running,
        :class:`IOError`."""
        heads = self._native.backup(_path(dest))
        return {stream: ChainHead._trusted(next_offset, digest) for stream, (next_offset, digest) in heads}

    def backup_manifest(self) -> list[BackedUpStream] | None:
        """The manifest of the backup this store is (opened on a backup's
        directory, usually with :func:`open_read_only`): each stream's
        first offset and head when the backup was taken, in increasing
        order of stream, or None for a store that is not a backup.

        Verify a backup against it: each stream it lists against its head
        (:meth:`verify_against`). A stream it does not list is not part of
        the backup (a backup cut short may have copied it), and the manifest
        of a first backup cut short lists none: it holds nothing yet. Raises
        :class:`CorruptionError` for a manifest that fails its checks."""
        streams = self._native.backup_manifest()
        if streams is None:
            return None
        return [
            BackedUpStream(stream, first_offset, ChainHead._trusted(next_offset, digest))
            for stream, first_offset, (next_offset, digest) in streams
        ]

    # -- verification --------------------------------------------------------

    def verify(self, stream: int) -> VerifyReport:
        """Verifies ``stream`` from its first event: every checksum, offset,
        chain link, checkpoint and segment boundary, and that the chain ends
        at the head the store holds. Raises :class:`CorruptionError` or
        :class:`ChainMismatchError` (both :class:`VerificationError`, with
        ``.offset``) on the first failure."""
        return VerifyReport._from_native(self._native.verify(stream))

    def verify_against(self, stream: int, head: ChainHead | str) -> VerifyReport:
        """:meth:`verify`, and also proves the stream still holds, unchanged,
        the history ``head`` (a :class:`ChainHead` or its text form)
        summarizes. This detects truncation, rollback and rewriting relative
        to a head kept elsewhere (:class:`ChainMismatchError`)."""
        if isinstance(head, str):
            head = ChainHead.parse(head)
        elif not isinstance(head, ChainHead):
            raise TypeError(f"head must be a ChainHead or its text form, not {type(head).__name__}")
        return VerifyReport._from_native(self._native.verify_against(stream, head.next_offset, head.hash))


    # -- proofs ----------------------------------------------------------------
    #
    # Each stream is an RFC 6962 Merkle tree whose leaf n is the 40 bytes
    # u64_le(n) || h(n) (h: the chain hash), so the tree commits to the
    # chain and the chain to every payload. ``size`` is a number of events,
    # at most the stream's next offset; None means all of them (for a
    # read-only store, as of its open or last wait). The tree is built when
    # first needed (never on the append path) and cached beside the
    # segments; a read-only store builds its own in memory.

    def tree_root(self, stream: int, size: int | None = None) -> bytes:
        """The 32-byte Merkle root of the first ``size`` events of
        ``stream`` (None: all). The empty tree's root is SHA-256 of nothing.
        Raises :class:`OffsetOutOfRangeError` for a size past the end."""
        return self._native.tree_root(stream, _opt_u64("size", size))

    def leaf_data(self, stream: int, offset: int) -> bytes:
        """The 40-byte leaf data of event ``offset``, ``u64_le(offset) ||
        h(offset)``: what :func:`stratalog.verify_inclusion` takes."""
        return self._native.leaf_data(stream, offset)

    def inclusion_proof(self, stream: int, offset: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof (32-byte hashes, bottom up) of event
        ``offset`` in the tree of the first ``size`` events (None: all).
        Raises :class:`InvalidArgumentError` if ``offset >= size``."""
        return self._native.inclusion_proof(stream, offset, _opt_u64("size", size))

    def consistency_proof(self, stream: int, old_size: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from the tree of the first
        ``old_size`` events to that of the first ``size`` (None: all).
        Raises :class:`InvalidArgumentError` if ``old_size > size``."""
        return self._native.consistency_proof(stream, old_size, _opt_u64("size", size))

    def checkpoint(
        self, stream: int, key: SigningKey, *, size: int | None = None, origin: str | None = None
    ) -> str:
        """A C2SP checkpoint of the tree of the first ``size`` events (None:
        all), signed by ``key``: the note ``<origin>\\n<size>\\n<base64
        root>\\n\\n— <key name> <base64 signature>\\n``. ``origin`` defaults to
        ``"<key name>/<stream>"``.

        The store never signs two inconsistent checkpoints for one origin:
        it records the last one durably (under ``signed/``, also from a
        read-only store) and raises :class:`CheckpointRefusedError` for a
        smaller size, or a tree that does not extend it.

        Nor does it sign events a crash can take: a writer first makes the
        events the tree covers durable (an fsync, if needed) and, in a
        tiered store, waits until the bucket holds them, sealing the active
        segment if needed (raising as :meth:`sync_tier` does, and
        :class:`LockedError` once the tier was taken over). So a machine
        lost after a checkpoint leaves every event it signed in the bucket.
        :meth:`witness_checkpoint`, :meth:`receipt` and :meth:`export_tiles`
        sign the same way. A reader of a bucket, with no directory to record
        what it signed in, raises :class:`InvalidArgumentError`."""
        if origin is not None and not isinstance(origin, str):
            raise TypeError(f"origin must be a str, not {type(origin).__name__}")
        return self._native.checkpoint(stream, _key(key), _opt_u64("size", size), origin)

    def witness_checkpoint(
        self,
        stream: int,
        key: SigningKey,
        witnesses: Sequence[str | tuple[str, str]],
        *,
        size: int | None = None,
        origin: str | None = None,
    ) -> str:
        """:meth:`checkpoint`, then cosigned by every witness in
        ``witnesses`` (C2SP tlog-witness): returns the note with the log's
        signature line followed by each witness's cosignature lines (C2SP
        tlog-cosignature), which :func:`stratalog.verify_witnessed_checkpoint`
        checks.

        A witness is ``"<verifier key> <submission URL prefix>"`` or the
        tuple ``(verifier key, URL prefix)``: the key is the witness's
        cosigner key (type 0x04, e.g. ``example.com/witness+1a2b3c4d+B...``)
        and the client POSTs to ``<prefix>/add-checkpoint``, in order, with
        a consistency proof from the size the witness last cosigned for this
        origin (remembered in the store under ``witnessed/``; if the witness
        remembers another size it answers 409 and the client proves from
        that one instead). The GIL is released for the whole exchange (at
        most 30 s a request).

        Raises :class:`WitnessError` naming the first witness that did not
        cosign (unreachable, an HTTP error such as 422 for a history it
        does not see as consistent, or no valid cosignature by its key),
        :class:`InvalidArgumentError` for a malformed witness, and as
        :meth:`checkpoint`."""
        if origin is not None and not isinstance(origin, str):
            raise TypeError(f"origin must be a str, not {type(origin).__name__}")
        return self._native.witness_checkpoint(
            stream, _key(key), _witness_specs(witnesses), _opt_u64("size", size), origin
        )

    def receipt(self, stream: int, offset: int, key: SigningKey, *, size: int | None = None) -> str:
        """An offline receipt for event ``offset``: a C2SP tlog-proof
        (``c2sp.org/tlog-proof@v1``, an ``extra`` line with the previous
        chain hash, ``index``, the inclusion proof, a blank line and a
        checkpoint of the first ``size`` events signed by ``key``).
        :func:`stratalog.verify_receipt` checks it with the event's bytes
        and the verifier key alone. Raises as :meth:`checkpoint`, and
        :class:`InvalidArgumentError` if ``offset >= size``."""
        return self._native.receipt(stream, offset, _key(key), _opt_u64("size", size))

    def export_tiles(self, stream: int, key: SigningKey, dir: PathLike, *, size: int | None = None) -> str:
        """Writes the tree of the first ``size`` events (None: all) of
        ``stream`` under directory ``dir`` as a static C2SP tlog-tiles log:
        ``checkpoint`` (signed by ``key``), ``tile/<L>/<N>[.p/<W>]`` and
        ``tile/entries/<N>[.p/<W>]`` (entries: the 40-byte leaf data), that
        any tlog-tiles client can verify. Returns the signed checkpoint.
        Raises as :meth:`checkpoint`."""
        return self._native.export_tiles(stream, _key(key), _path(dir), _opt_u64("size", size))

def open(  # noqa: A001 - stratalog.open, like io.open
    path: PathLike,
    *,
    segment_size: int | None = None,
    checkpoint_interval: int | None = None,
    compression: CompressionLike = None,
    max_event_size: int | None = None,
    fsync: bool = False,
    max_open_files: int | None = None,
    timestamps: bool = False,
    tier: str | None = None,
    tier_options: Mapping[str, str] | None = None,
    local_cache_bytes: int | None = None,
    tier_takeover: bool = False,
    tier_lease: float | None = None,
) -> Store:
    """Opens the store in directory ``path`` (created if needed) for reading
    and writing, and takes its writer lock. A torn tail left by a crash is
    cut off while opening. After a clean close, streams are recovered on
    first use instead, so opening costs the same for ten streams or 100,000.

    ``segment_size`` (default 64 MiB), ``checkpoint_interval`` (default
    256), ``compression`` (None, "lz4" or "zstd"), ``max_event_size``
    (default 16 MiB): None keeps the library's default. ``fsync`` is the
    default durability of appends that do not say. ``max_open_files``
    (default 256, at least 8): the most segment files the store keeps open,
    whatever its number of streams; the least recently used are closed and
    reopened when next used. ``timestamps``: each batch records the time it
    was appended (Unix milliseconds, 68 bytes a batch) for
    :meth:`Store.seek_time` and :meth:`Store.prune_keep_newer`. It is
    recorded in each new segment's header: a segment keeps the setting it
    was created with.

    ``tier`` (e.g. ``"s3://bucket/prefix"``) uploads every sealed segment to
    that object store in the background, never on the append path, with
    ``tier_options`` for the object store (``endpoint``, ``region``,
    ``allow_http``, ...; credentials from the usual AWS environment
    variables). Beyond ``local_cache_bytes`` of uploaded segments the oldest
    local copies are deleted and read from the bucket when needed.
    :meth:`Store.sync_tier` waits until the bucket holds everything. A
    second writer on the same tier raises :class:`LockedError`;
    ``tier_takeover=True`` takes the tier over once the first writer's lease
    (``tier_lease`` seconds, default 30) has gone unrenewed.

    Raises :class:`LockedError` if another process or handle writes the
    store (or its tier), :class:`InvalidArgumentError` for bad options, a
    non-empty directory that is not a store, or a tiered store's directory
    opened without its ``tier``, :class:`IOError`,
    :class:`CorruptionError`.
    """
    native = _native.Store.open(
        _path(path),
        segment_size=_opt_u64("segment_size", segment_size),
        checkpoint_interval=_opt_u64("checkpoint_interval", checkpoint_interval),
        compression=Compression.name_of(compression),
        max_event_size=_opt_u64("max_event_size", max_event_size),
        fsync=bool(fsync),
        max_open_files=_opt_u64("max_open_files", max_open_files),
        timestamps=bool(timestamps),
        tier=tier,
        tier_options=_tier_pairs(tier_options),
        local_cache_bytes=_opt_u64("local_cache_bytes", local_cache_bytes),
        tier_takeover=bool(tier_takeover),
        tier_lease_ms=None if tier_lease is None else _lease_ms(tier_lease),
    )
    return _opened(Store(native, os.fsdecode(os.fspath(path))))


def open_in_memory(
    *,
    segment_size: int | None = None,
    checkpoint_interval: int | None = None,
    compression: CompressionLike = None,
    max_event_size: int | None = None,
    fsync: bool = False,
    timestamps: bool = False,
) -> Store:
    """A new, empty store held in memory only; its contents go when it is
    closed. Same options as :func:`open`. Heads do not depend on where a
    store lives, so this is handy for computing or testing them."""
    native = _native.Store.open_in_memory(
        segment_size=_opt_u64("segment_size", segment_size),
        checkpoint_interval=_opt_u64("checkpoint_interval", checkpoint_interval),
        compression=Compression.name_of(compression),
        max_event_size=_opt_u64("max_event_size", max_event_size),
        fsync=bool(fsync),
        timestamps=bool(timestamps),
    )
    return Store(native, None)


def open_read_only(
    path: PathLike,
    *,
    max_event_size: int | None = None,
    max_open_files: int | None = None,
    tier_options: Mapping[str, str] | None = None,
) -> Store:
    """Opens an existing store for reading only. It takes no lock and never
    writes, so it works while another process appends. It is a snapshot:
    it sees the streams, heads and events as they were when it opened, never
    what the writer appends afterwards, except what :meth:`Store.wait` takes
    in (it follows the writer). A torn
    tail it finds is ignored, not cut, and listed in :attr:`Store.torn_tails`.
    Appends raise :class:`ReadOnlyError`.
    ``max_event_size`` is accepted but not needed: every segment records
    the limit it was written under, and reads follow that.
    ``max_open_files`` as for :func:`open`.

    ``path`` may also be a tier's URL (``"s3://bucket/prefix"``, with
    ``tier_options`` as for :func:`open`): the store is then read straight
    from the bucket with no local copy, every event verified as it is read.
    It holds what the writer had uploaded when it opened.

    Raises :class:`IOError` (errno ENOENT) if the directory does not exist,
    :class:`InvalidArgumentError` if it is not a store,
    :class:`CorruptionError`.
    """
    target = _path(path)
    url = "://" in target
    native = _native.Store.open_read_only(
        target,
        max_event_size=_opt_u64("max_event_size", max_event_size),
        max_open_files=_opt_u64("max_open_files", max_open_files),
        tier_options=_tier_pairs(tier_options) if url else None,
    )
    if url:
        return _opened(Store(native, target))
    return _opened(Store(native, os.fsdecode(os.fspath(path))))


def _tier_pairs(options: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if options is None:
        return []
    if not isinstance(options, Mapping):
        raise TypeError(f"tier_options must be a mapping of str to str, not {type(options).__name__}")
    pairs = []
    for key, value in options.items():
        if not isinstance(key, str) or not isinstance(value, (str, bool, int)):
            raise TypeError(f"tier_options: {key!r}: keys and values must be str")
        pairs.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    return pairs


def _lease_ms(seconds: float) -> int:
    value = float(seconds)
    if not math.isfinite(value) or not 0 < int(value * 1000) < 2**64:
        raise InvalidArgumentError(
            f"invalid argument: tier_lease must be a positive number of seconds below 2**64 ms, got {seconds!r}"
        )
    return int(value * 1000)


_log = logging.getLogger("stratalog")


def _opened(store: Store) -> Store:
    """Logs what recovery did while ``store`` opened, so that a cut tail is
    never silent (without logging configured, Python prints WARNING
    records to stderr)."""
    for torn in store.torn_tails:
        _log.warning(
            "stream %d: %s an unfinished batch of %d bytes at the end of %s "
            "(left by a crash during an append; no acknowledged event is in it)",
            torn.stream,
            "ignored" if store.read_only else "cut off",
            torn.dropped_bytes,
            torn.segment,
        )
    return store
