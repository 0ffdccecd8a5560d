"""Merkle roots, proofs, signing keys, checkpoints, receipts and tiles,
each checked against an independent computation in this file (hashlib
only) and against forgeries."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import pickle
import re
import stat
import struct
import threading
from pathlib import Path

import pytest
from conftest import VECTOR_EVENTS, VECTOR_HEADS

import stratalog

# -- an independent RFC 6962 tree over the chain ------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def chain_hashes(events: list[bytes]) -> list[bytes]:
    """h(n) = SHA-256(h(n-1) || u64_le(n) || event), h(-1) = 32 zero bytes."""
    out, prev = [], bytes(32)
    for n, event in enumerate(events):
        prev = sha256(prev + struct.pack("<Q", n) + event)
        out.append(prev)
    return out


def leaf_data(n: int, h: bytes) -> bytes:
    return struct.pack("<Q", n) + h


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# RFC 8032, section 7.1, test 1: a fixed Ed25519 key.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
KEY_NAME = "example.com/audit"


def key_id(name: str, public: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + b"\x01" + public)[:4]


def private_text(name: str, seed: bytes, public: bytes) -> str:
    return f"PRIVATE+KEY+{name}+{key_id(name, public).hex()}+" + b64(b"\x01" + seed)


def expected_vkey(name: str, public: bytes) -> str:
    return f"{name}+{key_id(name, public).hex()}+" + b64(b"\x01" + public)


@pytest.fixture
def key() -> stratalog.SigningKey:
    return stratalog.SigningKey.from_text(private_text(KEY_NAME, SEED, PUBLIC))


@pytest.fixture
def vectors(store: stratalog.Store) -> stratalog.Store:
    store.append_batch(7, VECTOR_EVENTS)
    return store


NOTE = re.compile(r"\A(?P<origin>[^\n]+)\n(?P<size>\d+)\n(?P<root>[A-Za-z0-9+/=]{44})\n\n— (?P<name>\S+) (?P<sig>[A-Za-z0-9+/=]+)\n\Z")


# -- the tree ----------------------------------------------------------------


def test_roots_of_the_spec_vectors_match_an_independent_tree(vectors: stratalog.Store) -> None:
    hashes = chain_hashes(VECTOR_EVENTS)
    assert [f"{n + 1}:{h.hex()}" for n, h in enumerate(hashes)] == VECTOR_HEADS
    leaves = [leaf_hash(leaf_data(n, h)) for n, h in enumerate(hashes)]
    spec = [
        "1a8a4d9ed33e3920de25a66d4a1711b32fe9c2dd8af6eef3ebecb374a2b4422a",
        "88c00fab807d250dc1a629b2702c8ae79b2a4140a339fdee549849118dcfa726",
        "76622589fe6f2ceba0b87f3b2c32b432294a720f29be570afd2249dba0f3a804",
        "ed72fa3442d34f9e08b68d2a8896d24f52884b149b599899b5ac17e1bf7827fe",
    ]
    for size in range(1, 5):
        root = vectors.tree_root(7, size)
        assert root == mth(leaves[:size])
        assert root.hex() == spec[size - 1]
    assert vectors.tree_root(7) == vectors.tree_root(7, 4)
    assert vectors.tree_root(7, 0) == sha256(b"") == vectors.tree_root(99)
    for n, h in enumerate(hashes):
        assert vectors.leaf_data(7, n) == leaf_data(n, h)
    with pytest.raises(stratalog.OffsetOutOfRangeError):
        vectors.tree_root(7, 5)
    with pytest.raises(stratalog.OffsetOutOfRangeError):
        vectors.leaf_data(7, 4)


def test_proofs_of_the_spec_vectors(vectors: stratalog.Store) -> None:
    inclusion = vectors.inclusion_proof(7, 2, 4)
    assert [b64(h) for h in inclusion] == [
        "tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=",
        "iMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY=",
    ]
    assert vectors.inclusion_proof(7, 2) == inclusion
    consistency = vectors.consistency_proof(7, 3, 4)
    assert [b64(h) for h in consistency] == [
        "dgv2RbXBD0T+Ny7cGLMtwCq97gwI7Gr2JwgSZikq0fE=",
        "tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=",
        "iMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY=",
    ]
    root3, root4 = vectors.tree_root(7, 3), vectors.tree_root(7, 4)
    stratalog.verify_inclusion(2, 4, root4, inclusion, vectors.leaf_data(7, 2))
    stratalog.verify_consistency(3, 4, root3, root4, consistency)


def flipped(proof: list[bytes], i: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ 1]) + out[i][1:]
    return out


def test_every_inclusion_and_consistency_proof_verifies_and_tampering_fails(store: stratalog.Store) -> None:
    events = [b"event %d" % i for i in range(37)]
    store.append_batch(1, events[:20])
    store.append_batch(1, events[20:])
    leaves = [leaf_hash(leaf_data(n, h)) for n, h in enumerate(chain_hashes(events))]
    for size in range(1, 38):
        root = store.tree_root(1, size)
        assert root == mth(leaves[:size])
        for n in (0, size // 2, size - 1):
            proof = store.inclusion_proof(1, n, size)
            data = store.leaf_data(1, n)
            stratalog.verify_inclusion(n, size, root, proof, data)
            stratalog.verify_inclusion(n, size, bytearray(root), [memoryview(h) for h in proof], data)
            for i in range(len(proof)):
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_inclusion(n, size, root, flipped(proof, i), data)
            with pytest.raises(stratalog.VerificationError):
                stratalog.verify_inclusion(n, size, root, proof, data[:-1] + bytes([data[-1] ^ 1]))
            with pytest.raises(stratalog.VerificationError):
                stratalog.verify_inclusion(n, size, flipped([root], 0)[0], proof, data)
            if size > 1:
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_inclusion((n + 1) % size, size, root, proof, data)
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_inclusion(n, size, root, proof[:-1], data)
        for old in range(0, size + 1):
            proof = store.consistency_proof(1, old, size)
            old_root = store.tree_root(1, old)
            stratalog.verify_consistency(old, size, old_root, root, proof)
            for i in range(len(proof)):
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_consistency(old, size, old_root, root, flipped(proof, i))
            if 0 < old < size:
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_consistency(old, size, flipped([old_root], 0)[0], root, proof)
                with pytest.raises(stratalog.VerificationError):
                    stratalog.verify_consistency(old, size, old_root, flipped([root], 0)[0], proof)
    # A proof against the wrong size.
    proof = store.inclusion_proof(1, 5, 30)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_inclusion(5, 31, store.tree_root(1, 31), proof, store.leaf_data(1, 5))


def test_bad_proof_arguments(vectors: stratalog.Store) -> None:
    root = vectors.tree_root(7)
    with pytest.raises(stratalog.InvalidArgumentError):
        vectors.inclusion_proof(7, 4, 4)
    with pytest.raises(stratalog.InvalidArgumentError):
        vectors.consistency_proof(7, 4, 3)
    with pytest.raises(stratalog.OffsetOutOfRangeError):
        vectors.inclusion_proof(7, 0, 5)
    with pytest.raises(ValueError):
        stratalog.verify_inclusion(0, 4, root[:31], [], b"x")
    with pytest.raises(ValueError):
        stratalog.verify_inclusion(0, 4, root, [b"short"], b"x")
    with pytest.raises(TypeError):
        stratalog.verify_inclusion(0, 4, root, b"\x00" * 32, b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        stratalog.verify_consistency(0, 4, root, root, ["not bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        vectors.checkpoint(7, "not a key")  # type: ignore[arg-type]


# -- keys ----------------------------------------------------------------------


def test_key_from_a_known_seed_and_its_vkey(key: stratalog.SigningKey) -> None:
    assert key.vkey == expected_vkey(KEY_NAME, PUBLIC)
    assert key.name == KEY_NAME and key.key_id == key_id(KEY_NAME, PUBLIC).hex()
    assert key.private_text() == private_text(KEY_NAME, SEED, PUBLIC)
    with pytest.raises(stratalog.InvalidArgumentError):
        wrong_id = private_text(KEY_NAME, SEED, PUBLIC).replace(key.key_id, "00000000")
        stratalog.SigningKey.from_text(wrong_id)
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.SigningKey.from_text("PRIVATE+KEY+nope")


def test_generated_keys_save_load_mode_and_no_overwrite(tmp_path: Path) -> None:
    key = stratalog.SigningKey.generate("log.example/one")
    other = stratalog.SigningKey.generate("log.example/one")
    assert key.vkey != other.vkey and key != other
    assert re.fullmatch(r"log\.example/one\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", key.vkey)
    raw = base64.b64decode(key.vkey.split("+", 2)[2])
    assert len(raw) == 33 and raw[0] == 1
    assert key.vkey.split("+")[1] == key_id("log.example/one", raw[1:]).hex()
    path = tmp_path / "key"
    key.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.strip().startswith("PRIVATE+KEY+log.example/one+" + key.key_id + "+")
    loaded = stratalog.SigningKey.from_file(path)
    assert loaded.vkey == key.vkey and loaded == key and hash(loaded) == hash(key)
    assert stratalog.SigningKey.from_file(str(path)).vkey == key.vkey
    with pytest.raises(stratalog.IOError) as info:
        other.save(path)
    assert info.value.errno == errno.EEXIST
    assert stratalog.SigningKey.from_file(path).vkey == key.vkey  # not overwritten
    with pytest.raises(stratalog.IOError):
        stratalog.SigningKey.from_file(tmp_path / "missing")
    (tmp_path / "junk").write_text("junk\n")
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.SigningKey.from_file(tmp_path / "junk")
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.SigningKey.generate("has space")
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.SigningKey.generate("has+plus")


def test_key_repr_never_shows_key_material(key: stratalog.SigningKey) -> None:
    secret = key.private_text()
    seed_b64 = secret.split("+", 4)[4]
    for shown in (repr(key), str(key), f"{key!r}"):
        assert seed_b64 not in shown and "PRIVATE" not in shown
        assert SEED.hex() not in shown
        assert KEY_NAME in shown
    assert repr(key) == f"<stratalog.SigningKey '{KEY_NAME}' id {key.key_id}>"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        stratalog.SigningKey("x")  # type: ignore[arg-type]


# -- checkpoints ----------------------------------------------------------------


def test_checkpoint_structure_and_default_origin(vectors: stratalog.Store, key: stratalog.SigningKey) -> None:
    note = vectors.checkpoint(7, key)
    m = NOTE.match(note)
    assert m, note
    assert m["origin"] == f"{KEY_NAME}/7"
    assert int(m["size"]) == 4
    assert base64.b64decode(m["root"]) == vectors.tree_root(7)
    assert m["name"] == KEY_NAME
    sig = base64.b64decode(m["sig"])
    assert len(sig) == 4 + 64 and sig[:4] == key_id(KEY_NAME, PUBLIC)
    assert note == f"{KEY_NAME}/7\n4\n{b64(vectors.tree_root(7))}\n\n— {KEY_NAME} {m['sig']}\n"
    assert stratalog.verify_checkpoint(note, key.vkey) == (4, vectors.tree_root(7))
    # Ed25519 is deterministic: the same tree, the same bytes.
    assert vectors.checkpoint(7, key) == note

    smaller = vectors.checkpoint(7, key, size=2, origin="audit.example/seven")
    assert smaller.startswith("audit.example/seven\n2\n" + b64(vectors.tree_root(7, 2)) + "\n\n— ")
    assert stratalog.verify_checkpoint(smaller, key.vkey) == (2, vectors.tree_root(7, 2))
    # One key signs every stream: the origin says which log a note is of.
    assert stratalog.verify_checkpoint(smaller, key.vkey, origin="audit.example/seven") == (2, vectors.tree_root(7, 2))
    with pytest.raises(stratalog.VerificationError, match='"audit.example/seven", not the expected "audit.example/7"'):
        stratalog.verify_checkpoint(smaller, key.vkey, origin="audit.example/7")
    with pytest.raises(TypeError):
        stratalog.verify_checkpoint(smaller, key.vkey, origin=7)  # type: ignore[arg-type]


def test_checkpoint_forgeries_fail(vectors: stratalog.Store, key: stratalog.SigningKey) -> None:
    note = vectors.checkpoint(7, key)
    other = stratalog.SigningKey.generate(KEY_NAME)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_checkpoint(note, other.vkey)
    for forged in (
        note.replace("\n4\n", "\n3\n"),
        note.replace(f"{KEY_NAME}/7\n", f"{KEY_NAME}/8\n"),
        note.replace(b64(vectors.tree_root(7)), b64(vectors.tree_root(7, 3))),
    ):
        with pytest.raises(stratalog.VerificationError):
            stratalog.verify_checkpoint(forged, key.vkey)
    # The text of the note signed by another key of the same name.
    their = vectors.checkpoint(7, other)
    swapped = note.split("\n\n")[0] + "\n\n" + their.split("\n\n")[1]
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_checkpoint(swapped, key.vkey)
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.verify_checkpoint(note, "not a vkey")


def test_checkpoint_refused_below_a_signed_size(store_path: Path, key: stratalog.SigningKey) -> None:
    with stratalog.open(store_path) as store:
        store.append_batch(3, [b"e%d" % i for i in range(10)])
        store.checkpoint(3, key, size=8)
        store.checkpoint(3, key, size=8)  # the same checkpoint again is fine
        with pytest.raises(stratalog.CheckpointRefusedError) as info:
            store.checkpoint(3, key, size=5)
        assert info.value.status is stratalog.Status.CHECKPOINT_REFUSED
        assert isinstance(info.value, stratalog.Error)
        for refused in (
            lambda: store.receipt(3, 1, key, size=5),
            lambda: store.export_tiles(3, key, store_path.parent / "tiles", size=5),
        ):
            with pytest.raises(stratalog.CheckpointRefusedError):
                refused()
        store.checkpoint(3, key, size=5, origin="another/origin")  # another origin is another log
        store.checkpoint(3, key)
    assert (store_path / "signed").is_dir()
    # Durable: after a reopen, and from a read-only open too.
    with stratalog.open(store_path) as store:
        with pytest.raises(stratalog.CheckpointRefusedError):
            store.checkpoint(3, key, size=9)
    with stratalog.open_read_only(store_path) as ro:
        with pytest.raises(stratalog.CheckpointRefusedError):
            ro.checkpoint(3, key, size=9)
        ro.checkpoint(3, key)


def test_error_classes() -> None:
    assert issubclass(stratalog.CheckpointRefusedError, stratalog.Error)
    assert issubclass(stratalog.VerificationError, stratalog.Error)
    assert stratalog.VerificationError.status is stratalog.Status.VERIFICATION_FAILED
    assert stratalog.Status.VERIFICATION_FAILED == 16 and stratalog.Status.CHECKPOINT_REFUSED == 17
    assert stratalog._native.status_name(16) == "STRATALOG_STATUS_VERIFICATION_FAILED"
    assert stratalog._native.status_name(17) == "STRATALOG_STATUS_CHECKPOINT_REFUSED"
    err = stratalog._errors._from_native(16, "verification failed: x", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(err) is stratalog.VerificationError and err.status is stratalog.Status.VERIFICATION_FAILED
    err = stratalog._errors._from_native(17, "refused", 0, 0, 0, 0, 0, 0, 0, 0)
    assert type(err) is stratalog.CheckpointRefusedError


# -- receipts ------------------------------------------------------------------


def test_receipts_verify_with_the_event_bytes(vectors: stratalog.Store, key: stratalog.SigningKey) -> None:
    hashes = chain_hashes(VECTOR_EVENTS)
    small = vectors.receipt(7, 1, key, size=2)  # first: a smaller size is never signed after a larger
    assert "\n2\n" in small
    stratalog.verify_receipt(small, key.vkey, b"beta")
    with pytest.raises(stratalog.InvalidArgumentError):
        vectors.receipt(7, 2, key, size=2)
    for n, event in enumerate(VECTOR_EVENTS):
        receipt = vectors.receipt(7, n, key)
        lines = receipt.split("\n")
        assert lines[0] == "c2sp.org/tlog-proof@v1"
        assert lines[1] == "extra " + b64(hashes[n - 1] if n else bytes(32))
        assert lines[2] == f"index {n}"
        proof = vectors.inclusion_proof(7, n)
        assert lines[3 : 3 + len(proof)] == [b64(h) for h in proof]
        assert lines[3 + len(proof)] == ""
        assert "\n".join(lines[4 + len(proof) :]) == vectors.checkpoint(7, key)
        assert stratalog.verify_receipt(receipt, key.vkey, event) == n
        assert stratalog.verify_receipt(receipt, key.vkey, bytearray(event)) == n
        # The log it is of, checked when the verifier names it.
        origin = vectors.checkpoint(7, key).split("\n", 1)[0]
        assert stratalog.verify_receipt(receipt, key.vkey, event, origin=origin) == n
        with pytest.raises(stratalog.VerificationError, match="not the expected"):
            stratalog.verify_receipt(receipt, key.vkey, event, origin=origin + "x")
        with pytest.raises(stratalog.VerificationError):
            stratalog.verify_receipt(receipt, key.vkey, event + b"!")
    with pytest.raises(TypeError):
        stratalog.verify_receipt(small, key.vkey, "beta")  # type: ignore[arg-type]


def test_receipt_forgeries_fail(vectors: stratalog.Store, key: stratalog.SigningKey) -> None:
    receipt = vectors.receipt(7, 1, key)
    stratalog.verify_receipt(receipt, key.vkey, b"beta")
    for event in (b"betA", b"bet", b"beta\x00", b"", b"alpha"):
        with pytest.raises(stratalog.VerificationError):
            stratalog.verify_receipt(receipt, key.vkey, event)
    # Any line edited.
    lines = receipt.split("\n")
    edited_any = 0
    for i, line in enumerate(lines):
        if not line:
            continue
        last = line[-1]
        changed = line[:-1] + ("5" if last.isdigit() and last != "5" else "A" if last != "A" else "B")
        if line.endswith("="):  # keep base64 padding: change the character before it
            changed = line[:-2] + ("A" if line[-2] != "A" else "B") + "="
        for forged_line in (changed, line + "x", line[1:]):
            forged = "\n".join(lines[:i] + [forged_line] + lines[i + 1 :])
            with pytest.raises(stratalog.VerificationError):
                stratalog.verify_receipt(forged, key.vkey, b"beta")
        edited_any += 1
    assert edited_any == len([line for line in lines if line])
    # Lines dropped, swapped or added.
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt("\n".join(lines[:3] + lines[4:]), key.vkey, b"beta")
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt("\n".join(lines[:3] + [lines[4], lines[3]] + lines[5:]), key.vkey, b"beta")
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt(receipt.replace("index 1", "index 2"), key.vkey, b"beta")
    # A wrong verifier key, and a checkpoint signed by another key.
    other = stratalog.SigningKey.generate(KEY_NAME)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt(receipt, other.vkey, b"beta")
    their = vectors.receipt(7, 1, other)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt(their, key.vkey, b"beta")
    signature_line = receipt.rstrip("\n").rsplit("\n", 1)[1]
    their_line = their.rstrip("\n").rsplit("\n", 1)[1]
    assert signature_line != their_line
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt(receipt.replace(signature_line, their_line), key.vkey, b"beta")
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_receipt("", key.vkey, b"beta")
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.verify_receipt(receipt, "junk", b"beta")


# -- read-only -----------------------------------------------------------------


def test_read_only_proofs_equal_the_writers(store_path: Path, key: stratalog.SigningKey) -> None:
    events = [b"x%d" % i for i in range(300)]
    with stratalog.open(store_path) as writer:
        writer.append_batch(5, events[:150])
        writer.append_batch(5, events[150:])
        writer.sync()
        with stratalog.open_read_only(store_path) as ro:
            for size in (1, 2, 64, 65, 150, 300):
                assert ro.tree_root(5, size) == writer.tree_root(5, size)
                for n in (0, size // 2, size - 1):
                    assert ro.inclusion_proof(5, n, size) == writer.inclusion_proof(5, n, size)
                    assert ro.leaf_data(5, n) == writer.leaf_data(5, n)
                for old in (0, 1, size // 3, size):
                    assert ro.consistency_proof(5, old, size) == writer.consistency_proof(5, old, size)
            assert ro.tree_root(5) == writer.tree_root(5)
            note = ro.checkpoint(5, key, size=200)
            assert writer.checkpoint(5, key, size=200) == note
            assert ro.receipt(5, 7, key) == writer.receipt(5, 7, key)
            # The writer goes on; the read-only snapshot sees its own size.
            writer.append(5, b"more")
            assert ro.tree_root(5) == writer.tree_root(5, 300)
            with pytest.raises(stratalog.OffsetOutOfRangeError):
                ro.tree_root(5, 301)


def test_proof_calls_release_the_gil(store: stratalog.Store, key: stratalog.SigningKey, tmp_path: Path) -> None:
    store.append_batch(2, [b"%d" % i for i in range(20_000)])
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        store.export_tiles(2, key, tmp_path / "tiles")
    finally:
        stop.set()
        thread.join()
    assert ticks > 0


def test_closed_store_raises(store_path: Path, key: stratalog.SigningKey) -> None:
    store = stratalog.open(store_path)
    store.append(1, b"a")
    store.close()
    for call in (
        lambda: store.tree_root(1),
        lambda: store.inclusion_proof(1, 0),
        lambda: store.checkpoint(1, key),
        lambda: store.receipt(1, 0, key),
    ):
        with pytest.raises(stratalog.ClosedError):
            call()


def test_in_memory_store_proofs(key: stratalog.SigningKey) -> None:
    with stratalog.open_in_memory() as store:
        store.append_batch(7, VECTOR_EVENTS)
        assert store.tree_root(7).hex().startswith("ed72fa34")
        receipt = store.receipt(7, 3, key)
        stratalog.verify_receipt(receipt, key.vkey, b"")


# -- tiles (an independent tlog-tiles client) -----------------------------------


def tile_path(level: int | str, index: int, width: int) -> str:
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.insert(0, f"x{index % 1000:03d}")
        index //= 1000
    path = f"tile/{level}/" + "/".join(groups)
    return path if width == 256 else f"{path}.p/{width}"


def test_tile_paths() -> None:
    assert tile_path(0, 0, 256) == "tile/0/000"
    assert tile_path(1, 1234067, 256) == "tile/1/x001/x234/067"
    assert tile_path("entries", 5, 3) == "tile/entries/005.p/3"


def check_tiles(directory: Path, vkey: str) -> tuple[int, bytes, list[bytes]]:
    """Checks a tlog-tiles directory the way a client would; returns the
    checkpoint's size, root and the leaf data. Raises AssertionError or
    stratalog.VerificationError on any mismatch."""
    size, root = stratalog.verify_checkpoint((directory / "checkpoint").read_text(), vkey)
    leaves: list[bytes] = []
    entries: list[bytes] = []
    for t in range((size + 255) // 256):
        width = min(256, size - 256 * t)
        tile = (directory / tile_path(0, t, width)).read_bytes()
        assert len(tile) == 32 * width, f"tile 0/{t} has {len(tile)} bytes"
        bundle = (directory / tile_path("entries", t, width)).read_bytes()
        pos, got = 0, []
        while pos < len(bundle):
            (length,) = struct.unpack(">H", bundle[pos : pos + 2])
            got.append(bundle[pos + 2 : pos + 2 + length])
            pos += 2 + length
        assert pos == len(bundle) and len(got) == width, f"entries bundle {t}"
        for i, entry in enumerate(got):
            n = 256 * t + i
            assert len(entry) == 40 and struct.unpack("<Q", entry[:8])[0] == n, f"entry {n}"
            assert leaf_hash(entry) == tile[32 * i : 32 * i + 32], f"leaf {n} does not hash to its tile hash"
        leaves.extend(tile[32 * i : 32 * i + 32] for i in range(width))
        entries.extend(got)
    assert mth(leaves) == root, "the leaves do not hash to the checkpoint's root"
    # Higher levels: the roots of full tiles of the level below.
    level, span = 1, 256
    while size // span:
        below_full = size // span  # full subtrees of `span` leaves
        for t in range((below_full + 255) // 256):
            width = min(256, below_full - 256 * t)
            tile = (directory / tile_path(level, t, width)).read_bytes()
            assert len(tile) == 32 * width, f"tile {level}/{t}"
            for i in range(width):
                k = 256 * t + i
                want = mth(leaves[k * span : (k + 1) * span])
                assert tile[32 * i : 32 * i + 32] == want, f"tile {level}/{t} hash {i}"
        level, span = level + 1, span * 256
    return size, root, entries


@pytest.fixture(scope="module")
def tiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, stratalog.SigningKey]:
    base = tmp_path_factory.mktemp("tiles")
    key = stratalog.SigningKey.from_text(private_text(KEY_NAME, SEED, PUBLIC))
    with stratalog.open(base / "store") as store:
        for b in range(70):
            store.append_batch(4, [b"tile event %d" % (b * 1000 + i) for i in range(1000)])
        store.append_batch(4, [b"tail %d" % i for i in range(123)])
        store.export_tiles(4, key, str(base / "small"), size=1000)  # smaller first: never signed after a larger
        note = store.export_tiles(4, key, base / "out")
        assert (base / "out" / "checkpoint").read_text() == note
        assert stratalog.verify_checkpoint(note, key.vkey) == (70_123, store.tree_root(4))
    return base, base / "out", key


def test_exported_tiles_pass_an_independent_checker(tiled: tuple[Path, Path, stratalog.SigningKey]) -> None:
    base, out, key = tiled
    size, root, entries = check_tiles(out, key.vkey)
    assert size == 70_123
    assert (out / "tile/2/000.p/1").is_file()  # level 2 exists
    assert (out / "tile/1/000").is_file() and (out / "tile/1/001.p/17").is_file()
    with stratalog.open_read_only(base / "store") as ro:
        assert root == ro.tree_root(4)
        for n in (0, 255, 256, 65535, 65536, 70_122):
            assert entries[n] == ro.leaf_data(4, n)
    small_size, small_root, _ = check_tiles(base / "small", key.vkey)
    assert small_size == 1000
    assert (base / "small" / "tile/0/003.p/232").is_file()


@pytest.mark.parametrize(
    "forge", ["tile/0/005", "tile/0/273.p/235", "tile/entries/100", "tile/1/000", "tile/2/000.p/1", "checkpoint"]
)
def test_a_forged_tile_fails_the_checker(
    tiled: tuple[Path, Path, stratalog.SigningKey], tmp_path: Path, forge: str
) -> None:
    import shutil

    _, out, key = tiled
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    target = copy / forge
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises((AssertionError, stratalog.VerificationError)):
        check_tiles(copy, key.vkey)


# The checkpoint and receipt vectors of docs/FORMAT.md: the same bytes from
# the Rust core, C, Python and Node.
VECTOR_KEY = "PRIVATE+KEY+example.com/log+cc714670+AZ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g"
VECTOR_VKEY = "example.com/log+cc714670+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
VECTOR_CHECKPOINT = (
    "example.com/log/1\n4\n7XL6NELTT54Ito0qiJbST1KISxSbWZiZtawX4b94J/4=\n\n"
    "\u2014 example.com/log zHFGcBsSWEnX5ZB+L3J+0wntore5Rf7e3d/qhpR5yKnpEQaBcY8/"
    "CgIiESz5sO53KYAuldGR2+bPDIPeTbOeIGfu7wQ=\n"
)


def test_the_checkpoint_and_receipt_vectors_of_the_format_spec() -> None:
    key = stratalog.SigningKey.from_text(VECTOR_KEY)
    assert key.vkey == VECTOR_VKEY
    assert key.vkey == expected_vkey("example.com/log", PUBLIC)
    with stratalog.open_in_memory() as store:
        store.append_batch(1, VECTOR_EVENTS)
        assert store.checkpoint(1, key) == VECTOR_CHECKPOINT
        receipt = store.receipt(1, 2, key)
    assert receipt == (
        "c2sp.org/tlog-proof@v1\nextra 0Y+/v86GOqXuU7imCmkvyYC5DJcJ15932aqCUkUeIUE=\nindex 2\n"
        "tmJlyYPo4v0cq0XH6em4JQSibHSRDbtsz+OVg0RZUww=\niMAPq4B9JQ3BpimycCyK55sqQUCjOf3uVJhJEY3PpyY=\n\n"
        + VECTOR_CHECKPOINT
    )
    stratalog.verify_receipt(receipt, VECTOR_VKEY, b"gamma")
