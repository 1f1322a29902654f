"""Sealed texts: messages that reach a webhook without entering workflow history.

A one-time password SMS is the case in point: the platform seals the text
(``hookflow sms seal``, or ``seal_text`` from Python), signals the session
with the reference, and the delivery activity opens it at send time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session

from activities.errors import SealedTextMissing
from activities.store.crypto import SecretBox
from activities.store.database import utcnow
from activities.store.tables import SealedText

PREFIX = "sealed_"
DEFAULT_TTL = timedelta(hours=1)


def seal_text(*, session: Session, box: SecretBox, text: str, ttl: timedelta = DEFAULT_TTL) -> str:
    if not text or len(text) > 1600:
        raise ValueError("a sealed text has 1 to 1600 characters")
    ref = PREFIX + secrets.token_hex(16)
    session.add(SealedText(id=ref, text_enc=box.seal(text), expires_at=utcnow() + ttl))
    session.commit()
    return ref


def open_text(*, session: Session, box: SecretBox, ref: str) -> str:
    row = session.get(SealedText, ref)
    if row is None or row.expires_at <= utcnow():
        raise SealedTextMissing(f"sealed text {ref[:20]}... is unknown or expired")
    return box.open(row.text_enc)
