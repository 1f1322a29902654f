"""Judging one response: success, error bodies, redirects, 410 and the rest."""

from __future__ import annotations

import uuid

import httpx
import pytest

from activities.contracts import Outcome
from activities.delivery.endpoint import Endpoint
from activities.delivery.http import HttpReply
from activities.delivery.sender import SentRequest, judge


def _endpoint(type_: str = "form_submitted", accept: str = "json") -> Endpoint:
    return Endpoint(
        id=uuid.uuid4(),
        alias="crm",
        type=type_,
        url="https://crm.example.com/hook",
        timeout=5,
        verify_ssl=True,
        content_type="json",
        accept=accept,
        headers={},
    )


def _reply(status: int, body: bytes = b"", **headers: str) -> HttpReply:
    return HttpReply(status, httpx.Headers(headers), body, False, 12.5)


REQUEST = SentRequest("https://crm.example.com/hook", {}, b"{}")


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b'{"status": "success"}', Outcome.DELIVERED),
        (204, b"", Outcome.DELIVERED),
        (200, b'{"status": "error", "message": "no"}', Outcome.RETRYING),
        (200, b'{"status": " FAILED "}', Outcome.RETRYING),
        (200, b'{"success": false}', Outcome.RETRYING),
        (200, b"not json at all", Outcome.DELIVERED),
        (301, b"", Outcome.RETRYING),
        (410, b"", Outcome.GONE),
        (429, b"", Outcome.RETRYING),
        (500, b"", Outcome.RETRYING),
    ],
)
def test_verdicts(status: int, body: bytes, outcome: Outcome) -> None:
    assert judge(_endpoint(), _reply(status, body), REQUEST).outcome == outcome


def test_a_redirect_names_where_it_pointed_and_is_not_followed() -> None:
    verdict = judge(_endpoint(), _reply(302, location="https://elsewhere.example.com/"), REQUEST)
    assert verdict.error == "HTTP 302 redirect to 'https://elsewhere.example.com/' not followed"


def test_a_redirect_names_no_query_string() -> None:
    """The line is shown in clear (Web UI, logs): a token in the query stays out."""
    location = "https://elsewhere.example.com/cb?token=s3cret#frag"
    verdict = judge(_endpoint(), _reply(302, location=location), REQUEST)
    assert verdict.error == "HTTP 302 redirect to 'https://elsewhere.example.com/cb' not followed"


def test_remote_data_answers_are_returned_and_others_are_not() -> None:
    body = b'[{"id": "customer_name", "value": "Dana"}]'
    remote = judge(_endpoint("remote_data"), _reply(200, body), REQUEST)
    assert remote.response == [{"id": "customer_name", "value": "Dana"}]
    assert judge(_endpoint(), _reply(200, body), REQUEST).response is None


def test_an_xml_error_body_is_judged_like_json() -> None:
    body = b"<response><status>error</status></response>"
    verdict = judge(_endpoint(accept="xml"), _reply(200, body), REQUEST)
    assert verdict.outcome == Outcome.RETRYING
    assert verdict.error == "HTTP 200 with an error body"
