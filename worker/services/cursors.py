"""Opaque page cursors, one encoding for every list that pages.

A cursor is the key of a page's last row (or a token of Temporal's), as
base64url JSON of strings: the next page starts strictly after that key.
Clients pass it back unchanged; what it holds may change between versions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from activities.errors import ConfigError

Row = TypeVar("Row")

CURSOR_LIMIT = 400
"""Longest cursor accepted where the key is a row's (an id is at most 200 characters)."""


def encode_cursor(key: Sequence[str]) -> str:
    """The cursor standing for ``key``."""
    raw = json.dumps(list(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int, limit: int = CURSOR_LIMIT) -> list[str]:
    """The key of ``size`` strings a cursor stands for; ``invalid_cursor()`` if
    it was not one of ours."""
    try:
        if len(cursor) > limit:
            raise ValueError
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
    if not isinstance(key, list) or len(key) != size or not all(isinstance(k, str) for k in key):
        raise invalid_cursor()
    return key


def invalid_cursor() -> ConfigError:
    """One line, the same for every list (a 422 from the API)."""
    return ConfigError("invalid cursor: pass the `next` value of the previous page unchanged")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list, and the cursor of the following one."""

    rows: list[Row]
    next: str | None
    """None on the last page."""
