"""The ``cursor`` of ``/entities/by-query``: the query a page belongs to and where it starts.

A cursor is base64 of a JSON object holding the filter sets, order fields and full-text
filter of the first request and the offset of the page it points at, so a client that
passes only ``cursor`` (and ``limit``, ``fields``) gets the next or previous page of the
same query, as in Backstage. Cursors are opaque to clients; one that does not decode is an
:class:`~api.catalog.errors.InputError`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from api.catalog.errors import InputError
from api.catalog.params import FilterSets
from graph.port import FieldCondition, FieldOrder, TextFilter


@dataclass(frozen=True)
class Query:
    """What a by-query page asks for, besides its size and fields."""

    filter: FilterSets
    order: tuple[FieldOrder, ...]
    text: TextFilter | None
    offset: int


def encode(query: Query) -> str:
    body = {
        "filter": [[[c.path, list(c.values)] for c in conditions] for conditions in query.filter],
        "orderFields": [[o.path, o.descending] for o in query.order],
        "fullTextFilter": (
            [query.text.term, list(query.text.paths)] if query.text is not None else None
        ),
        "offset": query.offset,
    }
    return base64.b64encode(orjson.dumps(body)).decode()


def decode(cursor: str) -> Query:
    try:
        body: Any = orjson.loads(base64.b64decode(cursor, validate=True))
        sets = tuple(
            tuple(FieldCondition(str(path), tuple(map(str, values))) for path, values in s)
            for s in body["filter"]
        )
        order = tuple(FieldOrder(str(path), bool(desc)) for path, desc in body["orderFields"])
        text = body["fullTextFilter"]
        offset = body["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("offset")
        return Query(
            sets,
            order,
            TextFilter(str(text[0]), tuple(map(str, text[1]))) if text is not None else None,
            offset,
        )
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InputError(
            f"malformed cursor {cursor[:40]!r}: pass a nextCursor or prevCursor from an "
            "earlier by-query answer unchanged"
        ) from None
