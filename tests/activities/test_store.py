"""The configuration store and the attempt log on SQLite and on PostgreSQL.

Every test here runs twice (``store``): once on a SQLite file, once in a
schema of its own on the PostgreSQL server (marker ``postgres``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.contracts import Envelope
from activities.errors import ConfigError
from activities.files.sealed import open_text, seal_text
from activities.log.attempts import (
    AttemptLog,
    AttemptRecord,
    attempts_of,
    deliveries_from,
    delivery_id,
    excerpt_of,
    list_deliveries,
)
from activities.store.crypto import SecretBox
from activities.store.secrets import (
    SecretCreate,
    create_secret,
    delete_secret,
    find_secret,
    list_secrets,
    public_secret,
)
from activities.store.webhooks import (
    WebhookCreate,
    WebhookSettings,
    create_webhook,
    find_webhook,
    list_webhooks,
    public,
    resolve_targets,
    templates_of,
    update_webhook,
)


def envelope(
    *, session_id: str, sequence: int, event_type: str = "WHEF_CLIENT_FORM_LOADED"
) -> Envelope:
    return Envelope.model_validate(
        {
            "event": {
                "id": f"evt_{session_id}_{sequence}",
                "type": event_type,
                "timestamp": datetime(2026, 1, 26, 9, 20, tzinfo=UTC),
                "sequence": sequence,
            },
            "session": {
                "id": session_id,
                "reference": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
                "process_id": "2d12cdb3-d666-4dbd-8827-d7c165ed9d17",
                "process_number": 28,
                "transaction_number": 17,
                "recipient": {"id": 1, "name": "client"},
                "labels": {"DEAL": "D-1"},
            },
        }
    )


def test_webhooks_round_trip_encrypted(store: Engine, box: SecretBox) -> None:
    with Session(store) as session:
        hook = create_webhook(
            session=session,
            box=box,
            data=WebhookCreate(
                project="acme",
                alias="crm",
                type="form_submitted",
                url="https://crm.example.com/hook",
                explicit=True,
                templates=["loan", "lease"],
                headers={"X-Tenant": "acme"},
                basic_username="dana",
                basic_password="pa55word",
                retry_schedule=[0, 5, 300],
                signing_secret="whsec_" + "A" * 32,
            ),
        )
        hook_id = hook.id
    with Session(store) as session:
        found = find_webhook(session=session, ref="crm", project="acme")
        assert found.id == hook_id and found.retry_schedule == [0, 5, 300]
        assert sorted(templates_of(session, hook_id)) == ["lease", "loan"]
        shown = public(found, templates=templates_of(session, hook_id), box=box)
        assert shown.basic_password == "********" and shown.headers == {"X-Tenant": "acme"}
        assert box.open(found.basic_password_enc or "") == "pa55word"
        assert found.created_at.tzinfo is not None
    with store.connect() as connection:
        raw = connection.execute(text("SELECT basic_password_enc FROM webhook")).scalar_one()
    assert "pa55word" not in raw


def test_duplicate_alias_is_refused_and_writes_nothing(store: Engine, box: SecretBox) -> None:
    data = WebhookCreate(
        project="acme", alias="crm", type="form_loaded", url="https://a.example.com/"
    )
    with Session(store) as session:
        create_webhook(session=session, box=box, data=data)
    with Session(store) as session, pytest.raises(ConfigError, match="already has a webhook"):
        create_webhook(
            session=session, box=box, data=data.model_copy(update={"url": "https://b.example.com/"})
        )
    with Session(store) as session:
        [only] = list_webhooks(session=session, project="acme")
        assert only.url == "https://a.example.com/"


def test_update_rotates_signing_and_keeps_the_uuid(store: Engine, box: SecretBox) -> None:
    with Session(store) as session:
        hook = create_webhook(
            session=session,
            box=box,
            data=WebhookCreate(
                project="acme",
                alias="crm",
                type="form_loaded",
                url="https://a.example.com/",
                signing_secret="whsec_" + "A" * 32,
            ),
        )
        before = datetime.now(UTC)
        updated = update_webhook(
            session=session,
            webhook=hook,
            box=box,
            data=WebhookSettings(url="https://b.example.com/", signing_secret="whsec_" + "B" * 32),
        )
        hook_id = updated.id
    with Session(store) as session:
        found = find_webhook(session=session, ref=str(hook_id))
        assert found.url == "https://b.example.com/"
        assert box.open(found.previous_signing_secret_enc or "") == "whsec_" + "A" * 32
        until = found.previous_signing_secret_until
        assert until is not None and until.tzinfo is not None
        assert before + timedelta(hours=23) < until < before + timedelta(hours=25)


def test_resolve_targets_implicit_template_and_integration(store: Engine, box: SecretBox) -> None:
    def add(alias: str, **fields: object) -> uuid.UUID:
        data = WebhookCreate.model_validate(
            {
                "project": "acme",
                "alias": alias,
                "type": "form_loaded",
                "url": f"https://{alias}.example.com/",
                **fields,
            }
        )
        with Session(store) as session:
            return create_webhook(session=session, box=box, data=data).id

    add("implicit")
    add("coupled", explicit=True, templates=["loan"])
    named = add("named", explicit=True)
    add("other-template", explicit=True, templates=["lease"])
    off = add("off", enabled=False, disabled_reason="paused by ops")
    with Session(store) as session:
        resolved = resolve_targets(
            session=session, project="acme", template="loan", integrations=[named, off]
        )
    # A disabled webhook is resolved too: its deliveries are held, not dropped.
    assert [(t.alias, t.reason) for t in resolved.targets] == [
        ("coupled", "template"),
        ("implicit", "implicit"),
        ("named", "integration"),
        ("off", "implicit"),
    ]
    assert resolved.problems == [f"integration {off} (off): disabled: paused by ops"]


def test_secrets_round_trip(store: Engine, box: SecretBox) -> None:
    data = SecretCreate(
        project="acme",
        alias="crm-token",
        token_url="https://login.example.com/token",
        convention="general",
        username="svc",
        password="topsecret",
    )
    with Session(store) as session:
        create_secret(session=session, box=box, data=data)
        with pytest.raises(ConfigError, match="already has a secret"):
            create_secret(session=session, box=box, data=data)
    with Session(store) as session:
        found = find_secret(session=session, project="acme", alias="crm-token")
        assert public_secret(found, box).fields["password"] == "********"
        assert box.open_json(found.credentials_enc)["password"] == "topsecret"
        delete_secret(session=session, project="acme", alias="crm-token")
        assert list_secrets(session=session) == []


def test_sealed_text_opens_once_stored(store: Engine, box: SecretBox) -> None:
    with Session(store) as session:
        ref = seal_text(session=session, box=box, text="Your code: 482913")
    with Session(store) as session:
        assert open_text(session=session, box=box, ref=ref) == "Your code: 482913"


async def test_attempt_log_group_commit(store: Engine, box: SecretBox) -> None:
    """Attempts that finish together are written together; every caller's attempt
    is stored when its ``record`` returns, and numbered per delivery."""
    log = AttemptLog(store, box=box)
    hook = uuid.uuid4()
    started = datetime.now(UTC)

    def attempt(sequence: int, outcome: str) -> AttemptRecord:
        return AttemptRecord(
            webhook_id=hook,
            project="acme",
            envelope=envelope(session_id="s1", sequence=sequence),
            started_at=started,
            status_code=200 if outcome == "delivered" else 500,
            latency_ms=12.345,
            outcome=outcome,
            error=None if outcome == "delivered" else "HTTP 500",
            response=b'{"status": "success"}',
        )

    records = [attempt(seq, "retrying") for seq in range(1, 11)]
    await asyncio.gather(*(log.record(r) for r in records))
    await asyncio.gather(*(log.record(attempt(seq, "delivered")) for seq in range(1, 11)))
    with Session(store) as session:
        deliveries = list_deliveries(session=session, session_id="s1", limit=100)
        assert len(deliveries) == 10 and {d.status for d in deliveries} == {"delivered"}
        stream = deliveries_from(session=session, session_id="s1", webhook_id=hook, from_sequence=4)
        assert [d.sequence for d in stream] == list(range(4, 11))
        key = delivery_id(event_id="evt_s1_3", webhook_id=hook)
        first, second = attempts_of(session=session, delivery=key)
    assert (first.attempt, first.outcome, first.status_code) == (1, "retrying", 500)
    assert (second.attempt, second.outcome, second.latency_ms) == (2, "delivered", 12.35)
    assert first.started_at == started
    assert first.started_at.tzinfo is not None
    assert excerpt_of(second, box=box) == '{"status": "success"}'
