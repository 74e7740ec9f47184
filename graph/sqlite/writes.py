"""Writes: upserting entities (and their search rows and searchable fields) and relations,
cleanup of what a run neither saw nor kept, and the all-or-nothing :func:`mutate`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from catalog.relations import RELATION_TYPES
from graph.errors import StoreError
from graph.port import EntityRecord, RelationRecord, Scope, StaleSummary
from graph.sqlite.connection import Connection
from graph.sqlite.rows import INSERT_FIELDS, field_rows, json_list, lookup_keys, search_id
from graph.sqlite.schema import COUNT_INSERTED_FIELDS

_UPSERT_ENTITY = """
    INSERT INTO entities (key, ref, kind, namespace, name, title, description, tags,
                          document, hash, source, run_id, updated_at, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
    ON CONFLICT (key) DO UPDATE SET
        ref = excluded.ref, kind = excluded.kind, namespace = excluded.namespace,
        name = excluded.name, title = excluded.title,
        description = excluded.description, tags = excluded.tags,
        document = excluded.document, source = excluded.source,
        run_id = excluded.run_id, error = NULL,
        updated_at = CASE WHEN entities.hash = excluded.hash
                          THEN entities.updated_at ELSE excluded.updated_at END,
        hash = excluded.hash
"""

_UPSERT_RELATION = """
    INSERT INTO relations (source_key, type, target_key, source_ref, target_ref, source, run_id)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source_key, type, target_key) DO UPDATE SET
        source_ref = excluded.source_ref, target_ref = excluded.target_ref,
        source = excluded.source, run_id = excluded.run_id
"""


FieldRows = list[tuple[str, str, str | None, str | None]]


def _entity_rows(
    source: str, run_id: str, records: Sequence[EntityRecord]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, ...]], FieldRows]:
    now = datetime.now(UTC).isoformat()
    rows: list[tuple[Any, ...]] = [
        (
            r.key,
            r.ref,
            r.kind,
            r.namespace,
            r.name,
            r.title,
            r.description,
            json_list(r.tags),
            r.document_json or orjson.dumps(r.document).decode(),
            r.hash,
            source,
            run_id,
            now,
        )
        for r in records
    ]
    search_rows: list[tuple[str, ...]] = [
        (r.key, r.name, r.title or "", r.description or "", " ".join(r.tags)) for r in records
    ]
    fields = [row for r in records for row in field_rows(r.key, r.name, r.namespace, r.document)]
    return rows, search_rows, fields


def _relation_rows(
    source: str, run_id: str, records: Sequence[RelationRecord]
) -> list[tuple[str, ...]]:
    unknown = {r.type for r in records} - set(RELATION_TYPES)
    if unknown:
        raise StoreError(f"unknown relation types {sorted(unknown)}; use catalog.relations types")
    return [
        (
            r.source_ref.lower(),
            r.type,
            r.target_ref.lower(),
            r.source_ref,
            r.target_ref,
            source,
            run_id,
        )
        for r in records
    ]


async def upsert_entities(
    db: Connection, source: str, run_id: str, records: Sequence[EntityRecord]
) -> None:
    if not records:
        return
    rows, search_rows, fields = _entity_rows(source, run_id, records)
    await db.call(lambda conn: _write_entities(db, conn, source, run_id, rows, search_rows, fields))


def _write_entities(
    db: Connection,
    conn: sqlite3.Connection,
    source: str,
    run_id: str,
    rows: Sequence[tuple[Any, ...]],
    search_rows: Sequence[tuple[str, ...]],
    fields: FieldRows,
) -> None:
    """Upsert ``rows`` (and their search rows and searchable fields). A row stored with the same document and
    source and no error is only restamped with the run id: rewriting it would change
    nothing but cost every index and the search table a delete and an insert."""
    if not rows:
        return
    stored = {
        key: (document, content_hash, stored_source, error)
        for key, document, content_hash, stored_source, error in db.execute(
            conn,
            "SELECT key, document, hash, source, error FROM entities "
            "WHERE key IN (SELECT value FROM json_each(?))",
            (json_list([r[0] for r in rows]),),
        )
    }
    same = {r[0] for r in rows if stored.get(r[0]) == (r[8], r[9], source, None)}
    if same:
        # The source guard: a key another process's source took meanwhile keeps its stamp.
        db.execute(
            conn,
            "UPDATE entities SET run_id = ? "
            "WHERE key IN (SELECT value FROM json_each(?)) AND source = ?",
            (run_id, json_list(sorted(same)), source),
        )
        rows = [r for r in rows if r[0] not in same]
        search_rows = [r for r in search_rows if r[0] not in same]
        fields = [f for f in fields if f[0] not in same]
    if not rows:
        return
    db.executemany(conn, _UPSERT_ENTITY, rows)
    _delete_search(db, conn, [r[0] for r in search_rows if r[0] in stored])
    replaced = [r[0] for r in rows if r[0] in stored]
    if replaced:
        db.execute(
            conn,
            "DELETE FROM entity_fields WHERE key IN (SELECT value FROM json_each(?))",
            (json_list(replaced),),
        )
    db.executemany(conn, INSERT_FIELDS, fields)
    db.execute(conn, COUNT_INSERTED_FIELDS, (json_list([r[0] for r in rows]),))
    db.executemany(
        conn,
        "INSERT INTO entity_search (rowid, key, name, title, description, tags) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(search_id(r[0]), *r) for r in search_rows],
    )


def _delete_search(db: Connection, conn: sqlite3.Connection, keys: Sequence[str]) -> None:
    """Remove search rows by rowid (a lookup), never by the unindexed key (a scan)."""
    if keys:
        db.executemany(
            conn, "DELETE FROM entity_search WHERE rowid = ?", [(search_id(k),) for k in keys]
        )


async def upsert_relations(
    db: Connection, source: str, run_id: str, records: Sequence[RelationRecord]
) -> None:
    if not records:
        return
    rows = _relation_rows(source, run_id, records)
    await db.call(lambda conn: db.executemany(conn, _UPSERT_RELATION, rows))


async def touch(
    db: Connection, source: str, run_id: str, keys: Sequence[str], error: str | None
) -> None:
    if not keys:
        return
    keys_json = lookup_keys(keys)

    def write(conn: sqlite3.Connection) -> None:
        db.execute(
            conn,
            "UPDATE entities SET run_id = ?, error = ? WHERE source = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            (run_id, error, source, keys_json),
        )
        db.execute(
            conn,
            "UPDATE relations SET run_id = ? WHERE source = ? AND "
            "(source_key IN (SELECT value FROM json_each(?)) "
            " OR target_key IN (SELECT value FROM json_each(?)))",
            (run_id, source, keys_json, keys_json),
        )

    await db.call(write)


def _scope_keys(scope: Scope) -> tuple[str, dict[str, str]]:
    """A query of the keys of the entities of ``:source`` inside ``scope`` (not empty), and
    its parameters: one index search of ``entities_source_path`` per path and its folder
    below, so a scoped run reads only its scope. (Not a join with ``json_each``: SQLite
    3.40's Bloom filter on an index of a generated column drops every row once the table
    is analysed.)"""
    parts: list[str] = []
    params: dict[str, str] = {}
    for index, path in enumerate(scope):
        params |= {f"p{index}": path, f"lo{index}": f"{path}/", f"hi{index}": f"{path}0"}
        parts.append(
            "SELECT key FROM entities INDEXED BY entities_source_path "
            f"WHERE source = :source AND source_path = :p{index}"
        )
        parts.append(
            "SELECT key FROM entities INDEXED BY entities_source_path WHERE source = :source "
            f"AND source_path >= :lo{index} AND source_path < :hi{index}"
        )
    return " UNION ".join(parts), params


#: not one of the keys a run keeps as they are (``:kept``, a JSON array): looked up in a
#: temporary index of them, built once per statement
_NOT_KEPT = "key NOT IN (SELECT value FROM json_each(:kept))"

#: The keys of the source's entities the run neither stamped nor kept. A set difference
#: of the covering index ``entities_source`` and ``:kept``: testing each row of the source
#: against ``:kept`` instead read every row's run id from the table (3 s for 100k).
_STALE_KEYS = (
    "SELECT key FROM entities WHERE source = :source AND run_id != :run_id "
    "EXCEPT SELECT value FROM json_each(:kept)"
)

#: The same for the source keys of the source's relations.
_STALE_RELATION_KEYS = (
    "SELECT source_key FROM relations WHERE source = :source AND run_id != :run_id "
    "EXCEPT SELECT value FROM json_each(:kept)"
)


def _stale_rows(
    db: Connection, conn: sqlite3.Connection, source: str, run_id: str, scope: Scope, kept: str
) -> list[Any]:
    """(ref, kind) of the entities of the source (in the scope) the run neither stamped nor
    kept."""
    params = {"source": source, "run_id": run_id, "kept": kept}
    if scope:
        keys, scoped = _scope_keys(scope)
        params |= scoped
        sql = (
            f"SELECT e.ref, e.kind FROM entities e WHERE e.key IN ({keys}) "
            f"AND +e.run_id != :run_id AND e.{_NOT_KEPT} ORDER BY e.key"
        )
    else:
        sql = f"SELECT e.ref, e.kind FROM entities e WHERE e.key IN ({_STALE_KEYS}) ORDER BY e.key"
    return db.execute(conn, sql, params).fetchall()


async def stale(
    db: Connection, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
) -> StaleSummary:
    kept_json = lookup_keys(kept)

    def read(conn: sqlite3.Connection) -> StaleSummary:
        total = db.execute(
            conn, "SELECT count(*) FROM entities WHERE source = ?", (source,)
        ).fetchone()[0]
        rows = _stale_rows(db, conn, source, run_id, scope, kept_json)
        kinds: dict[str, int] = {}
        for _, kind in rows:
            kinds[kind] = kinds.get(kind, 0) + 1
        return StaleSummary(total, [r[0] for r in rows], kinds)

    return await db.call(read)


async def delete_stale(
    db: Connection, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
) -> dict[str, int]:
    params = {"source": source, "run_id": run_id, "kept": lookup_keys(kept)}
    keys, scoped = _scope_keys(scope) if scope else ("", {})
    params |= scoped
    relations = (
        "DELETE FROM relations WHERE +source = :source AND +run_id != :run_id "
        f"AND source_key IN ({keys}) AND source_{_NOT_KEPT}"
        if scope  # relations leaving an entity of the scope (kept or about to go)
        else "DELETE FROM relations WHERE source = :source AND run_id != :run_id "
        f"AND source_key IN ({_STALE_RELATION_KEYS})"
    )

    def write(conn: sqlite3.Connection) -> dict[str, int]:
        if scope:
            db.execute(conn, relations, params)  # before the entities of the scope go
            entities = (
                f"DELETE FROM entities AS e WHERE e.key IN ({keys}) "
                f"AND +e.run_id != :run_id AND e.{_NOT_KEPT} RETURNING key, kind"
            )
        else:
            entities = f"DELETE FROM entities WHERE key IN ({_STALE_KEYS}) RETURNING key, kind"
        rows = db.execute(conn, entities, params).fetchall()
        _delete_search(db, conn, [r[0] for r in rows])
        if not scope:
            db.execute(conn, relations, params)
        kinds: dict[str, int] = {}
        for _, kind in rows:
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    return await db.call(write)


async def delete_entities(db: Connection, source: str, keys: Sequence[str]) -> int:
    if not keys:
        return 0
    keys_json = lookup_keys(keys)
    return await db.call(lambda conn: _delete_entities(db, conn, source, keys_json))


def _delete_entities(db: Connection, conn: sqlite3.Connection, source: str, keys_json: str) -> int:
    rows = db.execute(
        conn,
        "DELETE FROM entities WHERE source = ? AND key IN (SELECT value FROM json_each(?)) "
        "RETURNING key",
        (source, keys_json),
    ).fetchall()
    deleted = json_list([r[0] for r in rows])
    _delete_search(db, conn, [r[0] for r in rows])
    db.execute(
        conn,
        "DELETE FROM relations WHERE source = ? AND source_key IN (SELECT value FROM json_each(?))",
        (source, deleted),
    )
    return len(rows)


async def mutate(
    db: Connection,
    source: str,
    run_id: str,
    upserts: Sequence[EntityRecord],
    add_relations: Sequence[RelationRecord],
    remove_relations: Sequence[RelationRecord],
    delete_keys: Sequence[str],
) -> None:
    entity_rows, search_rows, fields = _entity_rows(source, run_id, upserts)
    add_rows = _relation_rows(source, run_id, add_relations)
    remove_rows = [
        (r.source_ref.lower(), r.type, r.target_ref.lower(), source) for r in remove_relations
    ]
    delete_json = lookup_keys(delete_keys)

    def write(conn: sqlite3.Connection) -> None:
        if entity_rows:
            _write_entities(db, conn, source, run_id, entity_rows, search_rows, fields)
        if remove_rows:
            db.executemany(
                conn,
                "DELETE FROM relations WHERE source_key = ? AND type = ? AND target_key = ? "
                "AND source = ?",
                remove_rows,
            )
        if add_rows:
            db.executemany(conn, _UPSERT_RELATION, add_rows)
        if delete_keys:
            _delete_entities(db, conn, source, delete_json)

    await db.call(write)
