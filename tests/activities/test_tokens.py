"""The token cache against a real token endpoint on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from activities.delivery.guard import parse_networks
from activities.delivery.http import HttpClients
from activities.delivery.tokens import EXPIRY_MARGIN, TokenCache, TokenSource
from activities.errors import TokenError
from worker.devstack.receiver import Receiver, Reply


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


def _token(value: str, expires_in: float = 300) -> Reply:
    return Reply(body=json.dumps({"access_token": value, "expires_in": expires_in}).encode())


def _source(rx: Receiver) -> TokenSource:
    return TokenSource(
        secret_id=uuid.uuid4(),
        alias="crm-token",
        token_url=rx.url("/token"),
        form={"grant_type": "password", "username": "svc", "password": "p@ss"},
    )


async def test_a_token_is_fetched_once_and_kept_until_shortly_before_it_expires(
    endpoint: Receiver,
) -> None:
    now = [1000.0]
    endpoint.script("/token", _token("t1"), _token("t2"))
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    cache = TokenCache(http, clock=lambda: now[0])
    source = _source(endpoint)
    try:
        assert await cache.token(source) == "t1"
        now[0] += 300 - EXPIRY_MARGIN - 1
        assert await cache.token(source) == "t1"
        assert len(endpoint.at("/token")) == 1
        now[0] += 2
        assert await cache.token(source) == "t2"
    finally:
        await http.aclose()
    form = endpoint.at("/token")[0].body.decode()
    assert "grant_type=password" in form and "username=svc" in form


async def test_refresh_fetches_a_new_token(endpoint: Receiver) -> None:
    endpoint.script("/token", _token("t1"), _token("t2"))
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    cache = TokenCache(http)
    source = _source(endpoint)
    try:
        assert await cache.token(source) == "t1"
        assert await cache.token(source, refresh=True) == "t2"
    finally:
        await http.aclose()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(status=401, body=b"{}"), "answered HTTP 401"),
        (Reply(body=b'{"token": "x"}'), "gave no access_token"),
        (Reply(body=b"<html>"), "gave no access_token"),
    ],
)
async def test_an_unusable_answer_is_one_token_error(
    endpoint: Receiver, reply: Reply, message: str
) -> None:
    endpoint.script("/token", reply)
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    try:
        with pytest.raises(TokenError, match=message):
            await TokenCache(http).token(_source(endpoint))
    finally:
        await http.aclose()
