"""Helpers the tier tests share, whatever the object store behind them
(test_tier.py on moto's S3, test_tier_azure.py on Azurite)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import stratalog

# Small segments, so a few hundred events seal many of them.
SEGMENT = 8192


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def events(stream: int, start: int, n: int) -> list[bytes]:
    return [f"stream {stream} event {i} ".encode() * 8 for i in range(start, start + n)]


def fill(store: stratalog.Store, stream: int, start: int, n: int) -> stratalog.ChainHead:
    head = store.chain_head(stream)
    for i in range(start, start + n, 10):
        head = store.append_batch(stream, events(stream, i, min(10, start + n - i)))
    return head


def deleted_segments_held_open() -> list[str]:
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the directory listing's own descriptor
            continue
        if target.endswith(".seg (deleted)"):
            held.append(target)
    return held


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m stratalog ARGS`` with this environment (plus ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "stratalog", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def kill(process: subprocess.Popen[str]) -> None:
    """kill -9, then release the pipes."""
    process.send_signal(signal.SIGKILL)
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


class Proxy:
    """Forwards 127.0.0.1:<port> to ``target``; while ``down`` it drops
    every connection, as an unreachable bucket does; while stalled it holds
    every byte (requests hang, as on a bucket that stopped answering);
    with ``cut_requests_after(n)`` it cuts each connection once n bytes of
    requests went through it (a put failing half-way)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.down = False
        self.flowing = threading.Event()
        self.flowing.set()
        self.cut_after: int | None = None
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def set_down(self, down: bool) -> None:
        self.down = down
        if down:
            with self.lock:
                for s in list(self.open):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def set_stalled(self, stalled: bool) -> None:
        if stalled:
            self.flowing.clear()
        else:
            self.flowing.set()

    def cut_requests_after(self, n: int | None) -> None:
        self.cut_after = n

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            for a, b, requests in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, requests), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        sent = 0
        try:
            while not self.down:
                data = src.recv(65536)
                if not data:
                    break
                self.flowing.wait()
                cut_after = self.cut_after if requests else None
                if cut_after is not None and sent + len(data) > cut_after:
                    dst.sendall(data[: max(cut_after - sent, 0)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            with self.lock:
                self.open.discard(src)
                self.open.discard(dst)

    def close(self) -> None:
        self.listener.close()
        self.set_down(True)
        self.flowing.set()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
