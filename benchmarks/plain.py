"""The baseline of DESIGN.md section 10: one workflow per session, one regular
activity per event posting with httpx to a loopback receiver.

``python -m benchmarks.plain --address HOST:PORT --task-queue Q`` runs its
worker in a process of its own (as ``hookflow worker`` runs hookflow's), so
that each side's CPU time can be read apart.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx

# As many activities at once as hookflow's worker runs.
MAX_ACTIVITIES = 200


@dataclass
class PlainPost:
    url: str
    body: dict[str, Any]


class PlainActivities:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @activity.defn(name="plain_post")
    async def post(self, req: PlainPost) -> int:
        response = await self._http.post(req.url, json=req.body)
        response.raise_for_status()
        return response.status_code


@workflow.defn(name="PlainSession")
class PlainSession:
    """Posts ``first`` (when given) at start, then each signalled event, in order."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._done = False

    @workflow.run
    async def run(self, url: str, first: dict[str, Any] | None = None) -> None:
        if first is not None:
            self._events.insert(0, first)
        while True:
            await workflow.wait_condition(lambda: bool(self._events) or self._done)
            if not self._events:
                return
            event = self._events.pop(0)
            await workflow.execute_activity(
                "plain_post",
                PlainPost(url=url, body=event),
                start_to_close_timeout=timedelta(seconds=30),
            )

    @workflow.signal
    def event(self, body: dict[str, Any]) -> None:
        self._events.append(body)

    @workflow.signal
    def finish(self) -> None:
        self._done = True


async def serve(address: str, namespace: str, task_queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address, namespace=namespace)
    async with httpx.AsyncClient() as http:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[PlainSession],
            activities=[PlainActivities(http).post],
            max_concurrent_activities=MAX_ACTIVITIES,
        )
        print("plain worker ready", flush=True)
        await worker.run()


def main() -> None:
    parser = argparse.ArgumentParser(description="The plain loop's worker.")
    parser.add_argument("--address", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.namespace, args.task_queue))


if __name__ == "__main__":
    main()
