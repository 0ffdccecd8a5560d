"""The proof commands of `stratalog`: keygen, checkpoint, prove,
prove-consistency, verify-receipt, export-tiles."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import VECTOR_EVENTS, cli_path, run_cli

import stratalog


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, str]:
    """A store with the vector stream 7, a key file, and its vkey."""
    path = tmp_path / "store"
    with stratalog.open(path) as store:
        store.append_batch(7, VECTOR_EVENTS)
        store.append_batch(9, [b"e%d" % i for i in range(50)])
    out = run_cli("keygen", "example.com/cli", "--out", str(tmp_path / "key"))
    assert out.returncode == 0, out.stderr
    return path, tmp_path / "key", out.stdout.strip()


def test_help_lists_the_proof_commands() -> None:
    out = run_cli("--help")
    for command in ("keygen", "checkpoint", "prove", "prove-consistency", "verify-receipt", "verify-checkpoint",
                    "export-tiles"):
        assert command in out.stdout


def test_keygen_writes_a_private_key_and_prints_only_the_vkey(signed: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, keyfile, vkey = signed
    key = stratalog.SigningKey.from_file(keyfile)
    assert key.vkey == vkey and key.name == "example.com/cli"
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    secret = keyfile.read_text().strip().split("+", 4)[4]  # the base64 may hold "+"
    again = run_cli("keygen", "example.com/cli", "--out", str(keyfile))
    assert again.returncode == 2 and "exists" in again.stderr
    assert stratalog.SigningKey.from_file(keyfile).vkey == vkey  # not overwritten
    doc = json.loads(run_cli("--json", "keygen", "n", "--out", str(tmp_path / "k2")).stdout)
    assert doc["ok"] and doc["name"] == "n" and doc["vkey"] == stratalog.SigningKey.from_file(tmp_path / "k2").vkey
    assert secret not in json.dumps(doc) + vkey
    assert run_cli("keygen", "bad name", "--out", str(tmp_path / "k3")).returncode == 2
    assert run_cli("keygen", "x").returncode == 2  # --out is required


def test_checkpoint(signed: tuple[Path, Path, str]) -> None:
    path, keyfile, vkey = signed
    out = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile), "--size", "3")
    assert out.returncode == 0, out.stderr
    with stratalog.open_read_only(path) as ro:
        root3, root4 = ro.tree_root(7, 3), ro.tree_root(7)
    assert out.stdout.startswith(f"example.com/cli/7\n3\n{base64.b64encode(root3).decode()}\n\n— example.com/cli ")
    assert stratalog.verify_checkpoint(out.stdout, vkey) == (3, root3)
    secret = keyfile.read_text().strip().split("+", 4)[4]  # the base64 may hold "+"
    assert secret not in out.stdout + out.stderr
    out = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile), "--origin", "audit/x")
    assert out.stdout.startswith("audit/x\n4\n") and stratalog.verify_checkpoint(out.stdout, vkey) == (4, root4)
    doc = json.loads(run_cli("--json", "checkpoint", str(path), "--stream", "7", "--key", str(keyfile)).stdout)
    assert doc["ok"] and doc["size"] == 4 and doc["root"] == root4.hex() and doc["origin"] == "example.com/cli/7"
    # A smaller size than signed before is refused: exit 1.
    refused = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile), "--size", "2")
    assert refused.returncode == 1 and "CheckpointRefusedError" in refused.stderr and refused.stdout == ""
    doc = json.loads(run_cli("--json", "checkpoint", str(path), "--stream", "7", "--key", str(keyfile), "--size", "1").stdout)
    assert not doc["ok"] and doc["code"] == "STRATALOG_STATUS_CHECKPOINT_REFUSED"
    # Past the end, a missing key file, a bad key file: exit 2.
    assert run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile), "--size", "5").returncode == 2
    missing = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(path / "nope"))
    assert missing.returncode == 2 and "cannot read the key" in missing.stderr
    assert run_cli("checkpoint", str(path), "--stream", "7").returncode == 2  # --key is required


def test_prove_and_verify_receipt(signed: tuple[Path, Path, str], tmp_path: Path) -> None:
    path, keyfile, vkey = signed
    out = run_cli("prove", str(path), "--stream", "7", "--offset", "1", "--key", str(keyfile), "--size", "3")
    assert out.returncode == 0, out.stderr
    receipt = tmp_path / "receipt"
    receipt.write_text(out.stdout)
    assert out.stdout.startswith("c2sp.org/tlog-proof@v1\nextra ") and "\nindex 1\n" in out.stdout
    assert "\nexample.com/cli/7\n3\n" in out.stdout
    stratalog.verify_receipt(out.stdout, vkey, b"beta")
    event = tmp_path / "event"
    event.write_bytes(b"beta")
    vkey_file = tmp_path / "vkey"
    vkey_file.write_text(vkey + "\n")
    for key_arg in (vkey, str(vkey_file)):
        ok = run_cli("verify-receipt", str(receipt), "--vkey", key_arg, "--event", str(event))
        assert (ok.returncode, ok.stderr) == (0, ""), ok.stderr
    doc = json.loads(run_cli("--json", "verify-receipt", str(receipt), "--vkey", vkey, "--event", str(event)).stdout)
    assert doc["ok"] and doc["offset"] == 1 and doc["size"] == 3
    # The log it is of, when the verifier names it.
    mine = run_cli("verify-receipt", str(receipt), "--vkey", vkey, "--event", str(event), "--origin", "example.com/cli/7")
    assert mine.returncode == 0, mine.stderr
    theirs = run_cli("verify-receipt", str(receipt), "--vkey", vkey, "--event", str(event), "--origin", "example.com/cli/8")
    assert theirs.returncode == 1 and 'not the expected "example.com/cli/8"' in theirs.stderr, theirs.stderr
    # An edited event, an edited receipt, another key: exit 1, the reason on stderr.
    event.write_bytes(b"betA")
    bad = run_cli("verify-receipt", str(receipt), "--vkey", vkey, "--event", str(event))
    assert bad.returncode == 1 and "verification failed" in bad.stderr
    doc = json.loads(run_cli("--json", "verify-receipt", str(receipt), "--vkey", vkey, "--event", str(event)).stdout)
    assert not doc["ok"] and doc["code"] == "STRATALOG_STATUS_VERIFICATION_FAILED"
    event.write_bytes(b"beta")
    forged = tmp_path / "forged"
    forged.write_text(out.stdout.replace("\nindex 1\n", "\nindex 2\n"))
    assert run_cli("verify-receipt", str(forged), "--vkey", vkey, "--event", str(event)).returncode == 1
    other = stratalog.SigningKey.generate("example.com/cli").vkey
    assert run_cli("verify-receipt", str(receipt), "--vkey", other, "--event", str(event)).returncode == 1
    assert run_cli("verify-receipt", str(receipt), "--vkey", "junk", "--event", str(event)).returncode == 1
    # The default size is the current one; an offset past it is refused.
    whole = run_cli("prove", str(path), "--stream", "7", "--offset", "3", "--key", str(keyfile))
    assert whole.returncode == 0 and "\nexample.com/cli/7\n4\n" in whole.stdout
    stratalog.verify_receipt(whole.stdout, vkey, b"")
    assert run_cli("prove", str(path), "--stream", "7", "--offset", "4", "--key", str(keyfile)).returncode == 2
    # An unreadable input is exit 2.
    missing = run_cli("verify-receipt", str(tmp_path / "none"), "--vkey", vkey, "--event", str(event))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_verify_checkpoint(signed: tuple[Path, Path, str], tmp_path: Path) -> None:
    """verify-checkpoint without witnesses (test_witness.py has them):
    exit 0, 1 (the reason on stderr) or 2, like verify-receipt."""
    path, keyfile, vkey = signed
    out = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile))
    assert out.returncode == 0, out.stderr
    note = tmp_path / "note"
    note.write_text(out.stdout)
    vkey_file = tmp_path / "vkey"
    vkey_file.write_text(vkey + "\n")
    for key_arg in (vkey, str(vkey_file)):
        ok = run_cli("verify-checkpoint", str(note), "--vkey", key_arg)
        assert (ok.returncode, ok.stderr, ok.stdout) == (0, "", "checkpoint ok: example.com/cli/7 at size 4\n")
    with stratalog.open_read_only(path) as ro:
        root = ro.tree_root(7)
    assert run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--origin", "example.com/cli/7").returncode == 0
    other_log = run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--origin", "example.com/cli/9")
    assert other_log.returncode == 1 and '"example.com/cli/7", not the expected "example.com/cli/9"' in other_log.stderr
    doc = json.loads(run_cli("--json", "verify-checkpoint", str(note), "--vkey", vkey).stdout)
    assert doc == {"ok": True, "command": "verify-checkpoint", "path": str(note), "origin": "example.com/cli/7",
                   "size": 4, "root": root.hex(), "vkey": vkey, "cosigned_by": [], "min": 0}
    # From stdin.
    piped = subprocess.run([cli_path(), "verify-checkpoint", "-", "--vkey", vkey],
                           input=out.stdout, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.startswith("checkpoint ok:"), piped.stderr
    # An edited note, another key, junk, too few cosignatures: exit 1.
    edited = tmp_path / "edited"
    edited.write_text(out.stdout.replace("\n4\n", "\n3\n"))
    bad = run_cli("verify-checkpoint", str(edited), "--vkey", vkey)
    assert bad.returncode == 1 and "FAILED" in bad.stderr and bad.stdout == ""
    doc = json.loads(run_cli("--json", "verify-checkpoint", str(edited), "--vkey", vkey).stdout)
    assert not doc["ok"] and doc["code"] == "STRATALOG_STATUS_VERIFICATION_FAILED"
    other = stratalog.SigningKey.generate("example.com/cli")
    assert run_cli("verify-checkpoint", str(note), "--vkey", other.vkey).returncode == 1
    assert run_cli("verify-checkpoint", str(note), "--vkey", "junk").returncode == 1
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    assert run_cli("verify-checkpoint", str(binary), "--vkey", vkey).returncode == 1
    unwitnessed = run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--witness-vkey", other.cosigner_vkey)
    assert unwitnessed.returncode == 1 and "0 valid cosignatures" in unwitnessed.stderr
    assert run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--min", "1").returncode == 1
    assert run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--witness-vkey", other.vkey).returncode == 1
    # Unreadable input: exit 2; a bad command line: exit 2.
    missing = run_cli("verify-checkpoint", str(tmp_path / "none"), "--vkey", vkey)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert run_cli("verify-checkpoint", str(note)).returncode == 2
    assert run_cli("verify-checkpoint", str(note), "--vkey", vkey, "--min", "-1").returncode == 2


def test_prove_consistency(signed: tuple[Path, Path, str]) -> None:
    path, keyfile, vkey = signed
    out = run_cli("prove-consistency", str(path), "--stream", "9", "--from", "13", "--key", str(keyfile), "--size", "40")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    with stratalog.open_read_only(path) as ro:
        proof = ro.consistency_proof(9, 13, 40)
        old_root, root = ro.tree_root(9, 13), ro.tree_root(9, 40)
        checkpoint = ro.checkpoint(9, stratalog.SigningKey.from_file(keyfile), size=40)
    assert lines[: len(proof)] == [base64.b64encode(h).decode() for h in proof]
    assert "\n".join(lines[len(proof) :]) == checkpoint
    assert stratalog.verify_checkpoint(checkpoint, vkey) == (40, root)
    stratalog.verify_consistency(13, 40, old_root, root, [base64.b64decode(x) for x in lines[: len(proof)]])
    doc = json.loads(run_cli("--json", "prove-consistency", str(path), "--stream", "9", "--from", "0", "--key", str(keyfile)).stdout)
    assert doc["ok"] and doc["size"] == 50 and doc["old_size"] == 0 and doc["proof"] == []
    assert run_cli("prove-consistency", str(path), "--stream", "9", "--from", "51", "--key", str(keyfile)).returncode == 2


def test_export_tiles(signed: tuple[Path, Path, str], tmp_path: Path) -> None:
    path, keyfile, vkey = signed
    out = run_cli("export-tiles", str(path), "--stream", "9", "--key", str(keyfile), "--out", str(tmp_path / "t"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t" / "checkpoint").read_text() == out.stdout
    with stratalog.open_read_only(path) as ro:
        assert stratalog.verify_checkpoint(out.stdout, vkey) == (50, ro.tree_root(9))
        tile = (tmp_path / "t" / "tile/0/000.p/50").read_bytes()
        assert len(tile) == 50 * 32
        assert (tmp_path / "t" / "tile/entries/000.p/50").is_file()


def test_proof_commands_work_while_a_writer_holds_the_store(signed: tuple[Path, Path, str], tmp_path: Path) -> None:
    path, keyfile, vkey = signed
    with stratalog.open(path) as writer:
        writer.append(7, b"later")
        writer.sync()
        out = run_cli("prove", str(path), "--stream", "7", "--offset", "4", "--key", str(keyfile))
        assert out.returncode == 0, out.stderr
        stratalog.verify_receipt(out.stdout, vkey, b"later")
        note = run_cli("checkpoint", str(path), "--stream", "7", "--key", str(keyfile)).stdout
        assert stratalog.verify_checkpoint(note, vkey) == (5, writer.tree_root(7))
        # The writer is held to what the CLI signed.
        with pytest.raises(stratalog.CheckpointRefusedError):
            writer.checkpoint(7, stratalog.SigningKey.from_file(keyfile), size=4)
