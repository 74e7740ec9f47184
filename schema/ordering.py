"""``entities(orderBy:)``: a field and a direction, and the pages of such a listing.

The field is a dot path into the entity as Backstage's ``orderField`` reads it
(``metadata.name``, ``spec.type``, ``metadata.annotations.x``, ...; by the smallest
lowercased value when there are several, entities without it last in either direction,
then by ref), or one of two names that are not paths: ``relevance`` (the search ranking,
``graph.search``; the default when searching) and ``updatedAt`` (newest first: ``DESC``).

``metadata.name`` and ``kind`` ascending, ``relevance`` and ``updatedAt`` page with keyset
cursors along the store's orders (:class:`graph.port.Order`); any other field pages with
offsets through the store's ``select_entities``, as Backstage's catalog does, its cursors
holding the position of the entity in the listing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import strawberry

from graph.port import EntityFilter, EntityReader, FieldOrder, Order, StoredEntity
from schema.errors import UserInputError
from schema.inputs import decode_cursor, encode_cursor


@strawberry.enum(description="Which way an order runs.")
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(description="Order a listing by a field (a dot path, relevance or updatedAt).")
class EntityOrderBy:
    field: str = strawberry.field(
        description="A dot path (metadata.name, kind, spec.type, metadata.annotations.x, "
        "...), relevance (needs a search) or updatedAt (newest first, DESC)."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="Default ASC."
    )


_KEYSET = {
    ("metadata.name", OrderDirection.ASC): Order.NAME,
    ("kind", OrderDirection.ASC): Order.KIND,
    ("relevance", OrderDirection.ASC): Order.RELEVANCE,
    ("updatedat", OrderDirection.DESC): Order.UPDATED_AT,
}


def chosen_order(order_by: EntityOrderBy | None, searching: bool) -> Order | FieldOrder:
    """The store order for ``orderBy`` (keyset when there is one, else a field order)."""
    if order_by is None:
        return Order.RELEVANCE if searching else Order.KEY
    path = order_by.field.strip().lower()
    if not path:
        raise UserInputError("orderBy.field is empty; give a dot path such as metadata.name")
    keyset = _KEYSET.get((path, order_by.direction))
    if keyset is Order.RELEVANCE and not searching:
        raise UserInputError("orderBy: relevance needs a search")
    if keyset is not None:
        return keyset
    if path in ("relevance", "updatedat"):
        raise UserInputError(
            f"orderBy: {order_by.field} runs one way only; "
            f"give direction: {'ASC' if path == 'relevance' else 'DESC'}"
        )
    return FieldOrder(path, order_by.direction is OrderDirection.DESC)


def _listing(order: FieldOrder) -> str:
    return f"entities:field:{order.path}:{'desc' if order.descending else 'asc'}"


@dataclass(frozen=True)
class OffsetPage:
    entities: list[StoredEntity]
    cursors: list[str]
    has_next: bool
    has_previous: bool


async def offset_page(
    store: EntityReader,
    flt: EntityFilter,
    order: FieldOrder,
    size: int,
    after: str | None,
    before: str | None,
    backward: bool,
) -> OffsetPage:
    """A page of a listing in a field order, by position: after ``after``, or (``backward``)
    the ``size`` before ``before`` or at the end (which costs a count)."""
    listing = _listing(order)

    def position(cursor: str) -> int:
        (index,) = decode_cursor(cursor, listing)
        if not isinstance(index, int) or index < 0:
            raise UserInputError(f"invalid cursor {cursor!r}: pass a cursor of this listing")
        return index

    if backward:
        end = position(before) if before else await store.count_entities(flt)
        start = max(end - size, 0)
        found = await store.select_entities(flt, [order], start, end - start)
        has_next, has_previous = before is not None, start > 0
    else:
        start = position(after) + 1 if after else 0
        found = await store.select_entities(flt, [order], start, size + 1)
        has_next, has_previous = len(found) > size, start > 0
        found = found[:size]
    cursors = [encode_cursor(listing, start + i) for i in range(len(found))]
    return OffsetPage(found, cursors, has_next, has_previous)
