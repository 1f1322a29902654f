"""Which sessions and processes still run: retention keeps the deliveries that
name their files until they end."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client

from activities.contracts import session_workflow_id

_OPEN_QUERY = "ExecutionStatus = 'Running' AND WorkflowType IN ('Session', 'BusinessProcess')"


@dataclass(frozen=True)
class OpenSessions:
    """Sessions and processes still running (their workflow ids)."""

    workflow_ids: frozenset[str]

    def names(self, session_id: str) -> bool:
        """Whether the session, or the process it is a station of, still runs."""
        if session_workflow_id(session_id) in self.workflow_ids:
            return True
        process_hex, sep, _position = session_id.rpartition("-")
        if not sep or not re.fullmatch(r"[0-9a-f]{32}", process_hex):
            return False
        dashed = "-".join(
            (process_hex[:8], process_hex[8:12], process_hex[12:16], process_hex[16:20])
        )
        return f"process-{dashed}-{process_hex[20:]}" in self.workflow_ids


OpenLookup = Callable[[], Awaitable[OpenSessions | None]]


async def running_sessions(client: Client) -> OpenSessions:
    """The sessions and processes running on the client's namespace."""
    ids = [execution.id async for execution in client.list_workflows(_OPEN_QUERY)]
    return OpenSessions(frozenset(ids))
