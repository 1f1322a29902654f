"""What configuration accepts, httpx and h11 can send: checked on random input."""

from __future__ import annotations

import h11
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.store.validation import check_header_value, check_url, is_credential_header


@given(st.text(max_size=40))
def test_every_header_value_accepted_can_be_sent(value: str) -> None:
    try:
        check_header_value("X-Key", value)
    except ValueError:
        return
    request = httpx.Request("POST", "http://127.0.0.1/", headers={"X-Key": value})
    # h11 is what refused such values on the wire ("Illegal header value").
    h11.Request(method="POST", target="/", headers=list(request.headers.raw))


@given(st.text(max_size=40))
def test_every_url_accepted_can_be_parsed_by_httpx(text: str) -> None:
    url = f"https://{text}/hook"
    try:
        check_url(url)
    except ValueError:
        return
    httpx.Request("POST", url)


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("Authorization", True),
        ("X-Api-Key", True),
        ("x-apikey", True),
        ("X-Auth-Token", True),
        ("Cookie", True),
        ("X-Session-Key", True),
        ("X-Tenant", False),
        ("X-Request-Source", False),
        ("Accept-Language", False),
    ],
)
def test_credential_header_names(name: str, credential: bool) -> None:
    assert is_credential_header(name) is credential
