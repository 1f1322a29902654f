"""Traces: one trace from ``POST /api/v1/sessions`` to the receiver's
``traceparent``; ``hookflow api`` alone sends its traces to an OTLP collector;
nothing at all while tracing is off; the dev server keeps starting whatever the
``OTEL_*`` variables say."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from temporalio.testing import WorkflowEnvironment

from activities.errors import SettingsError
from tests.api.conftest import free_port
from worker.devstack.devserver import DevServer, server_env
from worker.devstack.receiver import Receiver
from worker.runtime.codec import new_key
from worker.runtime.tracing import exporter_names, interceptors

ROOT = Path(__file__).resolve().parents[2]
HOOKFLOW = str(Path(sys.executable).parent / "hookflow")


async def test_one_trace_from_the_api_call_to_the_receivers_traceparent(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A tracer provider is set once per process: the chain runs in one of its own.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.worker.tracing_chain",
        dev_env.client.service_client.config.target_host,
        dev_env.client.namespace,
        str(tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    spans = {span["name"]: span for span in result["spans"]}
    by_id = {span["span_id"]: span for span in result["spans"]}

    def parents(name: str) -> list[str]:
        chain, span = [], spans[name]
        while span["parent"] in by_id:
            span = by_id[span["parent"]]
            chain.append(span["name"])
        return chain

    [trace_id] = {span["trace_id"] for span in result["spans"]}  # one trace
    assert spans["POST /api/v1/sessions"]["kind"] == "SERVER"
    # The HTTP POST to the receiver, under the delivery activity, under the
    # workflow started by the API call.
    [post] = [
        s
        for s in result["spans"]
        if s["name"] == "POST"
        and s["parent"] in by_id
        and by_id[s["parent"]]["name"] == "RunActivity:deliver"
    ]
    chain = parents("RunActivity:deliver")
    assert chain[:2] == ["StartActivity:deliver", "StartWorkflow:Session"]
    assert "POST /api/v1/sessions" in chain
    assert parents("RunWorkflow:Session")[0] == "StartWorkflow:Session"
    # The receiver can link its own trace to the delivery's.
    traceparent = result["headers"]["traceparent"]
    assert traceparent.split("-")[:3] == ["00", trace_id, post["span_id"]]
    # The attempt's log line names the trace and the delivery.
    [logged] = result["attempt_logs"]
    assert logged["trace_id"] == trace_id
    assert logged["delivery"].startswith(result["headers"]["webhook-id"] + ".")


def _serve_api(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [HOOKFLOW, "api", "--port", str(port), "--temporal-ui", ""],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if not line or "Press Ctrl-C" in line:
            break
    assert "Press Ctrl-C" in lines[-1], "".join(lines)
    return process


def test_hookflow_api_alone_sends_its_trace_to_a_collector(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The README's collector set-up, as a user runs it: the API without a
    worker, OTLP over HTTP to a collector on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HOOKFLOW_"))}
    env.update(
        HOOKFLOW_DATA_DIR=str(tmp_path),
        HOOKFLOW_SECRET_KEY="test-secret-key",
        HOOKFLOW_CODEC_KEY=new_key(),
        HOOKFLOW_TASK_QUEUE=f"trace-api-{uuid.uuid4().hex[:8]}",
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
    )
    made = subprocess.run(
        [HOOKFLOW, "keys", "create", "--project", "acme"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.splitlines()[-1].strip()
    with Receiver() as collector:
        env.update(
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url("").rstrip("/"),
            OTEL_SERVICE_NAME="hookflow-api",
        )
        port = free_port()
        process = _serve_api(env, port)
        try:
            answer = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/sessions",
                json={"recipient": {"id": 1, "name": "client"}},
                headers={"authorization": f"Bearer {key}"},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
        finally:
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        # Ctrl-C sends what is still buffered before the process ends.
        batches = collector.at("/v1/traces")
    spans = {}
    for batch in batches:
        request = ExportTraceServiceRequest.FromString(batch.body)
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert attributes["service.name"] == "hookflow-api"
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans[span.name] = span
    server = spans["POST /api/v1/sessions"]
    start = spans["StartWorkflow:Session"]
    assert start.trace_id == server.trace_id  # one trace, from the call to the workflow
    by_id = {span.span_id: span for span in spans.values()}
    parent = by_id[start.parent_span_id]
    while parent.span_id != server.span_id and parent.parent_span_id in by_id:
        parent = by_id[parent.parent_span_id]
    assert parent.span_id == server.span_id


def test_tracing_is_off_unless_an_exporter_is_named() -> None:
    assert exporter_names({}) == []
    assert exporter_names({"OTEL_TRACES_EXPORTER": "none"}) == []
    assert exporter_names({"OTEL_TRACES_EXPORTER": "console, otlp"}) == ["console", "otlp"]
    assert exporter_names({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}) == []
    with pytest.raises(SettingsError, match="unknown exporter 'jaeger'"):
        exporter_names({"OTEL_TRACES_EXPORTER": "jaeger"})
    assert interceptors() == []
    # Off: no SDK, no instrumentation, no interceptor loaded (FastAPI itself
    # imports OpenTelemetry's API when it is installed), no tracer provider.
    code = (
        "import sys, worker.cli.main, worker.runtime.assembly, worker.api.app, "
        "activities.delivery.activity\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', "
        "'opentelemetry.instrumentation', 'temporalio.contrib.opentelemetry'))]\n"
        "from opentelemetry import trace\n"
        "sys.exit(1 if loaded or type(trace.get_tracer_provider()).__name__ != "
        "'ProxyTracerProvider' else 0)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env).returncode == 0


async def test_the_dev_server_starts_whatever_otel_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    assert not [name for name in server_env() if name.startswith("OTEL_")]
    server = DevServer(
        data_dir=tmp_path,
        port=free_port(),
        ui_port=free_port(),
        http_port=free_port(),
        metrics_port=free_port(),
    )
    try:
        client = await server.start(timeout=60)
        assert client.namespace == "default"
    finally:
        await server.stop()
