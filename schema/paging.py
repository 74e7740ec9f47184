"""``PageInfo``: where a page of a connection ends (``entities``, ``ingestionRuns``, ...).

Its own module so that every connection can use it without importing ``Entity``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import strawberry


@strawberry.type(description="Where a page of a connection starts and ends (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether entries follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last entry (pass it as `after`)."
    )
    has_previous_page: bool = strawberry.field(
        default=False,
        description="Whether entries come before this page (paging forward: whether it "
        "was asked for after a cursor).",
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="The first edge's cursor: pass it as `before`."
    )


class Edge(Protocol):
    @property
    def cursor(self) -> str: ...


def page_info(edges: Sequence[Edge], has_next: bool, after_a_cursor: bool) -> PageInfo:
    """The ``PageInfo`` of a page read forward: more follow when ``has_next``; entries come
    before it when it was asked for after a cursor."""
    return PageInfo(
        has_next_page=has_next,
        end_cursor=edges[-1].cursor if edges else None,
        has_previous_page=after_a_cursor,
        start_cursor=edges[0].cursor if edges else None,
    )
