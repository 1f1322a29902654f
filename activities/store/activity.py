"""Activities that read the webhook configuration for workflows."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from activities.contracts import ActivityName, ResolvedWebhooks, ResolveWebhooks
from activities.store.webhooks import resolve_targets


class ConfigActivities:
    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=ActivityName.RESOLVE_WEBHOOKS)
    def resolve_webhooks(self, req: ResolveWebhooks) -> ResolvedWebhooks:
        """Which webhooks a session uses; unusable integrations come back as problems."""
        with Session(self._engine) as session:
            return resolve_targets(
                session=session,
                project=req.project,
                template=req.template,
                integrations=req.integrations,
            )
