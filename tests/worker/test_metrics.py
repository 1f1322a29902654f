"""``hookflow worker --metrics-port N --log-format json``: what an operator scrapes and reads.

A real worker process on the dev server, real receivers on loopback; the
metrics port is scraped while the worker runs and its log is read back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.testing import WorkflowEnvironment

from activities.contracts import FieldValue
from tests.helpers import (
    add_webhook,
    codec_client,
    eventually,
    local_setup,
    start,
    wait_for_requests,
)
from tests.worker.workers import Metrics, WorkerProcess
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.codec import EncryptionCodec, KeyRing, new_key
from worker.runtime.metrics import MetricsServer, OpenDeliveries, Readiness

PASSWORD = "pa55word-never-logged"
SIGNING = "whsec_" + "c2lnbmluZy1zZWNyZXQtbmV2ZXItbG9nZ2Vk"
PERSONAL = ("Dana Scully", "+15551234567", "dana@example.com", "203.0.113.7", "C-1042")
CLIENT = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
CODEC_KEY = new_key()


def worker_env(dev_env: WorkflowEnvironment, settings_dir: Path, task_queue: str) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "HOOKFLOW_TASK_QUEUE": task_queue,
        "HOOKFLOW_DATA_DIR": str(settings_dir),
        "HOOKFLOW_SECRET_KEY": "metrics-test-key",
        "HOOKFLOW_ALLOW_NETWORKS": "127.0.0.0/8",
        "HOOKFLOW_CODEC_KEY": CODEC_KEY,
    }


async def hookflow_client(dev_env: WorkflowEnvironment) -> Client:
    """A client that encrypts with the workers' codec key, as hookflow's own do."""
    return await codec_client(dev_env, EncryptionCodec(KeyRing.parse(CODEC_KEY, source="test")))


async def test_metrics_and_json_log_during_a_run(
    dev_env: WorkflowEnvironment, client: Client, tmp_path: Path, receiver: Receiver
) -> None:
    settings, engine, box = local_setup(tmp_path, key="metrics-test-key")
    auth = {"basic_username": "svc", "basic_password": PASSWORD, "signing_secret": SIGNING}
    add_webhook(engine, box, type="form_loaded", url=receiver.url("/loaded"), **auth)
    add_webhook(
        engine, box, type="client_logged_in", url=receiver.url("/flaky"), retry_schedule=[0, 0.5]
    )
    add_webhook(
        engine, box, type="form_submitted", url=receiver.url("/down"), retry_schedule=[0, 0.5]
    )
    add_webhook(engine, box, type="remote_data", url=receiver.url("/remote"))
    receiver.script("/flaky", Reply(status=500))
    receiver.always("/down", Reply(status=503, body=b"mail dana@example.com for help"))
    receiver.always("/remote", Reply(body=json.dumps([{"id": "name", "value": "Dana"}]).encode()))

    log = tmp_path / "worker.log"
    client = await hookflow_client(dev_env)
    env = worker_env(dev_env, tmp_path, settings.task_queue)
    worker = WorkerProcess(env=env, log=log, args=("--log-format", "json")).start()
    try:
        ready = await asyncio.to_thread(worker.wait_ready)
        assert ready == {"status": "ready", "worker": True, "temporal": True, "database": True}

        handle = await start(
            client,
            settings,
            recipient={"id": 1, "name": "client", "phone": PERSONAL[1], "email": PERSONAL[2]},
            labels={"CUSTOMER_NAME": PERSONAL[0]},
        )
        await handle.signal("form_loaded", {"client": CLIENT})
        await handle.signal("client_logged_in", {"client": CLIENT})
        change = {
            "client": CLIENT,
            "change": {"id": "customer_id", "type": "text", "value": "C-1042"},
        }
        values = await handle.execute_update("field_changed", change, result_type=list[FieldValue])
        assert values == [FieldValue(id="name", value="Dana")]
        await handle.signal("form_submitted", {"client": CLIENT, "form_data": {"amount": 1}})
        await wait_for_requests(receiver, 2, "/flaky")
        await wait_for_requests(receiver, 2, "/down")

        # Scraped while the worker runs, as Prometheus would.
        # Every figure at once: the retried attempt and the open-deliveries gauge
        # (read from the log when scraped) settle a moment after the failure.
        metrics = await eventually(
            lambda: asyncio.to_thread(worker.scrape), lambda m: holds(assert_hookflow_metrics, m)
        )
        assert_hookflow_metrics(metrics)
        assert_sdk_metrics(metrics)
    finally:
        assert worker.stop() == 0
        engine.dispose()

    assert_json_log(log.read_text(), session=handle.id.rpartition(":")[2])


def holds(check: Callable[[Metrics], None], m: Metrics) -> bool:
    try:
        check(m)
    except AssertionError:
        return False
    return True


def assert_hookflow_metrics(m: Metrics) -> None:
    def attempts(kind: str, outcome: str) -> float:
        return m.value("hookflow_attempts", webhook_type=kind, outcome=outcome, project="acme")

    assert attempts("form_loaded", "delivered") == 1
    assert (
        attempts("client_logged_in", "retrying"),
        attempts("client_logged_in", "delivered"),
    ) == (
        1,
        1,
    )
    assert (attempts("form_submitted", "retrying"), attempts("form_submitted", "failed")) == (1, 1)
    assert attempts("remote_data", "delivered") == 1
    assert m.value("hookflow_retries", webhook_type="client_logged_in") == 1
    assert m.value("hookflow_deliveries", outcome="delivered", project="acme") == 3
    assert m.value("hookflow_deliveries", outcome="failed", webhook_type="form_submitted") == 1
    # Every attempt that got an answer is timed; the remote-data call has its own histogram.
    assert m.value("hookflow_attempt_latency_count") == 6
    assert m.value("hookflow_attempt_latency_bucket", webhook_type="form_loaded", le="+Inf") == 1
    assert m.value("hookflow_remote_data_latency_count", project="acme", outcome="delivered") == 1
    assert m.value("hookflow_deliveries_open", project="acme", status="failed") == 1
    assert m.value("hookflow_deliveries_open", project="acme", status="pending") == 0


def assert_sdk_metrics(m: Metrics) -> None:
    """The Temporal SDK's own metrics come through the same port."""
    names = m.names()
    for name in (
        "temporal_activity_execution_latency_count",
        "temporal_activity_schedule_to_start_latency_count",
        "temporal_workflow_task_schedule_to_start_latency_count",
        "temporal_request",
    ):
        assert name in names, sorted(n for n in names if n.startswith("temporal_"))
    # First attempts run as local activities, the ladder's later ones as regular ones.
    failed = m.value("temporal_activity_execution_failed", activity_type="deliver")
    failed += m.value("temporal_local_activity_execution_failed", activity_type="deliver")
    assert failed >= 2


def assert_json_log(text: str, *, session: str) -> None:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    attempts = [line for line in lines if line["logger"] == "hookflow.attempts"]
    outcomes = sorted((a["webhook_type"], a["outcome"]) for a in attempts)
    assert outcomes == [
        ("client_logged_in", "delivered"),
        ("client_logged_in", "retrying"),
        ("form_loaded", "delivered"),
        ("form_submitted", "failed"),
        ("form_submitted", "retrying"),
        ("remote_data", "delivered"),
    ]
    for line in attempts:
        assert line["session"] == session and line["project"] == "acme"
        assert line["event"].startswith("evt_") and len(line["webhook"]) == 36
        assert {"event_type", "sequence", "status_code", "latency_ms", "attempt"} <= line.keys()
        assert line["delivery"].startswith(line["event"] + ".")
        assert line["trace_id"] is None  # tracing is off
    [failed] = [a for a in attempts if a["outcome"] == "failed"]
    assert (failed["status_code"], failed["error"], failed["attempt"]) == (503, "HTTP 503", 2)
    for secret in (PASSWORD, SIGNING, *PERSONAL):
        assert secret not in text


async def test_not_ready_until_the_worker_runs(tmp_path: Path) -> None:
    """Before the worker polls, ``/healthz`` answers 503 and names what is missing."""
    _settings, engine, _box = local_setup(tmp_path)
    readiness = Readiness(engine=engine)
    gauges = OpenDeliveries(engine=engine, meter=MetricMeter.noop)
    server = MetricsServer(
        host="127.0.0.1", port=0, exporter="127.0.0.1:9", readiness=readiness, gauges=gauges
    )
    server.start()
    try:
        async with httpx.AsyncClient() as http:
            reply = await http.get(f"{server.url}/healthz")
            missing = await http.get(f"{server.url}/other")
    finally:
        server.stop()
        engine.dispose()
    assert reply.status_code == 503
    assert reply.json() == {
        "status": "unavailable",
        "worker": False,
        "temporal": False,
        "database": True,
    }
    assert missing.status_code == 404
