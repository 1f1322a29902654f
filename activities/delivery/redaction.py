"""One redaction for every text that leaves a delivery attempt.

An error message, a response excerpt or a remote-data answer can carry a
webhook's credentials: httpx quotes an illegal header value in full, and a
receiver may echo what it was sent. Whatever becomes text for a workflow's
history, the delivery log, a log line or a command's output passes through
``redact`` with the endpoint's secrets first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from activities.store.crypto import REDACTED


def _forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as is, trimmed, escaped by ``repr``
    (httpx's "Illegal header value b'...'"), in JSON and in a query string."""
    forms = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        repr(secret.encode(errors="backslashreplace"))[2:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }
    forms.discard("")
    return forms


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every form of every secret, longest first (so a secret that contains
    another is redacted whole)."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _forms(secret)
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    for form in secret_forms(secrets):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for form in secret_forms(secrets):
        data = data.replace(form.encode(errors="backslashreplace"), REDACTED.encode())
    return data
