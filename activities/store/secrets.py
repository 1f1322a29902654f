"""Secrets: token endpoints whose bearer tokens authenticate webhooks.

Two conventions, as in the original product: 'general' posts ``username``,
``password``, ``grant_type`` and ``scope``; 'microsoft_graph' posts
``client_id``, ``client_secret``, ``scope`` and ``grant_type``; form-encoded,
or as one JSON object (``token_format`` 'json', the original product's own
token request). The endpoint answers ``{"access_token": ..., "expires_in":
seconds}``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from activities.contracts import Slug
from activities.errors import Conflict, NotFound
from activities.store.crypto import REDACTED, SecretBox
from activities.store.tables import Secret, Webhook
from activities.store.validation import check_url, insert_named, lookup_secret

Convention = Literal["general", "microsoft_graph"]
TokenFormat = Literal["form", "json"]
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# Form fields each convention sends, and which of them are secret.
FIELDS: dict[str, tuple[str, ...]] = {
    "general": ("username", "password", "grant_type", "scope"),
    "microsoft_graph": ("client_id", "client_secret", "scope", "grant_type"),
}
SECRET_FIELDS = frozenset({"password", "client_secret"})
# What a secret keeps as given; the form's fields are kept sealed.
KEPT = {"project", "alias", "token_url", "convention", "token_format"}
DEFAULT_GRANT = {"general": "password", "microsoft_graph": "client_credentials"}


class SecretCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: Slug
    alias: str
    token_url: str
    convention: Convention
    username: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, max_length=2000)
    client_id: str | None = Field(default=None, max_length=500)
    client_secret: str | None = Field(default=None, max_length=2000)
    scope: str | None = Field(default=None, max_length=2000)
    grant_type: str | None = Field(default=None, max_length=100)
    token_format: TokenFormat = "form"

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        if not _ALIAS.match(value):
            raise ValueError("alias: 1-100 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("token_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @model_validator(mode="after")
    def _complete(self) -> SecretCreate:
        needed = (
            ("username", "password")
            if self.convention == "general"
            else ("client_id", "client_secret")
        )
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"the {self.convention} convention needs {' and '.join(missing)}")
        other = {
            "general": ("client_id", "client_secret"),
            "microsoft_graph": ("username", "password"),
        }[self.convention]
        if any(getattr(self, name) for name in other):
            raise ValueError(
                f"{' and '.join(other)} do not belong to the {self.convention} convention"
            )
        return self

    def form(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in FIELDS[self.convention]}
        values["grant_type"] = values["grant_type"] or DEFAULT_GRANT[self.convention]
        return {k: v for k, v in values.items() if v}


class SecretPublic(BaseModel):
    id: str
    project: str
    alias: str
    token_url: str
    convention: str
    token_format: str
    fields: dict[str, str]
    created_at: datetime


def public_secret(secret: Secret, box: SecretBox) -> SecretPublic:
    form = box.open_json(secret.credentials_enc)
    return SecretPublic(
        id=str(secret.id),
        project=secret.project,
        alias=secret.alias,
        token_url=secret.token_url,
        convention=secret.convention,
        token_format=secret.token_format,
        fields={k: REDACTED if k in SECRET_FIELDS else v for k, v in form.items()},
        created_at=secret.created_at,
    )


def create_secret(*, session: Session, data: SecretCreate, box: SecretBox) -> Secret:
    secret = Secret(**data.model_dump(include=KEPT), credentials_enc=box.seal_json(data.form()))
    insert_named(session, secret, "secret")
    session.commit()
    session.refresh(secret)
    return secret


def find_secret(*, session: Session, project: str, alias: str) -> Secret:
    found = lookup_secret(session, project=project, alias=alias)
    if found is None:
        raise NotFound(f"project {project!r} has no secret {alias!r}")
    return found


def get_secret(*, session: Session, ref: str, project: str | None = None) -> Secret:
    """A secret by UUID, or by alias within ``project``; another project's is not found."""
    try:
        found = session.get(Secret, uuid.UUID(ref))
    except ValueError:
        found = lookup_secret(session, project=project, alias=ref) if project else None
    if found is None or (project and found.project != project):
        raise NotFound(f"no secret {ref!r}")
    return found


def list_secrets(*, session: Session, project: str | None = None) -> list[Secret]:
    query = select(Secret).order_by(col(Secret.project), col(Secret.alias))
    if project:
        query = query.where(Secret.project == project)
    return list(session.exec(query))


def delete_secret(*, session: Session, project: str, alias: str) -> None:
    secret = find_secret(session=session, project=project, alias=alias)
    users = session.exec(
        select(Webhook.alias).where(Webhook.project == project, Webhook.secret_alias == alias)
    ).all()
    if users:
        raise Conflict(f"secret {alias!r} is used by webhook {users[0]!r}: change it first")
    session.delete(secret)
    session.commit()
