"""A loopback receiver in a process of its own, for benchmarks and fault runs.

It records every request (time, path, status given, ``webhook-id``, session,
sequence, the storage payload) and answers each path as told: status and
delay can change while it runs (an endpoint that goes down, hangs, comes back).
Running it apart keeps its threads from competing with the worker under test.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hit:
    at: float
    path: str
    status: int
    webhook_id: str
    session: str
    sequence: int
    storage: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender killed mid-request (a fault run kills workers) is no error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(modes: dict[str, tuple[int, float]], hits: list[Hit], lock: threading.Lock) -> Any:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the sender went away mid-request: nothing arrived
                self.close_connection = True
                return
            with lock:
                status, delay = modes.get(self.path, (200, 0.0))
            if delay:
                time.sleep(delay)
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            hit = Hit(
                at=time.time(),
                path=self.path,
                status=status,
                webhook_id=self.headers.get("webhook-id", ""),
                session=str(data.get("session", {}).get("id", "")),
                sequence=int(data.get("event", {}).get("sequence", 0)),
                storage=data.get("storage") or {},
            )
            with lock:
                hits.append(hit)
            answer = b'{"status": "success"}' if status < 300 else b'{"status": "error"}'
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the sender gave up (its timeout) before the answer
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def _serve(conn: Any) -> None:
    modes: dict[str, tuple[int, float]] = {}
    hits: list[Hit] = []
    lock = threading.Lock()
    server = _Server(("127.0.0.1", 0), _handler(modes, hits, lock))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(server.server_address[1])
    while True:
        command, *args = conn.recv()
        if command == "mode":
            path, status, delay = args
            with lock:
                modes[path] = (status, delay)
            conn.send(None)
        elif command == "hits":
            since = args[0]
            with lock:
                conn.send(hits[since:])
        elif command == "stop":
            server.shutdown()
            conn.send(None)
            return


class Loopback:
    """``with Loopback() as rx: rx.url("/a"); rx.answer("/a", 503); rx.hits()``."""

    def __enter__(self) -> Loopback:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.port = int(self._conn.recv())
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        return self

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, status: int = 200, *, delay: float = 0.0) -> None:
        """From now on, answer ``path`` with ``status`` after ``delay`` seconds."""
        self._call("mode", path, status, delay)

    def hits(self, path: str | None = None) -> list[Hit]:
        """Every request so far (to ``path``), in arrival order."""
        with self._lock:
            self._conn.send(("hits", len(self._hits)))
            self._hits.extend(self._conn.recv())
            seen = list(self._hits)
        return [h for h in seen if path is None or h.path == path]

    def count(self, path: str) -> int:
        return len(self.hits(path))

    async def wait_for(self, path: str, count: int, *, timeout: float = 900) -> list[Hit]:
        """Wait until ``path`` has had ``count`` requests; returns them."""
        deadline = time.monotonic() + timeout
        while len(hits := self.hits(path)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(hits)} of {count} requests to {path} arrived")
            await asyncio.sleep(0.05)
        return hits

    def _call(self, *command: Any) -> Any:
        with self._lock:
            self._conn.send(command)
            return self._conn.recv()

    def __exit__(self, *_exc: object) -> None:
        try:
            self._call("stop")
        finally:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
