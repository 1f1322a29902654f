"""JSON and XML bodies: a plain conversion with xmltodict, both ways (not SOAP)."""

from __future__ import annotations

import json
from typing import Any

import xmltodict

XML_ROOT = "webhook"
MEDIA_TYPES = {"json": "application/json", "xml": "application/xml"}


def encode(body: dict[str, Any], fmt: str) -> bytes:
    if fmt == "xml":
        text: str = xmltodict.unparse({XML_ROOT: body}, full_document=True)
        return text.encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes, fmt: str) -> Any:
    """The response body as data; None when it is empty or does not parse."""
    if not data.strip():
        return None
    try:
        if fmt == "xml":
            parsed = xmltodict.parse(data)
            if isinstance(parsed, dict) and len(parsed) == 1:
                return next(iter(parsed.values()))
            return parsed
        return json.loads(data)
    except Exception:  # a malformed body is judged by its status code alone
        return None
