"""API keys: who may use the REST API and the pane, and for which project.

A key is ``hfk_`` and 43 random URL-safe characters (256 bits); the store
keeps only its SHA-256, which is enough for a key of that entropy (no salt or
slow hash needed: there is nothing to guess). A project key reaches its own
project only; an admin key reaches every project.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from activities.errors import ConfigError, NotFound
from activities.store.database import utcnow
from activities.store.tables import ApiKey

KEY_PREFIX = "hfk_"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[^\x00-\x1f]{1,100}$")


class KeyPublic(BaseModel):
    """A key as listings show it: never the key, never its hash."""

    id: uuid.UUID
    project: str | None
    admin: bool
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def public_key(key: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=key.id,
        project=key.project,
        admin=key.project is None,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    *, session: Session, project: str | None, name: str | None = None, admin: bool = False
) -> tuple[ApiKey, str]:
    """A new key for ``project`` (or every project with ``admin``): the record and
    the key itself, which is not stored and cannot be shown again."""
    if admin == (project is not None):
        raise ConfigError("give a project, or make an admin key: not both, not neither")
    if project is not None and not _SLUG.match(project):
        raise ConfigError(f"invalid project {project!r}")
    name = name or (f"{project} key" if project else "admin key")
    if not _NAME.match(name):
        raise ConfigError("a key name is 1-100 printable characters")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(project=project, name=name, prefix=plain[:12], key_hash=_digest(plain))
    session.add(record)
    session.commit()
    session.refresh(record)
    return record, plain


def list_keys(*, session: Session, project: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(col(ApiKey.created_at))
    if project:
        query = query.where(ApiKey.project == project)
    return list(session.exec(query))


def revoke_key(*, session: Session, ref: str) -> ApiKey:
    """Revoke a key by id or by its prefix; a revoked key is refused from then on."""
    key = _find(session, ref)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.commit()
        session.refresh(key)
    return key


def _find(session: Session, ref: str) -> ApiKey:
    ref = ref.strip().removesuffix("...")  # the prefix as `keys list` prints it
    try:
        found = session.get(ApiKey, uuid.UUID(ref))
    except ValueError:
        matches = list(session.exec(select(ApiKey).where(ApiKey.prefix == ref)))
        if len(matches) > 1:
            raise ConfigError(f"several keys start with {ref!r}: give the id") from None
        found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"no key {ref!r}")
    return found


def authenticate(*, session: Session, key: str) -> ApiKey | None:
    """The live key record for ``key``, or None (unknown, malformed or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    found = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(key))).first()
    if found is None or found.revoked_at is not None:
        return None
    return found


def key_by_id(*, session: Session, key_id: uuid.UUID) -> ApiKey | None:
    """A live key by id (the pane's session cookie names the key, never holds it)."""
    found = session.get(ApiKey, key_id)
    return found if found is not None and found.revoked_at is None else None
