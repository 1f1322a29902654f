"""One redaction for every text that leaves an attempt, and the sender applying it
to whatever a real endpoint answers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from activities.delivery.endpoint import Endpoint
from activities.delivery.guard import parse_networks
from activities.delivery.http import HttpClients
from activities.delivery.redaction import redact, redact_bytes
from activities.delivery.sender import Sender
from activities.delivery.tokens import TokenCache
from worker.devstack.receiver import Receiver, Reply


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("pa55word", "auth failed for pa55word"),
        ("pa55word\v", "Illegal header value b'pa55word\\x0b'"),
        ("tok\r\nX: 1", "Illegal header value b'Bearer tok\\r\\nX: 1'"),
        ('quo"te', '{"echo": "quo\\"te"}'),
        ("a b&c", "https://x.example.com/?k=a+b%26c"),
        ("clé", "Illegal header value b'cl\\xc3\\xa9'"),
        ("clé", "'latin-1' codec can't encode 'cl\\xe9'"),
    ],
)
def test_every_form_of_a_secret_is_redacted(secret: str, text: str) -> None:
    assert redact(text, [secret]).count("********") == 1, redact(text, [secret])


def test_a_secret_containing_another_is_redacted_whole() -> None:
    assert redact("Basic ZGFuYTpwdw== and pw", ["pw", "Basic ZGFuYTpwdw=="]) == (
        "******** and ********"
    )
    assert redact_bytes(b'{"a": "s3cret"}', ["s3cret"]) == b'{"a": "********"}'


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    http = HttpClients(allowed=parse_networks("127.0.0.0/8"))
    yield Sender(http=http, tokens=TokenCache(http))
    await http.aclose()


def endpoint(url: str, **fields: object) -> Endpoint:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "alias": "crm",
        "type": "remote_data",
        "url": url,
        "timeout": 5.0,
        "verify_ssl": True,
        "content_type": "json",
        "accept": "json",
        "headers": {"X-Api-Key": "k3y-s3cret"},
        "secret_headers": frozenset({"authorization", "x-api-key"}),
        "secrets": ("k3y-s3cret",),
    }
    values.update(fields)
    return Endpoint(**values)  # type: ignore[arg-type]


async def test_an_echoed_credential_never_reaches_the_answer_or_the_excerpt(
    sender: Sender, receiver: Receiver
) -> None:
    answer = [{"id": "token", "value": "k3y-s3cret"}, {"id": "name", "value": "Dana"}]
    receiver.always("/rd", Reply(body=json.dumps(answer).encode()))
    verdict = await sender.attempt(endpoint(receiver.url("/rd")), body={"a": 1}, msg_id="evt_1")
    assert receiver.at("/rd")[0].headers["x-api-key"] == "k3y-s3cret"
    assert verdict.outcome == "delivered"
    assert verdict.response == [
        {"id": "token", "value": "********"},
        {"id": "name", "value": "Dana"},
    ]
    assert verdict.reply is not None and b"k3y-s3cret" not in verdict.reply.body


async def test_an_unsendable_value_is_a_judged_attempt_without_the_value(
    sender: Sender, receiver: Receiver
) -> None:
    bad = endpoint(receiver.url("/x"), headers={"X-Api-Key": "k3y-s3cret "})
    verdict = await sender.attempt(bad, body={"a": 1}, msg_id="evt_2")
    assert verdict.outcome == "retrying"
    assert verdict.error == (
        "not sent: the value of header 'X-Api-Key' has leading or trailing spaces"
    )
    assert receiver.requests == []
    assert verdict.latency_ms > 0


async def test_an_unexpected_exception_is_a_one_line_verdict(sender: Sender) -> None:
    verdict = await sender.attempt(endpoint("http://256.1.1.1/hook"), body={"a": 1}, msg_id="evt_3")
    assert verdict.outcome == "retrying"
    assert verdict.error == "InvalidURL: Invalid IPv4 address: '256.1.1.1'"
