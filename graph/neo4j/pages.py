"""A page of entities with the other ends of some of their relations attached, in one
statement: the listing of :func:`graph.neo4j.filters.list_query` with one ``COLLECT {}``
subquery per :class:`~graph.port.RelatedPlan`, evaluated for the page's entities only.

Each subquery walks one relationship type in one direction (forward for ``dependsOn``,
backward for its inverse ``dependencyOf``), keeps the other ends of the plan's kind (key
prefix), each once in key order, and returns the entity there (all of it, or only its ref,
kind, namespace and name, as a list, for a light plan), or null for a dangling ref. The
page's own entities are read whole, or as summaries (:data:`~graph.neo4j.rows.SUMMARY_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString

from catalog.relations import INVERSE_TYPES, RELATION_TYPES
from graph.errors import StoreError
from graph.neo4j.connection import Connection
from graph.neo4j.filters import entity_match, list_query
from graph.neo4j.rows import (
    ENTITY_FIELDS,
    SUMMARY_FIELDS,
    stored_entity,
    stored_time,
    summary_entity,
)
from graph.neo4j.schema import REL_TYPES
from graph.port import (
    MAX_RELATED_PLANS,
    Cursor,
    EntityFilter,
    Order,
    RelatedPage,
    RelatedPlan,
    StoredEntity,
    check_related_plans,
)

# Parameter names: literal text, one per plan.
_KIND_PARAMS: tuple[LiteralString, ...] = tuple(f"rel_kind_{i}" for i in range(MAX_RELATED_PLANS))

_FULL: LiteralString = (
    "t {.ref, .kind, .namespace, .name, .document, .hash, .source, .run_id, .error, "
    "updated_at: t.updated_at.epochSeconds * 1000000 + t.updated_at.microsecond}"
)
# Relationship types as Cypher text: the fixed names of catalog.relations, never input.
_REL_TYPES: dict[str, LiteralString] = dict(REL_TYPES)
# A list, not a map: the driver decodes no key names (a page has hundreds of light ends).
_LIGHT: LiteralString = "[t.ref, t.kind, t.namespace, t.name]"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _subquery(index: int, rel: LiteralString, forward: bool, light: bool) -> LiteralString:
    kind_param = _KIND_PARAMS[index]
    walk: LiteralString = (
        "(e)-[:" + rel + "]->(t:Ref)" if forward else "(e)<-[:" + rel + "]-(t:Ref)"
    )
    fields = _LIGHT if light else _FULL
    return (
        "COLLECT { MATCH "
        + walk
        + " WHERE $"
        + kind_param
        + " IS NULL OR t.key STARTS WITH $"
        + kind_param
        + " WITH DISTINCT t ORDER BY t.key RETURN CASE WHEN t:Entity THEN "
        + fields
        + " END }"
    )


def position(order: Order, after: Cursor | str | None) -> dict[str, Any]:
    """The ``$after_value`` / ``$after_key`` parameters for a cursor in ``order``."""
    if isinstance(after, str):
        after = Cursor(after.lower(), after.lower())
    if after is None:
        return {"after_value": None, "after_key": ""}
    value: Any = after.value
    try:
        if order is Order.UPDATED_AT:
            value = datetime.fromisoformat(str(value))
        elif order is Order.RELEVANCE:
            value = float(value)
    except ValueError:
        raise StoreError(
            f"cursor value {after.value!r} is not a position in {order.value} order; "
            "pass a cursor from an earlier page of the same listing"
        ) from None
    return {"after_value": value, "after_key": after.key}


def cursor_of(order: Order, value: Any, key: str) -> Cursor:
    if order is Order.UPDATED_AT:
        return Cursor(stored_time(value).isoformat(), key)
    return Cursor(float(value) if order is Order.RELEVANCE else str(value), key)


def _light_entity(e: Sequence[Any]) -> StoredEntity:
    return StoredEntity(
        ref=e[0],
        kind=e[1],
        namespace=e[2],
        name=e[3],
        document={},
        hash="",
        source="",
        run_id="",
        updated_at=_EPOCH,
    )


async def entity_page(
    db: Connection,
    flt: EntityFilter,
    first: int,
    plans: Sequence[RelatedPlan],
    after: Cursor | str | None = None,
    order: Order = Order.KEY,
    backward: bool = False,
    summary: bool = False,
) -> RelatedPage:
    check_related_plans(plans)
    match = entity_match(flt)
    if match is None:
        return RelatedPage([], has_next=False)
    if order is Order.RELEVANCE and flt.search is None:
        order = Order.KEY
    related: LiteralString = "["
    params: dict[str, Any] = {}
    for index, plan in enumerate(plans):
        forward = plan.type in RELATION_TYPES
        if not forward and plan.type not in INVERSE_TYPES:
            raise StoreError(f"unknown relation type {plan.type!r}")
        rel = _REL_TYPES[plan.type if forward else INVERSE_TYPES[plan.type]]
        params[_KIND_PARAMS[index]] = f"{plan.kind}:" if plan.kind else None
        related += (", " if index else "") + _subquery(index, rel, forward, plan.light)
    related += "]"
    fields = SUMMARY_FIELDS if summary else ENTITY_FIELDS
    query = list_query(match, order, backward, related if plans else "", fields)
    where = position(order, after)
    if backward and order is Order.KEY and after is None:
        where["after_key"] = "\U0010ffff"  # after every key
    statement = db.statement(query, limit=first + 1, **where, **match.params, **params)
    (row,) = await db.read(statement)
    rows: list[list[Any]] = row["page"]
    page = rows[:first][::-1] if backward else rows[:first]
    entity = summary_entity if summary else stored_entity
    entities = [entity(item[0]) for item in page]
    cursors = [cursor_of(order, item[1], e.key) for item, e in zip(page, entities, strict=True)]
    made: dict[tuple[bool, str], StoredEntity] = {}  # each target made once per page

    def target(t: Any, light: bool) -> StoredEntity | None:
        if t is None:
            return None
        ref = t[0] if light else t["ref"]
        found = made.get((light, ref))
        if found is None:
            found = made[light, ref] = _light_entity(t) if light else stored_entity(t)
        return found

    attached = [
        [
            [target(t, plan.light) for t in found]
            for plan, found in zip(plans, item[2] if plans else [], strict=True)
        ]
        for item in page
    ]
    return RelatedPage(entities, has_next=len(rows) > first, cursors=cursors, related=attached)
