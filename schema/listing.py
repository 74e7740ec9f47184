"""Listing the catalog: ``entities`` (filters, order, keyset cursors) and ``entityFacets``
(value counts under the same filters, what a catalog sidebar shows)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from graph.port import FACET_FIELDS, Cursor, EntityFilter, FieldOrder, Order
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.errors import UserInputError
from schema.filters import FilterArguments, takes_filters
from schema.inputs import MAX_PAGE, decode_cursor, encode_cursor, page_size, parse_input_ref
from schema.ordering import EntityOrderBy, chosen_order, offset_page
from schema.paging import PageInfo
from schema.planner import PagePlan, plan_page
from schema.related import preload_related


@strawberry.type(description="An entity and its cursor.")
class EntityEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: Entity = strawberry.field(description="The entity.")


async def _total_count(root: EntityConnection, info: Info) -> int:
    """Counted only when asked for: a count costs Neo4j a scan of the matches."""
    return await info.context.store.count_entities(root.filter)


@strawberry.type(description="A page of entities.")
class EntityConnection:
    total_count: int = strawberry.field(
        resolver=_total_count, description="How many entities match, on every page."
    )
    edges: list[EntityEdge] = strawberry.field(description="The entities on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )
    filter: strawberry.Private[EntityFilter]


@strawberry.type(description="How many entities have each value of a field.")
class FacetValue:
    value: str = strawberry.field(description="One value of the field.")
    count: int = strawberry.field(description="How many matching entities have it.")


@strawberry.type(description="The values of one field over the matching entities, with counts.")
class Facet:
    field: str = strawberry.field(description="The field counted, as asked for.")
    values: list[FacetValue] = strawberry.field(description="Its values, most common first.")


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


@takes_filters("kind", "namespace", "owner", "tag", "search", "first", "after")
async def resolve_entities(
    info: Info,
    filters: FilterArguments,
    first: int | None = 25,
    after: str | None = None,
    order_by: Annotated[
        EntityOrderBy | None,
        strawberry.argument(description="Default: relevance when searching, else by ref."),
    ] = None,
    last: Annotated[
        int | None,
        strawberry.argument(
            description="Page backward: the last entities (1-100) before "
            "`before`, or of the whole list."
        ),
    ] = None,
    before: Annotated[
        str | None,
        strawberry.argument(description="A `startCursor` (or edge cursor) to page back from."),
    ] = None,
) -> EntityConnection:
    backward = last is not None or before is not None
    if backward and after:
        raise UserInputError("give after (paging forward) or before (paging back), not both")
    size = page_size(last) if backward else page_size(first)
    flt = await filters.build(info)
    order = chosen_order(order_by, bool(flt.search))
    store = info.context.store
    plan = plan_page(info.selected_fields) if info.context.plan_pages else None
    if plan is not None and not isinstance(order, FieldOrder):
        return await _planned_page(info, flt, plan, order, size, after, before, backward)
    if isinstance(order, FieldOrder):
        by_offset = await offset_page(store, flt, order, size, after, before, backward)
        found, cursors = by_offset.entities, by_offset.cursors
        has_next, has_previous = by_offset.has_next, by_offset.has_previous
    else:
        position = None
        if after or before:
            value, key = decode_cursor(after or before or "", f"entities:{order.value}")
            position = Cursor(value, key)
        page = await store.list_entities(flt, size, position, order, backward)
        found = page.entities
        cursors = [encode_cursor(f"entities:{order.value}", c.value, c.key) for c in page.cursors]
        has_next = before is not None if backward else page.has_next
        has_previous = page.has_next if backward else after is not None
    for stored in found:
        info.context.loaders.entities.prime(stored.key, stored)
    asked = _node_fields(info.selected_fields)
    if found and asked & _PRELOADED_FIELDS:
        skip = {type_ for type_, field in _TARGETS_OF.items() if field not in asked}
        await preload_related(info, [stored.key for stored in found], skip)
    edges = [
        EntityEdge(cursor=cursor, node=to_graphql(stored))
        for cursor, stored in zip(cursors, found, strict=True)
    ]
    return _connection(flt, edges, has_next, has_previous)


def _connection(
    flt: EntityFilter, edges: list[EntityEdge], has_next: bool, has_previous: bool
) -> EntityConnection:
    return EntityConnection(
        filter=flt,
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def _planned_page(
    info: Info,
    flt: EntityFilter,
    plan: PagePlan,
    order: Order,
    size: int,
    after: str | None,
    before: str | None,
    backward: bool,
) -> EntityConnection:
    """The page and the relations ``plan`` names, from one store call; each node carries
    its relations (:attr:`Entity.planned`), so its relation fields need no loader. Its
    entities are summaries when the plan allows it (and the context does not forbid it)."""
    position = None
    if after or before:
        value, key = decode_cursor(after or before or "", f"entities:{order.value}")
        position = Cursor(value, key)
    summary = plan.summary and info.context.summaries
    info.context.summary_reads += summary
    page = await info.context.store.entity_page(
        flt, size, plan.plans, position, order, backward, summary
    )
    loader = info.context.loaders.entities
    edges = []
    for stored, cursor, related in zip(page.entities, page.cursors, page.related, strict=True):
        if not summary:  # a summary is no answer for a field that loads the entity
            loader.prime(stored.key, stored)
        planned = {(p.type, p.kind): found for p, found in zip(plan.plans, related, strict=True)}
        node = to_graphql(stored, planned)
        edges.append(
            EntityEdge(
                cursor=encode_cursor(f"entities:{order.value}", cursor.value, cursor.key), node=node
            )
        )
    has_next = before is not None if backward else page.has_next
    has_previous = page.has_next if backward else after is not None
    return _connection(flt, edges, has_next, has_previous)


#: The most values a facet lists (most frequent first).
FACET_VALUES = 100


# entityFacets' annotation argument has no description in the committed schema.graphql.
@takes_filters("fields", "kind", "owner", "tag", undescribed=("annotation",))
async def resolve_entity_facets(
    info: Info, filters: FilterArguments, fields: list[str]
) -> list[Facet]:
    """The summary fields (:data:`FACET_FIELDS`: lowercased kind, owner, source, ...) are
    counted as before; any other name is a dot path counted as Backstage's facets count it
    (``metadata.labels.x``, ``relations.ownedBy``, ``spec.*``; values as written). One store
    call for each of the two, when asked for."""
    wanted = list(dict.fromkeys(f.strip() for f in fields))
    if any(not f for f in wanted):
        raise UserInputError("fields: a facet field is empty; give a dot path such as spec.type")
    flt = await filters.build(info)
    store = info.context.store
    summary = [f for f in wanted if f in FACET_FIELDS]
    paths = [f for f in wanted if f not in FACET_FIELDS]
    counts = await store.facets(summary, flt, FACET_VALUES) if summary else {}
    if paths:
        counts.update(await store.field_facets(paths, flt))
    return [
        Facet(
            field=f,
            values=[FacetValue(value=v, count=n) for v, n in counts[f][:FACET_VALUES]],
        )
        for f in wanted
    ]


async def resolve_entities_by_refs(info: Info, refs: list[str]) -> list[Entity | None]:
    """The entities ``refs`` name, in their order; null where a ref names no entity. One
    store call for them all (the loader's batch)."""
    if len(refs) > MAX_PAGE:
        raise UserInputError(
            f"refs: at most {MAX_PAGE} refs per call, got {len(refs)}; split the list"
        )
    keys = [parse_input_ref(ref, f"refs[{i}]").key for i, ref in enumerate(refs)]
    found = await info.context.loaders.entities.load_many(keys)
    return [to_graphql(stored) if stored else None for stored in found]
