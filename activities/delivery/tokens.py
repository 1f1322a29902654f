"""Bearer tokens from token endpoints, cached per worker until shortly before they expire."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx

from activities.delivery.http import HttpClients
from activities.delivery.redaction import redact
from activities.errors import TokenError

# Refresh this long before the endpoint's expiry, so no request carries a dying token.
EXPIRY_MARGIN = 30.0
DEFAULT_EXPIRES_IN = 300.0
TOKEN_TIMEOUT = 15.0
# What an Authorization header can carry: visible ASCII (RFC 6750's b64token and
# then some). A token with CR, LF, spaces or non-ASCII is refused at fetch time,
# before httpx would quote it in an error.
_SENDABLE = re.compile(r"^[\x21-\x7e]{1,8192}$")


@dataclass(frozen=True)
class TokenSource:
    secret_id: uuid.UUID
    alias: str
    token_url: str
    form: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The form's secret values (password, client_secret): redacted from every error."""
    format: str = "form"
    """How the request carries ``form``: ``form`` (urlencoded) or ``json`` (one object)."""

    def request(self) -> tuple[bytes, str]:
        """The token request's body and content type."""
        if self.format == "json":
            return json.dumps(self.form).encode(), "application/json"
        return urlencode(self.form).encode(), "application/x-www-form-urlencoded"


class TokenCache:
    """One per worker: at most one fetch per secret at a time."""

    def __init__(self, http: HttpClients, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._clock = clock
        self._tokens: dict[uuid.UUID, tuple[str, float]] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    async def token(self, source: TokenSource, *, refresh: bool = False) -> str:
        lock = self._locks.setdefault(source.secret_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(source.secret_id)
            if cached and not refresh and cached[1] > self._clock():
                return cached[0]
            token, lifetime = await self._fetch(source)
            usable = max(lifetime - EXPIRY_MARGIN, lifetime / 2)
            self._tokens[source.secret_id] = (token, self._clock() + usable)
            return token

    def forget(self, secret_id: uuid.UUID) -> None:
        self._tokens.pop(secret_id, None)

    def known(self, source: TokenSource) -> str | None:
        """The token held for ``source``, if any (for redaction; it may have expired)."""
        cached = self._tokens.get(source.secret_id)
        return cached[0] if cached else None

    async def _fetch(self, source: TokenSource) -> tuple[str, float]:
        try:
            return await self._fetch_unchecked(source)
        except TokenError as err:
            raise TokenError(redact(str(err), source.secrets)) from None

    async def _fetch_unchecked(self, source: TokenSource) -> tuple[str, float]:
        host = urlsplit(source.token_url).hostname
        content, content_type = source.request()
        try:
            reply = await self._http.post(
                source.token_url,
                content=content,
                headers={"content-type": content_type, "accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
                verify_ssl=True,
            )
        except httpx.HTTPError as err:
            raise TokenError(f"token endpoint {host} of secret {source.alias}: {err}") from None
        if not 200 <= reply.status_code < 300:
            raise TokenError(
                f"token endpoint {host} of secret {source.alias} answered HTTP {reply.status_code}"
            )
        try:
            data = json.loads(reply.body)
            token = data["access_token"]
            lifetime = float(data.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TokenError(
                f"token endpoint {host} of secret {source.alias} gave no access_token"
            ) from None
        if not isinstance(token, str) or not token:
            raise TokenError(f"token endpoint {host} of secret {source.alias} gave an empty token")
        if not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = DEFAULT_EXPIRES_IN
        if not _SENDABLE.match(token):
            raise TokenError(
                f"token endpoint {host} of secret {source.alias} gave a token that cannot be "
                "sent in a header (spaces, line breaks or non-ASCII characters)"
            )
        return token, lifetime
