"""What keeps the pane's sign-ins the signed-in user's own.

- ``PaneSessions``: sessions on the server. The cookie holds a random id and
  nothing else; signing out deletes the session, so a copy of the cookie
  opens nothing afterwards, and a revoked key ends every session on it at the
  next request (``site.signed_in`` reads the key each time). Signing in gives
  a new id (a session id known before cannot be carried into a sign-in). The
  cookie is HttpOnly, SameSite=Strict and ``Secure`` when the request came
  over HTTPS (directly, or through a proxy uvicorn trusts:
  ``FORWARDED_ALLOW_IPS``) or when ``HOOKFLOW_PANE_SECURE_COOKIE=1``.
- ``SecurityHeaders``: no page in a frame (``X-Frame-Options: DENY``, CSP
  ``frame-ancestors 'none'``), ``Cache-Control: no-store`` on everything but
  static assets (pages show new signing secrets and decrypted payloads).
- ``SignInLimit``: sign-in attempts per client address.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "hookflow_pane"
MAX_AGE = 12 * 3600
IDLE = 2 * 3600
MAX_SESSIONS = 10_000


@dataclass
class _Entry:
    data: dict[str, Any]
    created: float
    seen: float = field(default=0.0)


class SessionStore:
    """Sessions in memory, by id: they last ``MAX_AGE`` at most, ``IDLE`` unused,
    and at most ``MAX_SESSIONS`` (the oldest not signed in go first)."""

    def __init__(self, *, max_age: float = MAX_AGE, idle: float = IDLE) -> None:
        self.max_age, self.idle = max_age, idle
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, sid: str) -> dict[str, Any] | None:
        entry = self._entries.get(sid)
        if entry is None:
            return None
        now = time.monotonic()
        if now - entry.created > self.max_age or now - entry.seen > self.idle:
            del self._entries[sid]
            return None
        entry.seen = now
        self._entries.move_to_end(sid)
        return dict(entry.data)

    def put(self, sid: str | None, data: dict[str, Any]) -> str:
        """Store ``data`` under ``sid`` (None: a new id); the id it is under."""
        now = time.monotonic()
        if sid is None or sid not in self._entries:
            sid = secrets.token_urlsafe(32)
            self._entries[sid] = _Entry(dict(data), created=now, seen=now)
            self._trim()
        else:
            entry = self._entries[sid]
            entry.data, entry.seen = dict(data), now
            self._entries.move_to_end(sid)
        return sid

    def delete(self, sid: str) -> None:
        self._entries.pop(sid, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _trim(self) -> None:
        while len(self._entries) > MAX_SESSIONS:
            anonymous = next((s for s, e in self._entries.items() if "key" not in e.data), None)
            self._entries.pop(anonymous or next(iter(self._entries)))


def _cookie(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: no session
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


class PaneSessions:
    """ASGI middleware: ``request.session`` kept on the server, by cookie id."""

    def __init__(self, app: ASGIApp, *, store: SessionStore, secure: bool = False) -> None:
        self.app = app
        self.store = store
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sid = _cookie(scope)
        stored = self.store.get(sid) if sid else None
        if stored is None:
            sid = None
        scope["session"] = dict(stored or {})
        key_before = (stored or {}).get("key")
        secure = self.secure or scope.get("scheme") == "https"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                data: dict[str, Any] = scope["session"]
                headers = MutableHeaders(scope=message)
                if data:
                    current = sid
                    if data.get("key") != key_before and sid is not None:
                        self.store.delete(sid)  # signed in or out: a new id
                        current = None
                    new = self.store.put(current, data)
                    if new != sid:
                        headers.append("set-cookie", self._set(new, secure))
                elif sid is not None or _cookie(scope) is not None:
                    if sid is not None:
                        self.store.delete(sid)
                    headers.append("set-cookie", self._set("", secure, expire=True))
            await send(message)

        await self.app(scope, receive, sending)

    @staticmethod
    def _set(value: str, secure: bool, *, expire: bool = False) -> str:
        parts = [
            f"{COOKIE}={value}",
            "Path=/",
            "Max-Age=0" if expire else f"Max-Age={MAX_AGE}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


STATIC_PREFIXES = ("/static/", "/api/docs/assets/")


class SecurityHeaders:
    """ASGI middleware: frame and cache headers on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIXES)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-frame-options"] = "DENY"
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = "frame-ancestors 'none'"
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, sending)


class SignInLimit:
    """At most ``attempts`` sign-ins per client address in ``window`` seconds."""

    def __init__(self, *, attempts: int = 10, window: float = 60.0, clients: int = 10_000) -> None:
        self.attempts, self.window, self.clients = attempts, window, clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str) -> float | None:
        """None when this attempt may go on, else seconds until one may."""
        now = time.monotonic()
        times = self._seen.pop(client, None) or deque()
        while times and now - times[0] > self.window:
            times.popleft()
        self._seen[client] = times
        while len(self._seen) > self.clients:
            self._seen.popitem(last=False)
        if len(times) >= self.attempts:
            return self.window - (now - times[0])
        times.append(now)
        return None
