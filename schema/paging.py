"""``PageInfo``: where a page of a connection ends (``entities``, ``ingestionRuns``, ...).

Its own module so that every connection can use it without importing ``Entity``."""

from __future__ import annotations

import strawberry


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
