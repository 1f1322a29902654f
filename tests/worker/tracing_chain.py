"""One session created through the API with tracing on, in a process of its own
(a tracer provider is set once per process): prints the spans and what the
receiver got as JSON. ``tests/worker/test_tracing.py`` runs it.

    python -m tests.worker.tracing_chain TEMPORAL_ADDRESS NAMESPACE DATA_DIR
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlmodel import Session

from activities.delivery.guard import parse_networks
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.keys import create_key
from tests.api.conftest import free_port, loopback_only
from tests.helpers import add_webhook
from worker.api.server import start_api
from worker.devstack.receiver import Receiver
from worker.runtime.assembly import connect, running_worker
from worker.runtime.codec import EncryptionCodec, KeyRing, new_key
from worker.runtime.settings import Settings
from worker.runtime.tracing import setup_tracing


async def chain(address: str, namespace: str, data_dir: Path) -> dict[str, object]:
    exporter = InMemorySpanExporter()
    lines: list[dict[str, object]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(getattr(record, "fields", {}))

    attempts = logging.getLogger("hookflow.attempts")
    attempts.setLevel(logging.INFO)
    attempts.addHandler(Keep())
    assert setup_tracing({}, exporter=exporter)
    settings = Settings(
        data_dir=data_dir,
        task_queue=f"hookflow-trace-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{data_dir / 'hookflow.db'}",
        allow_networks=parse_networks("127.0.0.0/8"),
        secret_key_env="test-secret-key",
        temporal_address=address,
        namespace=namespace,
    )
    engine = make_engine(settings.database_url)
    init_db(engine)
    box = SecretBox("test-secret-key")
    codec = EncryptionCodec(KeyRing.parse(new_key(), source="test"))
    client = await connect(settings, codec=codec)
    with Receiver() as receiver:
        add_webhook(engine, box, type="session_created", url=receiver.url("/created"))
        with Session(engine) as session:
            _record, key = create_key(session=session, project="acme", admin=False)
        async with running_worker(client, settings, engine=engine, box=box):
            api = await start_api(
                settings=settings,
                engine=engine,
                box=box,
                client=client,
                host="127.0.0.1",
                port=free_port(),
                temporal_ui="http://127.0.0.1:8233",
                resolver=loopback_only,
            )
            try:
                async with httpx.AsyncClient(
                    base_url=api.url, headers={"authorization": f"Bearer {key}"}, timeout=60
                ) as http:
                    made = await http.post(
                        "/api/v1/sessions", json={"recipient": {"id": 1, "name": "client"}}
                    )
                    assert made.status_code == 201, made.text
                [received] = await asyncio.to_thread(receiver.wait_for, 1, path="/created")
                await asyncio.sleep(1)  # the activity's span ends after its POST
            finally:
                await api.stop()
    spans = [
        {
            "name": span.name,
            "trace_id": f"{span.context.trace_id:032x}",
            "span_id": f"{span.context.span_id:016x}",
            "parent": f"{span.parent.span_id:016x}" if span.parent else None,
            "kind": span.kind.name,
        }
        for span in exporter.get_finished_spans()
    ]
    engine.dispose()
    return {"spans": spans, "headers": received.headers, "attempt_logs": lines}


if __name__ == "__main__":
    address, namespace, folder = sys.argv[1:4]
    sys.stdout.write(json.dumps(asyncio.run(chain(address, namespace, Path(folder)))) + "\n")
