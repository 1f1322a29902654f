"""Every size a tenant controls is bounded, over HTTP against the real app: a
body too large is 413 before it is parsed, a count or length over its bound,
an out-of-range duration or a lone surrogate is 422, an oversized signal 413;
none of them writes anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from activities.contracts import MAX_SIGNAL_BYTES
from activities.errors import SettingsError
from activities.store.tables import Webhook
from tests.api.conftest import Api
from worker.runtime.settings import Settings

HOOK = {"alias": "crm", "type": "form_submitted", "url": "https://crm.example.com/h"}


def webhooks(api: Api) -> int:
    with Session(api.engine) as session:
        return len(session.exec(select(Webhook)).all())


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(api: Api) -> None:
    huge = b'{"alias": "crm", "headers": {' + b'"X": "y", ' * 200_000 + b'"Z": "z"}}'
    assert len(huge) > api.settings.max_request_bytes

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    async with api.http(api.key("acme")) as http:
        declared = await http.post(
            "/api/v1/webhooks", content=huge, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413, declared.text
        assert declared.json()["code"] == "too_large"
        assert "1 MiB" in declared.json()["detail"]
        streamed = await http.post(
            "/api/v1/webhooks", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        form = await http.post(
            "/api/v1/webhooks",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 413
        # The API still answers at once.
        assert (await http.get("/api/v1/webhooks")).status_code == 200
    assert webhooks(api) == 0


async def test_counts_and_lengths_are_bounded(api: Api) -> None:
    many = {f"X-H{i}": "v" for i in range(51)}
    async with api.http(api.key("acme")) as http:
        for extra in (
            {"headers": many},
            {"auth": "custom", "custom_auth": many},
            {"explicit": True, "templates": [f"t{i}" for i in range(501)]},
        ):
            answer = await http.post("/api/v1/webhooks", json={**HOOK, **extra})
            assert answer.status_code == 422, (extra.keys(), answer.text)
            assert "at most" in answer.json()["detail"]
        assert webhooks(api) == 0
        ok = await http.post(
            "/api/v1/webhooks", json={**HOOK, "headers": dict(list(many.items())[:50])}
        )
        assert ok.status_code == 201, ok.text

        for bad in (
            {"labels": {f"k{i}": "v" for i in range(101)}},
            {"labels": {"k" * 129: "v"}},
            {"labels": {"k": "v" * 1025}},
            {"integrations": [{"type": "webhook", "uuid": ok.json()["id"]}] * 51},
        ):
            answer = await http.post("/api/v1/sessions", json={"id": "bounded", **bad})
            assert answer.status_code == 422, answer.text
            process = await http.post(
                "/api/v1/processes", json={"sessions": [{"template": "a"}], **bad}
            )
            assert process.status_code == 422, process.text
        missing = await http.get("/api/v1/sessions/bounded")
        assert missing.status_code == 404


async def test_out_of_range_durations_and_lone_surrogates_are_422(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        for bad in (
            {"expires_in": "P3650000D"},
            {"retention": "P3650000D"},
            {"reminder_after": 10**12},
            {"expires_at": "9999-12-31T23:59:59Z"},
        ):
            answer = await http.post("/api/v1/sessions", json={"id": "far", **bad})
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"].startswith(next(iter(bad)))
        process = await http.post(
            "/api/v1/processes", json={"sessions": [{"expires_in": "P3650000D"}]}
        )
        assert process.status_code == 422, process.text
        assert (await http.get("/api/v1/sessions/far")).status_code == 404

        raw = b'{"id": "lone", "labels": {"k": "\\ud800"}}'
        answer = await http.post(
            "/api/v1/sessions", content=raw, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 422, answer.text
        assert "Unicode" in answer.json()["detail"]
        # A pair written as escapes is one character, and fine.
        paired = b'{"id": "paired", "labels": {"k": "\\ud83d\\ude00"}}'
        answer = await http.post(
            "/api/v1/sessions", content=paired, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 201, answer.text
        assert (await http.get("/api/v1/sessions/lone")).status_code == 404
        hook = await http.post(
            "/api/v1/webhooks",
            content=b'{"alias": "x\\udfff", "type": "form_submitted", "url": "https://a.example"}',
            headers={"content-type": "application/json"},
        )
        assert hook.status_code == 422
    assert webhooks(api) == 0


async def test_an_oversized_signal_is_413_and_sends_nothing(api: Api) -> None:
    async with api.http(api.key("acme")) as http:
        made = await http.post("/api/v1/sessions", json={"id": "signalled"})
        assert made.status_code == 201, made.text
        url = "/api/v1/sessions/signalled/signals/form_submitted"
        over = {"form_data": {"text": "x" * MAX_SIGNAL_BYTES}}
        answer = await http.post(url, json=over)
        assert answer.status_code == 413, answer.text
        assert "256 KiB" in answer.json()["detail"]
        huge = {"form_data": {"text": "x" * (2 << 20)}}
        answer = await http.post(url, json=huge)
        assert answer.status_code == 413, answer.text
        state = (await http.get("/api/v1/sessions/signalled")).json()
        assert state["status"] == "active" and len(state["events"]) == 1
        assert state["problems"] == []


def test_the_limits_are_settings(tmp_path: Path) -> None:
    env = {"HOOKFLOW_MAX_REQUEST_SIZE": "2MiB", "HOOKFLOW_MAX_UPLOAD_SIZE": "100k"}
    settings = Settings.from_env(data_dir=tmp_path, env=env)
    assert settings.max_request_bytes == 2 << 20 and settings.max_upload_bytes == 102400
    with pytest.raises(SettingsError, match="HOOKFLOW_MAX_UPLOAD_SIZE"):
        Settings.from_env(data_dir=tmp_path, env={"HOOKFLOW_MAX_UPLOAD_SIZE": "lots"})
