"""What each file of a source produced (:class:`graph.port.SourceFiles`), one row per file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from graph.port import SourceFile
from graph.sqlite.connection import Connection
from graph.sqlite.rows import json_list, lookup_keys


async def source_files(db: Connection, source: str) -> dict[str, SourceFile]:
    sql = "SELECT path, blob, deps, keys, follows FROM source_files WHERE source = ?"

    def read(conn: sqlite3.Connection) -> dict[str, SourceFile]:
        return {
            path: SourceFile(
                path, blob, deps, tuple(orjson.loads(keys)), tuple(orjson.loads(follows))
            )
            for path, blob, deps, keys, follows in db.execute(conn, sql, (source,))
        }

    return await db.call(read)


async def update_source_files(
    db: Connection, source: str, upserts: Sequence[SourceFile], deletes: Sequence[str]
) -> None:
    if not upserts and not deletes:
        return
    rows = [
        (source, f.path, f.blob, f.deps, json_list(f.keys), json_list(f.follows)) for f in upserts
    ]

    def write(conn: sqlite3.Connection) -> None:
        if deletes:
            db.execute(
                conn,
                "DELETE FROM source_files WHERE source = ? "
                "AND path IN (SELECT value FROM json_each(?))",
                (source, json_list(deletes)),
            )
        db.executemany(
            conn,
            "INSERT INTO source_files (source, path, blob, deps, keys, follows) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, path) DO UPDATE SET "
            "blob = excluded.blob, deps = excluded.deps, keys = excluded.keys, "
            "follows = excluded.follows",
            rows,
        )

    await db.call(write)


async def absent_keys(db: Connection, source: str, keys: Sequence[str]) -> list[str]:
    """A set difference with the covering index ``entities_source`` (a look-up per key by
    primary key reads each row, document and all, to find its source: 4x slower for the
    100k keys of an unchanged source)."""
    if not keys:
        return []
    sql = "SELECT value FROM json_each(?) EXCEPT SELECT key FROM entities WHERE source = ?"
    params = (lookup_keys(keys), source)
    return await db.call(lambda conn: [r[0] for r in db.execute(conn, sql, params)])
