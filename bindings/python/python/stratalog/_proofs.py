"""Signing keys, and the checks of proofs, checkpoints and receipts that
need no store.

A stream's events are the leaves of an RFC 6962 Merkle tree (leaf data
``u64_le(n) || h(n)``, 40 bytes, where ``h(n)`` is the chain hash). A
:class:`SigningKey` signs C2SP checkpoints of that tree (signed notes,
Ed25519); whoever holds its verifier key string (:attr:`SigningKey.vkey`)
checks them, and receipts and proofs, with the functions here and nothing
else: no store, no network.
"""

from __future__ import annotations

from typing import Iterable, NoReturn, Sequence, Union

from . import _native
from ._store import BytesLike, PathLike, _path

__all__ = [
    "SigningKey",
    "verify_receipt",
    "verify_checkpoint",
    "verify_witnessed_checkpoint",
    "verify_inclusion",
    "verify_consistency",
    "LEAF_DATA_SIZE",
]

LEAF_DATA_SIZE: int = _native.LEAF_DATA_SIZE
"""The size of a leaf's data, ``u64_le(n) || h(n)``: 40 bytes."""

HashLike = Union[bytes, bytearray, memoryview]


def _text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return value


def _bytes(what: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def _proof(proof: Iterable[HashLike]) -> list[bytes]:
    if isinstance(proof, (str, bytes, bytearray, memoryview)):
        raise TypeError("a proof is a sequence of 32-byte hashes (e.g. a list of bytes), not one str or bytes")
    return [_bytes(f"proof hash {i}", h) for i, h in enumerate(proof)]


class SigningKey:
    """An Ed25519 key that signs checkpoints (C2SP signed-note).

    Make one with :meth:`generate`, or read one with :meth:`from_file` (a
    key file :meth:`save` wrote, or any C2SP private key text
    ``PRIVATE+KEY+<name>+<hex id>+<base64>``). Give :attr:`vkey` to whoever
    verifies. Neither ``repr()`` nor ``str()`` shows key material, and the
    key cannot be pickled or copied out by accident."""

    __slots__ = ("_native", "_vkey")

    def __init__(self, native: _native.SigningKey) -> None:
        """Internal: use :meth:`generate`, :meth:`from_file` or
        :meth:`from_text`."""
        if not isinstance(native, _native.SigningKey):
            raise TypeError("use SigningKey.generate(), from_file() or from_text() to make a SigningKey")
        self._native = native
        self._vkey = native.vkey()

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        """A new key named ``name`` (e.g. ``"example.com/audit"``: no spaces,
        no ``+``) from the operating system's random source. Raises
        :class:`InvalidArgumentError` for a bad name."""
        return cls(_native.SigningKey.generate(_text("name", name)))

    @classmethod
    def from_file(cls, path: PathLike) -> SigningKey:
        """The key in the key file at ``path``. Raises :class:`IOError` if
        it cannot be read, :class:`InvalidArgumentError` if it holds no key
        (or its key ID does not match its key)."""
        return cls(_native.SigningKey.load(_path(path)))

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """The key a private key text ``PRIVATE+KEY+<name>+<8 hex key
        id>+<base64(0x01 || 32-byte seed)>`` holds (surrounding whitespace
        is ignored). Raises :class:`InvalidArgumentError`."""
        return cls(_native.SigningKey.from_text(_text("text", text).strip()))

    def save(self, path: PathLike) -> None:
        """Writes the key to a new file at ``path``, readable by its owner
        only (mode 0600), durably. Never overwrites: an existing file raises
        :class:`IOError` (``errno.EEXIST``)."""
        self._native.save(_path(path))

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<8 hex key id>+<base64(0x01 ||
        public key)>`` that checks this key's signatures. Public."""
        return self._vkey

    @property
    def cosigner_vkey(self) -> str:
        """The verifier key string of this key as a witness's cosigner:
        ``<name>+<8 hex key id>+<base64(0x04 || public key)>`` (C2SP
        tlog-cosignature; its key ID hashes the type 0x04). A witness that
        signs with this key is configured with it
        (:meth:`Store.witness_checkpoint`), and
        :func:`verify_witnessed_checkpoint` checks its cosignatures. Public."""
        return self._native.cosigner_vkey()

    @property
    def name(self) -> str:
        """The key's name."""
        return self._vkey.split("+", 1)[0]

    @property
    def key_id(self) -> str:
        """The key ID, 8 hex digits: the first 4 bytes of
        SHA-256(name || 0x0A || 0x01 || public key)."""
        return self._vkey.split("+", 2)[1]

    def private_text(self) -> str:
        """The private key text (the key file's contents). SECRET: only for
        moving the key into a secret store; never log it."""
        return self._native.to_text()

    def __repr__(self) -> str:
        return f"<stratalog.SigningKey {self.name!r} id {self.key_id}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SigningKey cannot be pickled (it would copy the private key); use save()")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return self._vkey == other._vkey

    def __hash__(self) -> int:
        return hash(self._vkey)


def _origin(origin: str | None) -> str | None:
    return None if origin is None else _text("origin", origin)


def verify_receipt(receipt: str, vkey: str, event: BytesLike, *, origin: str | None = None) -> int:
    """Checks, with no store, that ``receipt`` (from :meth:`Store.receipt`,
    a C2SP tlog-proof) proves that ``event`` (its bytes) is in the log whose
    checkpoint the verifier key ``vkey`` signed: the event's chain hash from
    the receipt's ``extra`` line, its leaf's inclusion proof against the
    checkpoint's root and size, and the checkpoint's signature.

    Returns the event's offset; raises :class:`VerificationError` (the
    message says what does not check out) or :class:`InvalidArgumentError`
    when ``vkey`` is not a verifier key.

    ``origin``, when given, is the log the verifier expects: the
    checkpoint's first line (e.g. ``"example.com/log/1"``); a checkpoint of
    another log raises :class:`VerificationError`. One key may sign many
    logs (a store's streams), so a verifier that knows which it expects
    should say so."""
    return _native.verify_receipt(
        _text("receipt", receipt), _text("vkey", vkey).strip(), event, _origin(origin)
    )


def verify_checkpoint(note: str, vkey: str, *, origin: str | None = None) -> tuple[int, bytes]:
    """Checks a signed checkpoint note against the verifier key ``vkey``;
    returns its tree size and 32-byte root. Raises
    :class:`VerificationError` or :class:`InvalidArgumentError` (a bad
    vkey). ``origin``: as for :func:`verify_receipt`."""
    return _native.verify_checkpoint(_text("note", note), _text("vkey", vkey).strip(), _origin(origin))


def verify_witnessed_checkpoint(
    note: str, vkey: str, witness_vkeys: Sequence[str], min_cosignatures: int = 1, *, origin: str | None = None
) -> tuple[int, bytes]:
    """Checks a checkpoint note signed by the log's verifier key ``vkey``
    and cosigned (C2SP tlog-cosignature) by at least ``min_cosignatures``
    of the witnesses whose cosigner verifier keys (type 0x04, e.g.
    :attr:`SigningKey.cosigner_vkey`) are ``witness_vkeys``: k of n.
    Signatures by other keys are ignored; one that claims a listed key and
    does not verify fails the note. Returns its tree size and 32-byte root.

    Raises :class:`VerificationError` (the log's signature does not check
    out, or too few cosignatures) or :class:`InvalidArgumentError` (a key
    that is not a verifier key, a witness key that is not type 0x04).
    ``origin``: as for :func:`verify_receipt`."""
    if isinstance(witness_vkeys, (str, bytes)):
        raise TypeError("witness_vkeys is a sequence of verifier key strings, not one str")
    keys = [_text(f"witness_vkeys[{i}]", k).strip() for i, k in enumerate(witness_vkeys)]
    if isinstance(min_cosignatures, bool) or not isinstance(min_cosignatures, int):
        raise TypeError(f"min_cosignatures must be an int, not {type(min_cosignatures).__name__}")
    if min_cosignatures < 0:
        raise ValueError(f"min_cosignatures must be >= 0, not {min_cosignatures}")
    return _native.verify_witnessed_checkpoint(
        _text("note", note), _text("vkey", vkey).strip(), keys, min_cosignatures, _origin(origin)
    )


def verify_inclusion(
    leaf_index: int, size: int, root: HashLike, proof: Iterable[HashLike], leaf_data: HashLike
) -> None:
    """Checks that ``proof`` (32-byte hashes, from
    :meth:`Store.inclusion_proof`) proves the leaf with data ``leaf_data``
    (for a stream, the 40 bytes of :meth:`Store.leaf_data`) is number
    ``leaf_index`` in the tree of ``size`` leaves whose root is ``root``.
    Raises :class:`VerificationError` if it does not."""
    _native.verify_inclusion(
        leaf_index, size, _bytes("root", root), _proof(proof), _bytes("leaf_data", leaf_data)
    )


def verify_consistency(old_size: int, size: int, old_root: HashLike, root: HashLike, proof: Iterable[HashLike]) -> None:
    """Checks that ``proof`` (from :meth:`Store.consistency_proof`) proves
    the tree of ``old_size`` leaves with root ``old_root`` is a prefix of
    the tree of ``size`` leaves with root ``root``: the log only grew.
    Raises :class:`VerificationError` if it does not."""
    _native.verify_consistency(old_size, size, _bytes("old_root", old_root), _bytes("root", root), _proof(proof))

