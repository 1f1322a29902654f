"""The hook catalog: every webhook type, its event code, trigger and examples.

Adding a hook type is one entry here (and, where it needs special work, one
activity). Workflows read the catalog to decide which webhooks an event goes
to; the command line prints the examples; the delivery activity judges
responses with ``is_error_response``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities import examples as ex
from activities.contracts import (
    ClientSignal,
    FormSubmittedSignal,
    SignalPayload,
    SmsSignal,
    StorageSignal,
)

# Event codes: the original product's own byte for byte, but for
# ``WHP_STORAGE_CALLBACK``, ``WHP_SEND_SMS``, ``WHP_DELIVERY_FAILED`` and
# ``WHP_WEBHOOK_DISABLED``.
CREATED = "WHEF_SESSION_CREATED"
LOGGED_IN = "WHEF_CLIENT_LOGGED_IN"
FORM_LOADED = "WHEF_CLIENT_FORM_LOADED"
SUBMITTED = "WHEF_CLIENT_FORM_SUBMITTED"
ARCHIVE = "WHP_ARCHIVE"
STORAGE = "WHP_STORAGE_CALLBACK"
EXPIRED = "WHEF_SESSION_EXPIRED"
DELETED = "WHEF_SESSION_DELETED"
REMOTE_DATA = "WHEF_FORM_FIELD_CHANGED"
SEND_SMS = "WHP_SEND_SMS"
ALERT = "WHP_DELIVERY_FAILED"
WEBHOOK_DISABLED = "WHP_WEBHOOK_DISABLED"

# Signals of a Session that fire no hook type of their own: a redelivery of
# failed or held deliveries, and a paused webhook enabled again.
REDELIVER_SIGNAL = "redeliver"
RESUME_SIGNAL = "webhook_resumed"

_OK: dict[str, Any] = ex.ok()
_ERROR: dict[str, Any] = ex.error("Describe what went wrong")


@dataclass(frozen=True)
class HookType:
    """One webhook type of the catalog."""

    name: str
    """Configuration type, as given to ``webhooks add --type``."""
    event: str
    """Event code in ``event.type``; the original product's codes byte for byte."""
    title: str
    """The dashboard's name for the type."""
    trigger: str
    """When it fires."""
    request_example: dict[str, Any]
    success_example: Any = field(default_factory=lambda: dict(_OK))
    error_example: Any = field(default_factory=lambda: dict(_ERROR))
    signal: str | None = None
    """The Session signal that fires it (None: fired by the workflow itself)."""
    payload: type[SignalPayload] = ClientSignal
    """Model of that signal's payload; its fields other than ``client`` and
    ``event_id`` reach the receiver under ``data``."""
    also: tuple[str, ...] = ()
    """Other event codes webhooks of this type receive."""

    def receives(self, event: str) -> bool:
        return event == self.event or event in self.also


def _types() -> list[HookType]:
    return [
        HookType(
            "archive",
            ARCHIVE,
            "Post business process result (Archive)",
            "the business process completed: sessions, form data, attachments, signed PDF",
            ex.archive(),
            success_example=ex.ok(archive_id="DMS-2026-000123"),
            error_example=ex.error("the document store is full; send it again later"),
        ),
        HookType(
            "remote_data",
            REMOTE_DATA,
            "Get data from remote source",
            "a form field changed while the client edits; the answer fills fields",
            ex.envelope(
                REMOTE_DATA,
                4,
                client=ex.CLIENT,
                change={"id": "customer_id", "type": "text", "value": "C-1042"},
                fields=[{"id": "customer_name", "type": "text", "value": ""}],
            ),
            success_example=[{"id": "customer_name", "value": "Dana Levi"}],
            error_example=ex.error("no customer C-1042"),
        ),
        HookType(
            "storage_callback",
            STORAGE,
            "Post callback after storage operation",
            "a storage operation finished",
            ex.storage_callback(),
            success_example=ex.ok(),
            error_example=ex.error("could not index the stored files"),
            signal="storage_completed",
            payload=StorageSignal,
        ),
        HookType(
            "form_submitted",
            SUBMITTED,
            "Post notification when form is submitted",
            "the client submitted the form",
            ex.form_submitted(),
            success_example=ex.ok(crm_id="LEAD-88412"),
            error_example=ex.error("unknown customer Dana Levi"),
            signal="form_submitted",
            payload=FormSubmittedSignal,
        ),
        HookType(
            "client_logged_in",
            LOGGED_IN,
            "Post notification when client logged in to form",
            "the client logged in (link in SMS or email)",
            ex.envelope(LOGGED_IN, 2, client={**ex.CLIENT, "channel": "sms"}),
            success_example=ex.ok(),
            error_example=ex.error("could not record the login of session xM72By4JkM"),
            signal="client_logged_in",
        ),
        HookType(
            "form_loaded",
            FORM_LOADED,
            "Post notification when form loaded on client browser",
            "the form loaded and is operational in the browser",
            ex.envelope(FORM_LOADED, 3, client=ex.CLIENT),
            success_example=ex.ok(),
            error_example=ex.error("could not record that session xM72By4JkM loaded"),
            signal="form_loaded",
        ),
        HookType(
            "session_expired",
            EXPIRED,
            "Post notification when session is expired",
            "the session expired before it was submitted",
            ex.envelope(EXPIRED, 5),
            success_example=ex.ok(),
            error_example=ex.error("could not close the case of session xM72By4JkM"),
            signal="expire",
            payload=SignalPayload,
        ),
        HookType(
            "session_deleted",
            DELETED,
            "Post notification when session is deleted",
            "the session was deleted (on request or at the end of its retention)",
            ex.envelope(DELETED, 6),
            success_example=ex.ok(),
            error_example=ex.error("could not purge session xM72By4JkM"),
            signal="delete",
            payload=SignalPayload,
        ),
        HookType(
            "session_created",
            CREATED,
            "Post notification when a new session created in workflow",
            "a session was created in a business process",
            ex.envelope(CREATED, 1),
            # The original product requires a status in this answer.
            success_example=ex.ok(),
            error_example=ex.error("template loan-application is not mapped"),
        ),
        HookType(
            "delivery_failed",
            ALERT,
            "Alert when a delivery fails",
            "a delivery exhausted its retries (and its failover URL, if any, failed too); "
            "the same webhooks get WHP_WEBHOOK_DISABLED when a webhook of the project was "
            "disabled automatically after failing every attempt for days, with data "
            '{"webhook": alias, "webhook_id": uuid, "reason": why}',
            ex.envelope(
                ALERT,
                7,
                data={
                    "webhook": "archive",
                    "event_id": "evt_7d80455fa28c45a88af026c17867cd26",
                    "event_type": "WHP_ARCHIVE",
                    "sequence": 3,
                    "error": "DeliveryExhausted: HTTP 503 from archive (dms.example.com)",
                },
            ),
            success_example=ex.ok(ticket="OPS-3121"),
            error_example=ex.error("the pager is down"),
            # A webhook disabled after failing for days: its owner is told.
            also=(WEBHOOK_DISABLED,),
        ),
        HookType(
            "send_sms",
            SEND_SMS,
            "Send SMS",
            "the session must send its recipient an SMS (invitation, reminder, OTP)",
            ex.send_sms(),
            success_example=ex.ok(message_id="SM5f2c1e9a"),
            error_example=ex.error("+15551234567 is not a mobile number"),
            signal="send_sms",
            payload=SmsSignal,
        ),
    ]


CATALOG: dict[str, HookType] = {}
BY_EVENT: dict[str, HookType] = {}
BY_SIGNAL: dict[str, HookType] = {}


def register(hook: HookType) -> HookType:
    """Add a hook type (see README, "Adding a hook type"): the built-in types
    of ``_types()`` are registered so at import; a deployment's own type is
    registered before the worker starts, in every worker and in the command line.
    """
    if hook.name in CATALOG or hook.event in BY_EVENT:
        raise ValueError(f"hook type {hook.name} or event {hook.event} already exists")
    if hook.signal is not None:
        reserved = (REDELIVER_SIGNAL, RESUME_SIGNAL)
        if hook.signal in BY_SIGNAL or hook.signal in reserved:
            raise ValueError(f"hook type {hook.name} needs a signal name of its own")
        BY_SIGNAL[hook.signal] = hook
    CATALOG[hook.name] = BY_EVENT[hook.event] = hook
    return hook


for _hook in _types():
    register(_hook)


_ERROR_STATUSES = frozenset({"error", "failed", "failure", "fail"})


def receives(type_name: str, event: str) -> bool:
    """Whether webhooks of this configuration type get this event."""
    hook = CATALOG.get(type_name)
    return hook is not None and hook.receives(event)


def hook_type(name: str) -> HookType:
    """The catalog entry for a configuration type; ValueError names the valid ones."""
    try:
        return CATALOG[name]
    except KeyError:
        valid = ", ".join(CATALOG)
        raise ValueError(f"unknown webhook type {name!r} (valid: {valid})") from None


def is_error_response(body: Any) -> bool:
    """True when a 2xx body is shaped like the catalog's error example.

    Every type's error example is ``{"status": "error", ...}``, so a body whose
    ``status`` says error (or ``success`` is false) is a failed delivery.
    """
    if not isinstance(body, dict):
        return False
    status = body.get("status")
    if isinstance(status, str) and status.strip().lower() in _ERROR_STATUSES:
        return True
    return body.get("success") is False
