"""Pages of the webhooks list, for the API and the command line alike.

The list is in (project, alias) order, a key no two webhooks share; a page
ends with the cursor of its last row (``worker.services.cursors``), and the
next page starts strictly after it, so a webhook created or deleted between
two pages never shifts another into or out of the next.
"""

from __future__ import annotations

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from activities.store.tables import Webhook
from worker.services.cursors import Page, decode_cursor, encode_cursor


def webhook_page(
    *, session: Session, project: str | None, limit: int, after: str | None = None
) -> Page[Webhook]:
    """Up to ``limit`` webhooks (of ``project``, or every project) after the
    cursor ``after``."""
    query = select(Webhook).order_by(col(Webhook.project), col(Webhook.alias))
    if project:
        query = query.where(Webhook.project == project)
    if after:
        last = tuple(decode_cursor(after, size=2))
        query = query.where(tuple_(col(Webhook.project), col(Webhook.alias)) > last)
    rows = list(session.exec(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next=encode_cursor([rows[-1].project, rows[-1].alias]) if more else None)
