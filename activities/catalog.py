"""The hook catalog: every webhook type, its event code, trigger and examples.

Adding a hook type is one entry here (and, where it needs special work, one
activity). Workflows read the catalog to decide which webhooks an event goes
to; the command line prints the examples; the delivery activity judges
responses with ``is_error_response``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

_SESSION_EXAMPLE: dict[str, Any] = {
    "id": "xM72By4JkM",
    "reference": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
    "process_id": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
    "process_number": 28,
    "transaction_number": 17,
    "recipient": {"id": 1, "name": "client"},
    "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
}
_CLIENT_EXAMPLE: dict[str, Any] = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
_OK: dict[str, Any] = {"status": "success"}
_ERROR: dict[str, Any] = {"status": "error", "message": "Describe what went wrong"}


def _envelope(event: str, sequence: int, **extra: Any) -> dict[str, Any]:
    return {
        "event": {
            "id": "evt_2b1f0c9e8d7a6b5c4d3e2f1a",
            "type": event,
            "timestamp": "2026-01-26T09:20:03.439650+00:00",
            "sequence": sequence,
        },
        "session": _SESSION_EXAMPLE,
        **extra,
    }


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
            _envelope(
                ARCHIVE,
                6,
                form_data={"first_name": "Dana", "loan_amount": 25000},
            ),
        ),
        HookType(
            "remote_data",
            REMOTE_DATA,
            "Get data from remote source",
            "a form field changed while the client edits; the answer fills fields",
            _envelope(
                REMOTE_DATA,
                4,
                client=_CLIENT_EXAMPLE,
                change={"id": "customer_id", "type": "text", "value": "C-1042"},
                fields=[{"id": "customer_name", "type": "text", "value": ""}],
            ),
            success_example=[{"id": "customer_name", "value": "Dana Levi"}],
        ),
        HookType(
            "storage_callback",
            STORAGE,
            "Post callback after storage operation",
            "a storage operation finished",
            _envelope(
                STORAGE,
                7,
                storage={"backend": "local", "path": "acme/28/archive.zip", "status": "stored"},
            ),
            signal="storage_completed",
            payload=StorageSignal,
        ),
        HookType(
            "form_submitted",
            SUBMITTED,
            "Post notification when form is submitted",
            "the client submitted the form",
            _envelope(SUBMITTED, 5, client=_CLIENT_EXAMPLE),
            signal="form_submitted",
            payload=FormSubmittedSignal,
        ),
        HookType(
            "client_logged_in",
            LOGGED_IN,
            "Post notification when client logged in to form",
            "the client logged in (link in SMS or email)",
            _envelope(LOGGED_IN, 2, client=_CLIENT_EXAMPLE),
            signal="client_logged_in",
        ),
        HookType(
            "form_loaded",
            FORM_LOADED,
            "Post notification when form loaded on client browser",
            "the form loaded and is operational in the browser",
            _envelope(FORM_LOADED, 3, client=_CLIENT_EXAMPLE),
            signal="form_loaded",
        ),
        HookType(
            "session_expired",
            EXPIRED,
            "Post notification when session is expired",
            "the session expired before it was submitted",
            _envelope(EXPIRED, 5),
            signal="expire",
            payload=SignalPayload,
        ),
        HookType(
            "session_deleted",
            DELETED,
            "Post notification when session is deleted",
            "the session was deleted (on request or at the end of its retention)",
            _envelope(DELETED, 6),
            signal="delete",
            payload=SignalPayload,
        ),
        HookType(
            "session_created",
            CREATED,
            "Post notification when a new session created in workflow",
            "a session was created in a business process",
            _envelope(CREATED, 1),
        ),
        HookType(
            "delivery_failed",
            ALERT,
            "Alert when a delivery fails",
            "a delivery exhausted its retries (and its failover URL, if any, failed too); "
            "the same webhooks get WHP_WEBHOOK_DISABLED when a webhook of the project was "
            "disabled automatically after failing every attempt for days, with data "
            '{"webhook": alias, "webhook_id": uuid, "reason": why}',
            _envelope(
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
            # A webhook disabled after failing for days: its owner is told.
            also=(WEBHOOK_DISABLED,),
        ),
        HookType(
            "send_sms",
            SEND_SMS,
            "Send SMS",
            "the session must send its recipient an SMS (invitation, reminder, OTP)",
            _envelope(
                SEND_SMS,
                2,
                to="+15551234567",
                text="Hello client, please fill in your form: https://forms.example.com/s/xM72By4JkM",
                purpose="invitation",
                link="https://forms.example.com/s/xM72By4JkM",
                locale="en",
            ),
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
