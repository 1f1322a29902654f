"""Worker assembly: the client, the shared HTTP clients, the activities and workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import get_args

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import Runtime
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.delivery.activity import DeliveryActivities
from activities.delivery.bulkhead import Bulkhead
from activities.delivery.gate import Gate
from activities.delivery.guard import Resolver, system_resolver
from activities.delivery.health import CircuitPolicy
from activities.delivery.http import HttpClients
from activities.delivery.tokens import TokenCache
from activities.files.documents import LocalDocumentStore
from activities.files.storage import StorageActivities
from activities.log.activity import DeliveryLogActivities
from activities.log.attempts import AttemptLog
from activities.log.retention import Retention, RetentionActivities
from activities.store.activity import ConfigActivities
from activities.store.crypto import SecretBox
from worker.runtime.codec import data_converter
from worker.runtime.failures import quiet_expected_failures
from worker.runtime.settings import Sandbox, Settings
from worker.runtime.store import open_store as open_store
from worker.runtime.tracing import interceptors
from workflows.process import BusinessProcessWorkflow
from workflows.redeliver import RedeliverWorkflow
from workflows.retention import RetentionWorkflow
from workflows.session import SessionWorkflow

WORKFLOWS: list[type] = [
    SessionWorkflow,
    BusinessProcessWorkflow,
    RedeliverWorkflow,
    RetentionWorkflow,
]
MAX_ACTIVITIES = 200
# With the sandbox on, hookflow's workflow modules (which keep no mutable
# module state) are shared between runs instead of imported again for every
# session.
SANDBOXED = SandboxedWorkflowRunner(
    # OpenTelemetry (imported only when tracing is on) keeps its context across the sandbox.
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "opentelemetry")
)
SANDBOX_CHOICES = get_args(Sandbox)


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """``HOOKFLOW_WORKFLOW_SANDBOX``: ``off`` (the default) or ``on``.

    The sandbox costs every session's run and every activation CPU
    (``benchmarks.throughput`` prints it among its levers), and buys nothing
    the replay tests do not: ``tests/workflows/test_replay.py`` replays every
    kept history in the SDK's full sandbox, so a workflow change that calls
    something non-deterministic still fails CI before it reaches a worker."""
    return SANDBOXED if settings.workflow_sandbox == "on" else UnsandboxedWorkflowRunner()


async def connect(
    settings: Settings, *, codec: PayloadCodec | None = None, runtime: Runtime | None = None
) -> Client:
    """A client (and so its workers) whose payloads pass the settings' codec;
    ``runtime`` carries the metrics exporter of ``--metrics-port``."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=data_converter(codec or settings.codec()),
        api_key=settings.temporal_api_key,
        tls=settings.tls(),
        runtime=runtime,
        interceptors=interceptors(),
    )


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    *,
    engine: Engine,
    box: SecretBox,
    resolver: Resolver = system_resolver,
    workflows: Sequence[type] = WORKFLOWS,
    circuit: CircuitPolicy | None = None,
    attempt_log: AttemptLog | None = None,
) -> AsyncIterator[Worker]:
    """A started worker on the settings' task queue, shut down on exit
    (``circuit``: the webhooks' circuit breaker; ``attempt_log``: another
    writer of attempts; both for benchmarks)."""
    quiet_expected_failures()
    http = HttpClients(
        allowed=settings.allow_networks,
        resolver=resolver,
        stack=settings.own_endpoints,
        transport=settings.http_transport,
    )
    documents = LocalDocumentStore(settings.documents)
    attempt_log = attempt_log or AttemptLog(engine, box=box)
    delivery = DeliveryActivities(
        engine=engine,
        box=box,
        http=http,
        tokens=TokenCache(http),
        documents=documents,
        gate=Gate(
            engine=engine,
            policy=circuit,
            bulkhead=Bulkhead(
                slots=MAX_ACTIVITIES,
                share=settings.project_share,
                ceiling=settings.max_in_flight_ceiling,
            ),
        ),
        public_url=settings.public_url,
        log=attempt_log,
    )
    storage = StorageActivities(engine=engine, documents=documents, root=settings.storage)
    config = ConfigActivities(engine=engine)
    log = DeliveryLogActivities(log=attempt_log)
    retention = RetentionActivities(
        Retention(engine=engine, box=box, documents=settings.documents, storage=settings.storage)
    )
    # Threads are made on demand; only configuration reads run there.
    with ThreadPoolExecutor(max_workers=MAX_ACTIVITIES, thread_name_prefix="hookflow") as pool:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=workflows,
            activities=[
                delivery.deliver,
                delivery.failover,
                log.record_deliveries,
                config.resolve_webhooks,
                storage.store_files,
                retention.apply_retention,
            ],
            activity_executor=pool,
            workflow_runner=workflow_runner(settings),
            max_concurrent_activities=MAX_ACTIVITIES,
        )
        try:
            async with worker:
                yield worker
        finally:
            await http.aclose()
