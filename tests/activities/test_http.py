"""The bounded POST: no response costs the worker more than the cap, and the
timeout covers the whole exchange. Real servers on loopback serve the bombs."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from activities.delivery.guard import parse_networks
from activities.delivery.http import RESPONSE_CAP, HttpClients, HttpReply
from tests.servers import MIB, TricklingServer, bomb, bomb_reply
from worker.devstack.receiver import Receiver, Reply


@pytest.fixture
async def http() -> AsyncIterator[HttpClients]:
    clients = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    yield clients
    await clients.aclose()


async def post(http: HttpClients, url: str, timeout: float = 10) -> HttpReply:
    return await http.post(url, content=b"{}", headers={}, timeout=timeout, verify_ssl=True)


async def traced_post(http: HttpClients, url: str) -> tuple[HttpReply, int]:
    """The reply, and the most memory Python held at once while it was read."""
    tracemalloc.start()
    try:
        reply = await post(http, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return reply, peak


@pytest.mark.parametrize(
    "codings",
    [("gzip", "gzip"), ("deflate", "gzip"), ("gzip", "gzip", "gzip")],
    ids=["gzip-gzip", "deflate-gzip", "gzip-x3"],
)
async def test_layered_encoding_is_refused_without_inflating(
    http: HttpClients, receiver: Receiver, codings: tuple[str, ...]
) -> None:
    receiver.always("/bomb", bomb_reply(64 * MIB, codings))
    reply, peak = await traced_post(http, receiver.url("/bomb"))
    assert reply.status_code == 200
    assert reply.truncated
    assert reply.body.startswith(b"[response body not read: layered Content-Encoding")
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held for one response"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw"])
async def test_single_layer_bomb_is_inflated_up_to_the_cap_only(
    http: HttpClients, receiver: Receiver, coding: str
) -> None:
    receiver.always("/bomb", bomb_reply(32 * MIB, (coding,)))
    reply, peak = await traced_post(http, receiver.url("/bomb"))
    assert reply.truncated
    assert reply.body == bytes(RESPONSE_CAP)
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held for one response"


async def test_ordinary_compressed_answers_are_decoded(
    http: HttpClients, receiver: Receiver
) -> None:
    answer = json.dumps([{"id": "name", "value": "Dana " * 1000}]).encode()
    receiver.script(
        "/z",
        Reply(body=gzip.compress(answer), headers={"content-encoding": "gzip"}),
        Reply(body=zlib.compress(answer), headers={"content-encoding": "deflate"}),
        Reply(body=answer[:10_000], headers={"content-encoding": "identity"}),
    )
    for expected in (answer, answer, answer[:10_000]):
        reply = await post(http, receiver.url("/z"))
        assert (reply.body, reply.truncated) == (expected, False)
    [request, *_] = receiver.at("/z")
    assert request.headers["accept-encoding"] == "gzip, deflate"


async def test_unsupported_or_corrupt_encodings_are_not_read(
    http: HttpClients, receiver: Receiver
) -> None:
    receiver.script(
        "/odd",
        Reply(body=b"\x1b\x00\x00", headers={"content-encoding": "br"}),
        Reply(body=b"not gzip at all", headers={"content-encoding": "gzip"}),
    )
    first = await post(http, receiver.url("/odd"))
    assert first.body == b"[response body not read: Content-Encoding 'br' not supported]"
    second = await post(http, receiver.url("/odd"))
    assert second.body.startswith(b"[response body not read: corrupt compressed body")
    assert first.truncated and second.truncated


async def test_plain_body_over_the_cap_is_cut(http: HttpClients, receiver: Receiver) -> None:
    receiver.always("/big", Reply(body=b"x" * (RESPONSE_CAP * 3)))
    reply = await post(http, receiver.url("/big"))
    assert (len(reply.body), reply.truncated) == (RESPONSE_CAP, True)


async def test_timeout_bounds_the_whole_exchange_of_a_trickling_endpoint(
    http: HttpClients,
) -> None:
    # 1,000 bytes at one a second: each read is quick, the answer takes 17 minutes.
    with TricklingServer(every=1.0, length=1000) as server:
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException, match="no complete answer within 1.5s"):
            await post(http, server.url("/slow"), timeout=1.5)
        assert time.monotonic() - started < 5
        assert server.requests == 1


def test_bombs_are_what_they_claim() -> None:
    inner = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(bomb(4 * MIB, ("gzip",)))
    assert inner == bytes(4 * MIB)
    layered = bomb(4 * MIB, ("gzip", "gzip"))
    assert gzip.decompress(gzip.decompress(layered)) == bytes(4 * MIB)
    assert len(layered) < 1024
