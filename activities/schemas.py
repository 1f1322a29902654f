"""Each hook type's body as a JSON Schema (draft 2020-12), made from its models,
and the schema's version.

A type's body is the envelope (``activities.contracts.Envelope``) cut to the
parts that type carries: the archive's files embedded (``EmbeddedFile``) or
by link (``LinkedFile``, with ``documents_trimmed`` when they were too big), Send
SMS with its fixed structure, a type added to the catalog with ``client`` and
``data``. Every delivery names its schema in the ``webhook-schema`` header
(``archive.v1``); ``GET /api/v1/hook-types/{type}/schema`` and ``hookflow
webhooks example TYPE --schema`` print it.

Versions: ``HISTORY`` lists, per built-in type, the fingerprint of each
version of its schema, oldest first; the version is their count. A model
change that alters a schema fails ``tests/activities/test_schemas.py`` until
its new fingerprint is appended (a new version): ``python -m activities.schemas``
prints the fingerprints as they are now.
"""

from __future__ import annotations

import hashlib
import json
import types
from datetime import datetime
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model

from activities.catalog import CATALOG, HookType, hook_type
from activities.contracts import ClientSignal, Envelope, EventInfo, Model

DIALECT = "https://json-schema.org/draft/2020-12/schema"
HEADER = "webhook-schema"


class EmbeddedFile(Model):
    """A file as the archive carries it: its bytes base64-encoded in ``content``."""

    name: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int = Field(ge=0, description="Bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content: str = Field(description="The file, base64-encoded.")


class LinkedFile(Model):
    """A file as an archive carries it by link (the webhook's ``documents: link``,
    or an embedded body over its ``max_body_size``): fetch ``url`` before
    ``expires_at``, no API key needed; check the bytes against ``sha256``."""

    name: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int = Field(ge=0, description="Bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    url: str = Field(description="A signed download URL (GET); 403 once expired.")
    expires_at: datetime = Field(description="When the URL stops working.")


ArchiveFile = EmbeddedFile | LinkedFile


class _Body(Model):
    model_config = ConfigDict(extra="forbid")


# The envelope's parts each built-in type carries besides ``event`` and ``session``.
_PARTS: dict[str, tuple[str, ...]] = {
    "archive": ("form_data", "attachments", "document", "sessions"),
    "remote_data": ("client", "change", "fields"),
    "storage_callback": ("storage",),
    "form_submitted": ("client", "form_data", "attachments", "document"),
    "client_logged_in": ("client",),
    "form_loaded": ("client",),
    "session_expired": (),
    "session_deleted": (),
    "session_created": (),
    "delivery_failed": ("data",),
    "send_sms": ("to", "text", "purpose", "link", "locale"),
}
# Every part present, null when absent.
_FIXED = frozenset({"send_sms"})
# Parts whose files the archive embeds.
_EMBEDDED: dict[str, dict[str, Any]] = {
    "archive": {"attachments": list[ArchiveFile], "document": ArchiveFile}
}
# Fields a type's body carries beyond the envelope's parts.
_EXTRA: dict[str, dict[str, Any]] = {
    "archive": {
        "documents_trimmed": (
            bool | None,
            Field(
                default=None,
                description="True when the files were too large to embed (over the "
                "webhook's max body size) and go as links instead.",
            ),
        )
    }
}

# Fingerprints of each version of each built-in type's schema, oldest first.
HISTORY: dict[str, tuple[str, ...]] = {
    "archive": ("ece8022f127ffa9b", "58a9e11cf67ef6e9"),
    "remote_data": ("b6209862ae225e20",),
    "storage_callback": ("7fcf2a934cd05494",),
    "form_submitted": ("83e1680f2a41174f",),
    "client_logged_in": ("12bff592dcfaba4a",),
    "form_loaded": ("bc014f9245fb2585",),
    "session_expired": ("9f59136724b3c14d",),
    "session_deleted": ("8aa0687799c0616c",),
    "session_created": ("5013439421954eeb",),
    "delivery_failed": ("3a3f93a85addce24",),
    "send_sms": ("21f8ecbd08addd84",),
}


def version(type_name: str) -> int:
    """The current version of the type's schema (1 for a type added to the catalog)."""
    return len(HISTORY.get(type_name, ())) or 1


def schema_name(type_name: str) -> str:
    """What the ``webhook-schema`` header says: ``archive.v1``."""
    return f"{type_name}.v{version(type_name)}"


def schema_id(type_name: str) -> str:
    return f"urn:hookflow:schema:{schema_name(type_name)}"


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        return kept[0] if len(kept) == 1 else Union[tuple(kept)]  # noqa: UP007
    return annotation


def _parts(hook: HookType) -> tuple[str, ...]:
    if hook.name in _PARTS:
        return _PARTS[hook.name]
    # A type added to the catalog: its payload under ``data``, and ``client``.
    return ("client", "data") if issubclass(hook.payload, ClientSignal) else ("data",)


def body_model(hook: HookType) -> type[BaseModel]:
    """The model of the body a webhook of this type receives."""
    prefix = "".join(word.title() for word in hook.name.split("_"))
    events = (hook.event, *hook.also)
    event_model = create_model(
        f"{prefix}Event",
        __base__=EventInfo,
        type=(Literal[events], ...),  # type: ignore[arg-type]
    )
    fields: dict[str, Any] = {
        "event": (event_model, ...),
        "session": (Envelope.model_fields["session"].annotation, ...),
    }
    embedded = _EMBEDDED.get(hook.name, {})
    for part in _parts(hook):
        info = Envelope.model_fields[part]
        annotation = embedded.get(part) or _without_none(info.annotation)
        if hook.name in _FIXED:
            fields[part] = (annotation | None, Field(...))
        else:
            fields[part] = (annotation, Field(default=None, description=info.description))
    fields.update(_EXTRA.get(hook.name, {}))
    model: type[BaseModel] = create_model(f"{prefix}Body", __base__=_Body, **fields)
    return model


def _model_schema(hook: HookType) -> dict[str, Any]:
    schema = body_model(hook).model_json_schema(mode="serialization")
    for prop in schema.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]  # an absent part is left out, never sent as null
    return {**schema, "title": hook.title, "description": f"Sent when {hook.trigger}."}


def fingerprint(schema: dict[str, Any]) -> str:
    """A short hash of a schema's content (without its id and version)."""
    content = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "version")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@cache
def _schema(type_name: str) -> str:
    hook = hook_type(type_name)
    schema = {
        "$schema": DIALECT,
        "$id": schema_id(type_name),
        "version": version(type_name),
        **_model_schema(hook),
    }
    return json.dumps(schema)


def schema(type_name: str) -> dict[str, Any]:
    """The type's JSON Schema document (ValueError for an unknown type)."""
    result: dict[str, Any] = json.loads(_schema(type_name))
    return result


def current_fingerprints() -> dict[str, str]:
    return {name: fingerprint(_model_schema(hook)) for name, hook in CATALOG.items()}


if __name__ == "__main__":  # pragma: no cover
    for name, print_ in current_fingerprints().items():
        print(f"{name}: {print_}")  # noqa: T201
