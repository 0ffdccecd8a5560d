"""Witnesses (C2SP tlog-witness): a store submits its checkpoints to
witnesses served on 127.0.0.1 by this suite's own implementation of the
spec (witness_server.py: pure Python and `cryptography`), collects their
cosignatures (C2SP tlog-cosignature), and verify_witnessed_checkpoint
checks k of n of them."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

pytest.importorskip("cryptography", reason="the test witness signs with the cryptography package")

from conftest import run_cli  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from witness_server import (  # noqa: E402
    ALG_COSIGNATURE_V1,
    EMPTY_ROOT,
    Witness,
    WitnessServer,
    check_cosignature,
    parse_note,
    parse_vkey,
    signed_by,
    verify_consistency,
    vkey_string,
)

import stratalog

LOG = "example.com/log"
STREAM = 1
ORIGIN = f"{LOG}/{STREAM}"

StartWitness = Callable[..., WitnessServer]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The witnesses are on 127.0.0.1; the library's HTTP client (and the
    CLI's, in a child process) would go through a proxy named in the
    environment, even for 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def key() -> stratalog.SigningKey:
    return stratalog.SigningKey.generate(LOG)


@pytest.fixture
def start_witness(key: stratalog.SigningKey, tmp_path: Path) -> Iterator[StartWitness]:
    """Starts witnesses on 127.0.0.1 that know the log ``key`` under
    ORIGIN; stops them after the test."""
    servers: list[WitnessServer] = []

    def start(name: str, behaviour: str = "honest", signer: Ed25519PrivateKey | None = None) -> WitnessServer:
        witness = Witness(
            name,
            key=signer or Ed25519PrivateKey.generate(),
            behaviour=behaviour,
            state_file=tmp_path / f"{name.replace('/', '_')}.json",
        )
        witness.add_log(ORIGIN, key.vkey)
        server = WitnessServer(witness)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def events(round_: int, n: int = 50) -> list[bytes]:
    return [b"round %d event %d" % (round_, i) for i in range(n)]


def cosigners(note: str) -> list[str]:
    return [line.split(" ")[1] for line in note.split("\n\n", 1)[1].splitlines()]


def test_rounds_of_cosigned_checkpoints_verify_k_of_n(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness, store_path: Path
) -> None:
    w1, w2 = start_witness("w1.example/witness"), start_witness("w2.example/witness")
    specs = [w1.spec, (w2.witness.vkey, w2.url)]  # a string and a (vkey, url) tuple
    vkeys = [w1.witness.vkey, w2.witness.vkey]
    prev = 0
    for round_ in range(4):
        store.append_batch(STREAM, events(round_, 50 + 7 * round_))
        note = store.witness_checkpoint(STREAM, key, specs)
        size = store.chain_head(STREAM).next_offset
        root = store.tree_root(STREAM)
        # The log's signature line, then one cosignature per witness, in order.
        assert cosigners(note) == [LOG, "w1.example/witness", "w2.example/witness"], note
        assert stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys, 2) == (size, root)
        assert stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys) == (size, root)
        origin = note.split("\n", 1)[0]
        assert stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys, origin=origin) == (size, root)
        with pytest.raises(stratalog.VerificationError, match="not the expected"):
            stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys, origin=origin + "/other")
        assert stratalog.verify_checkpoint(note, key.vkey) == (size, root)
        # Independently of stratalog: each cosignature checks out with
        # cryptography, and so does the log's own signature.
        for v in vkeys:
            check_cosignature(note, v)
        assert signed_by(parse_note(note), parse_vkey(key.vkey))
        # The witnesses remember the size they cosigned, and so does the store.
        assert w1.witness.size(ORIGIN) == w2.witness.size(ORIGIN) == size
        assert json.loads(w1.witness.state_file.read_text())[ORIGIN][0] == size  # type: ignore[union-attr]
        # Each round proved consistency from the previous size, with no 409.
        assert w1.witness.requests[-1] == (prev, 200)
        prev = size
    assert (store_path / "witnessed").is_dir()
    assert all(status == 200 for _, status in w1.witness.requests + w2.witness.requests)

    # k of n: 3 of 2 is too many; one of the two, or a witness not asked, counts alone.
    with pytest.raises(stratalog.VerificationError, match="cosignatures"):
        stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys, 3)
    stranger = stratalog.SigningKey.generate("w3.example/witness").cosigner_vkey
    assert stratalog.verify_witnessed_checkpoint(note, key.vkey, [stranger, vkeys[1]], 1)[0] == size
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_witnessed_checkpoint(note, key.vkey, [stranger], 1)
    # A note with the log's signature only has no cosignature.
    plain = store.checkpoint(STREAM, key)
    assert stratalog.verify_witnessed_checkpoint(plain, key.vkey, vkeys, 0) == (size, root)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_witnessed_checkpoint(plain, key.vkey, vkeys, 1)
    # Another log key fails the note whatever the witnesses say.
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_witnessed_checkpoint(note, stratalog.SigningKey.generate(LOG).vkey, vkeys, 1)
    # An edited cosignature time fails the note: its key is listed.
    lines = note.split("\n")
    w1_line = next(i for i, line in enumerate(lines) if line.startswith("— w1.example/witness "))
    raw = bytearray(base64.b64decode(lines[w1_line].split(" ")[2]))
    raw[11] ^= 1
    lines[w1_line] = f"— w1.example/witness {base64.b64encode(bytes(raw)).decode()}"
    edited = "\n".join(lines)
    with pytest.raises(stratalog.VerificationError):
        stratalog.verify_witnessed_checkpoint(edited, key.vkey, vkeys, 1)
    # A log key (type 0x01) is not a witness key.
    with pytest.raises(stratalog.InvalidArgumentError):
        stratalog.verify_witnessed_checkpoint(note, key.vkey, [key.vkey], 1)
    with pytest.raises(TypeError):
        stratalog.verify_witnessed_checkpoint(note, key.vkey, vkeys[0], 1)  # type: ignore[arg-type]


def test_cosigner_vkey_is_the_type_4_key_of_the_same_key(start_witness: StartWitness) -> None:
    """A witness run with a stratalog SigningKey's seed is known by its
    cosigner_vkey; the witness computes that string itself."""
    wkey = stratalog.SigningKey.generate("w.example/witness")
    seed = base64.b64decode(wkey.private_text().strip().split("+", 4)[4])[1:]
    signer = Ed25519PrivateKey.from_private_bytes(seed)
    server = start_witness("w.example/witness", signer=signer)
    assert server.witness.vkey == wkey.cosigner_vkey
    public = base64.b64decode(wkey.vkey.split("+", 2)[2])[1:]
    assert wkey.cosigner_vkey == vkey_string(wkey.name, ALG_COSIGNATURE_V1, public)
    assert base64.b64decode(wkey.cosigner_vkey.split("+", 2)[2])[0] == 4 != base64.b64decode(wkey.vkey.split("+", 2)[2])[0]
    head = hashlib.sha256(wkey.name.encode() + b"\n\x04" + public).digest()[:4].hex()
    assert wkey.cosigner_vkey.split("+")[1] == head


def test_the_client_recovers_from_a_409(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness, store_path: Path
) -> None:
    w = start_witness("w.example/witness")
    for round_ in range(3):
        store.append_batch(STREAM, events(round_))
        note = store.witness_checkpoint(STREAM, key, [w.spec])
        size = store.chain_head(STREAM).next_offset
        assert stratalog.verify_witnessed_checkpoint(note, key.vkey, [w.witness.vkey]) == (size, store.tree_root(STREAM))
        assert w.witness.size(ORIGIN) == size
        # The store forgets what the witness cosigned: it asks from 0, the
        # witness answers 409 with its size, the store proves from there.
        shutil.rmtree(store_path / "witnessed")
    assert w.witness.requests == [(0, 200), (0, 409), (50, 200), (0, 409), (100, 200)]


def test_a_witness_that_does_not_cosign_is_a_witness_error(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness
) -> None:
    store.append_batch(STREAM, events(0))
    good = start_witness("good.example/witness")
    # Unreachable: a port nothing listens on.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nobody = f"{good.witness.vkey} http://127.0.0.1:{port}/witness"
    with pytest.raises(stratalog.WitnessError) as info:
        store.witness_checkpoint(STREAM, key, [nobody])
    assert info.value.status == stratalog.Status.WITNESS_FAILED and f"127.0.0.1:{port}" in str(info.value)
    assert isinstance(info.value, stratalog.Error)
    # 503.
    down = start_witness("down.example/witness", behaviour="down")
    with pytest.raises(stratalog.WitnessError, match="503"):
        store.witness_checkpoint(STREAM, key, [good.spec, down.spec])
    # Cosigned with another key than its vkey's.
    liar = start_witness("liar.example/witness", behaviour="wrong-key")
    with pytest.raises(stratalog.WitnessError, match="no valid cosignature") as info:
        store.witness_checkpoint(STREAM, key, [liar.spec])
    assert "liar.example/witness" in str(info.value)
    # An origin the witness does not know: 404.
    with pytest.raises(stratalog.WitnessError, match="404"):
        store.witness_checkpoint(STREAM, key, [good.spec], origin="example.com/other")
    # A log key the witness does not know: 403.
    with pytest.raises(stratalog.WitnessError, match="403"):
        store.witness_checkpoint(STREAM, stratalog.SigningKey.generate(LOG), [good.spec])
    # The good witness still cosigns, from the size it cosigned above.
    note = store.witness_checkpoint(STREAM, key, [good.spec])
    assert stratalog.verify_witnessed_checkpoint(note, key.vkey, [good.witness.vkey])[0] == 50
    # Malformed witnesses are the caller's mistake.
    for bad in (["junk"], [f"{key.vkey} {good.url}"], [f"{good.witness.vkey} ftp://x"], [("", good.url)]):
        with pytest.raises(stratalog.InvalidArgumentError):
            store.witness_checkpoint(STREAM, key, bad)
    with pytest.raises(TypeError):
        store.witness_checkpoint(STREAM, key, good.spec)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.witness_checkpoint(STREAM, key, [(good.witness.vkey,)])  # type: ignore[list-item]


def test_another_history_under_the_same_origin_is_refused_with_422(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness, tmp_path: Path
) -> None:
    w = start_witness("w.example/witness")
    store.append_batch(STREAM, events(0))
    store.witness_checkpoint(STREAM, key, [w.spec])
    with stratalog.open(tmp_path / "impostor") as other:
        other.append_batch(STREAM, events(9, 60))
        with pytest.raises(stratalog.WitnessError, match="422"):
            other.witness_checkpoint(STREAM, key, [w.spec])
    assert w.witness.requests[-2:] == [(0, 409), (50, 422)]
    assert w.witness.size(ORIGIN) == 50


def test_the_gil_is_released_while_witnesses_answer(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness
) -> None:
    """The witness is served by Python threads of this very process: the
    exchange could not finish if the store call held the GIL."""
    w = start_witness("w.example/witness")
    store.append_batch(STREAM, events(0))
    note = store.witness_checkpoint(STREAM, key, [w.spec], size=20, origin=ORIGIN)
    assert note.startswith(f"{ORIGIN}\n20\n")
    assert w.witness.size(ORIGIN) == 20


def _post(server: WitnessServer, body: bytes) -> tuple[int, bytes, str]:
    request = urllib.request.Request(f"{server.url}/add-checkpoint", data=body, method="POST")
    try:
        # No proxy from the environment: the witness is on 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_the_test_witness_follows_the_spec(
    store: stratalog.Store, key: stratalog.SigningKey, start_witness: StartWitness
) -> None:
    """The witness's own rules, by hand-made requests."""
    w = start_witness("w.example/witness")
    store.append_batch(STREAM, events(0, 20))

    def body(old: int, proof: list[bytes], note: str) -> bytes:
        return (f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + note).encode()

    n8, n20 = store.checkpoint(STREAM, key, size=8), store.checkpoint(STREAM, key, size=20)
    assert _post(w, body(1, [], n8))[0] == 409  # it has cosigned nothing: size 0
    status, text, ctype = _post(w, body(3, [], n8))
    assert (status, text, ctype) == (409, b"0\n", "text/x.tlog.size")
    assert _post(w, body(9, [], n8))[0] == 400  # old > size
    assert _post(w, b"nonsense")[0] == 400
    assert _post(w, body(0, [], n8.replace(f"{ORIGIN}\n", "other/1\n")))[0] == 404
    assert _post(w, body(0, [], n8.replace("\n8\n", "\n9\n")))[0] == 403
    status, text, _ = _post(w, body(0, [], n8))
    assert status == 200 and text.startswith("— w.example/witness ".encode())
    check_cosignature(n8 + text.decode(), w.witness.vkey)
    # The same size again: fine with the same root, 422 with another.
    assert _post(w, body(8, [], n8))[0] == 200
    # From 8 to 20: a wrong proof is 422, the store's proof passes.
    proof = store.consistency_proof(STREAM, 8, 20)
    assert _post(w, body(8, [bytes(32)] + proof[1:], n20))[0] == 422
    assert _post(w, body(8, proof[:-1], n20))[0] == 422
    assert _post(w, body(8, proof, n20))[0] == 200
    assert w.witness.size(ORIGIN) == 20
    with stratalog.open_in_memory() as other:
        other.append_batch(STREAM, [b"x"] * 20)
        forged = other.checkpoint(STREAM, key, size=20)
    assert _post(w, body(20, [], forged))[0] == 422
    # Size 0 (an origin of its own): the empty tree's root only.
    w.witness.add_log("example.com/zero", key.vkey)
    seed = base64.b64decode(key.private_text().strip().split("+", 4)[4])[1:]
    log_signer = Ed25519PrivateKey.from_private_bytes(seed)
    kid = parse_vkey(key.vkey).key_id

    def signed(text: str) -> str:
        sig = base64.b64encode(kid + log_signer.sign(text.encode())).decode()
        return f"{text}\n— {LOG} {sig}\n"

    zero = "example.com/zero\n0\n{}\n"
    assert _post(w, body(0, [], signed(zero.format(base64.b64encode(bytes(32)).decode()))))[0] == 422
    assert _post(w, body(0, [], signed(zero.format(base64.b64encode(EMPTY_ROOT).decode()))))[0] == 200
    # RFC 9162 verification agrees with stratalog's on every pair of sizes.
    roots = [store.tree_root(STREAM, n) for n in range(21)]
    assert roots[0] == EMPTY_ROOT
    for old in range(21):
        for new in range(old, 21):
            p = store.consistency_proof(STREAM, old, new)
            assert verify_consistency(old, new, roots[old], roots[new], p), (old, new)
            if p:
                assert not verify_consistency(old, new, roots[old], roots[new], p[:-1])
                bad = [bytes(32)] + p[1:]
                assert not verify_consistency(old, new, roots[old], roots[new], bad)


def test_cli_checkpoint_with_witnesses_and_verify_checkpoint(
    store_path: Path, key: stratalog.SigningKey, start_witness: StartWitness, tmp_path: Path
) -> None:
    keyfile = tmp_path / "log.key"
    key.save(keyfile)
    w1, w2 = start_witness("w1.example/witness"), start_witness("w2.example/witness")
    with stratalog.open(store_path) as writer:
        writer.append_batch(STREAM, events(0))
    args = ["checkpoint", str(store_path), "--stream", str(STREAM), "--key", str(keyfile)]
    out = run_cli(*args, "--witness", w1.spec, "--witness", w2.spec)
    assert out.returncode == 0, out.stderr
    assert cosigners(out.stdout) == [LOG, "w1.example/witness", "w2.example/witness"]
    check_cosignature(out.stdout, w1.witness.vkey)
    check_cosignature(out.stdout, w2.witness.vkey)
    note = tmp_path / "note"
    note.write_text(out.stdout)
    w2_vkey = tmp_path / "w2.vkey"
    w2_vkey.write_text(w2.witness.vkey + "\n")
    ok = run_cli("verify-checkpoint", str(note), "--vkey", key.vkey, "--witness-vkey", w1.witness.vkey,
                 "--witness-vkey", str(w2_vkey), "--min", "2")
    assert (ok.returncode, ok.stderr) == (0, ""), ok.stderr
    assert ok.stdout == f"checkpoint ok: {ORIGIN} at size 50, cosigned by 2 of 2 witnesses\n"
    doc = json.loads(run_cli("--json", "verify-checkpoint", str(note), "--vkey", key.vkey,
                             "--witness-vkey", w1.witness.vkey).stdout)
    assert doc["ok"] and doc["size"] == 50 and doc["cosigned_by"] == [w1.witness.vkey] and doc["min"] == 1
    # The witnesses moved with the next round; --json names them.
    with stratalog.open(store_path) as writer:
        writer.append_batch(STREAM, events(1))
    doc = json.loads(run_cli("--json", *args, "--witness", w1.spec).stdout)
    assert doc["ok"] and doc["size"] == 100 and doc["witnesses"] == [w1.witness.vkey]
    assert stratalog.verify_witnessed_checkpoint(doc["checkpoint"], key.vkey, [w1.witness.vkey])[0] == 100
    assert w1.witness.size(ORIGIN) == 100 and w2.witness.size(ORIGIN) == 50
    # Only w1 cosigned this one: 2 of 2 fails (exit 1, the reason on stderr).
    note.write_text(doc["checkpoint"])
    bad = run_cli("verify-checkpoint", str(note), "--vkey", key.vkey, "--witness-vkey", w1.witness.vkey,
                  "--witness-vkey", w2.witness.vkey, "--min", "2")
    assert bad.returncode == 1 and "1 valid cosignatures" in bad.stderr and bad.stdout == ""
    # A witness that does not cosign: exit 1 naming it, and nothing on stdout.
    down = start_witness("down.example/witness", behaviour="down")
    failed = run_cli(*args, "--witness", w1.spec, "--witness", down.spec)
    assert failed.returncode == 1 and "WitnessError" in failed.stderr and "down.example/witness" in failed.stderr
    assert failed.stdout == ""
    doc = json.loads(run_cli("--json", *args, "--witness", down.spec).stdout)
    assert not doc["ok"] and doc["code"] == "STRATALOG_STATUS_WITNESS_FAILED" and "503" in doc["message"]
    # A malformed witness is a bad command line: exit 2.
    assert run_cli(*args, "--witness", "junk").returncode == 2
