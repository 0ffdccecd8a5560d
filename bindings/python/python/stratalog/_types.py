"""Value types: ChainHead, VerifyReport, StoreOptions, Compression."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Union

from . import _native

__all__ = ["ChainHead", "VerifyReport", "StoreOptions", "Compression", "CompressionLike"]

U64_MAX = 2**64 - 1
_ZERO_HASH = bytes(32)
_Bytes = bytes  # VerifyReport has a field named `bytes`


def check_u64(name: str, value: object) -> int:
    """``value`` as an int in 0..2**64-1: TypeError for a non-int (bool
    included), OverflowError outside the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= U64_MAX:
        raise OverflowError(f"{name} must be in 0..2**64-1, got {value}")
    return int(value)


class Compression(str, enum.Enum):
    """Compression of new records. A payload is stored compressed only when
    that makes it smaller; the chain hash covers the raw bytes, so heads do
    not depend on it."""

    NONE = "none"
    LZ4 = "lz4"
    ZSTD = "zstd"

    @classmethod
    def name_of(cls, value: CompressionLike) -> str | None:
        """The codec name to hand to the library, which parses it (any case)
        and rejects an unknown one: None keeps the library's default."""
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"compression must be None, a str or a Compression, not {type(value).__name__}")

CompressionLike = Union[Compression, str, None]


@dataclass(frozen=True, order=True, slots=True)
class ChainHead:
    """A stream's chain head: how many events it holds (``next_offset``, the
    offset the next event gets) and the SHA-256 chain hash of the last one
    (``hash``, 32 zero bytes for an empty stream).

    It summarizes the whole history of the stream in 40 bytes. Keep it where
    the store's owner cannot rewrite it; :meth:`Store.verify_against` later
    proves the stream still holds that history.

    Heads are immutable, hashable and compare by ``(next_offset, hash)``.
    ``str(head)`` is the text form ``"<next_offset>:<64 hex digits>"``, and
    :meth:`ChainHead.parse` reads it back::

        >>> head = ChainHead.parse("1:94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009")
        >>> head.next_offset
        1
        >>> ChainHead.parse(str(head)) == head
        True
    """

    next_offset: int
    hash: bytes

    def __post_init__(self) -> None:
        check_u64("next_offset", self.next_offset)
        digest: Any = self.hash
        if isinstance(digest, (bytearray, memoryview)):
            digest = bytes(digest)
            object.__setattr__(self, "hash", digest)
        if not isinstance(digest, bytes):
            raise TypeError(f"hash must be bytes, not {type(digest).__name__}")
        if len(digest) != 32:
            raise ValueError(f"hash must be 32 bytes, not {len(digest)}")
        if self.next_offset == 0 and digest != _ZERO_HASH:
            raise ValueError("the head of an empty stream (next_offset 0) has the zero hash")

    @classmethod
    def _trusted(cls, next_offset: int, digest: bytes) -> ChainHead:
        """A head from the library, which needs no checking."""
        head = object.__new__(cls)
        object.__setattr__(head, "next_offset", next_offset)
        object.__setattr__(head, "hash", digest)
        return head

    @classmethod
    def empty(cls) -> ChainHead:
        """The head of an empty stream: ``0:000...0``."""
        return cls._trusted(0, _ZERO_HASH)

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """Parses the text form ``"<next_offset>:<64 hex digits>"`` (either
        case, surrounding whitespace ignored). Raises
        :class:`InvalidArgumentError` (a ValueError) for anything else."""
        if not isinstance(text, str):
            raise TypeError(f"a head's text form is a str, not {type(text).__name__}")
        next_offset, digest = _native.head_parse(text)
        return cls._trusted(next_offset, digest)

    def hex(self) -> str:
        """The chain hash as 64 lowercase hex digits."""
        return self.hash.hex()

    def to_dict(self) -> dict[str, Any]:
        """``{"next_offset": int, "hash": hex str, "text": str(self)}``, for JSON."""
        return {"next_offset": self.next_offset, "hash": self.hex(), "text": str(self)}

    def __str__(self) -> str:
        return _native.head_to_text(self.next_offset, self.hash)

    def __repr__(self) -> str:
        return f"ChainHead.parse({str(self)!r})"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What :meth:`Store.verify` checked: ``events`` (CRC, offset and chain
    link each), ``bytes`` of raw payload hashed, ``checkpoints`` checked
    against the chain, ``segments`` files read, and the ``head`` the stored
    chain leads to."""

    events: int
    bytes: int
    checkpoints: int
    segments: int
    head: ChainHead

    @classmethod
    def _from_native(cls, report: tuple[int, int, int, int, int, _Bytes]) -> VerifyReport:
        events, nbytes, checkpoints, segments, next_offset, digest = report
        return cls(events, nbytes, checkpoints, segments, ChainHead._trusted(next_offset, digest))

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "bytes": self.bytes,
            "checkpoints": self.checkpoints,
            "segments": self.segments,
            "head": self.head.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class TornTail:
    """An unfinished batch the open found at the end of a stream
    (:attr:`Store.torn_tails`): what a crash in the middle of an append
    leaves. A writable open cut it off; a read-only open ignores it (the
    next writable open cuts it). Acknowledged appends are never in it:
    ``kept_len`` is the end of the segment's last whole batch, and
    ``dropped_bytes`` what followed it in ``segment``."""

    stream: int
    segment: str
    kept_len: int
    dropped_bytes: int


@dataclass(frozen=True, slots=True)
class BackedUpStream:
    """One stream of a backup, as its manifest lists it
    (:meth:`Store.backup_manifest`): the ``first_offset`` it held (0 unless
    pruned) and its ``head`` when the backup was taken, which the backup
    holds and verifies against."""

    stream: int
    first_offset: int
    head: ChainHead


@dataclass(frozen=True, slots=True)
class StreamStats:
    """What a stream holds (:meth:`Store.stats`), counted without reading
    its records: ``segments`` (segment files), ``bytes`` (their size: the
    whole of each sealed one, the committed part of the active one),
    ``first_offset`` (the first event held) and ``next_offset`` (one past
    the last). A stream that does not exist has all zeros."""

    segments: int
    bytes: int
    first_offset: int
    next_offset: int

    @property
    def events(self) -> int:
        """How many events the stream holds."""
        return self.next_offset - self.first_offset


@dataclass(frozen=True, slots=True)
class TierStats:
    """What a tiered store's uploader is doing (:meth:`Store.tier_stats`):
    sealed segments (and bytes) not yet in the bucket, those uploaded and
    local copies evicted by this open, segments read from the bucket and
    ``copied_back_segments`` into the local directory (within
    ``local_cache_bytes``), the writer lease's ``epoch``,
    ``fenced`` once another writer took the tier over (appends then raise
    :class:`LockedError`), and the ``last_error`` of the uploads (None
    once a round succeeds)."""

    pending_segments: int
    pending_bytes: int
    uploaded_segments: int
    uploaded_bytes: int
    evicted_segments: int
    copied_back_segments: int
    epoch: int
    fenced: bool
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """The options a store was opened with (:attr:`Store.options`).

    ``segment_size``: segment files rotate before a batch would grow one past
    this many bytes. ``checkpoint_interval``: a checkpoint record every that
    many events, bounding the cost of a random read. ``compression`` of new
    records. ``max_event_size``: the largest event accepted (reads follow the
    limit each segment records). ``fsync``: the
    store's default durability for appends that do not say.
    ``max_open_files``: the most segment files the store keeps open.
    ``timestamps``: each batch records its append time
    (:meth:`Store.seek_time`).
    """

    segment_size: int
    checkpoint_interval: int
    compression: Compression
    max_event_size: int
    fsync: bool
    max_open_files: int
    timestamps: bool = False
