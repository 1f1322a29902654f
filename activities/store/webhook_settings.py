"""What a user may type to configure a webhook: ``WebhookSettings`` (shared by
create and update, every field validated) and ``WebhookCreate``.

The TLS material (``client_cert``, ``client_key``, ``ca_bundle``) is PEM text,
checked here (``activities.delivery.tls``): a file that is not PEM, a key that
is not the certificate's or an expired certificate is one clear error.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from activities.catalog import hook_type
from activities.contracts import Slug
from activities.delivery.filters import MAX_FILTER, check_filter
from activities.delivery.retry import validate_schedule
from activities.delivery.signing import Kind, check_secret
from activities.delivery.tls import MAX_PEM, check_ca_bundle, check_client_cert
from activities.store.validation import (
    check_header_name,
    check_header_value,
    check_plain_header,
    check_url,
)

_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")

# While a signing secret rotates, the old one keeps signing this long (24 h).
DEFAULT_SIGNING_GRACE = 24 * 3600.0

MAX_HEADERS = 50
"""Configured headers (and custom-auth headers) of one webhook."""
MAX_TEMPLATES = 500
"""Templates one explicit webhook is coupled to."""

Format = Literal["json", "xml"]
AuthKind = Literal["none", "basic", "custom", "secret"]
DocumentsMode = Literal["embed", "link"]
"""How an archive carries its documents: base64 in the body, or signed links."""

MIB = 1024 * 1024
DEFAULT_MAX_BODY = 10 * MIB
"""An embedded archive body above this is sent with links instead."""
MAX_BODY_LIMIT = 1024 * MIB


class WebhookSettings(BaseModel):
    """Fields shared by create and update; every one validated."""

    model_config = ConfigDict(extra="forbid")

    alias: str | None = None
    url: str | None = None
    explicit: bool | None = None
    templates: list[Slug] | None = Field(default=None, max_length=MAX_TEMPLATES)
    timeout: float | None = Field(default=None, gt=0, le=300)
    verify_ssl: bool | None = None
    headers: dict[str, str] | None = Field(default=None, max_length=MAX_HEADERS)
    auth: AuthKind | None = None
    basic_username: str | None = Field(default=None, max_length=200)
    basic_password: str | None = Field(default=None, max_length=1000)
    custom_auth: dict[str, str] | None = Field(default=None, max_length=MAX_HEADERS)
    secret_alias: str | None = Field(default=None, max_length=100)
    content_type: Format | None = None
    accept: Format | None = None
    retry_schedule: list[float] | None = None
    signing_secret: str | None = None
    signature: Kind | None = None
    """hmac (``v1``, a ``whsec_`` secret) or ed25519 (``v1a``, a ``whsk_`` key
    hookflow makes; receivers verify with its ``whpk_`` public key)."""
    signing_grace: float = Field(default=DEFAULT_SIGNING_GRACE, ge=0, le=30 * 86400)
    failover_url: str | None = None
    rate_limit: float | None = Field(default=None, gt=0, le=10_000)
    """Requests per second across every worker; None: no limit."""
    max_in_flight: int | None = Field(default=None, ge=1, le=1000)
    """Attempts under way at once on one worker; None: the worker's default."""
    filter: str | None = Field(default=None, max_length=MAX_FILTER)
    """A JMESPath expression on the envelope: only events it is truthy for are
    delivered (the others are recorded ``skipped``); "" removes it."""
    client_cert: str | None = Field(default=None, max_length=MAX_PEM)
    """PEM certificate (chain) presented to the endpoint: mutual TLS. Given with
    ``client_key``; "" removes both."""
    client_key: str | None = Field(default=None, max_length=MAX_PEM, repr=False)
    """PEM private key of ``client_cert`` (unencrypted); stored encrypted, never shown."""
    ca_bundle: str | None = Field(default=None, max_length=MAX_PEM)
    """PEM CA certificates trusted for the endpoint instead of the system's
    (a private CA, verification on); "" removes it."""
    documents: DocumentsMode | None = None
    """Archive documents: ``embed`` (base64, the default) or ``link`` (signed,
    expiring download URLs)."""
    max_body_size: int | None = Field(default=None, ge=1024, le=MAX_BODY_LIMIT)
    """Bytes; an embedded archive body above it is sent with links (default 10 MiB)."""
    enabled: bool | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _tls(self) -> WebhookSettings:
        cert, key = self.client_cert, self.client_key
        if cert == "" or (cert is None and key == ""):
            if key:
                raise ValueError("a client key without a client certificate")
            self.client_cert = self.client_key = ""
        elif cert is not None or key is not None:
            if not cert or not key:
                raise ValueError("mutual TLS needs both a client certificate and its key")
            check_client_cert(cert, key)
        if self.ca_bundle:
            check_ca_bundle(self.ca_bundle)
        return self

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is not None and not _ALIAS.match(value):
            raise ValueError("alias: 1-100 letters, digits, spaces, '_', '.' or '-'")
        return value

    @field_validator("url", "failover_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else check_url(value)

    @field_validator("headers", "custom_auth")
    @classmethod
    def _headers(cls, value: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        """Header names and values; only ``custom_auth`` may name credentials."""
        if value is None:
            return None
        check_name = check_plain_header if info.field_name == "headers" else check_header_name
        return {check_name(k): check_header_value(k, v) for k, v in value.items()}

    @field_validator("basic_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and (":" in value or not value.isprintable()):
            raise ValueError("the basic-auth user name has a ':' or a control character")
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            validate_schedule(value)
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None if value is None else ""
        return check_filter(value.strip())

    @field_validator("signing_secret")
    @classmethod
    def _signing(cls, value: str | None) -> str | None:
        if value and value.startswith("whsk_"):
            check_secret(value)
        elif value and not re.fullmatch(r"whsec_[A-Za-z0-9+/=]{16,}", value):
            raise ValueError("a signing secret looks like whsec_ followed by base64")
        return value


class WebhookCreate(WebhookSettings):
    project: Slug
    alias: str
    type: str
    url: str

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return hook_type(value).name

    @model_validator(mode="after")
    def _consistent(self) -> WebhookCreate:
        if self.templates and not self.explicit:
            raise ValueError("templates can be coupled to explicit webhooks only (--explicit)")
        return self
