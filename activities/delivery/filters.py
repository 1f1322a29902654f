"""A webhook's filter: a JMESPath expression on the envelope (the body as the
receiver sees it, before files are embedded); an event is delivered only when
it is truthy (JMESPath's truth: not false, null, "", [] or {}).

``webhooks add|update --filter "session.labels.REGION == 'EU'"``; an event the
filter leaves out is recorded as ``skipped``, with the reason, and no attempt.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from activities.contracts import Envelope

MAX_FILTER = 1000


def check_filter(expression: str) -> str:
    """The expression, when it parses (ValueError saying where it does not)."""
    if len(expression) > MAX_FILTER:
        raise ValueError(f"a filter is at most {MAX_FILTER} characters")
    try:
        _compiled(expression)
    except JMESPathError as err:
        first = " ".join(str(err).split())
        raise ValueError(f"the filter does not parse as JMESPath: {first}") from None
    return expression


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> ParsedResult:
    return jmespath.compile(expression)


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, and empty strings, lists and objects are false."""
    return not (value is None or value is False or value in ("", [], {}))


def skip_reason(expression: str | None, envelope: Envelope) -> str | None:
    """Why the webhook's filter leaves ``envelope`` out (None: it is delivered)."""
    if not expression:
        return None
    try:
        value = _compiled(expression).search(envelope.body())
    except JMESPathError as err:  # a function given the wrong type, say
        return f"filter {expression!r} failed: {' '.join(str(err).split())}"[:300]
    if truthy(value):
        return None
    return f"filtered out: {expression!r} is {_shown(value)}"[:300]


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if value is False:
        return "false"
    return repr(value)
