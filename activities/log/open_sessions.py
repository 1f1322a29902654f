"""Which sessions and processes still run: retention keeps the deliveries that
name their files until they end."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client

from activities.contracts import (
    legacy_process_workflow_id,
    legacy_session_workflow_id,
    process_workflow_id,
    session_workflow_id,
)

_OPEN_QUERY = "ExecutionStatus = 'Running' AND WorkflowType IN ('Session', 'BusinessProcess')"


@dataclass(frozen=True)
class OpenSessions:
    """Sessions and processes still running (their workflow ids)."""

    workflow_ids: frozenset[str]

    def names(self, session_id: str, *, project: str) -> bool:
        """Whether the project's session, or the process it is a station of, still
        runs (under its per-project id, or the old form it may have started under)."""
        ids = (session_workflow_id(project, session_id), legacy_session_workflow_id(session_id))
        if not self.workflow_ids.isdisjoint(ids):
            return True
        process_hex, sep, _position = session_id.rpartition("-")
        if not sep or not re.fullmatch(r"[0-9a-f]{32}", process_hex):
            return False
        process_id = str(uuid.UUID(process_hex))
        ids = (process_workflow_id(project, process_id), legacy_process_workflow_id(process_id))
        return not self.workflow_ids.isdisjoint(ids)


OpenLookup = Callable[[], Awaitable[OpenSessions | None]]


async def running_sessions(client: Client) -> OpenSessions:
    """The sessions and processes running on the client's namespace."""
    ids = [execution.id async for execution in client.list_workflows(_OPEN_QUERY)]
    return OpenSessions(frozenset(ids))
