"""How the pane shows things: times with their offset, a webhook's health in
one word, XML examples indented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import xmltodict
from fastapi import Request
from sqlmodel import Session

from activities.log.headers import open_headers
from activities.store.crypto import SecretBox
from activities.store.health import read_health
from activities.store.tables import Attempt
from activities.store.webhooks import WebhookPublic


def when(at: datetime | None) -> str:
    """ISO 8601 with its offset, to the second, in UTC (``2026-12-02T13:05:09+00:00``);
    a time stored without a zone is UTC."""
    if at is None:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")


def indented_xml(text: str) -> str:
    """An XML example as xmltodict writes it indented (other text as it is)."""
    if not text.lstrip().startswith("<"):
        return text
    pretty: str = xmltodict.unparse(xmltodict.parse(text), pretty=True, indent="  ")
    return pretty


# What each status of a delivery means, for the customer (a tooltip on the status).
STATUS_HELP = {
    "pending": "being sent, or waiting for its next attempt",
    "waiting": (
        "put off a moment: the webhook's rate limit or its limit on requests at once, "
        "a pause after failures, or your other deliveries are using this server's capacity"
    ),
    "delivered": "the endpoint accepted it",
    "failed": "every attempt failed: Redeliver sends it again",
    "held": "not sent: the webhook is disabled, or an earlier event of the session failed",
    "skipped": "not sent: the webhook's filter leaves this event out",
}


@dataclass(frozen=True)
class HealthView:
    state: str  # healthy | failing | paused | disabled
    text: str
    detail: str = ""


def health_view(webhook: WebhookPublic, session: Session, *, now: datetime) -> HealthView:
    """Disabled (not sending at all), paused (its circuit is open: deliveries
    wait for the next probe), failing since the first failure of a run of
    failed attempts, or healthy."""
    if not webhook.enabled:
        return HealthView("disabled", "disabled", webhook.disabled_reason or "")
    health = read_health(session=session, webhook_id=webhook.id)
    if health.open_until is not None and health.open_until > now:
        since = when(health.failing_since)
        return HealthView(
            "paused",
            "paused",
            f"deliveries wait until {when(health.open_until)}; failing since {since}",
        )
    if health.failing_since is not None:
        text = f"failing since {when(health.failing_since)}"
        return HealthView("failing", text, f"{health.streak} failed attempts in a row")
    return HealthView("healthy", "healthy")


def here(request: Request) -> str:
    """This page with its query: where a form on it comes back to (filters kept)."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


@dataclass(frozen=True)
class AttemptHeaders:
    request: dict[str, str]
    response: dict[str, str]


def attempt_headers(
    attempts: dict[str, list[Attempt]], *, box: SecretBox
) -> dict[int | None, AttemptHeaders]:
    """Each attempt's headers in clear, by attempt row id."""
    return {
        a.id: AttemptHeaders(
            open_headers(a.request_headers, box), open_headers(a.response_headers, box)
        )
        for rows in attempts.values()
        for a in rows
    }
