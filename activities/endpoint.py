"""A webhook as the delivery activity needs it: URL, headers and credentials in the clear.

An ``Endpoint`` lives only inside one activity attempt; it is never logged,
returned or passed to a workflow.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.crypto import SecretBox
from activities.formats import MEDIA_TYPES
from activities.signing import signature_header
from activities.tables import Webhook


class EndpointUnavailable(Exception):
    """The webhook was deleted or disabled since the delivery was scheduled."""


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    alias: str
    type: str
    url: str
    timeout: float
    verify_ssl: bool
    content_type: str
    accept: str
    headers: dict[str, str] = field(repr=False)
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)

    def request_headers(self, *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        headers = {
            **self.headers,
            "content-type": MEDIA_TYPES[self.content_type],
            "accept": MEDIA_TYPES[self.accept],
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
        }
        if self.signing_secrets:
            headers["webhook-signature"] = signature_header(
                secrets_=self.signing_secrets, msg_id=msg_id, timestamp=timestamp, body=body
            )
        return headers


def load_endpoint(*, engine: Engine, box: SecretBox, webhook_id: uuid.UUID) -> Endpoint:
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        if webhook is None:
            raise EndpointUnavailable(f"webhook {webhook_id} was deleted")
        if not webhook.enabled:
            reason = webhook.disabled_reason or "disabled"
            raise EndpointUnavailable(f"webhook {webhook.alias} is disabled: {reason}")
        return Endpoint(
            id=webhook.id,
            alias=webhook.alias,
            type=webhook.type,
            url=webhook.url,
            timeout=webhook.timeout,
            verify_ssl=webhook.verify_ssl,
            content_type=webhook.content_type,
            accept=webhook.accept,
            headers=_auth_headers(webhook, box),
            signing_secrets=(box.open(webhook.signing_secret_enc),)
            if webhook.signing_secret_enc
            else (),
        )


def _auth_headers(webhook: Webhook, box: SecretBox) -> dict[str, str]:
    headers = dict(webhook.headers)
    if webhook.auth == "basic" and webhook.basic_password_enc:
        pair = f"{webhook.basic_username}:{box.open(webhook.basic_password_enc)}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif webhook.auth == "custom" and webhook.custom_auth_enc:
        headers.update(box.open_json(webhook.custom_auth_enc))
    return headers
