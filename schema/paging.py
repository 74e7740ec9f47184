"""``PageInfo``: where a page of a connection ends (``entities``, ``ingestionRuns``, ...),
and Relay's two ways of asking for a page (``first``/``after`` forward, ``last``/``before``
back) for the connections that page both ways.

Its own module so that every connection can use it without importing ``Entity``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

import strawberry

from schema.errors import UserInputError
from schema.inputs import page_size

#: The ``last`` argument of a connection that pages both ways.
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Page backward: the last entries (1-100) before `before`, or of the whole list."
    ),
]
#: The ``before`` argument of a connection that pages both ways.
Before = Annotated[
    str | None,
    strawberry.argument(description="A `startCursor` (or edge cursor) to page back from."),
]


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


@dataclass(frozen=True)
class PageRequest:
    """A page asked for forward (``first`` after ``cursor``) or back (``last`` before it)."""

    size: int
    cursor: str | None
    backward: bool

    @classmethod
    def of(
        cls, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageRequest:
        """Refuses ``after`` with ``before``; ``last`` or ``before`` pages back."""
        backward = last is not None or before is not None
        if backward and after:
            raise UserInputError("give after (paging forward) or before (paging back), not both")
        if backward:
            return cls(page_size(last), before, True)
        return cls(page_size(first), after, False)

    def page_info(self, edges: Sequence[Edge], more: bool) -> PageInfo:
        """The ``PageInfo`` of ``edges``, read this way; ``more``: whether entries follow
        them in the direction read (before them, paging back)."""
        return PageInfo(
            has_next_page=self.cursor is not None if self.backward else more,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=more if self.backward else self.cursor is not None,
            start_cursor=edges[0].cursor if edges else None,
        )
