"""Cursor paging as every list of the API offers it (GitHub's): a full page
ends with ``Link: <...&after=CURSOR>; rel="next"``, the same query with the
cursor of the next page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Response

Cursor = Annotated[
    str | None,
    Query(description='The previous page\'s cursor (its `Link: rel="next"`); `cursor` too.'),
]
CursorAlias = Annotated[str | None, Query(include_in_schema=False)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@dataclass(frozen=True)
class Paging:
    """A list's page: its size, the cursor it starts after, and the answer's headers."""

    request: Request
    response: Response
    limit: int
    after: str | None

    def link_next(self, cursor: str | None) -> None:
        """The ``Link`` header of a page that has a next one."""
        if cursor:
            url = self.request.url.remove_query_params(["after", "cursor"]).include_query_params(
                after=cursor
            )
            self.response.headers["link"] = f'<{url.path}?{url.query}>; rel="next"'


def paging(
    request: Request,
    response: Response,
    limit: Limit = 100,
    after: Cursor = None,
    cursor: CursorAlias = None,
) -> Paging:
    return Paging(request, response, limit, after or cursor)


Page = Annotated[Paging, Depends(paging)]
"""A list route's paging, as a parameter: ``page: Page``."""
