"""The spec's chain-hash test vectors (docs/FORMAT.md), ChainHead's text
form, and a cross-check against the spec's own stand-alone verifier."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, VECTOR_EVENTS, VECTOR_HEADS

import stratalog
from stratalog import ChainHead


def test_installed_package_is_tested_not_the_source_tree() -> None:
    installed = Path(stratalog.__file__).resolve()
    assert REPO / "bindings" / "python" / "python" not in installed.parents
    native = Path(stratalog._native.__file__).resolve()
    assert native.parent == installed.parent
    assert native.name.endswith(".abi3.so"), native.name


def test_version_comes_from_cargo() -> None:
    cargo = (REPO / "Cargo.toml").read_text()
    match = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert match
    assert stratalog.__version__ == match.group(1)
    from importlib.metadata import version

    assert version("stratalog") == match.group(1)


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_vectors_one_event_at_a_time(where: str, tmp_path: Path) -> None:
    store = stratalog.open_in_memory() if where == "memory" else stratalog.open(tmp_path / "s")
    with store:
        heads = [str(store.append(0, event)) for event in VECTOR_EVENTS]
    assert heads == VECTOR_HEADS


@pytest.mark.parametrize("compression", [None, "lz4", "zstd"])
def test_vectors_as_one_batch_and_independent_of_options(compression: str | None, tmp_path: Path) -> None:
    with stratalog.open(
        tmp_path / "s", segment_size=4096, checkpoint_interval=1, compression=compression
    ) as store:
        head = store.append_batch(9, VECTOR_EVENTS)
        assert str(head) == VECTOR_HEADS[-1]
        assert store.chain_head(9) == head
        assert store.read_from(9, 0) == VECTOR_EVENTS
    with stratalog.open(tmp_path / "s") as store:
        assert str(store.chain_head(9)) == VECTOR_HEADS[-1]
        assert store.verify(9).head == head


def test_empty_stream_head() -> None:
    with stratalog.open_in_memory() as store:
        head = store.chain_head(12345)
    assert head == ChainHead.empty() == ChainHead(0, bytes(32))
    assert str(head) == "0:" + "0" * 64


def test_head_text_round_trip_and_accessors() -> None:
    for text in VECTOR_HEADS:
        head = ChainHead.parse(text)
        assert str(head) == text
        assert ChainHead.parse(str(head)) == head
        assert head.hex() == text.split(":")[1]
        assert head.hash == bytes.fromhex(head.hex())
        assert head.next_offset == int(text.split(":")[0])
        assert eval(repr(head), {"ChainHead": ChainHead}) == head
        assert head.to_dict() == {"next_offset": head.next_offset, "hash": head.hex(), "text": text}
    # Either case and surrounding whitespace are accepted; output is lowercase.
    upper = "  " + VECTOR_HEADS[0].upper() + "\n"
    assert str(ChainHead.parse(upper)) == VECTOR_HEADS[0]
    big = ChainHead(2**64 - 1, b"\x01" * 32)
    assert ChainHead.parse(str(big)) == big


def test_head_is_frozen_hashable_and_ordered() -> None:
    a, b, c = (ChainHead.parse(t) for t in VECTOR_HEADS[:3])
    with pytest.raises(AttributeError):
        a.next_offset = 5  # type: ignore[misc]
    assert len({a, b, c, ChainHead.parse(VECTOR_HEADS[0])}) == 3
    assert sorted([c, a, b]) == [a, b, c]
    assert a != b and a == ChainHead(1, a.hash)
    assert ChainHead(1, bytearray(a.hash)) == a
    assert ChainHead(1, memoryview(a.hash)).hash == a.hash


@pytest.mark.parametrize(
    "text",
    ["", "4", "4:", "x:" + "0" * 64, "4:" + "0" * 63, "4:" + "g" * 64, "0:" + "1" * 64, "-1:" + "0" * 64,
     "18446744073709551616:" + "0" * 64, "4:" + "0" * 64 + "\x00"],
)
def test_head_parse_rejects_bad_text(text: str) -> None:
    with pytest.raises(stratalog.InvalidArgumentError) as info:
        ChainHead.parse(text)
    assert isinstance(info.value, ValueError)
    assert info.value.message


def test_head_constructor_validates() -> None:
    with pytest.raises(TypeError):
        ChainHead.parse(b"1:00")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        ChainHead(1, b"short")
    with pytest.raises(TypeError):
        ChainHead(1, "0" * 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ChainHead("1", bytes(32))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ChainHead(True, bytes(32))
    with pytest.raises(OverflowError):
        ChainHead(-1, bytes(32))
    with pytest.raises(OverflowError):
        ChainHead(2**64, bytes(32))
    with pytest.raises(ValueError, match="empty stream"):
        ChainHead(0, b"\x01" * 32)


def test_spec_verifier_agrees_with_the_library(tmp_path: Path) -> None:
    """Runs the 60-line stand-alone verifier from docs/FORMAT.md on a store
    written through the Python binding (several segments, checkpoints)."""
    spec = (REPO / "docs" / "FORMAT.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", spec, re.S)
    assert blocks, "no verifier script in docs/FORMAT.md"
    script = tmp_path / "verify.py"
    script.write_text(blocks[-1])
    path = tmp_path / "store"
    with stratalog.open(path, segment_size=4096, checkpoint_interval=7) as store:
        store.append_batch(0, VECTOR_EVENTS)
        for i in range(300):
            store.append(5, b"event %d " % i * (i % 13))
        heads = {s: str(store.chain_head(s)) for s in store.streams()}
    out = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [f"stream {s}: {h}" for s, h in sorted(heads.items())]
    assert heads[0] == VECTOR_HEADS[-1]
