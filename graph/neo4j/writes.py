"""Writes: ``UNWIND $rows ... MERGE`` on the constrained key, :data:`BATCH_SIZE` rows per
managed transaction; cleanup of what a run neither saw nor kept (entities still reached
become placeholders, bare placeholders go), and the all-or-nothing :func:`mutate`.

A first ingest (:func:`bulk_writers`) writes entities through :data:`BULK_WRITERS`
concurrent transactions of :data:`BULK_BATCH_SIZE` rows: one transaction keeps a single
server thread busy while the client builds the next rows, two keep both. Entity upserts
of different keys take no lock in common but the facet counts', which each takes only in its
last statement, in one order (:mod:`graph.neo4j.facet_counts`); relations share their ends,
so they stay one transaction at a time.

Every transaction that adds, changes or retires entities keeps the facet counts
(:class:`~graph.neo4j.facet_counts.Counting`): a first and a last statement around its own.

long: the write statements and the transactions that run them read best side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, LiteralString, TypeVar

from neo4j import AsyncManagedTransaction

from graph.neo4j.connection import Connection
from graph.neo4j.facet_counts import Counting
from graph.neo4j.rows import entity_row, lookup_keys
from graph.neo4j.schema import KIND_LABELS, REL_TYPES, rel_type
from graph.port import EntityRecord, RelationRecord, Scope, StaleSummary

T = TypeVar("T")

#: rows per write transaction
BATCH_SIZE = 2000
#: rows per entity transaction of a bulk load, and how many of those run at once
BULK_BATCH_SIZE = 1000
BULK_WRITERS = 2
#: how many transactions write entities at once in this task (:func:`bulk_writers`)
_WRITERS: ContextVar[int] = ContextVar("neo4j_entity_writers", default=1)


@contextmanager
def bulk_writers() -> Iterator[None]:
    """Inside (in this task and the tasks it starts), :func:`upsert_entities` writes through
    :data:`BULK_WRITERS` concurrent transactions."""
    token = _WRITERS.set(BULK_WRITERS)
    try:
        yield
    finally:
        _WRITERS.reset(token)


def _batches(rows: Sequence[T]) -> list[Sequence[T]]:
    return [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]


Statements = list[tuple[LiteralString, list[dict[str, Any]]]]


def _entity_statements(records: Sequence[EntityRecord]) -> Statements:
    """The upserts of ``records``: one statement per kind label, with that kind's rows."""
    by_label: dict[str | None, list[dict[str, Any]]] = {}
    for record in records:
        by_label.setdefault(KIND_LABELS.get(record.kind), []).append(entity_row(record))
    return [(UPSERT_ENTITIES[label], rows) for label, rows in by_label.items()]


def _relation_statements(records: Sequence[RelationRecord]) -> Statements:
    """The upserts of ``records``: one statement per relationship type, with its rows."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in _relation_rows(records):
        by_type.setdefault(row["type"], []).append(row)
    return [(UPSERT_RELATIONS[rel], rows) for rel, rows in by_type.items()]


def _relation_rows(records: Sequence[RelationRecord]) -> list[dict[str, str]]:
    return [
        {
            "source_key": r.source_ref.lower(),
            "target_key": r.target_ref.lower(),
            "source_ref": r.source_ref,
            "target_ref": r.target_ref,
            "type": rel_type(r.type),
        }
        for r in records
    ]


def _upsert_entities(labels: LiteralString) -> LiteralString:
    """Upsert ``$rows`` (key, labels, props), setting ``labels`` on each. An entity stored
    with the same document and source and no error is only restamped with the run id:
    rewriting it would change nothing but cost every index (full-text included) an update."""
    return (
        """
UNWIND $rows AS row
MERGE (n:Ref {key: row.key})
WITH n, row,
     (n:Entity AND n.document = row.props.document AND n.hash = row.props.hash
      AND n.source = $source AND n.error IS NULL) AS same,
     (n:Entity AND n.hash = row.props.hash) AS unchanged
SET n.run_id = $run_id
WITH n, row, unchanged WHERE NOT same
SET """
        + labels
        + """
SET n += row.props,
    n.source = $source, n.error = null,
    n.updated_at = CASE WHEN unchanged THEN n.updated_at ELSE $now END
"""
    )


#: label (None: the row's own ``labels``) -> the upsert statement
UPSERT_ENTITIES: dict[str | None, LiteralString] = {
    None: _upsert_entities("n:Entity, n:$(row.labels)"),
    **{label: _upsert_entities(f"n:Entity:{label}") for label in KIND_LABELS.values()},
}

#: relationship type -> the upsert of ``$rows`` of that type (one statement text per type:
#: a dynamic type, or a per-row choice among all types, made the MERGEs several times slower)
UPSERT_RELATIONS: dict[str, LiteralString] = {
    rel: "UNWIND $rows AS row\n"
    "MERGE (s:Ref {key: row.source_key}) ON CREATE SET s.ref = row.source_ref\n"
    "MERGE (t:Ref {key: row.target_key}) ON CREATE SET t.ref = row.target_ref\n"
    f"MERGE (s)-[r:{rel}]->(t)\n"
    "SET r.source = $source, r.run_id = $run_id,\n"
    "    r.source_ref = row.source_ref, r.target_ref = row.target_ref\n"
    for rel in REL_TYPES.values()
}

TOUCH_ENTITIES: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source
SET n.run_id = $run_id, n.error = $error
"""

TOUCH_RELATIONS: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys
MATCH (n)-[r]-() WHERE r.source = $source
SET r.run_id = $run_id
"""

STALE: LiteralString = """
MATCH (n:Entity) WHERE n.source = $source
RETURN count(n) AS total,
       collect(CASE WHEN n.run_id <> $run_id AND NOT n.key IN $kept
                    THEN [n.key, n.ref, n.kind] END) AS stale
"""

# Removes the relationships the caller matched as ``r``, then the placeholders they leave bare.
_DROP_RELATIONSHIPS: LiteralString = """
WITH r, startNode(r) AS a, endNode(r) AS b
DELETE r
WITH collect(a) + collect(b) AS ends
UNWIND ends AS n
WITH DISTINCT n
WHERE NOT n:Entity AND NOT EXISTS { (n)--() }
DELETE n
"""

# Retires the entities the caller matched as ``n``: a placeholder while relationships still
# reach it, otherwise gone. Yields one row per entity with its ``kind``.
_RETIRE_ENTITIES: LiteralString = """
WITH n, n.kind AS kind, [label IN labels(n) WHERE label <> 'Ref'] AS extra
REMOVE n:$(extra)
SET n = {key: n.key, ref: n.ref}
FOREACH (gone IN CASE WHEN EXISTS { (n)--() } THEN [] ELSE [n] END | DELETE gone)
"""

# The source's relationships a run neither stamped nor kept (leaving a kept entity); only
# the start node's key is read (a scope test per relationship read its label and source
# too: twice the database hits, 3.6 s for the 300k relationships of 100k unchanged entities).
_STALE_RELATIONSHIPS: LiteralString = (
    "CALL () {\n"
    + "\nUNION ALL\n".join(
        f"MATCH (n)-[r:{rel}]->() WHERE r.source = $source AND r.run_id <> $run_id "
        "AND NOT n.key IN $kept RETURN r"
        for rel in REL_TYPES.values()
    )
    + "\n}\n"
)

# Removes the given relations of ``$source`` (rows of source key, relationship type, target key).
REMOVE_RELATIONS: LiteralString = (
    """
UNWIND $rows AS row
MATCH (:Ref {key: row.source_key})-[r]->(:Ref {key: row.target_key})
WHERE type(r) = row.type AND r.source = $source
"""
    + _DROP_RELATIONSHIPS
)

# The source's entities a run neither stamped nor kept, as ``n``.
_STALE_ENTITIES: LiteralString = (
    "MATCH (n:Entity) WHERE n.source = $source AND n.run_id <> $run_id AND NOT n.key IN $kept\n"
)

DELETE_STALE: tuple[LiteralString, LiteralString] = (
    _STALE_RELATIONSHIPS + _DROP_RELATIONSHIPS,
    _STALE_ENTITIES + _RETIRE_ENTITIES + "RETURN kind, count(*) AS deleted",
)

# The entities of ``$source`` in ``$scope`` (a non-empty list of source paths) as ``n``,
# found from the scope through the source-path index: a scoped run touches only its scope.
_SCOPE_ENTITIES: LiteralString = """
CALL () {
  UNWIND $scope AS p
  MATCH (n:Entity) WHERE n.source_path = p
  RETURN n
  UNION
  UNWIND $scope AS p
  MATCH (n:Entity) WHERE n.source_path STARTS WITH p + '/'
  RETURN n
}
WITH n WHERE n.source = $source
"""

STALE_IN_SCOPE: LiteralString = (
    "CALL () { MATCH (n:Entity) WHERE n.source = $source RETURN count(n) AS total }\n"
    "CALL () {"
    + _SCOPE_ENTITIES
    + """  WITH n WHERE n.run_id <> $run_id AND NOT n.key IN $kept
  RETURN collect([n.key, n.ref, n.kind]) AS stale
}
RETURN total, stale
"""
)

_STALE_ENTITIES_IN_SCOPE: LiteralString = (
    _SCOPE_ENTITIES + "WITH n WHERE n.run_id <> $run_id AND NOT n.key IN $kept\n"
)

DELETE_STALE_IN_SCOPE: tuple[LiteralString, LiteralString] = (
    _SCOPE_ENTITIES + "MATCH (n)-[r]->() WHERE r.source = $source AND r.run_id <> $run_id "
    "AND NOT n.key IN $kept\n" + _DROP_RELATIONSHIPS,
    _STALE_ENTITIES_IN_SCOPE + _RETIRE_ENTITIES + "RETURN kind, count(*) AS deleted",
)

#: the keys of the entities :data:`DELETE_STALE` (or ``_IN_SCOPE``) retires, whose counts
#: (:mod:`graph.neo4j.facet_counts`) the cleanup takes back
STALE_KEYS: LiteralString = _STALE_ENTITIES + "RETURN collect(n.key) AS keys"
STALE_KEYS_IN_SCOPE: LiteralString = _STALE_ENTITIES_IN_SCOPE + "RETURN collect(n.key) AS keys"

DELETE_ENTITIES: tuple[LiteralString, LiteralString] = (
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    "MATCH (n)-[r]->() WHERE r.source = $source\n" + _DROP_RELATIONSHIPS,
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    + _RETIRE_ENTITIES
    + "RETURN count(*) AS deleted",
)


async def upsert_entities(
    db: Connection, source: str, run_id: str, records: Sequence[EntityRecord]
) -> None:
    now = datetime.now(UTC)
    writers = _WRITERS.get()
    if writers == 1 or len(records) <= BULK_BATCH_SIZE:
        for batch in _batches(records):
            await _write_entities(db, batch, source=source, run_id=run_id, now=now)
        return
    batches = [records[i : i + BULK_BATCH_SIZE] for i in range(0, len(records), BULK_BATCH_SIZE)]
    free = asyncio.Semaphore(writers)

    async def write(batch: Sequence[EntityRecord]) -> None:
        async with free:
            # the rows are built once a writer is free: while the other one is on the server
            await _write_entities(db, batch, source=source, run_id=run_id, now=now)

    tasks = [asyncio.ensure_future(write(batch)) for batch in batches]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # one failed: the others stop too
            task.cancel()


async def upsert_relations(
    db: Connection, source: str, run_id: str, records: Sequence[RelationRecord]
) -> None:
    for batch in _batches(records):
        await _write_all(db, _relation_statements(batch), source=source, run_id=run_id)


async def _write_entities(
    db: Connection, records: Sequence[EntityRecord], *, run_id: str, **params: Any
) -> None:
    """One write transaction upserting ``records`` and keeping the facet counts."""
    statements = _entity_statements(records)
    counting = Counting(db, written=[r.key for r in records], run_id=run_id)

    async def work(tx: AsyncManagedTransaction) -> None:
        await counting.before(tx)
        for query, rows in statements:
            await db.run(tx, query, rows=rows, run_id=run_id, **params)
        await counting.after(tx)

    await db.write(work)


async def _write_all(db: Connection, statements: Statements, **params: Any) -> None:
    """One write transaction running each statement with its rows and ``params``."""

    async def work(tx: AsyncManagedTransaction) -> None:
        for query, rows in statements:
            await db.run(tx, query, rows=rows, **params)

    await db.write(work)


async def touch(
    db: Connection, source: str, run_id: str, keys: Sequence[str], error: str | None
) -> None:
    if not keys:
        return
    params = {"keys": lookup_keys(keys), "source": source, "run_id": run_id}

    async def work(tx: AsyncManagedTransaction) -> None:
        await db.run(tx, TOUCH_ENTITIES, error=error, **params)
        await db.run(tx, TOUCH_RELATIONS, **params)

    await db.write(work)


async def stale(
    db: Connection, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
) -> StaleSummary:
    query = STALE_IN_SCOPE if scope else STALE
    params = {"source": source, "run_id": run_id, "scope": list(scope), "kept": lookup_keys(kept)}
    (row,) = await db.read(db.statement(query, **params))
    stale = sorted(row["stale"])
    kinds: dict[str, int] = {}
    for _, _, kind in stale:
        kinds[kind] = kinds.get(kind, 0) + 1
    return StaleSummary(row["total"], [ref for _, ref, _ in stale], kinds)


async def delete_stale(
    db: Connection, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
) -> dict[str, int]:
    drop, retire = DELETE_STALE_IN_SCOPE if scope else DELETE_STALE
    keys_query = STALE_KEYS_IN_SCOPE if scope else STALE_KEYS
    params = {"source": source, "run_id": run_id, "scope": list(scope), "kept": lookup_keys(kept)}

    async def work(tx: AsyncManagedTransaction) -> dict[str, int]:
        (stale,) = await db.run(tx, keys_query, **params)
        counting = Counting(db, removed=stale["keys"])
        await counting.before(tx)
        await db.run(tx, drop, **params)
        rows = await db.run(tx, retire, **params)
        await counting.after(tx)
        return {r["kind"]: r["deleted"] for r in rows}

    return await db.write(work)


async def delete_entities(db: Connection, source: str, keys: Sequence[str]) -> int:
    if not keys:
        return 0
    drop, retire = DELETE_ENTITIES
    params = {"keys": lookup_keys(keys), "source": source}
    counting = Counting(db, removed=params["keys"])

    async def work(tx: AsyncManagedTransaction) -> int:
        await counting.before(tx)
        await db.run(tx, drop, **params)
        (row,) = await db.run(tx, retire, **params)
        await counting.after(tx)
        return int(row["deleted"])

    return await db.write(work)


async def mutate(
    db: Connection,
    source: str,
    run_id: str,
    upserts: Sequence[EntityRecord],
    add_relations: Sequence[RelationRecord],
    remove_relations: Sequence[RelationRecord],
    delete_keys: Sequence[str],
) -> None:
    """One write transaction, in the SQLite adapter's order: upsert, remove relations,
    add relations, delete entities (each step in batches, and only when it has rows)."""
    entity_batches = [_entity_statements(batch) for batch in _batches(upserts)]
    add_batches = [_relation_statements(batch) for batch in _batches(add_relations)]
    remove_rows = [
        {"source_key": k, "type": t, "target_key": target}
        for k, t, target in dict.fromkeys(
            (r.source_ref.lower(), REL_TYPES[r.type], r.target_ref.lower())
            for r in remove_relations
            if r.type in REL_TYPES
        )
    ]
    keys = lookup_keys(delete_keys)
    now = datetime.now(UTC)
    counting = Counting(db, written=[r.key for r in upserts], run_id=run_id, removed=keys)

    async def work(tx: AsyncManagedTransaction) -> None:
        await counting.before(tx)
        stamp = {"source": source, "run_id": run_id}
        for statements in entity_batches:
            for query, rows in statements:
                await db.run(tx, query, rows=rows, now=now, **stamp)
        for batch in _batches(remove_rows):
            await db.run(tx, REMOVE_RELATIONS, rows=batch, source=source)
        for statements in add_batches:
            for query, rows in statements:
                await db.run(tx, query, rows=rows, **stamp)
        if keys:
            drop, retire = DELETE_ENTITIES
            await db.run(tx, drop, keys=keys, source=source)
            await db.run(tx, retire, keys=keys, source=source)
        await counting.after(tx)

    await db.write(work)
