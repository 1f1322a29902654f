"""Traces: one trace from ``POST /api/v1/sessions`` to the receiver's
``traceparent``; nothing at all while tracing is off; the dev server keeps
starting whatever the ``OTEL_*`` variables say."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.errors import SettingsError
from tests.api.conftest import free_port
from worker.devstack.devserver import DevServer, server_env
from worker.runtime.tracing import exporter_names, interceptors

ROOT = Path(__file__).resolve().parents[2]


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
