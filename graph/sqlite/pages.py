"""A page of entities with the other ends of some of their relations attached, in one
statement: the listing of :func:`graph.sqlite.reads.page_query` as a subquery, and per
:class:`~graph.port.RelatedPlan` one correlated ``json_group_array`` subselect over the
page's rows only (after the limit).

Each subselect reads one relation type in one direction (``source_key`` for a forward name
such as ``dependsOn``, ``target_key`` for its inverse ``dependencyOf``), keeps the other
ends of the plan's kind (a key range), in key order (each once: a relation's key is
``(source_key, type, target_key)``), and gives the entity there as a JSON array of the
columns :func:`graph.sqlite.rows.stored_entity` reads (ref, kind, namespace and name for a
light plan), or nulls for a dangling ref. The page's own entities are read whole, or as
summaries (:data:`~graph.sqlite.rows.SUMMARY_COLUMNS`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from catalog.relations import INVERSE_TYPES, RELATION_TYPES
from graph.errors import StoreError
from graph.port import (
    Cursor,
    EntityFilter,
    Order,
    RelatedPage,
    RelatedPlan,
    StoredEntity,
    check_related_plans,
)
from graph.sqlite.connection import Connection
from graph.sqlite.reads import page_query
from graph.sqlite.rows import ENTITY_COLUMNS, SUMMARY_COLUMNS, stored_entity, summary_entity

_FULL = (
    "t.ref, t.kind, t.namespace, t.name, t.document, t.hash, t.source, t.run_id, "
    "t.updated_at, t.error"
)
_LIGHT = "t.ref, t.kind, t.namespace, t.name"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _subselect(index: int, forward: bool, light: bool) -> str:
    me, other = ("source_key", "target_key") if forward else ("target_key", "source_key")
    return (
        f"(SELECT json_group_array(json_array({_LIGHT if light else _FULL})) FROM "
        f"(SELECT t.* FROM relations r LEFT JOIN entities t ON t.key = r.{other} "
        f"WHERE r.{me} = p.page_key AND r.type = :rel_type_{index} "
        f"AND (:rel_kind_{index} IS NULL OR (r.{other} > :rel_kind_{index} || ':' "
        f"AND r.{other} < :rel_kind_{index} || ';')) "
        f"ORDER BY r.{other}) t) AS related_{index}"
    )


def _entity(row: list[Any], light: bool) -> StoredEntity | None:
    if row[0] is None:
        return None
    if not light:
        return stored_entity(tuple(row))
    ref, kind, namespace, name = row
    return StoredEntity(ref, kind, namespace, name, {}, "", "", "", _EPOCH)


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
    own = SUMMARY_COLUMNS if summary else ENTITY_COLUMNS
    query = page_query(flt, first, after, order, backward, own)
    params = dict(query.params)
    columns = []
    for index, plan in enumerate(plans):
        forward = plan.type in RELATION_TYPES
        if not forward and plan.type not in INVERSE_TYPES:
            raise StoreError(f"unknown relation type {plan.type!r}")
        params[f"rel_type_{index}"] = plan.type if forward else INVERSE_TYPES[plan.type]
        params[f"rel_kind_{index}"] = plan.kind
        columns.append(_subselect(index, forward, plan.light))
    related = "".join(f", {column}" for column in columns)
    sql = f"SELECT p.*{related} FROM ({query.sql}) p ORDER BY {query.order_by}"
    width = len(plans)
    entity_of = summary_entity if summary else stored_entity

    def read(conn: sqlite3.Connection) -> RelatedPage:
        rows = db.execute(conn, sql, params).fetchall()
        page = rows[:first][::-1] if backward else rows[:first]
        entities, cursors, attached = [], [], []
        made: dict[tuple[bool, str | None], StoredEntity | None] = {}  # each target once

        def target(found: list[Any], light: bool) -> StoredEntity | None:
            key = (light, found[0])
            if key not in made:
                made[key] = _entity(found, light)
            return made[key]

        for row in page:
            entity = entity_of(row)
            entities.append(entity)
            cursors.append(Cursor(row[-1 - width], entity.key))
            attached.append(
                [
                    [target(found, plan.light) for found in orjson.loads(cell)]
                    for plan, cell in zip(plans, row[len(row) - width :], strict=True)
                ]
            )
        return RelatedPage(entities, has_next=len(rows) > first, cursors=cursors, related=attached)

    return await db.call(read)
