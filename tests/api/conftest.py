"""The API and the pane served for real: uvicorn on a loopback port, beside a worker
on the dev server, against the test's SQLite file."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.store.crypto import SecretBox
from activities.store.keys import create_key
from tests.helpers import codec_client, eventually
from tests.worker.cli import Cli
from worker.api.server import start_api
from worker.runtime.codec import EncryptionCodec, KeyRing, new_key
from worker.runtime.settings import Settings

TEMPORAL_UI = "http://127.0.0.1:8233"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def loopback_only(host: str, port: int) -> list[str]:
    """A resolver for tests: loopback names only, never a DNS query."""
    if host in ("127.0.0.1", "localhost"):
        return ["127.0.0.1"]
    if host in ("::1", "[::1]"):
        return ["::1"]
    raise OSError(f"{host} is not resolved in tests")


@dataclass
class Api:
    url: str
    engine: Engine
    box: SecretBox
    settings: Settings

    def key(self, project: str | None = "acme", *, admin: bool = False) -> str:
        with Session(self.engine) as session:
            _record, plain = create_key(
                session=session, project=None if admin else project, admin=admin
            )
        return plain

    def http(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60)


async def session_delivered_once(http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """A new session (its one webhook answers) and its delivery, once delivered."""
    session_id: str = (await http.post("/api/v1/sessions", json={})).json()["id"]
    [row] = (
        await eventually(
            lambda: http.get(f"/api/v1/deliveries?session={session_id}&status=delivered"),
            lambda r: len(r.json()) == 1,
        )
    ).json()
    return session_id, row


# The API's stack encrypts payloads as hookflow's own does, with this key.
CODEC_KEY = new_key()


@pytest.fixture
async def client(dev_env: WorkflowEnvironment) -> Client:
    """The API tests' client (and so their worker's) encrypts with ``CODEC_KEY``,
    like the command line's, which reads it from ``HOOKFLOW_CODEC_KEY``."""
    return await codec_client(dev_env, EncryptionCodec(KeyRing.parse(CODEC_KEY, source="test")))


@pytest.fixture
async def api(
    client: Client, settings: Settings, engine: Engine, box: SecretBox, worker: Worker
) -> AsyncIterator[Api]:
    settings = settings.replace(temporal_address=client.service_client.config.target_host)
    running = await start_api(
        settings=settings,
        engine=engine,
        box=box,
        client=client,
        host="127.0.0.1",
        port=free_port(),
        temporal_ui=TEMPORAL_UI,
        resolver=loopback_only,
    )
    yield Api(url=running.url, engine=engine, box=box, settings=settings)
    await running.stop()


@pytest.fixture
def cli(api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``hookflow`` in-process against the API's own store and Temporal."""
    monkeypatch.setenv("HOOKFLOW_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.setenv("HOOKFLOW_CODEC_KEY", CODEC_KEY)
    monkeypatch.setenv("HOOKFLOW_SECRET_KEY", api.settings.secret_key_env or "")
    monkeypatch.setenv("HOOKFLOW_TASK_QUEUE", api.settings.task_queue)
    monkeypatch.setenv("TEMPORAL_ADDRESS", api.settings.temporal_address)
    monkeypatch.delenv("HOOKFLOW_DATABASE_URL", raising=False)
    return Cli(capsys)
