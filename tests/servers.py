"""Hostile endpoints on loopback: compression bombs and a trickling server.

Shared by the tests and ``benchmarks.bomb``; everything listens on 127.0.0.1.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import zlib
from collections.abc import Sequence

from worker.devstack.receiver import Receiver, Reply

MIB = 1024 * 1024
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS}


def _compress(data: bytes, coding: str) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS[coding])
    return packer.compress(data) + packer.flush()


@functools.lru_cache(maxsize=8)
def _zeros_compressed(size: int, coding: str) -> bytes:
    """``size`` zero bytes compressed a MiB at a time (never inflated here)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS[coding])
    zeros = bytes(MIB)
    parts = [packer.compress(zeros) for _ in range(size // MIB)]
    return b"".join(parts) + packer.compress(bytes(size % MIB)) + packer.flush()


def bomb(size: int, codings: Sequence[str] = ("gzip",)) -> bytes:
    """``size`` zero bytes, compressed with each coding in turn (the first is innermost)."""
    data = _zeros_compressed(size, codings[0])
    for coding in codings[1:]:
        data = _compress(data, coding)
    return data


def bomb_reply(size: int, codings: Sequence[str] = ("gzip",), status: int = 200) -> Reply:
    header = ", ".join("deflate" if c == "raw" else c for c in codings)
    return Reply(
        status=status,
        body=bomb(size, codings),
        headers={"content-type": "application/json", "content-encoding": header},
    )


def serve_bomb(receiver: Receiver, path: str, size: int, codings: Sequence[str]) -> None:
    receiver.always(path, bomb_reply(size, codings))


class TricklingServer:
    """Answers every POST with a 200 whose body arrives one byte per ``every``
    seconds (``length`` bytes in all): each read is quick, the whole is not."""

    def __init__(self, *, every: float = 1.0, length: int = 1000) -> None:
        self.every = every
        self.length = length
        self.requests = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)  # so that the accept loop sees the stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> TricklingServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                self.requests += 1
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {self.length}\r\n\r\n"
                conn.sendall(head.encode())
                for _ in range(self.length):
                    if self._stop.wait(self.every):
                        return
                    conn.sendall(b" ")
            except OSError:
                return


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    deadline = time.monotonic() + 10
    while len(body) < length and time.monotonic() < deadline:
        body += conn.recv(65536)
