"""Signatures verified by an independent Standard Webhooks implementation."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from activities.delivery.signing import new_secret, sign, signature_header


def headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_known_vector() -> None:
    # The Standard Webhooks reference example.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret=secret, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_signature_verifies_and_tampering_does_not() -> None:
    secret = new_secret()
    now = int(time.time())
    body = b'{"event":{"id":"evt_1"}}'
    signature = signature_header(secrets_=[secret], msg_id="evt_1", timestamp=now, body=body)
    assert Verifier(secret).verify(body, headers("evt_1", now, signature)) == {
        "event": {"id": "evt_1"}
    }
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body + b" ", headers("evt_1", now, signature))


def test_rotation_sends_both_signatures() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    body = b"{}"
    signature = signature_header(secrets_=[new, old], msg_id="evt_2", timestamp=now, body=body)
    assert len(signature.split(" ")) == 2
    for secret in (old, new):
        Verifier(secret).verify(body, headers("evt_2", now, signature))
    with pytest.raises(WebhookVerificationError):
        Verifier(new_secret()).verify(body, headers("evt_2", now, signature))
