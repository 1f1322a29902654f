"""The headers an attempt keeps for the pane and ``deliveries show``: every
credential and signature masked, what came back bounded, sealed at rest."""

from __future__ import annotations

from activities.log.headers import (
    MAX_BYTES,
    MAX_HEADERS,
    bounded,
    open_headers,
    seal_headers,
    sent_headers,
)
from activities.store.crypto import SecretBox


def test_credentials_and_signatures_are_masked_keeping_the_scheme() -> None:
    sent = {
        "Authorization": "Bearer eyJhbGciOi.secret",
        "X-Api-Key": "k-123",
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        "Proxy-Authorization": "Basic Y3JtOnMzY3JldA==",
        "X-Tenant": "acme",
    }
    shown = sent_headers(sent, secret=frozenset({"x-api-key"}))
    assert shown == {
        "Authorization": "Bearer ****",
        "X-Api-Key": "****",
        "webhook-signature": "****",
        "Proxy-Authorization": "Basic ****",
        "X-Tenant": "acme",
    }


def test_response_headers_are_bounded_in_count_and_size() -> None:
    many = [(f"X-H{i:03d}", "v") for i in range(200)]
    kept = bounded(many)
    assert len(kept) == MAX_HEADERS and list(kept)[0] == "x-h000"
    big = [(f"x-big{i}", "x" * 1000) for i in range(20)]
    kept = bounded(big)
    assert sum(len(k) + len(v) for k, v in kept.items()) <= MAX_BYTES
    assert len(kept) == 8
    joined = bounded([("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert joined == {"set-cookie": "a=1, b=2"}


def test_headers_are_sealed_at_rest() -> None:
    box = SecretBox("headers-test-key")
    stored = seal_headers({"x-request-id": "req-42"}, box)
    assert stored is not None and "req-42" not in stored
    assert open_headers(stored, box) == {"x-request-id": "req-42"}
    assert open_headers(None, box) == {} and seal_headers(None, box) is None


def test_only_a_known_authorization_scheme_is_kept() -> None:
    sent = {
        "X-Api-Key": "Opensesame 42",
        "X-Custom-Auth": "hunter two words",
        "Authorization": "hunter2 secret",
        "Proxy-Authorization": "DIGEST username=x",
        "X-Token": "Bearer abc",
    }
    shown = sent_headers(sent, secret=frozenset({"x-api-key", "x-custom-auth", "x-token"}))
    assert shown == {
        "X-Api-Key": "****",
        "X-Custom-Auth": "****",
        "Authorization": "****",
        "Proxy-Authorization": "DIGEST ****",
        "X-Token": "****",
    }
