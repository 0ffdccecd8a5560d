"""Run as a script by test_errors.py: makes every fsync/fdatasync of this
process fail with EIO (a seccomp filter, as a dying disk would), then shows
that the failed durable append raises IOError and poisons its stream.

Prints one line per observation; exits 3 if the filter cannot be installed
(the test then skips)."""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys

import stratalog


def deny_fsync() -> None:
    audit_arch_x86_64 = 0xC000003E
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    allow, fail = 0x7FFF0000, 0x00050000 | errno.EIO
    program = [
        (ld_w_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq_k, 1, 0, audit_arch_x86_64),
        (ret_k, 0, 0, allow),
        (ld_w_abs, 0, 0, 0),  # seccomp_data.nr
        (jeq_k, 2, 0, 74),  # fsync
        (jeq_k, 1, 0, 75),  # fdatasync
        (ret_k, 0, 0, allow),
        (ret_k, 0, 0, fail),
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def main(path: str) -> int:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return 3
    store = stratalog.open(path)
    store.append(0, b"durable", fsync=True)
    store.append(1, b"first", fsync=True)
    try:
        deny_fsync()
    except OSError:
        return 3
    try:
        store.append(0, b"lost?", fsync=True)
        print("append succeeded")
    except stratalog.IOError as e:
        print(f"IOError errno={e.errno} oserror={isinstance(e, OSError)} {e}")
    try:
        store.append(0, b"refused")
        print("append succeeded")
    except stratalog.PoisonedError as e:
        print(f"PoisonedError stream={e.stream} {e}")
    # Reads still work on a poisoned stream.
    print("read", store.read_from(0, 0)[0].decode())
    # Another stream is not poisoned, but its own sync fails the same way.
    store.append(1, b"not yet durable")
    try:
        store.sync(1)
        print("sync succeeded")
    except stratalog.IOError as e:
        print(f"sync(1) IOError errno={e.errno}")
    store.sync(2)  # no such stream: nothing to sync, no fsync made
    print("sync(2) ok")
    try:
        store.close()  # the store cannot be made durable, and close says so
        print("close succeeded")
    except stratalog.Error as e:
        print(f"close {type(e).__name__} closed={store.closed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
