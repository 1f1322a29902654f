"""Response bodies decoded within a cap, whatever ``Content-Encoding`` says.

httpx inflates each chunk it reads in one call, and a layered encoding
(``gzip, gzip``) inflates the whole inner layer at once: a few KB on the wire
can become gigabytes in the worker. Here every inflate is bounded by the room
left under the cap (``zlib``'s ``max_length``), and only one layer of gzip or
deflate is accepted, so a response costs at most the cap plus one network
chunk, however it is encoded.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable
from dataclasses import dataclass

# Only what can be inflated within a bound is asked for (no br, no zstd).
ACCEPT_ENCODING = "gzip, deflate"
_GZIP_WBITS = zlib.MAX_WBITS | 16


@dataclass(frozen=True)
class Body:
    data: bytes
    """The decoded body up to the cap, or a bracketed note saying why it was not read."""
    truncated: bool
    """True when ``data`` is not the whole body (cut at the cap, or not read)."""


class BodyRefused(Exception):
    """The body cannot be decoded within a bound (layered, unknown or corrupt encoding)."""


class _Identity:
    def feed(self, chunk: bytes, room: int) -> bytes:
        return chunk[:room]


class _Inflate:
    """gzip or zlib-wrapped deflate; a deflate stream without the zlib wrapper
    (which some servers send) is recognised on its first chunk, as httpx does."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback

    def feed(self, chunk: bytes, room: int) -> bytes:
        try:
            out = self._inflater.decompress(chunk, room)
        except zlib.error as err:
            if not self._raw_fallback:
                raise BodyRefused(f"corrupt compressed body ({err})") from None
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            return self.feed(chunk, room)
        self._raw_fallback = False
        # Input left over means the output reached ``room``: the caller stops there.
        return out


def decoder_for(content_encoding: str) -> _Identity | _Inflate:
    """A bounded decoder for the header's value; BodyRefused for anything else."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) > 1:
        raise BodyRefused(f"layered Content-Encoding {content_encoding[:60]!r} refused")
    if codings[0] in ("gzip", "x-gzip"):
        return _Inflate(_GZIP_WBITS)
    if codings[0] == "deflate":
        return _Inflate(zlib.MAX_WBITS, raw_fallback=True)
    raise BodyRefused(f"Content-Encoding {codings[0][:30]!r} not supported")


async def read_body(raw: AsyncIterable[bytes], *, content_encoding: str, cap: int) -> Body:
    """Decode the raw (still encoded) chunks, keeping at most ``cap`` bytes.

    Reading stops as soon as the cap is passed, and also after ``2 * cap``
    encoded bytes that decode to less (a stream of empty deflate blocks).
    """
    try:
        decoder = decoder_for(content_encoding)
    except BodyRefused as err:
        return Body(f"[response body not read: {err}]".encode(), truncated=True)
    chunks: list[bytes] = []
    size = read = 0
    try:
        async for chunk in raw:
            read += len(chunk)
            out = decoder.feed(chunk, cap - size + 1)
            chunks.append(out)
            size += len(out)
            if size > cap or read > 2 * cap:
                return Body(b"".join(chunks)[:cap], truncated=True)
    except BodyRefused as err:
        return Body(f"[response body not read: {err}]".encode(), truncated=True)
    return Body(b"".join(chunks), truncated=False)
