"""hookflow's worker with one lever moved, for ``benchmarks.throughput --levers``.

The same assembly as ``hookflow worker`` (``running_worker``), configured from
the same environment, in a process of its own, with two levers no operator
has: ``--codec off`` (payloads in clear; the benchmark's client then sends
them in clear too) and ``--attempt-log off`` (attempts are not written: the
cost of the log, measured, never a way to run). The HTTP transport and the
sandbox are the operator's own (``HOOKFLOW_HTTP_TRANSPORT``,
``HOOKFLOW_WORKFLOW_SANDBOX``) and pass through the environment.

    python -m benchmarks.lever_worker [--codec on|off] [--attempt-log on|off]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from temporalio.client import Client

from activities.contracts import DeliveryMark
from activities.log.attempts import AttemptLog, AttemptRecord
from worker.runtime.assembly import connect, running_worker
from worker.runtime.codec import data_converter
from worker.runtime.settings import Settings
from worker.runtime.store import open_store


class UnwrittenLog(AttemptLog):
    """Writes nothing: what the rest of the worker costs without the log."""

    async def record(self, record: AttemptRecord) -> None:
        return None

    async def mark(self, project: str, marks: Sequence[DeliveryMark]) -> None:
        return None


async def serve(*, codec: bool, attempt_log: bool) -> None:
    settings = Settings.from_env()
    engine, box = open_store(settings)
    if codec:
        client = await connect(settings)
    else:
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.namespace,
            data_converter=data_converter(None),
        )
    log = None if attempt_log else UnwrittenLog(engine, box=box)
    async with running_worker(client, settings, engine=engine, box=box, attempt_log=log):
        print(f"worker on {settings.temporal_address}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--codec", choices=["on", "off"], default="on")
    parser.add_argument("--attempt-log", choices=["on", "off"], default="on")
    args = parser.parse_args()
    asyncio.run(serve(codec=args.codec == "on", attempt_log=args.attempt_log == "on"))


if __name__ == "__main__":
    main()
