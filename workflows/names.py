"""Search attributes: what the Web UI searches sessions and processes by.

Event codes and signal names live in the hook catalog (``activities.catalog``).
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

# Typed search attributes of every session and process (ids and statuses only:
# they are stored unencrypted).
SA_PROJECT = SearchAttributeKey.for_keyword("HookflowProject")
SA_SESSION = SearchAttributeKey.for_keyword("HookflowSessionId")
SA_PROCESS = SearchAttributeKey.for_keyword("HookflowProcessId")
SA_TEMPLATE = SearchAttributeKey.for_keyword("HookflowTemplate")
SA_STATUS = SearchAttributeKey.for_keyword("HookflowStatus")
SA_FAILED = SearchAttributeKey.for_keyword_list("HookflowFailedWebhooks")
SEARCH_ATTRIBUTES = (SA_PROJECT, SA_SESSION, SA_PROCESS, SA_TEMPLATE, SA_STATUS, SA_FAILED)


def initial_attributes(
    *, project: str, process_id: str, session_id: str | None = None, template: str | None = None
) -> TypedSearchAttributes:
    """What a client sets when it starts a session or process (the workflow
    sets the same itself when started without them)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(SA_PROJECT, project),
        SearchAttributePair(SA_PROCESS, process_id),
        SearchAttributePair(SA_STATUS, "active"),
    ]
    if session_id:
        pairs.append(SearchAttributePair(SA_SESSION, session_id))
    if template:
        pairs.append(SearchAttributePair(SA_TEMPLATE, template))
    return TypedSearchAttributes(pairs)
