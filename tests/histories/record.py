"""Record the histories that ``tests/workflows/test_replay.py`` replays.

Run after a deliberate, compatible change of the workflow when a new history
should join the kept ones (never to paper over a replay failure: a failure
means running sessions would break):

    .venv/bin/python -m tests.histories.record session-vN
    .venv/bin/python -m tests.histories.record process-vN   # a BusinessProcess
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from sqlmodel import Session
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from activities.contracts import CreateProcess
from activities.store.tables import Storage
from tests.helpers import add_webhook, local_setup, start, start_dev_env, wait_for_requests
from worker.devstack.receiver import Receiver, Reply
from worker.runtime.assembly import running_worker
from worker.runtime.settings import Settings

HERE = Path(__file__).parent


async def record(name: str) -> Path:
    env = await start_dev_env()
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        settings, engine, box = local_setup(Path(tmp), key="record")
        for type_ in ("session_created", "form_loaded", "form_submitted", "archive"):
            add_webhook(
                engine, box, type=type_, url=receiver.url(f"/{type_}"), retry_schedule=[0, 0.5]
            )
        add_webhook(engine, box, type="session_deleted", url=receiver.url("/gone"))
        add_webhook(engine, box, type="send_sms", url=receiver.url("/sms"))
        add_webhook(engine, box, type="remote_data", url=receiver.url("/remote"))
        add_webhook(engine, box, type="storage_callback", url=receiver.url("/stored"))
        add_webhook(engine, box, type="delivery_failed", url=receiver.url("/alert"))
        # Today's paths (session-v3 on): a failed delivery holds its stream, a
        # redelivery releases it, and a rate limit puts the batch off (waiting).
        login = add_webhook(
            engine,
            box,
            type="client_logged_in",
            url=receiver.url("/login"),
            retry_schedule=[0, 0.5],
            rate_limit=1,
        )
        with Session(engine) as session:
            session.add(Storage(project="acme", path="{project}/{session_id}"))
            session.commit()
        receiver.script("/form_submitted", Reply(status=500))
        receiver.script("/login", Reply(status=500), Reply(status=500))
        receiver.always("/gone", Reply(status=410))
        receiver.always("/remote", Reply(body=b'[{"id": "name", "value": "Dana"}]'))
        async with running_worker(env.client, settings, engine=engine, box=box):
            handle = await start(
                env.client,
                settings,
                id="recorded01",
                template="loan",
                recipient={"id": 1, "name": "client", "phone": "+15551234567"},
            )
            await handle.signal("form_loaded", {"client": {"ip": "203.0.113.7"}})
            await handle.execute_update(
                "field_changed", {"change": {"id": "customer_id", "value": "C-1"}}
            )
            await handle.signal("form_loaded", {"client": "malformed"})
            for n in range(3):
                await handle.signal("client_logged_in", {"event_id": f"login-{n}"})
            await wait_for_requests(receiver, 2, "/login")  # the first failed: the rest held
            await asyncio.sleep(1)
            await handle.signal("redeliver", {"webhook_id": str(login)})
            await wait_for_requests(receiver, 5, "/login")
            await handle.signal("form_submitted", {"form_data": {"a": 1}, "event_id": "s1"})
            await handle.signal("form_submitted", {"form_data": {"a": 1}, "event_id": "s1"})
            await wait_for_requests(receiver, 2, "/form_submitted")
            await wait_for_requests(receiver, 1, "/stored")
            await handle.signal("delete")
            await handle.result()
            history = await handle.fetch_history()
            if name.startswith("process"):
                history = await _process_history(env.client, settings)
    await env.shutdown()
    path = HERE / f"{name}.json"
    path.write_text(history.to_json())
    return path


async def _process_history(client: Client, settings: Settings) -> WorkflowHistory:
    """A two-station process through to its archive and storage."""
    req = CreateProcess.model_validate(
        {
            "id": "6f2c1e7a-3b7d-4c1e-9a55-0d6f1f7c2b10",
            "project": "acme",
            "process_number": 51,
            "sessions": [
                {"template": "loan", "recipient": {"name": "client"}},
                {"template": "approval", "recipient": {"name": "officer"}},
            ],
        }
    )
    handle = await client.start_workflow(
        "BusinessProcess", req, id=req.workflow_id, task_queue=settings.task_queue
    )
    for position in (1, 2):
        station = client.get_workflow_handle(f"session-{req.project}:{req.station_id(position)}")
        for _ in range(100):
            try:
                await station.describe()
                break
            except RPCError:
                await asyncio.sleep(0.1)
        await station.signal("form_submitted", {"form_data": {f"s{position}": 1}})
    await handle.result()
    return await handle.fetch_history()


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "session")))
