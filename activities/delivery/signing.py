"""Standard Webhooks signatures of ``id.timestamp.body``.

- ``hmac``: ``v1,<base64 HMAC-SHA256>``, the key a ``whsec_`` secret (base64);
- ``ed25519``: ``v1a,<base64 ed25519 signature>``, the key a ``whsk_`` secret
  (base64 of the 32-byte private key); the receiver verifies with the public
  key, ``whpk_`` + base64 of its 32 bytes.

A secret's prefix says its kind, so a webhook rotating from one kind to the
other sends both signatures, space-separated, during the grace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Literal

PREFIX = "whsec_"
SECRET_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
PREFIXES = (PREFIX, SECRET_KEY_PREFIX)

Kind = Literal["hmac", "ed25519"]
KINDS: tuple[Kind, ...] = ("hmac", "ed25519")


def new_secret(kind: Kind = "hmac") -> str:
    if kind == "ed25519":
        return SECRET_KEY_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def kind_of(secret: str) -> Kind:
    return "ed25519" if secret.startswith(SECRET_KEY_PREFIX) else "hmac"


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ValueError("a signing secret is whsec_ followed by base64") from None


def _private_key(secret: str) -> bytes:
    """The 32 bytes of a ``whsk_`` key (a 64-byte key is its seed and public key)."""
    try:
        raw = base64.b64decode(secret.removeprefix(SECRET_KEY_PREFIX), validate=True)
    except ValueError:
        raise ValueError("an ed25519 signing key is whsk_ followed by base64") from None
    if len(raw) not in (32, 64):
        raise ValueError("an ed25519 signing key is 32 bytes (whsk_ followed by base64)")
    return raw[:32]


def check_secret(secret: str) -> Kind:
    """The kind of a secret given by a user (ValueError when it is not one)."""
    if secret.startswith(SECRET_KEY_PREFIX):
        _private_key(secret)
        return "ed25519"
    if not secret.startswith(PREFIX) or len(_key(secret)) < 12:
        raise ValueError("a signing secret looks like whsec_ (or whsk_) followed by base64")
    return "hmac"


def public_key(secret: str) -> str | None:
    """The ``whpk_`` public key of a ``whsk_`` secret (None for an HMAC secret)."""
    if kind_of(secret) != "ed25519":
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(_private_key(secret))
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode()


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature of ``id.timestamp.body``: ``v1,`` (HMAC) or ``v1a,`` (ed25519)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    if kind_of(secret) == "ed25519":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        private = Ed25519PrivateKey.from_private_bytes(_private_key(secret))
        return "v1a," + base64.b64encode(private.sign(signed)).decode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)
