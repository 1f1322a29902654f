"""Checks shared by the configuration modules: URLs, headers, references.

What is accepted here can be sent: a value httpx would refuse at delivery
time (a header value with a trailing space, a non-ASCII character, an IPv4
address like ``0177.0.0.1``) is refused when it is configured, with one line
that never repeats the value (it may be a credential).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from activities.contracts.limits import WebhookLimits
from activities.errors import ConfigError, Conflict
from activities.store.tables import Secret, Webhook


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials in it."""
    if len(url) > 2048 or any(ch.isspace() for ch in url):
        raise ValueError(f"invalid URL {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid URL {url!r}: use an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not allowed: use --basic-auth")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ValueError(f"invalid port in URL {url!r}") from None
    import httpx  # here: a command that checks no URL does not load it

    try:
        httpx.URL(url)  # the parser every attempt goes through
    except httpx.InvalidURL as err:
        raise ValueError(f"invalid URL {url!r}: {err}") from None
    return url


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers hookflow sets itself; a configured header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
# Header names that carry credentials: never stored in clear with --header.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CREDENTIAL_WORDS = re.compile(
    r"auth|token|secret|passw|api[-_]?key|credential|signature|session[-_]?key", re.IGNORECASE
)
MAX_HEADER_VALUE = 4096


def is_credential_header(name: str) -> bool:
    """Authorization, Cookie, X-Api-Key, X-Auth-Token and the like."""
    return name.lower() in _CREDENTIAL_HEADERS or bool(_CREDENTIAL_WORDS.search(name))


def check_header_name(name: str) -> str:
    if not _TOKEN.match(name):
        raise ValueError(f"invalid header name {name[:100]!r}")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"header {name!r} is set by hookflow and cannot be configured")
    return name


def check_header_value(name: str, value: str, *, limit: int | None = MAX_HEADER_VALUE) -> str:
    """A value httpx sends as is: printable ASCII, no surrounding spaces, at most
    ``limit`` characters. The message names the header, never the value."""
    if limit is not None and len(value) > limit:
        raise ValueError(f"the value of header {name!r} is over {limit} characters")
    if value != value.strip():
        raise ValueError(f"the value of header {name!r} has leading or trailing spaces")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"the value of header {name!r} has a control character (CR, LF, tab...)")
    if not value.isascii():
        raise ValueError(
            f"the value of header {name!r} has a non-ASCII character, which HTTP cannot carry"
        )
    return value


def check_plain_header(name: str) -> str:
    """A header stored and shown in clear: no credentials."""
    check_header_name(name)
    if is_credential_header(name):
        raise ValueError(
            f"header {name!r} carries credentials: use --custom-auth {name}=... "
            "(stored encrypted, never shown)"
        )
    return name


def lookup_secret(session: Session, *, project: str, alias: str | None) -> Secret | None:
    """The project's secret named ``alias``, if there is one."""
    return session.exec(
        select(Secret).where(Secret.project == project, Secret.alias == alias)
    ).first()


def insert_named(session: Session, row: Webhook | Secret, what: str) -> None:
    """Write a new webhook or secret (not committed); an alias the project has
    already is Conflict, and nothing is written."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"project {row.project!r} already has a {what} named {row.alias!r}"
        ) from None


def check_max_in_flight(value: int | None, limits: WebhookLimits) -> None:
    """A webhook's attempts in flight within the server's ceiling: over it, one
    webhook could take a worker's slots. Checked when the value is given (a
    webhook stored under a higher ceiling keeps it, clamped by the bulkhead)."""
    ceiling = limits.max_in_flight_ceiling
    if value is not None and value > ceiling:
        raise ConfigError(
            f"max_in_flight {value} is over this server's ceiling of {ceiling} "
            "(HOOKFLOW_MAX_IN_FLIGHT_CEILING)"
        )


def check_webhook_count(
    session: Session, project: str, limits: WebhookLimits, *, inserted: bool = False
) -> None:
    """Room for one more webhook in ``project`` (each is a stream, a cap and a
    health row of its own); ``inserted``: counted again once the new one is
    written, so that two creates at once cannot both take the last place (SQLite
    lets one writer at a time; PostgreSQL takes a lock per project first)."""
    most = limits.webhooks_per_project
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":  # two creates at once count one after the other
        key = int.from_bytes(hashlib.sha256(f"webhooks:{project}".encode()).digest()[:8], "big")
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - 2**63})
    count = session.exec(
        select(func.count(col(Webhook.id))).where(Webhook.project == project)
    ).one()
    if count > most or (count == most and not inserted):
        raise ConfigError(
            f"project {project!r} has {count} webhooks, the most this server allows "
            "(HOOKFLOW_WEBHOOKS_PER_PROJECT): delete one first"
        )
