"""A webhook's own TLS: a client certificate (mutual TLS) and a private CA to trust.

The PEM material is checked once, when it is configured (``check_client_cert``,
``check_ca_bundle``: one clear line for a file that is not PEM, a key that is
not the certificate's, a certificate that has expired), and turned into an
``ssl.SSLContext`` by ``TlsContexts``, which keeps one per webhook and settings
version so a context is not built per POST.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

MAX_PEM = 256 * 1024
"""A certificate chain, key or CA bundle: far more than any real one."""
_CONTEXTS = 256


@dataclass(frozen=True)
class CertInfo:
    """What may be shown of a client certificate: never the key."""

    subject: str
    not_after: datetime
    fingerprint: str
    """SHA-256 of the leaf certificate, hex."""


@dataclass(frozen=True)
class WebhookTls:
    """A webhook's TLS settings in the clear: lives only inside an attempt."""

    version: str
    """Changes whenever the settings do: the context cache's key."""
    client_cert: str | None = field(default=None, repr=False)
    client_key: str | None = field(default=None, repr=False)
    ca_bundle: str | None = field(default=None, repr=False)


def _certificates(pem: str, what: str) -> list[x509.Certificate]:
    if len(pem) > MAX_PEM:
        raise ValueError(f"{what}: larger than {MAX_PEM // 1024} KiB")
    try:
        found = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        found = []
    if not found:
        raise ValueError(f"{what}: not a PEM certificate (-----BEGIN CERTIFICATE-----)")
    return found


def _private_key(pem: str) -> PrivateKeyTypes:
    if len(pem) > MAX_PEM:
        raise ValueError(f"client key: larger than {MAX_PEM // 1024} KiB")
    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise ValueError("client key: encrypted with a password; give it unencrypted") from None
    except ValueError:
        raise ValueError("client key: not a PEM private key (BEGIN PRIVATE KEY)") from None


def _spki(key: object) -> bytes:
    public_bytes = key.public_bytes  # type: ignore[attr-defined]
    data: bytes = public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def cert_info(cert_pem: str) -> CertInfo:
    leaf = _certificates(cert_pem, "client certificate")[0]
    return CertInfo(
        subject=leaf.subject.rfc4514_string() or "(empty subject)",
        not_after=leaf.not_valid_after_utc,
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
    )


def check_client_cert(cert_pem: str, key_pem: str, *, now: datetime | None = None) -> CertInfo:
    """The certificate's subject and expiry; ValueError (one line) when either
    file is not PEM, the key is not the certificate's, or it has expired."""
    leaf = _certificates(cert_pem, "client certificate")[0]
    key = _private_key(key_pem)
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise ValueError("client key: it does not match the client certificate")
    now = now or datetime.now(UTC)
    if leaf.not_valid_after_utc <= now:
        raise ValueError(
            f"client certificate: expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M}Z"
        )
    if leaf.not_valid_before_utc > now:
        raise ValueError(
            f"client certificate: not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M}Z"
        )
    return cert_info(cert_pem)


def check_ca_bundle(pem: str) -> list[str]:
    """The subjects of the bundle's certificates; ValueError when it holds none."""
    return [c.subject.rfc4514_string() for c in _certificates(pem, "CA bundle")]


def build_context(tls: WebhookTls | None, *, verify: bool) -> ssl.SSLContext:
    """The context a webhook's connections use: httpx's defaults, the webhook's
    CA bundle in place of the system's when it has one, and its client certificate."""
    if verify and tls is not None and tls.ca_bundle:
        context = ssl.create_default_context(cadata=tls.ca_bundle)
    else:
        import httpx  # not loaded by a command that only reads the configuration

        context = httpx.create_ssl_context(verify=verify)
    if tls is not None and tls.client_cert and tls.client_key:
        _load_client_cert(context, tls.client_cert, tls.client_key)
    return context


def _load_client_cert(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """``load_cert_chain`` reads files only: the key is written encrypted with a
    one-time password to a private temporary file, and removed at once."""
    password = secrets.token_bytes(32)
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    sealed = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    fd, path = tempfile.mkstemp(prefix="hookflow-tls-", suffix=".pem")  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(cert_pem.encode().rstrip() + b"\n" + sealed)
        context.load_cert_chain(path, password=password)
    finally:
        os.unlink(path)


class TlsContexts:
    """SSL contexts by (webhook settings version, verify), the most recent kept."""

    def __init__(self, size: int = _CONTEXTS) -> None:
        self._size = size
        self._contexts: OrderedDict[tuple[str, bool], ssl.SSLContext] = OrderedDict()

    def get(self, tls: WebhookTls, *, verify: bool) -> ssl.SSLContext:
        context = self.cached(tls, verify=verify)
        if context is None:
            context = self.add(tls, verify=verify, context=build_context(tls, verify=verify))
        return context

    async def aget(self, tls: WebhookTls, *, verify: bool) -> ssl.SSLContext:
        """``get``, building a new context (file I/O, key parsing) off the event loop."""
        context = self.cached(tls, verify=verify)
        if context is None:
            built = await asyncio.to_thread(build_context, tls, verify=verify)
            context = self.add(tls, verify=verify, context=built)
        return context

    def cached(self, tls: WebhookTls, *, verify: bool) -> ssl.SSLContext | None:
        key = (tls.version, verify)
        context = self._contexts.get(key)
        if context is not None:
            self._contexts.move_to_end(key)
        return context

    def add(self, tls: WebhookTls, *, verify: bool, context: ssl.SSLContext) -> ssl.SSLContext:
        self._contexts[(tls.version, verify)] = context
        while len(self._contexts) > self._size:
            self._contexts.popitem(last=False)
        return context


# TLS alerts a server sends when it wants a certificate it did not get (TLS 1.3
# sends it after the handshake, so it surfaces on the first read).
_NO_CLIENT_CERT = ("certificate required", "certificate_required")
_UNTRUSTED = ("certificate verify failed",)


def explain(error: str) -> str | None:
    """A TLS failure said plainly, or None when ``error`` is not one."""
    lowered = error.lower()
    if any(marker in lowered for marker in _UNTRUSTED):
        reason = error.split("certificate verify failed:", 1)[-1].split("(")[0].strip(" :)")
        return f"TLS: the endpoint's certificate is not trusted ({reason or 'unknown issuer'})"
    if any(marker in lowered for marker in _NO_CLIENT_CERT):
        return "TLS handshake refused: the endpoint requires a client certificate"
    if any(m in lowered for m in ("unknown ca", "bad certificate", "certificate unknown")):
        return "TLS handshake refused: the endpoint does not accept the client certificate"
    if "handshake failure" in lowered:  # TLS 1.2's word for a missing certificate, or ciphers
        return (
            "TLS handshake refused by the endpoint (handshake failure: it may require "
            "a client certificate)"
        )
    return None
