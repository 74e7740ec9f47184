"""Listing the catalog: ``entities`` (filters, order, keyset cursors) and ``entityFacets``
(value counts under the same filters, what a catalog sidebar shows)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import Annotated

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from graph.port import FACET_FIELDS, Cursor, EntityFilter, Order
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.errors import UserInputError
from schema.filters import FilterArguments, takes_filters
from schema.inputs import decode_cursor, encode_cursor, page_size
from schema.paging import PageInfo
from schema.related import preload_related


@strawberry.enum(description="How to order a listing; every order ends with the ref.")
class EntityOrder(enum.Enum):
    NAME = "name"
    KIND = "kind"
    UPDATED_AT = "updated_at"
    RELEVANCE = "relevance"


@strawberry.type
class EntityEdge:
    cursor: str
    node: Entity


async def _total_count(root: EntityConnection, info: Info) -> int:
    """Counted only when asked for: a count costs Neo4j a scan of the matches."""
    return await info.context.store.count_entities(root.filter)


@strawberry.type
class EntityConnection:
    total_count: int = strawberry.field(resolver=_total_count)
    edges: list[EntityEdge]
    page_info: PageInfo
    filter: strawberry.Private[EntityFilter]


@strawberry.type(description="How many entities have each value of a field.")
class FacetValue:
    value: str
    count: int


@strawberry.type
class Facet:
    field: str
    values: list[FacetValue]


#: Node fields that answer synchronously from a page preloaded up front (its relations and
#: their forward targets, two batches). Other relation fields go through the loaders as
#: usual (batched too); preloading for them would cost queries they do not need.
_PRELOADED_FIELDS = frozenset(
    {"owner", "dependsOn", "dependencyOf", "providesApis", "consumesApis"}
)
#: Forward relation types read by one preloaded field each: their targets are preloaded only
#: when that field is selected (targets of other types always are, as other fields may
#: walk them).
_TARGETS_OF = {
    "ownedBy": "owner",
    "dependsOn": "dependsOn",
    "providesApi": "providesApis",
    "consumesApi": "consumesApis",
}


def _fields(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    """The fields among ``selections``, fragments opened."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _node_fields(selected: Sequence[Selection]) -> set[str]:
    """The names of the fields the ``edges { node { ... } }`` of a listing select."""
    return {
        field.name
        for listing in _fields(selected)
        for edges in _fields(listing.selections)
        if edges.name == "edges"
        for node in _fields(edges.selections)
        if node.name == "node"
        for field in _fields(node.selections)
    }


_ORDERS = {
    EntityOrder.NAME: Order.NAME,
    EntityOrder.KIND: Order.KIND,
    EntityOrder.UPDATED_AT: Order.UPDATED_AT,
    EntityOrder.RELEVANCE: Order.RELEVANCE,
}


@takes_filters("kind", "namespace", "owner", "tag", "search", "first", "after")
async def resolve_entities(
    info: Info,
    filters: FilterArguments,
    first: int | None = 25,
    after: str | None = None,
    order_by: Annotated[
        EntityOrder | None,
        strawberry.argument(description="Default: RELEVANCE when searching, else by ref."),
    ] = None,
) -> EntityConnection:
    size = page_size(first)
    flt = await filters.build(info)
    if order_by is None:
        order = Order.RELEVANCE if flt.search else Order.KEY
    else:
        order = _ORDERS[order_by]
    if order is Order.RELEVANCE and not flt.search:
        raise UserInputError("orderBy: RELEVANCE needs a search")
    position = None
    if after:
        value, key = decode_cursor(after, f"entities:{order.value}")
        position = Cursor(value, key)
    store = info.context.store
    page = await store.list_entities(flt, size, position, order)
    for stored in page.entities:
        info.context.loaders.entities.prime(stored.key, stored)
    asked = _node_fields(info.selected_fields)
    if page.entities and asked & _PRELOADED_FIELDS:
        skip = {type_ for type_, field in _TARGETS_OF.items() if field not in asked}
        await preload_related(info, [stored.key for stored in page.entities], skip)
    cursors = [encode_cursor(f"entities:{order.value}", c.value, c.key) for c in page.cursors]
    edges = [
        EntityEdge(cursor=cursor, node=to_graphql(stored))
        for cursor, stored in zip(cursors, page.entities, strict=True)
    ]
    return EntityConnection(
        filter=flt,
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=cursors[-1] if cursors else None
        ),
    )


# entityFacets' annotation argument has no description in the committed schema.graphql.
@takes_filters("fields", "kind", "owner", "tag", undescribed=("annotation",))
async def resolve_entity_facets(
    info: Info, filters: FilterArguments, fields: list[str]
) -> list[Facet]:
    unknown = [f for f in fields if f not in FACET_FIELDS]
    if unknown:
        raise UserInputError(
            f"unknown facet fields {', '.join(unknown)}; use {', '.join(FACET_FIELDS)}"
        )
    counts = await info.context.store.facets(fields, await filters.build(info))
    return [
        Facet(field=f, values=[FacetValue(value=v, count=n) for v, n in counts[f]])
        for f in dict.fromkeys(fields)
    ]
