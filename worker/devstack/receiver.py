"""A loopback HTTP receiver that records what it is sent (demo and tests).

It is a real server on 127.0.0.1: each request is recorded byte for byte, and
the answers can be scripted per path (status, body, headers, delay).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 200
    """The status the receiver answered."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"status": "success"}'
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    delay: float = 0.0


class Receiver:
    """``with Receiver() as rx: rx.url("/hook")``; ``rx.requests`` lists what arrived."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        listener: Callable[[Received], None] | None = None,
    ) -> None:
        self.requests: list[Received] = []
        self._listener = listener
        self._script: dict[str, deque[Reply]] = defaultdict(deque)
        self._default: dict[str, Reply] = {}
        self._by_event: dict[str, Reply] = {}
        self._fallback = Reply()
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies``, in order."""
        with self._lock:
            self._script[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """Answer ``path`` with ``reply`` once its script is used up."""
        with self._lock:
            self._default[path] = reply

    def answer_all(self, reply: Reply) -> None:
        """Answer every path without a script or an ``always`` reply with ``reply``."""
        with self._lock:
            self._fallback = reply

    def answer_event(self, event_type: str, reply: Reply) -> None:
        """Answer every request whose JSON body is an event of ``event_type`` (its
        ``event.type``) with ``reply``, on any path without a script."""
        with self._lock:
            self._by_event[event_type] = reply

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(
        self, count: int, *, path: str | None = None, timeout: float = 30.0
    ) -> list[Received]:
        """Block until ``count`` requests (to ``path``) arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [r for r in self.requests if path is None or r.path == path]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests to {path}, got {len(got)}")
                self._lock.wait(left)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, path: str, body: bytes) -> Reply:
        with self._lock:
            queue = self._script.get(path)
            if queue:
                return queue.popleft()
            if self._by_event:
                reply = self._by_event.get(_event_type(body) or "")
                if reply is not None:
                    return reply
            return self._default.get(path, self._fallback)

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            self._lock.notify_all()
        if self._listener is not None:
            self._listener(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender went away mid-request: nothing arrived
                    self.close_connection = True
                    return
                path = self.path
                reply = receiver._next_reply(path, body)
                if reply.delay:
                    time.sleep(reply.delay)
                receiver._record(
                    Received(
                        method="POST",
                        path=path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        at=time.time(),
                        status=reply.status,
                    )
                )
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def _event_type(body: bytes) -> str | None:
    """``event.type`` of a JSON envelope; None for anything else."""
    try:
        event = json.loads(body).get("event")
        kind = event.get("type") if isinstance(event, dict) else None
    except (ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None
