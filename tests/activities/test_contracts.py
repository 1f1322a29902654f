from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from activities.contracts import CreateSession, Envelope


def test_documented_create_session_parses() -> None:
    req = CreateSession.model_validate_json(
        json.dumps(
            {
                "id": "xM72By4JkM",
                "project": "acme",
                "template": "loan-application",
                "process_id": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
                "process_number": 28,
                "transaction_number": 17,
                "recipient": {
                    "id": 1,
                    "name": "client",
                    "phone": "+15551234567",
                    "email": "dana@example.com",
                },
                "labels": {"CUSTOMER_TAG": "CUSTOMER_VALUE"},
                "expires_in": 604800,
                "retention": "P30D",
                "integrations": [
                    {"type": "webhook", "uuid": "7d0c2a52-0a4e-4f55-9f0e-2f0c8d6b5e11"}
                ],
            }
        )
    )
    assert req.expires_in == timedelta(days=7)
    assert req.retention == timedelta(days=30)
    assert req.integrations[0].uuid == uuid.UUID("7d0c2a52-0a4e-4f55-9f0e-2f0c8d6b5e11")
    assert req.workflow_id == "session-acme:xM72By4JkM"


def test_minimal_session_derives_ids_deterministically() -> None:
    a = CreateSession.model_validate({"id": "xM72By4JkM", "project": "acme"})
    b = CreateSession.model_validate({"id": "xM72By4JkM", "project": "acme"})
    c = CreateSession.model_validate({"id": "other", "project": "acme"})
    assert a.process_id == b.process_id != c.process_id
    assert a.process_number == b.process_number and a.transaction_number == b.transaction_number


@pytest.mark.parametrize(
    "data",
    [
        {"project": "acme"},
        {"id": "has space", "project": "acme"},
        {"id": "x", "project": "acme", "integrations": [{"type": "webhook", "uuid": "nope"}]},
        {"id": "x", "project": "acme", "expires_in": 5, "expires_at": "2026-01-01T00:00:00Z"},
        {"id": "x", "project": "acme", "retention": -5},
        {"id": "x", "project": "acme", "expires_at": "2026-01-01T00:00:00"},
    ],
)
def test_invalid_session_requests(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CreateSession.model_validate(data)


def test_envelope_timestamp_is_the_original_products_shape() -> None:
    envelope = Envelope.model_validate(
        {
            "event": {
                "id": "evt_1",
                "type": "WHEF_SESSION_EXPIRED",
                "timestamp": datetime(2026, 1, 26, 9, 20, 3, tzinfo=UTC),
                "sequence": 5,
            },
            "session": {
                "id": "s",
                "reference": "r",
                "process_id": "r",
                "process_number": 1,
                "transaction_number": 2,
                "recipient": {"id": 1, "name": "client"},
                "labels": {},
            },
        }
    )
    body = envelope.body()
    assert body["event"]["timestamp"] == "2026-01-26T09:20:03.000000+00:00"
    assert "client" not in body and "form_data" not in body
