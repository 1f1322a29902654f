"""Cursor paging as every list of the API offers it (GitHub's): a full page
ends with ``Link: <...&after=CURSOR>; rel="next"``, the same query with the
cursor of the next page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

Cursor = Annotated[
    str | None,
    Query(description='The previous page\'s cursor (its `Link: rel="next"`); `cursor` too.'),
]
CursorAlias = Annotated[str | None, Query(include_in_schema=False)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """The ``Link`` header of a page that has a next one."""
    if cursor:
        url = request.url.remove_query_params(["after", "cursor"]).include_query_params(
            after=cursor
        )
        response.headers["link"] = f'<{url.path}?{url.query}>; rel="next"'
