"""A transparency log witness (C2SP tlog-witness) for the tests, written
from the specs alone, in pure Python and `cryptography` (Ed25519): it shares
no code with stratalog, so a cosignature it makes and stratalog checks (or
the other way round) is evidence both follow the specs.

It serves ``POST <prefix>/add-checkpoint`` on 127.0.0.1 (a port the OS
picks) and follows the spec's rules, in its order:

- a malformed body: 400;
- an origin it has no log key for: 404;
- no valid signature by the log's key (C2SP signed-note, Ed25519, type
  0x01): 403;
- ``old`` larger than the checkpoint's size: 400;
- ``old`` other than the size it last cosigned for the origin (0 if
  none): 409, with that size as the body ``"<size>\\n"``, Content-Type
  ``text/x.tlog.size``;
- a consistency proof from ``old`` to the size that fails (RFC 9162
  2.1.4.2), or the same size with another root, or size 0 with a root
  other than the empty tree's: 422;
- else it persists the new size and root for the origin (in memory, and in
  ``state_file`` if given) and answers 200 with its cosignature line (C2SP
  tlog-cosignature): ``— <name> base64(key id || u64_be(time) ||
  Ed25519(cosignature/v1\\ntime <time>\\n<checkpoint text>))``.

``behaviour`` makes it misbehave: "down" answers 503 to everything,
"wrong-key" cosigns with a key other than the one its vkey names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.server
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

EM_DASH = "\u2014"
ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_PROOF_LINES = 63


# -- keys and signed notes (C2SP signed-note) ---------------------------------


def key_id(name: str, alg: int, public: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || "\\n" || alg || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def vkey_string(name: str, alg: int, public: bytes) -> str:
    """``<name>+<8 hex key id>+<base64(alg || public key)>``."""
    return f"{name}+{key_id(name, alg, public).hex()}+{base64.b64encode(bytes([alg]) + public).decode()}"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    alg: int
    key_id: bytes
    public: Ed25519PublicKey


def parse_vkey(text: str) -> VerifierKey:
    """A verifier key string; checks its key ID against its key."""
    name, hex_id, b64 = text.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    alg, public = raw[0], raw[1:]
    if len(public) != 32 or alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise ValueError(f"not an Ed25519 verifier key: {text!r}")
    kid = bytes.fromhex(hex_id)
    if kid != key_id(name, alg, public):
        raise ValueError(f"the key ID of {text!r} does not match its key")
    return VerifierKey(name, alg, kid, Ed25519PublicKey.from_public_bytes(public))


@dataclass(frozen=True)
class Note:
    text: str  # up to and including the newline before the blank line
    signatures: list[tuple[str, bytes]]  # (key name, key id || signature)


def parse_note(note: str) -> Note:
    """Splits a signed note at its last blank line (C2SP signed-note)."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("not a signed note")
    text, lines = note[: split + 1], note[split + 2 :]
    signatures = []
    for line in lines.splitlines():
        dash, name, b64 = line.split(" ")
        if dash != EM_DASH:
            raise ValueError(f"not a signature line: {line!r}")
        raw = base64.b64decode(b64, validate=True)
        if len(raw) < 5:
            raise ValueError(f"a signature too short: {line!r}")
        signatures.append((name, raw))
    if not signatures:
        raise ValueError("a note without signatures")
    return Note(text, signatures)


def signed_by(note: Note, vkey: VerifierKey) -> bool:
    """Whether the note carries a valid Ed25519 signature (type 0x01) by
    ``vkey``; signature lines of other keys are ignored."""
    for name, raw in note.signatures:
        if name == vkey.name and raw[:4] == vkey.key_id:
            try:
                vkey.public.verify(raw[4:], note.text.encode())
                return True
            except InvalidSignature:
                return False
    return False


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 signs."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def check_cosignature(note: str, vkey: str) -> int:
    """Verifies the cosignature of the witness ``vkey`` (type 0x04) on
    ``note`` independently of stratalog; returns its timestamp. Raises
    ValueError / InvalidSignature if there is none valid."""
    key = parse_vkey(vkey)
    assert key.alg == ALG_COSIGNATURE_V1
    parsed = parse_note(note)
    for name, raw in parsed.signatures:
        if name == key.name and raw[:4] == key.key_id:
            if len(raw) != 4 + 8 + 64:
                raise ValueError("a cosignature is key id, 8-byte time and 64-byte signature")
            timestamp = int.from_bytes(raw[4:12], "big")
            key.public.verify(raw[12:], cosignature_message(parsed.text, timestamp))
            return timestamp
    raise ValueError(f"no cosignature by {key.name}")


# -- Merkle trees (RFC 9162) ---------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2, for 0 < first < second; first == second
    and first == 0 as the witness spec has them."""
    if first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of 2
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


# -- the witness ------------------------------------------------------------------


class Reject(Exception):
    def __init__(self, status: int, body: str = "", content_type: str = "text/plain; charset=utf-8") -> None:
        super().__init__(f"{status} {body}")
        self.status, self.body, self.content_type = status, body, content_type


@dataclass
class Witness:
    """The witness's configuration and state."""

    name: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    logs: dict[str, str] = field(default_factory=dict)  # origin -> the log's vkey
    behaviour: str = "honest"  # or "down", "wrong-key"
    state_file: Path | None = None
    seen: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # origin -> (size, root)
    requests: list[tuple[int, int]] = field(default_factory=list)  # (old, status) of each add-checkpoint
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def vkey(self) -> str:
        """Its cosigner verifier key string (type 0x04)."""
        return vkey_string(self.name, ALG_COSIGNATURE_V1, raw_public(self.key))

    def size(self, origin: str) -> int:
        with self.lock:
            return self.seen.get(origin, (0, EMPTY_ROOT))[0]

    def add_log(self, origin: str, vkey: str) -> None:
        self.logs[origin] = vkey

    def _persist(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({o: [s, r.hex()] for o, (s, r) in self.seen.items()}))
        os.replace(tmp, self.state_file)

    def add_checkpoint(self, body: bytes) -> str:
        """The add-checkpoint rules; returns the 200 body or raises Reject."""
        try:
            text = body.decode("utf-8")
            head, note = text.split("\n\n", 1)
            lines = head.split("\n")
            if not lines[0].startswith("old ") or not lines[0][4:].isdigit():
                raise ValueError("the first line is not 'old <size>'")
            old = int(lines[0][4:])
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
            if len(proof) > MAX_PROOF_LINES or any(len(h) != 32 for h in proof):
                raise ValueError("a bad consistency proof")
            parsed = parse_note(note)
            origin, size_line, root_line = parsed.text.split("\n")[:3]
            if not size_line.isdigit():
                raise ValueError("a bad size line")
            size = int(size_line)
            root = base64.b64decode(root_line, validate=True)
            if len(root) != 32:
                raise ValueError("a bad root line")
        except (ValueError, UnicodeDecodeError, binascii.Error) as e:
            raise Reject(400, f"malformed request: {e}\n") from None
        if origin not in self.logs:
            raise Reject(404, f"unknown log {origin}\n")
        if not signed_by(parsed, parse_vkey(self.logs[origin])):
            raise Reject(403, "no valid signature by the log's key\n")
        if old > size:
            raise Reject(400, f"old size {old} is larger than the checkpoint's {size}\n")
        with self.lock:
            known, known_root = self.seen.get(origin, (0, EMPTY_ROOT))
            if old != known:
                raise Reject(409, f"{known}\n", "text/x.tlog.size")
            if size == 0 and root != EMPTY_ROOT:
                raise Reject(422, "a tree of size 0 with a root other than the empty tree's\n")
            if old == size and (proof or root != known_root):
                raise Reject(422, "the same size with another root\n")
            if old < size and not verify_consistency(old, size, known_root, root, proof):
                raise Reject(422, f"the consistency proof from {old} to {size} fails\n")
            self.seen[origin] = (size, root)
            self._persist()
        timestamp = int(time.time())
        signer = Ed25519PrivateKey.generate() if self.behaviour == "wrong-key" else self.key
        signature = signer.sign(cosignature_message(parsed.text, timestamp))
        kid = key_id(self.name, ALG_COSIGNATURE_V1, raw_public(self.key))
        raw = kid + timestamp.to_bytes(8, "big") + signature
        return f"{EM_DASH} {self.name} {base64.b64encode(raw).decode()}\n"


class WitnessServer:
    """A :class:`Witness` served over HTTP on 127.0.0.1, under ``prefix``."""

    def __init__(self, witness: Witness, prefix: str = "/witness") -> None:
        self.witness = witness
        handler = self._handler(witness, prefix)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        host, port = self.httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}{prefix}"
        # serve_forever polls for shutdown every poll_interval (0.5 s by default),
        # which every test that stops a witness would wait out.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=f"witness {witness.name}", daemon=True
        )
        self.thread.start()

    @property
    def spec(self) -> str:
        """``"<vkey> <url>"``, as Store.witness_checkpoint takes it."""
        return f"{self.witness.vkey} {self.url}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)

    @staticmethod
    def _handler(witness: Witness, prefix: str) -> type[http.server.BaseHTTPRequestHandler]:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _answer(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802
                self._answer(405 if self.path == f"{prefix}/add-checkpoint" else 404, "")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != f"{prefix}/add-checkpoint":
                    self._answer(404, "not found\n")
                    return
                old = -1
                try:
                    old = int(body.split(b"\n", 1)[0][4:])
                except ValueError:
                    pass
                if witness.behaviour == "down":
                    status, text, ctype = 503, "resting\n", "text/plain; charset=utf-8"
                else:
                    try:
                        status, text, ctype = 200, witness.add_checkpoint(body), "text/plain; charset=utf-8"
                    except Reject as r:
                        status, text, ctype = r.status, r.body, r.content_type
                with witness.lock:
                    witness.requests.append((old, status))
                self._answer(status, text, ctype)

        return Handler
