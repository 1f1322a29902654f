"""The environment of the session commands' tests: the commands, the tests'
client and their worker all encrypt with one codec key (HOOKFLOW_CODEC_KEY).

A test module uses them with ``from tests.worker.session_commands import
cli_fixture, client_fixture  # noqa: F401``."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.helpers import codec_client
from tests.worker.cli import Cli
from worker.runtime.codec import new_key
from worker.runtime.settings import Settings

CODEC_KEY = new_key()


@pytest.fixture(name="client")
async def client_fixture(dev_env: WorkflowEnvironment) -> Client:
    """A client (and so the worker) that encrypts with the commands' key."""
    return await codec_client(
        dev_env, Settings.from_env(env={"HOOKFLOW_CODEC_KEY": CODEC_KEY}).codec()
    )


@pytest.fixture(name="cli")
def cli_fixture(
    client: Client,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """``hookflow`` in-process, pointed at the test's server, worker and store."""
    for name, value in {
        "HOOKFLOW_DATA_DIR": str(settings.data_dir),
        "HOOKFLOW_SECRET_KEY": settings.secret_key_env or "",
        "HOOKFLOW_TASK_QUEUE": settings.task_queue,
        "HOOKFLOW_CODEC_KEY": CODEC_KEY,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HOOKFLOW_DATABASE_URL", raising=False)
    return Cli(capsys)
