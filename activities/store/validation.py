"""Checks shared by the configuration modules: one error type, URLs, references."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session, select

from activities.store.tables import Secret


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
    return url


def lookup_secret(session: Session, *, project: str, alias: str | None) -> Secret | None:
    """The project's secret named ``alias``, if there is one."""
    return session.exec(
        select(Secret).where(Secret.project == project, Secret.alias == alias)
    ).first()
