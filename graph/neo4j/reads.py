"""Reads: entities and relations by key, and listings (keyset pages in every order, counts,
facets) through the queries :mod:`graph.neo4j.filters` builds. Reads return their rows
collected into one (``collect``): the async driver pays for each record it receives.

Listing orders and cursors are the SQLite adapter's: a cursor holds the sort value of the
last row (``toLower(name)``, kind, ``updated_at`` as ISO text, or the relevance of
:mod:`graph.search`, lower first) and its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from graph.conditions import PAIR_SEPARATOR, Match, kinds_only, resolve
from graph.errors import StoreError
from graph.neo4j.connection import Connection
from graph.neo4j.facet_counts import SUMMARY_PATHS, read_call, read_counts, read_params
from graph.neo4j.filters import (
    FACET_VALUES,
    count_query,
    entity_match,
    facets_query,
    field_facets_query,
    select_query,
)
from graph.neo4j.rows import ENTITY_FIELDS, lookup_keys, stored_entity
from graph.neo4j.schema import FACET_PROPERTIES, REL_NAMES, REL_TYPES
from graph.port import (
    FACET_FIELDS,
    MAX_ORDER_FIELDS,
    Direction,
    EntityFilter,
    EntityState,
    FieldCondition,
    FieldOrder,
    StoredEntity,
    StoredRelation,
)

# Reads return their rows collected into one (``collect``): the async driver pays for each
# record it receives, about as much as the server pays for the whole read of a page.
GET_ENTITIES: LiteralString = (
    "MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity RETURN collect("
    + ENTITY_FIELDS
    + ") AS entities"
)

# One row holding every state: the async driver pays per record received, far more than
# the server pays to collect them.
GET_ENTITY_STATES: LiteralString = """
MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity
RETURN collect([e.key, e.source, e.hash, e.error]) AS states
"""

# Relations come in the order of the SQLite adapter's (source key, type name, target key),
# sorted by the server: a team's page has 1,600 of them, and sorting by lowercased refs cost
# the API process a fifth of the request.
_GET_RELATIONS_TAIL: LiteralString = """
WHERE type(r) IN $types
WITH DISTINCT r ORDER BY startNode(r).key, $type_names[type(r)], endNode(r).key
RETURN collect([r.source_ref, type(r), r.target_ref, r.source,
                startNode(r):Entity, endNode(r):Entity]) AS relations
"""

GET_RELATIONS: dict[Direction, LiteralString] = {
    Direction.OUT: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]->()" + _GET_RELATIONS_TAIL,
    Direction.IN: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)<-[r]-()" + _GET_RELATIONS_TAIL,
    Direction.BOTH: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]-()" + _GET_RELATIONS_TAIL,
}


#: :data:`GET_ENTITIES` and :data:`GET_RELATIONS` of the same keys in one statement.
GET_ENTITIES_WITH_RELATIONS: dict[Direction, LiteralString] = {
    direction: "CALL () {\n"
    + GET_ENTITIES
    + "\n}\nCALL () {\n"
    + relations
    + "}\nRETURN entities, relations"
    for direction, relations in GET_RELATIONS.items()
}


def _order(order: Sequence[FieldOrder]) -> tuple[list[bool], list[str]]:
    """:func:`select_query`'s ``descending`` and ``paths``."""
    return [o.descending for o in order], [o.path.lower() for o in order]


def _relation_types(types: Sequence[str] | None) -> list[str]:
    if types is None:
        return list(REL_TYPES.values())
    return [REL_TYPES[t] for t in types if t in REL_TYPES]


def _stored_relations(rows: Sequence[Sequence[Any]]) -> list[StoredRelation]:
    """Relations read in order (``ORDER BY`` of :data:`_GET_RELATIONS_TAIL`)."""
    return [
        StoredRelation(source_ref, REL_NAMES[rel], target_ref, source, a, b)
        for source_ref, rel, target_ref, source, a, b in rows
    ]


async def get_entities(db: Connection, keys: Sequence[str]) -> dict[str, StoredEntity]:
    if not keys:
        return {}
    (row,) = await db.read(db.statement(GET_ENTITIES, keys=lookup_keys(keys)))
    return {entity.key: entity for entity in map(stored_entity, row["entities"])}


async def get_entity_states(db: Connection, keys: Sequence[str]) -> dict[str, EntityState]:
    if not keys:
        return {}
    (row,) = await db.read(db.statement(GET_ENTITY_STATES, keys=lookup_keys(keys)))
    return {key: EntityState(source, hash_, error) for key, source, hash_, error in row[0]}


async def get_relations(
    db: Connection, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
) -> list[StoredRelation]:
    if not keys:
        return []
    (row,) = await db.read(
        db.statement(
            GET_RELATIONS[direction],
            keys=lookup_keys(keys),
            types=_relation_types(types),
            type_names=REL_NAMES,
        )
    )
    return _stored_relations(row["relations"])


async def get_entities_with_relations(
    db: Connection, keys: Sequence[str], direction: Direction
) -> tuple[dict[str, StoredEntity], list[StoredRelation]]:
    if not keys:
        return {}, []
    (row,) = await db.read(
        db.statement(
            GET_ENTITIES_WITH_RELATIONS[direction],
            keys=lookup_keys(keys),
            types=_relation_types(None),
            type_names=REL_NAMES,
        )
    )
    entities = {entity.key: entity for entity in map(stored_entity, row["entities"])}
    return entities, _stored_relations(row["relations"])


async def has_entities(db: Connection) -> bool:
    """Whether the store holds any entity (a count-store read: no node is touched)."""
    (row,) = await db.read(db.statement("MATCH (e:Entity) RETURN count(e) > 0 AS any"))
    return bool(row["any"])


async def count_entities(db: Connection, flt: EntityFilter) -> int:
    match = entity_match(flt)
    if match is None:
        return 0
    (row,) = await db.read(db.statement(count_query(match), **match.params))
    return int(row["total"])


async def facets(
    db: Connection, fields: Sequence[str], flt: EntityFilter, limit: int = 100
) -> dict[str, list[tuple[str, int]]]:
    """One statement for all fields: kind, type and lifecycle from their counts
    (:mod:`graph.neo4j.facet_counts`) when ``flt`` asks for kinds at most; otherwise the
    matching entities are collected once and each field is counted over them in its own
    subquery."""
    unknown = [f for f in fields if f not in FACET_VALUES]
    if unknown:
        raise StoreError(f"unknown facet fields {unknown}; use {', '.join(FACET_FIELDS)}")
    wanted = list(dict.fromkeys(fields))
    match = entity_match(flt)
    if not wanted or match is None:
        return {name: [] for name in wanted}
    kinds = kinds_only(flt)
    if kinds is not None and all(name in SUMMARY_PATHS for name in wanted):
        paths = [SUMMARY_PATHS[name] for name in wanted]
        query = read_call(bool(kinds), summary=True) + "RETURN counts"
        (row,) = await db.read(db.statement(query, **read_params(paths, kinds)))
        by_path = read_counts(row, paths)
        return {name: by_path[SUMMARY_PATHS[name]][: max(limit, 0)] for name in wanted}
    query = facets_query(match, wanted)
    (row,) = await db.read(db.statement(query, limit=limit, **match.params))
    return {
        name: [(str(value), int(n)) for value, n in counts]
        for name, counts in zip(wanted, row.values(), strict=True)
    }


async def select_entities(
    db: Connection, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
) -> list[StoredEntity]:
    if len(order) > MAX_ORDER_FIELDS:
        raise StoreError(f"at most {MAX_ORDER_FIELDS} order fields, got {len(order)}")
    match = entity_match(flt)
    if match is None:
        return []
    query = select_query(match, *_order(order))
    prefixes = [o.path.lower() + PAIR_SEPARATOR for o in order]
    (row,) = await db.read(
        db.statement(
            query,
            order_prefixes=prefixes,
            offset=max(offset, 0),
            limit=max(limit, 0),
            **match.params,
        )
    )
    return [stored_entity(entity) for entity in row["page"]]


#: The relations (every type, either direction) of a page's entities, after its query.
_PAGE_RELATIONS_CALL: LiteralString = """
CALL (page) {
  UNWIND page AS x
  MATCH (n:Ref {key: toLower(x.ref)})-[r]-()
  WHERE type(r) IN $relation_types
  WITH DISTINCT r ORDER BY startNode(r).key, $type_names[type(r)], endNode(r).key
  RETURN collect([r.source_ref, type(r), r.target_ref, r.source,
                  startNode(r):Entity, endNode(r):Entity]) AS relations
}
"""
_PAGE_RELATIONS: LiteralString = _PAGE_RELATIONS_CALL + "RETURN page, relations"


async def select_entities_with_relations(
    db: Connection, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
) -> tuple[list[StoredEntity], list[StoredRelation]]:
    """:func:`select_entities` and the relations of its page in one statement."""
    if len(order) > MAX_ORDER_FIELDS:
        raise StoreError(f"at most {MAX_ORDER_FIELDS} order fields, got {len(order)}")
    match = entity_match(flt)
    if match is None:
        return [], []
    query = "CALL () {\n" + select_query(match, *_order(order)) + "\n}"
    (row,) = await db.read(
        db.statement(
            query + _PAGE_RELATIONS,
            relation_types=_relation_types(None),
            type_names=REL_NAMES,
            order_prefixes=[o.path.lower() + PAIR_SEPARATOR for o in order],
            offset=max(offset, 0),
            limit=max(limit, 0),
            **match.params,
        )
    )
    return [stored_entity(e) for e in row["page"]], _stored_relations(row["relations"])


async def query_entities(
    db: Connection,
    flt: EntityFilter,
    order: Sequence[FieldOrder],
    offset: int,
    limit: int,
    relations: bool,
) -> tuple[list[StoredEntity], list[StoredRelation] | None, int]:
    """:func:`select_entities` (:func:`select_entities_with_relations` when ``relations``)
    and :func:`count_entities` in one statement: one round trip, not two."""
    if len(order) > MAX_ORDER_FIELDS:
        raise StoreError(f"at most {MAX_ORDER_FIELDS} order fields, got {len(order)}")
    match = entity_match(flt)
    if match is None:
        return [], [] if relations else None, 0
    query = (
        "CALL () {\n"
        + count_query(match)
        + "\n}\nCALL () {\n"
        + select_query(match, *_order(order))
        + "\n}"
        + (
            _PAGE_RELATIONS_CALL + "RETURN page, relations, total"
            if relations
            else "\nRETURN page, total"
        )
    )
    params: dict[str, Any] = (
        {"relation_types": _relation_types(None), "type_names": REL_NAMES} if relations else {}
    )
    (row,) = await db.read(
        db.statement(
            query,
            order_prefixes=[o.path.lower() + PAIR_SEPARATOR for o in order],
            offset=max(offset, 0),
            limit=max(limit, 0),
            **params,
            **match.params,
        )
    )
    page = [stored_entity(e) for e in row["page"]]
    read = _stored_relations(row["relations"]) if relations else None
    return page, read, int(row["total"])


async def field_facets(
    db: Connection, paths: Sequence[str], flt: EntityFilter
) -> dict[str, list[tuple[str, int]]]:
    """One statement for every path: few-valued paths under a filter of kinds at most from
    their counts (:mod:`graph.neo4j.facet_counts`), the others over the matching entities
    (see :func:`graph.neo4j.filters.field_facets_query`)."""
    wanted = list(dict.fromkeys(paths))
    found: dict[str, list[tuple[str, int]]] = {path: [] for path in wanted}
    match = entity_match(flt)
    if not wanted or match is None:
        return found
    conditions = {path: resolve(FieldCondition(path)) for path in wanted}
    kinds = kinds_only(flt)
    indexed = {
        path: c.path
        for path, c in conditions.items()
        if kinds is not None and c.match is Match.FIELD and c.path in FACET_PROPERTIES
    }
    counted = list(dict.fromkeys(indexed.values()))
    rest = [path for path in wanted if path not in indexed]
    query: LiteralString = ""
    columns: list[LiteralString] = []
    params: dict[str, Any] = dict(match.params)
    if counted:
        query += read_call(bool(kinds))
        columns.append("counts")
        params.update(read_params(counted, kinds or ()))
    if rest:
        query += "CALL () {\n" + field_facets_query(match) + "\n}\n"
        columns.append("facets")
        params["facets"] = [
            {
                "match": conditions[path].match.value,
                "prefix": conditions[path].path + PAIR_SEPARATOR,
                "type": REL_TYPES.get(conditions[path].rel_type, ""),
            }
            for path in rest
        ]
    (row,) = await db.read(db.statement(query + "RETURN " + ", ".join(columns), **params))
    if counted:
        by_path = read_counts(row, counted)
        for path, field_path in indexed.items():
            found[path] = list(by_path[field_path])
    if rest:
        for index, value, n in row["facets"]:
            if value is not None:
                found[rest[index]].append((str(value), int(n)))
        for path in rest:
            found[path].sort(key=lambda pair: (-pair[1], pair[0]))
    return found
