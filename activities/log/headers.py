"""The headers of an attempt as the delivery log keeps them: what was sent,
credentials masked, and what came back, bounded. Both are sealed at rest
(a header may carry personal data or a receiver's cookie)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from activities.store.crypto import SecretBox

if TYPE_CHECKING:
    from activities.delivery.http import HttpReply

MAX_HEADERS = 50
MAX_BYTES = 8 * 1024
MASK = "****"
_SEALED = "sealed:"
# Always masked, whatever the webhook's own secret headers are.
ALWAYS_SECRET = frozenset({"authorization", "proxy-authorization", "webhook-signature"})


# Only these headers name a scheme before the credential, and only these
# schemes are kept: any other first word may be part of the secret itself.
_SCHEMED = frozenset({"authorization", "proxy-authorization"})
_SCHEMES = frozenset({"bearer", "basic", "digest", "token"})


def _unchanged(value: str) -> str:
    return value


def masked(name: str, value: str) -> str:
    """``Bearer ****`` for an authorization with a known scheme, ``****`` for the rest."""
    scheme, _, rest = value.partition(" ")
    if name.lower() in _SCHEMED and rest and scheme.lower() in _SCHEMES:
        return f"{scheme} {MASK}"
    return MASK


def sent_headers(
    headers: Mapping[str, str],
    *,
    secret: Iterable[str],
    redact: Callable[[str], str] = _unchanged,
) -> dict[str, str]:
    """The request headers with every credential and signature masked, and the
    webhook's secrets (``redact``) taken out of the other values."""
    hidden = ALWAYS_SECRET | {name.lower() for name in secret}
    return {
        name: masked(name, value) if name.lower() in hidden else redact(value)
        for name, value in headers.items()
    }


def bounded(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """At most ``MAX_HEADERS`` headers and ``MAX_BYTES`` of names and values
    (repeated names joined with ", "); what does not fit is left out."""
    kept: dict[str, str] = {}
    size = 0
    for name, value in headers:
        key = name.lower()
        add = len(value) + (2 if key in kept else len(key))
        if (key not in kept and len(kept) >= MAX_HEADERS) or size + add > MAX_BYTES:
            continue
        kept[key] = f"{kept[key]}, {value}" if key in kept else value
        size += add
    return kept


def received(
    reply: HttpReply | None, *, redact: Callable[[str], str] = _unchanged
) -> dict[str, str] | None:
    """The response headers of an answer, bounded, without the webhook's secrets
    (``redact``: a receiver may echo a credential back); None: no answer."""
    if reply is None:
        return None
    return bounded((name, redact(value)) for name, value in reply.headers.multi_items())


def seal_headers(headers: Mapping[str, str] | None, box: SecretBox) -> str | None:
    if headers is None:
        return None
    return _SEALED + box.seal_json(dict(headers))


def open_headers(text: str | None, box: SecretBox) -> dict[str, str]:
    """The stored headers in clear ({} for rows logged before headers were)."""
    if not text:
        return {}
    return box.open_json(text.removeprefix(_SEALED))
