"""The built-in hook types' examples: the body each really sends, and the
answers its endpoint gives on success and on error.

``hookflow webhooks example TYPE`` prints them and ``webhooks test`` sends the
request; tests check each request against the contracts, so an example
cannot drift from what a delivery carries. hookflow judges any answer by its
``status`` (or ``success``) only; the other fields of an answer show what a
receiver typically says.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

_EVENT_ID = "evt_2b1f0c9e8d7a6b5c4d3e2f1a"
_TIMESTAMP = "2026-01-26T09:20:03.439650+00:00"
SESSION: dict[str, Any] = {
    "id": "xM72By4JkM",
    "reference": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
    "process_id": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
    "process_number": 28,
    "transaction_number": 17,
    "recipient": {"id": 1, "name": "client"},
    "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
}
CLIENT: dict[str, Any] = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
LINK = "https://forms.example.com/s/xM72By4JkM"


def envelope(
    event: str, sequence: int, *, session: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The envelope every type shares, then the type's own parts in the envelope's order."""
    return {
        "event": {"id": _EVENT_ID, "type": event, "timestamp": _TIMESTAMP, "sequence": sequence},
        "session": session or SESSION,
        **extra,
    }


def ok(**extra: Any) -> dict[str, Any]:
    return {"status": "success", **extra}


def error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message}


# --- files: a session names them by reference; the archive embeds them ----------

_ID_CARD = b"\xff\xd8\xff\xe0 an identity card scan"
_CONTRACT = b"%PDF-1.7 the signed and locked contract"


def file_ref(name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A file as a signal, a submission or ``sessions[i]`` name it."""
    return {
        "name": name,
        "content_type": content_type,
        "ref": "sha256:" + hashlib.sha256(data).hexdigest(),
    }


def embedded(name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A file as the archive carries it, once, at the top level."""
    return {
        "name": name,
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": base64.b64encode(data).decode(),
    }


ID_CARD = ("id-card.jpg", "image/jpeg", _ID_CARD)
CONTRACT = ("contract.pdf", "application/pdf", _CONTRACT)


# --- the archive of a process of two stations ------------------------------------

_PROCESS = "7932390e-ee95-4888-ba64-9c7e6f2f5908"
_PROCESS_HEX = _PROCESS.replace("-", "")
_STATIONS: list[dict[str, Any]] = [
    {
        "id": f"{_PROCESS_HEX}-1",
        "reference": _PROCESS,
        "transaction_number": 1,
        "template": "loan-application",
        "recipient": {"id": 1, "name": "client", "phone": "+15551234567"},
        "submission": {"submitted_at": "2026-01-26T09:12:41.120381+00:00", **CLIENT},
        "form_data": {"Client Name": "Dana Levi", "loan_amount": 25000},
        "attachments": [file_ref(*ID_CARD)],
    },
    {
        "id": f"{_PROCESS_HEX}-2",
        "reference": _PROCESS,
        "transaction_number": 2,
        "template": "loan-approval",
        "recipient": {"id": 2, "name": "officer", "email": "noa@example.com"},
        "submission": {
            "submitted_at": "2026-01-26T09:20:03.401220+00:00",
            "ip": "198.51.100.23",
            "user_agent": "Mozilla/5.0",
        },
        "form_data": {"Officer Name": "Noa Cohen", "approved": True},
        "attachments": [],
        "document": file_ref(*CONTRACT),
    },
]
_ARCHIVE_SESSION: dict[str, Any] = {
    "id": f"{_PROCESS_HEX}-2",
    "reference": _PROCESS,
    "process_id": _PROCESS,
    "process_number": 51,
    "transaction_number": 2,
    "recipient": {"id": 2, "name": "officer"},
    "labels": {"DEAL": "D-1"},
}


def archive() -> dict[str, Any]:
    """Form data: every station's fields, an earlier station's value winning;
    ``document``: the last station's signed PDF; ``attachments``: every other
    file, each once; ``sessions[i]`` name their files by reference."""
    return envelope(
        "WHP_ARCHIVE",
        1,
        session=_ARCHIVE_SESSION,
        form_data={
            "Client Name": "Dana Levi",
            "loan_amount": 25000,
            "Officer Name": "Noa Cohen",
            "approved": True,
        },
        attachments=[embedded(*ID_CARD)],
        document=embedded(*CONTRACT),
        sessions=_STATIONS,
    )


def form_submitted() -> dict[str, Any]:
    return envelope(
        "WHEF_CLIENT_FORM_SUBMITTED",
        5,
        client=CLIENT,
        form_data={"Client Name": "Dana Levi", "loan_amount": 25000},
        attachments=[file_ref(*ID_CARD)],
        document=file_ref(*CONTRACT),
    )


def send_sms() -> dict[str, Any]:
    """Send SMS has a fixed structure: every key, null when absent."""
    return envelope(
        "WHP_SEND_SMS",
        2,
        to="+15551234567",
        text=f"Hello client, please fill in your form: {LINK}",
        purpose="invitation",
        link=LINK,
        locale="en",
    )


def storage_callback() -> dict[str, Any]:
    return envelope(
        "WHP_STORAGE_CALLBACK",
        7,
        storage={
            "backend": "local",
            "path": "acme/loan-application/xM72By4JkM",
            "files": ["form_data.json", "contract.pdf", "id-card.jpg"],
            "zipped": False,
            "bytes": 48213,
            "status": "stored",
        },
    )
