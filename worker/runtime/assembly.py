"""Worker assembly: the client, the shared HTTP clients, the activities and workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import Runtime
from temporalio.worker import Worker
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
from activities.log.retention import Retention, RetentionActivities
from activities.store.activity import ConfigActivities
from activities.store.crypto import SecretBox
from worker.runtime.codec import data_converter
from worker.runtime.failures import quiet_expected_failures
from worker.runtime.settings import Settings
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
# hookflow's workflow modules keep no mutable module state, so the sandbox may
# share them between runs instead of importing them again for every session:
# about half the memory per open session and twice the rate of new sessions
# (benchmarks/memory.py). The replay tests run the same code in the full
# sandbox, which still catches non-deterministic calls.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    # OpenTelemetry (imported only when tracing is on) keeps its context across the sandbox.
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "opentelemetry")
)


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
) -> AsyncIterator[Worker]:
    """A started worker on the settings' task queue, shut down on exit
    (``circuit``: the webhooks' circuit breaker, for benchmarks)."""
    quiet_expected_failures()
    http = HttpClients(
        allowed=settings.allow_networks, resolver=resolver, stack=settings.own_endpoints
    )
    documents = LocalDocumentStore(settings.documents)
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
    )
    storage = StorageActivities(engine=engine, documents=documents, root=settings.storage)
    config = ConfigActivities(engine=engine)
    log = DeliveryLogActivities(engine=engine, box=box)
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
            workflow_runner=WORKFLOW_RUNNER,
            max_concurrent_activities=MAX_ACTIVITIES,
        )
        try:
            async with worker:
                yield worker
        finally:
            await http.aclose()
