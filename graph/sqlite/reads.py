"""Reads: entities and relations by key, and listings — an :class:`~graph.port.EntityFilter`
as SQL, keyset pages in every :class:`~graph.port.Order`, counts and FTS5 search (facets:
:mod:`graph.sqlite.facets`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graph.conditions import (
    Condition,
    Match,
    required_kinds,
    resolve_sets,
)
from graph.errors import StoreError
from graph.port import (
    MAX_ORDER_FIELDS,
    Cursor,
    Direction,
    EntityFilter,
    EntityState,
    FieldOrder,
    Order,
    Page,
    StoredEntity,
    StoredRelation,
)
from graph.search import fts5_query
from graph.sqlite.connection import Connection
from graph.sqlite.rows import ENTITY_COLUMNS, json_list, lookup_keys, stored_entity
from graph.sqlite.search import RELEVANCE, search_sql

#: Sort expression and direction of each order (the key always breaks ties, ascending).
_ORDER_VALUES: dict[Order, tuple[str, str]] = {
    Order.KEY: ("e.key", "ASC"),
    Order.NAME: ("lower(e.name)", "ASC"),
    Order.KIND: ("e.kind", "ASC"),
    Order.UPDATED_AT: ("e.updated_at", "DESC"),
    Order.RELEVANCE: ("", "ASC"),  # graph.sqlite.search.RELEVANCE
}


def entities_read(
    db: Connection, keys: Sequence[str]
) -> Callable[[sqlite3.Connection], dict[str, StoredEntity]]:
    """:func:`get_entities` as a read to run in a :meth:`Connection.call` of its own."""
    keys_json = lookup_keys(keys)

    def read(conn: sqlite3.Connection) -> dict[str, StoredEntity]:
        rows = db.execute(
            conn,
            f"SELECT {ENTITY_COLUMNS} FROM entities e "
            "WHERE e.key IN (SELECT value FROM json_each(?))",
            (keys_json,),
        ).fetchall()
        return {entity.key: entity for entity in map(stored_entity, rows)}

    return read


async def get_entities(db: Connection, keys: Sequence[str]) -> dict[str, StoredEntity]:
    if not keys:
        return {}
    return await db.call(entities_read(db, keys))


async def get_entity_states(db: Connection, keys: Sequence[str]) -> dict[str, EntityState]:
    if not keys:
        return {}
    keys_json = lookup_keys(keys)

    def read(conn: sqlite3.Connection) -> dict[str, EntityState]:
        rows = db.execute(
            conn,
            "SELECT key, source, hash, error FROM entities "
            "WHERE key IN (SELECT value FROM json_each(?))",
            (keys_json,),
        ).fetchall()
        return {key: EntityState(source, hash_, error) for key, source, hash_, error in rows}

    return await db.call(read)


async def get_relations(
    db: Connection, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
) -> list[StoredRelation]:
    if not keys:
        return []
    return await db.call(_relations_read(db, keys, direction, types))


async def get_entities_with_relations(
    db: Connection, keys: Sequence[str], direction: Direction
) -> tuple[dict[str, StoredEntity], list[StoredRelation]]:
    """Both reads in one call on the database thread."""
    if not keys:
        return {}, []
    entities = entities_read(db, keys)
    relations = _relations_read(db, keys, direction, None)
    return await db.call(lambda conn: (entities(conn), relations(conn)))


def _relations_read(
    db: Connection, keys: Sequence[str], direction: Direction, types: Sequence[str] | None
) -> Callable[[sqlite3.Connection], list[StoredRelation]]:
    keys_json = lookup_keys(keys)
    types_json = json_list(types) if types is not None else None
    where = {
        Direction.OUT: "r.source_key IN (SELECT value FROM json_each(:keys))",
        Direction.IN: "r.target_key IN (SELECT value FROM json_each(:keys))",
        Direction.BOTH: "(r.source_key IN (SELECT value FROM json_each(:keys)) "
        "OR r.target_key IN (SELECT value FROM json_each(:keys)))",
    }[direction]
    sql = (
        "SELECT r.source_ref, r.type, r.target_ref, r.source, "
        "EXISTS (SELECT 1 FROM entities s INDEXED BY entities_key_ref WHERE s.key = r.source_key), "
        "EXISTS (SELECT 1 FROM entities t INDEXED BY entities_key_ref WHERE t.key = r.target_key) "
        f"FROM relations r WHERE {where} "
        "AND (:types IS NULL OR r.type IN (SELECT value FROM json_each(:types))) "
        "ORDER BY r.source_key, r.type, r.target_key"
    )

    def read(conn: sqlite3.Connection) -> list[StoredRelation]:
        rows = db.execute(conn, sql, {"keys": keys_json, "types": types_json}).fetchall()
        return [StoredRelation(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows]

    return read


def _filter_sql(flt: EntityFilter) -> tuple[str, dict[str, Any]]:
    clauses = ["1 = 1"]
    params: dict[str, Any] = {}
    if len(flt.kinds) == 1:
        # equality (not IN) lets the (kind, key) index give a page in key order
        clauses.append("e.kind = :kind")
        params["kind"] = flt.kinds[0].lower()
    elif flt.kinds:
        clauses.append("e.kind IN (SELECT value FROM json_each(:kinds))")
        params["kinds"] = json_list([k.lower() for k in flt.kinds])
    if flt.namespace is not None:
        clauses.append("e.namespace = :namespace COLLATE NOCASE")
        params["namespace"] = flt.namespace
    if flt.owner_keys:
        clauses.append(
            "EXISTS (SELECT 1 FROM relations o WHERE o.source_key = e.key "
            "AND o.type = 'ownedBy' AND o.target_key IN (SELECT value FROM json_each(:owners)))"
        )
        params["owners"] = lookup_keys(flt.owner_keys)
    if flt.tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(e.tags) t WHERE t.value = :tag)")
        params["tag"] = flt.tag.lower()
    if flt.source is not None:
        clauses.append("e.source = :source")
        params["source"] = flt.source
    if flt.types:
        clauses.append("e.spec_type IN (SELECT value FROM json_each(:types))")
        params["types"] = json_list(flt.types)
    if flt.lifecycles:
        clauses.append("e.lifecycle IN (SELECT value FROM json_each(:lifecycles))")
        params["lifecycles"] = json_list(flt.lifecycles)
    if flt.system_keys:
        clauses.append(
            "EXISTS (SELECT 1 FROM relations p WHERE p.source_key = e.key "
            "AND p.type = 'partOf' AND p.target_key IN (SELECT value FROM json_each(:systems)))"
        )
        params["systems"] = lookup_keys(flt.system_keys)
    if flt.annotation is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(e.document, '$.metadata.annotations') a "
            "WHERE a.key = :annotation_key AND (:annotation_value IS NULL "
            "OR a.value = :annotation_value))"
        )
        params["annotation_key"], params["annotation_value"] = flt.annotation
    if flt.keys:
        clauses.append("e.key IN (SELECT value FROM json_each(:only_keys))")
        params["only_keys"] = lookup_keys(flt.keys)
    if flt.any_of:
        # with a text filter, the text's key list drives the query (it names few entities,
        # kind=component hundreds): the sets' key lists are only tested (``+e.key``)
        key = "+e.key" if flt.text is not None else "e.key"
        clauses.append(_sets_sql(resolve_sets(flt.any_of), params, key))
    if flt.text is not None:
        clauses.append(
            "e.key IN (SELECT f.key FROM entity_fields f "
            "WHERE f.path IN (SELECT value FROM json_each(:text_paths)) "
            "AND instr(f.value, :text_term) > 0)"
        )
        params["text_paths"] = json_list([p.lower() for p in flt.text.paths])
        params["text_term"] = flt.text.term.lower()
    if flt.search is not None:
        clauses.append(search_sql(flt.search, flt.kinds, params))
    return " AND ".join(clauses), params


def _condition_sql(
    condition: Condition, name: str, params: dict[str, Any], key: str = "e.key"
) -> str:
    """One condition as SQL over ``entities e``; its values are the parameters ``:<name>*``;
    ``key`` is how it names the entity's key (``+e.key``: not through an index)."""
    sql = _holds_sql(condition, name, params, key)
    return f"NOT ({sql})" if condition.negated else sql


def _holds_sql(condition: Condition, name: str, params: dict[str, Any], key: str) -> str:
    if condition.match is Match.NEVER:
        return "0 = 1"
    values = f"(SELECT value FROM json_each(:{name}_values))"
    params[f"{name}_values"] = json_list(condition.values)
    if condition.match is Match.FIELD:
        params[f"{name}_path"] = condition.path
        has_value = f" AND f.value IN {values}" if condition.values else ""
        return (
            f"{key} IN (SELECT f.key FROM entity_fields f WHERE f.path = :{name}_path{has_value})"
        )
    params[f"{name}_type"] = condition.rel_type
    near, far = ("source_key", "target_key")
    if condition.match is Match.IN:
        near, far = far, near
    if condition.values:
        # from the given far ends through their index (``relations_target`` or the primary
        # key), not a probe per entity: Backstage's filter=relations.ownedBy=group:x
        return (
            f"{key} IN (SELECT r.{near} FROM relations r "
            f"WHERE r.{far} IN {values} AND r.type = :{name}_type)"
        )
    return f"EXISTS (SELECT 1 FROM relations r WHERE r.{near} = e.key AND r.type = :{name}_type)"


def _sets_sql(sets: list[list[Condition]], params: dict[str, Any], key: str = "e.key") -> str:
    """Backstage's filter sets: an OR of ANDs (an empty set holds for every entity)."""
    kinds = required_kinds(sets)
    alternatives = [
        "("
        + " AND ".join(
            ["1 = 1"]
            + [_condition_sql(c, f"c{i}_{j}", params, key) for j, c in enumerate(conditions)]
        )
        + ")"
        for i, conditions in enumerate(sets)
    ]
    head = ""
    if kinds is not None:
        # a condition the (kind, key) index answers, implied by the sets
        head = "e.kind IN (SELECT value FROM json_each(:set_kinds)) AND "
        params["set_kinds"] = json_list(kinds)
    return head + "(" + " OR ".join(alternatives) + ")"


@dataclass(frozen=True)
class PageQuery:
    """A listing page as SQL: the entity columns (those :func:`page_query` was given), then
    ``page_key`` and ``sort_value``, up to ``first + 1`` rows in listing order
    (``order_by``, over those two column names)."""

    sql: str
    params: dict[str, Any]
    order_by: str


def page_query(
    flt: EntityFilter,
    first: int,
    after: Cursor | str | None = None,
    order: Order = Order.KEY,
    backward: bool = False,
    columns: str = ENTITY_COLUMNS,
) -> PageQuery:
    where, params = _filter_sql(flt)
    search = fts5_query(flt.search) if flt.search is not None else None
    if order is Order.RELEVANCE and search is None:
        order = Order.KEY
    if isinstance(after, str):
        after = Cursor(after.lower(), after.lower())
    value, direction = _ORDER_VALUES[order]
    join = ""
    if order is Order.RELEVANCE:
        value = RELEVANCE
        join = (
            "LEFT JOIN (SELECT key AS hit_key, bm25(entity_search, 0.0, 10.0, 5.0, 1.0, 3.0) "
            "AS rank FROM entity_search WHERE entity_search MATCH :search) s "
            "ON s.hit_key = e.key"
        )
    compare = "<" if direction == "DESC" else ">"
    key_compare, key_direction = ">", "ASC"
    if backward:  # read the listing the other way from the cursor, then turn the page round
        compare = "<" if compare == ">" else ">"
        direction = "ASC" if direction == "DESC" else "DESC"
        key_compare, key_direction = "<", "DESC"
    params.update(
        after_value=after.value if after else None,
        after_key=after.key if after else None,
        limit=first + 1,
    )
    sql = (
        f"SELECT {columns}, e.key AS page_key, {value} AS sort_value "
        f"FROM entities e {join} "
        f"WHERE {where} AND (:after_value IS NULL OR {value} {compare} :after_value "
        f"OR ({value} = :after_value AND e.key {key_compare} :after_key)) "
        f"ORDER BY {value} {direction}, e.key {key_direction} LIMIT :limit"
    )
    return PageQuery(sql, params, f"sort_value {direction}, page_key {key_direction}")


async def list_entities(
    db: Connection,
    flt: EntityFilter,
    first: int,
    after: Cursor | str | None = None,
    order: Order = Order.KEY,
    backward: bool = False,
) -> Page:
    query = page_query(flt, first, after, order, backward)
    sql, params = query.sql, query.params

    def read(conn: sqlite3.Connection) -> Page:
        rows = db.execute(conn, sql, params).fetchall()[: first + 1]
        page = rows[:first][::-1] if backward else rows[:first]
        entities = [stored_entity(r) for r in page]
        cursors = [Cursor(r[-1], e.key) for r, e in zip(page, entities, strict=True)]
        return Page(entities, has_next=len(rows) > first, cursors=cursors)

    return await db.call(read)


async def count_entities(db: Connection, flt: EntityFilter) -> int:
    where, params = _filter_sql(flt)
    sql = f"SELECT count(*) FROM entities e WHERE {where}"

    def read(conn: sqlite3.Connection) -> int:
        return int(db.execute(conn, sql, params).fetchone()[0])

    return await db.call(read)


async def select_entities(
    db: Connection, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
) -> list[StoredEntity]:
    if len(order) > MAX_ORDER_FIELDS:
        raise StoreError(f"at most {MAX_ORDER_FIELDS} order fields, got {len(order)}")
    where, params = _filter_sql(flt)
    columns, sorts = [], []
    for i, field_order in enumerate(order):
        params[f"order_{i}"] = field_order.path.lower()
        columns.append(
            # by the entity's own rows (the path index would scan every entity's per row)
            f", (SELECT min(f.value) FROM entity_fields f INDEXED BY entity_fields_key "
            f"WHERE f.key = e.key AND f.path = :order_{i}) AS sort_{i}"
        )
        sorts.append(f"sort_{i} IS NULL, sort_{i} {'DESC' if field_order.descending else 'ASC'}, ")
    params.update(offset=max(offset, 0), limit=max(limit, 0))
    sql = (
        f"SELECT {ENTITY_COLUMNS}{''.join(columns)} FROM entities e WHERE {where} "
        f"ORDER BY {''.join(sorts)}e.key LIMIT :limit OFFSET :offset"
    )

    def read(conn: sqlite3.Connection) -> list[StoredEntity]:
        return [stored_entity(r) for r in db.execute(conn, sql, params).fetchall()]

    return await db.call(read)


async def select_entities_with_relations(
    db: Connection, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
) -> tuple[list[StoredEntity], list[StoredRelation]]:
    """:func:`select_entities`, then the relations of its page (two calls: SQLite answers
    in process, a round trip costs nothing)."""
    page = await select_entities(db, flt, order, offset, limit)
    keys = list(dict.fromkeys(e.key for e in page))
    return page, await get_relations(db, keys, Direction.BOTH) if keys else []


async def query_entities(
    db: Connection,
    flt: EntityFilter,
    order: Sequence[FieldOrder],
    offset: int,
    limit: int,
    relations: bool,
) -> tuple[list[StoredEntity], list[StoredRelation] | None, int]:
    """The page (with its relations when ``relations``), then the count (calls in turn:
    SQLite answers in process)."""
    read: list[StoredRelation] | None = None
    if relations:
        page, read = await select_entities_with_relations(db, flt, order, offset, limit)
    else:
        page = await select_entities(db, flt, order, offset, limit)
    return page, read, await count_entities(db, flt)
