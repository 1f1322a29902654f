"""The OpenAPI document describes the API, and schemathesis, fuzzing every
operation with a project key, finds no server error and no answer that breaks
the schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.store.crypto import SecretBox
from tests.api.conftest import Api, free_port, loopback_only
from worker.api.server import start_api
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
NAMES = [
    "/api/v1/webhooks",
    "/api/v1/webhooks/{ref}",
    "/api/v1/webhooks/{ref}/test",
    "/api/v1/hook-types",
    "/api/v1/hook-types/{type_}",
    "/api/v1/hook-types/{type_}/schema",
    "/api/v1/secrets",
    "/api/v1/sessions",
    "/api/v1/sessions/{session_id}",
    "/api/v1/sessions/{session_id}/signals/{name}",
    "/api/v1/sessions/{session_id}/field-changed",
    "/api/v1/processes",
    "/api/v1/deliveries",
    "/api/v1/deliveries/{delivery_id}",
    "/api/v1/deliveries/{delivery_id}/redeliver",
    "/api/v1/deliveries/redeliver",
    "/api/v1/documents",
    "/api/v1/project",
]


async def test_openapi_names_every_resource(api: Api) -> None:
    async with api.http() as http:
        schema = (await http.get("/openapi.json")).json()
    assert schema["info"]["title"] == "hookflow"
    assert set(NAMES) <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = schema["paths"]["/api/v1/sessions"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    session_in = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert "integrations" in session_in["properties"]
    assert "resume" not in session_in["properties"]  # internal: never from clients
    errors = create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert errors.endswith("/ErrorOut")
    patch = schema["paths"]["/api/v1/project"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "retention" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]


async def test_schemathesis_finds_no_server_error(
    client: Client, settings: Settings, engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    settings = settings.replace(temporal_address=client.service_client.config.target_host)
    # Generated webhooks may name any host: the worker and the Test button
    # resolve loopback only, so nothing leaves this machine.
    async with running_worker(client, settings, engine=engine, box=box, resolver=loopback_only):
        running = await start_api(
            settings=settings,
            engine=engine,
            box=box,
            client=client,
            host="127.0.0.1",
            port=free_port(),
            temporal_ui=None,
            resolver=loopback_only,
        )
        key = Api(url=running.url, engine=engine, box=box, settings=settings).key("fuzz")
        try:
            run = await asyncio.create_subprocess_exec(
                SCHEMATHESIS,
                "run",
                f"{running.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "10",
                "--workers",
                "1",
                "--seed",
                "20260126",
                "--generation-database",
                "none",
                "--request-timeout",
                "60",
                "--no-color",
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(run.communicate(), timeout=600)
        finally:
            await running.stop()
    report = out.decode(errors="replace")
    (tmp_path / "schemathesis.txt").write_text(report)
    assert run.returncode == 0, report[-6000:]
    assert "passed" in report.lower()
