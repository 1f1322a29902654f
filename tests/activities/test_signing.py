"""Signatures verified by an independent Standard Webhooks implementation."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from activities.delivery.signing import new_secret, public_key, sign, signature_header


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


def test_ed25519_key_of_the_rfc_8032_vector_and_a_v1a_signature_it_verifies() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    secret = "whsk_" + base64.b64encode(seed).decode()
    assert public_key(secret) == "whpk_" + base64.b64encode(public).decode()
    assert public_key(new_secret()) is None  # an HMAC secret has none
    signature = sign(secret=secret, msg_id="evt_1", timestamp=1614265330, body=b"{}")
    version, _, value = signature.partition(",")
    assert version == "v1a"
    Ed25519PublicKey.from_public_bytes(public).verify(
        base64.b64decode(value), b"evt_1.1614265330.{}"
    )


def test_the_command_line_offers_every_signature_kind() -> None:
    from activities.delivery.signing import KINDS
    from worker.cli.webhooks import SIGNATURES

    assert list(SIGNATURES.choices) == list(KINDS)
