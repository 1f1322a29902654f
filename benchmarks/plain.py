"""The baseline of DESIGN.md section 10: one workflow per session, one regular
activity per event posting with httpx to a loopback receiver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx


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
    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._done = False

    @workflow.run
    async def run(self, url: str) -> None:
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
