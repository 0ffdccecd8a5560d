"""A store opened before a fork: the child may read but never write through
it, and the parent goes on unaffected (issue: a forked child silently
forked the chain and destroyed an acknowledged append)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

import stratalog

# Python 3.12+ warns about fork() in a process with threads; the tests fork
# on purpose, as the users this guards do.
pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")


def _child_checks(store: stratalog.Store, path: Path) -> str:
    """What the child finds; "ok" when every check holds."""
    try:
        store.append(1, b"child", fsync=True)
        return "append was allowed"
    except stratalog.ForkedError as e:
        if e.status is not stratalog.Status.FORKED or "fork" not in str(e):
            return f"wrong error: {e!r}"
    try:
        store.sync()
        return "sync was allowed"
    except stratalog.ForkedError:
        pass
    if store.read_from(1, 0) != [b"before"]:
        return "reads differ"
    try:
        stratalog.open(path)
        return "the parent's lock was not held"
    except stratalog.LockedError:
        pass
    store.close()  # writes nothing, releases nothing
    return "ok"


def _check_parent_unaffected(store: stratalog.Store, path: Path, before: stratalog.ChainHead) -> None:
    with pytest.raises(stratalog.LockedError):
        stratalog.open(path)  # the child's close kept the parent's lock
    after = store.append(1, b"parent", fsync=True)
    assert after.next_offset == before.next_offset + 1
    store.close()
    with stratalog.open(path) as again:
        assert again.read_from(1, 0) == [b"before", b"parent"]
        again.verify_against(1, after)


def test_os_fork_child_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "s"
    store = stratalog.open(path)
    before = store.append(1, b"before", fsync=True)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.write(write_end, _child_checks(store, path).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        verdict = reader.read().decode()
    os.waitpid(pid, 0)
    assert verdict == "ok"
    _check_parent_unaffected(store, path, before)


_inherited: stratalog.Store | None = None


def _in_pool_worker(path: str) -> str:
    assert _inherited is not None
    return _child_checks(_inherited, Path(path))


def test_multiprocessing_fork_child_cannot_write(tmp_path: Path) -> None:
    global _inherited
    path = tmp_path / "s"
    store = stratalog.open(path)
    before = store.append(1, b"before", fsync=True)
    _inherited = store
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            assert pool.apply(_in_pool_worker, (str(path),)) == "ok"
    finally:
        _inherited = None
    _check_parent_unaffected(store, path, before)
