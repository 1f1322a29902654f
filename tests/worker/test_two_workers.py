"""Two ``hookflow worker`` processes on one task queue, one dev server and one
PostgreSQL database; one is SIGKILLed under load. Nothing is lost, and each
(session, webhook) stream still arrives in event order.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.log.attempts import list_deliveries
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from tests.helpers import add_webhook, new_id, start
from tests.postgres import postgres_schema
from tests.worker.test_metrics import hookflow_client, worker_env
from tests.worker.workers import WorkerProcess
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.settings import Settings

SESSIONS = 30
EVENTS = 8  # form_loaded signals per session
PATHS = ("/a", "/b")  # two webhooks of the project: two streams per session
KEY = "two-workers-key"
CLIENT = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}


@pytest.mark.postgres
@pytest.mark.timeout(150)
async def test_a_worker_killed_under_load_loses_nothing(
    dev_env: WorkflowEnvironment, client: Client, tmp_path: Path, receiver: Receiver
) -> None:
    with postgres_schema() as url:
        settings = Settings(
            data_dir=tmp_path, task_queue=f"hookflow-two-{new_id()}", database_url=url
        )
        engine = make_engine(url)
        init_db(engine)
        box = SecretBox(KEY)
        for path in PATHS:
            # A short timeout: an attempt lost with its worker is retried after it (+15 s).
            add_webhook(engine, box, type="form_loaded", url=receiver.url(path), timeout=2)
            receiver.always(path, Reply(delay=0.01))
        env = {**worker_env(dev_env, tmp_path, settings.task_queue), "HOOKFLOW_SECRET_KEY": KEY}
        client = await hookflow_client(dev_env)
        env["HOOKFLOW_DATABASE_URL"] = url
        doomed, survivor = (
            WorkerProcess(env=env, log=tmp_path / f"worker-{n}.log").start() for n in (1, 2)
        )
        try:
            await asyncio.gather(*(asyncio.to_thread(w.wait_ready) for w in (doomed, survivor)))
            started = time.monotonic()
            sessions = await asyncio.gather(
                *(run_session(client, settings) for _ in range(SESSIONS))
            )
            expected = SESSIONS * EVENTS * len(PATHS)

            await wait_distinct(receiver, expected // 3, timeout=60)
            loads = [w.scrape().value("hookflow_attempts") for w in (doomed, survivor)]
            assert all(load > 0 for load in loads), f"both workers share the queue: {loads}"
            doomed.stop(signal.SIGKILL)

            got = await wait_distinct(receiver, expected, timeout=80)
            elapsed = time.monotonic() - started
            assert got == expected, f"{got} of {expected} delivered in {elapsed:.0f}s"
            assert_in_order(receiver, sessions)
            assert survivor.wait_ready(timeout=5)["status"] == "ready"
            with Session(engine) as db:
                logged = list_deliveries(session=db, limit=expected * 2)
            assert len(logged) == expected
            assert {d.status for d in logged} == {"delivered"}
        finally:
            for worker in (doomed, survivor):
                worker.stop()
            engine.dispose()


async def run_session(client: Client, settings: Settings) -> str:
    """A session and its events, signalled in order as a form would."""
    handle = await start(client, settings)
    for n in range(EVENTS):
        await handle.signal("form_loaded", {"client": CLIENT, "event_id": f"load-{n}"})
    return handle.id.rpartition(":")[2]


def distinct(receiver: Receiver) -> set[str]:
    return {f"{r.path} {r.headers['webhook-id']}" for r in list(receiver.requests)}


async def wait_distinct(receiver: Receiver, count: int, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while len(distinct(receiver)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    return len(distinct(receiver))


def assert_in_order(receiver: Receiver, sessions: list[str]) -> None:
    """Per (session, webhook), events first arrive in sequence. A repeat (same
    ``webhook-id``: attempts whose worker died before the server recorded them
    are sent again) may follow, and the receiver drops it by its id."""
    streams: dict[tuple[str, str], list[int]] = defaultdict(list)
    for request in list(receiver.requests):
        body = request.json()
        streams[(body["session"]["id"], request.path)].append(body["event"]["sequence"])
    assert set(streams) == {(s, p) for s in sessions for p in PATHS}
    for stream, sequences in streams.items():
        firsts = list(dict.fromkeys(sequences))
        assert firsts == sorted(firsts), f"{stream} out of order: {sequences}"
        assert len(set(sequences)) == EVENTS, f"{stream} lost events: {sequences}"
