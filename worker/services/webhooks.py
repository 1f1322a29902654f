"""Webhooks as the front doors change them: enabling one releases what it held.

The command line, the REST API and the pane all call ``release_held`` after an
update that leaves a webhook enabled, so held deliveries go on whichever door
enabled it (a paused stream also asks again by itself within ``RECHECK``).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.service import RPCError

from activities.catalog import RESUME_SIGNAL
from activities.errors import HookflowError
from activities.log.attempts import deliveries_in_window
from activities.store.tables import Delivery, Webhook
from worker.runtime.settings import Settings
from worker.services.ids import find
from worker.services.redelivery import Backend, ClientSource, box_of, run_streams
from worker.services.redelivery_plans import streams_of

log = logging.getLogger("hookflow.webhooks")


async def release_held(
    *, temporal: ClientSource, settings: Settings, engine: Engine, webhook_id: uuid.UUID
) -> int:
    """A webhook is enabled: every session holding its deliveries goes on in
    order (their ``webhook_resumed`` signal); held deliveries of sessions that
    have ended are sent from the delivery log. Returns the sessions told (0,
    without asking Temporal, when nothing is held)."""
    with Session(engine) as session:
        webhook = session.get(Webhook, webhook_id)
        rows = deliveries_in_window(session=session, webhook_id=webhook_id, statuses=["held"])
    if webhook is None or not webhook.enabled or not rows:
        return 0
    client = await temporal()
    ended: list[Delivery] = []
    for session_id in dict.fromkeys(row.session_id for row in rows):
        try:  # the webhook's project's session: its deliveries are of that project
            found = await find(client, "session", project=webhook.project, object_id=session_id)
            if found is not None:
                await found.handle.signal(RESUME_SIGNAL, {"webhook_id": str(webhook_id)})
                continue
        except RPCError:
            pass
        # the session has ended: its held deliveries go from the log
        ended += [row for row in rows if row.session_id == session_id]
    if ended:
        streams = streams_of(webhook, ended, box_of(settings))
        await run_streams(client=client, settings=settings, streams=streams, wait=False)
    return len({row.session_id for row in rows})


async def release_held_later(backend: Backend, *, webhook_id: uuid.UUID) -> None:
    """``release_held`` for a door that cannot wait for Temporal (the API's and
    the pane's background work): a failure is logged, the streams ask again."""
    try:
        await release_held(
            temporal=backend.temporal,
            settings=backend.settings,
            engine=backend.engine,
            webhook_id=webhook_id,
        )
    except (HookflowError, RPCError) as err:
        log.warning("releasing held deliveries of webhook %s: %s", webhook_id, err)
