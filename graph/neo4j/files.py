"""What each file of a source produced (:class:`graph.port.SourceFiles`) as
``(:SourceFile {id, source, path, blob, deps, keys, follows})``, ``id`` being source and path.
``keys`` and ``follows`` are JSON text, not list properties (a first ingest writes a node per
file, and list properties cost the server more than a string); files remembered before
hold lists, read as they are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString, cast

import orjson

from graph.neo4j.connection import Connection
from graph.neo4j.rows import lookup_keys
from graph.port import SourceFile

READ: LiteralString = """
MATCH (f:SourceFile) WHERE f.source = $source
RETURN collect([f.path, f.blob, f.deps, f.keys, f.follows]) AS files
"""

DELETE: LiteralString = """
MATCH (f:SourceFile) WHERE f.id IN $ids
DELETE f
"""

UPSERT: LiteralString = """
UNWIND $rows AS row
MERGE (f:SourceFile {id: row.id})
SET f += row
"""

#: how many of ``$keys`` are entities of ``$source``: one pass over the source's index
#: entries (for the 100k keys of an unchanged source, 2-4x faster than a look-up per key)
HELD: LiteralString = """
MATCH (n:Entity) WHERE n.source = $source AND n.key IN $keys
RETURN count(n) AS held
"""

#: of ``$keys``, those that are not entities of ``$source``: one look-up of the key each
ABSENT: LiteralString = """
UNWIND $keys AS key
WITH key WHERE NOT EXISTS { MATCH (n:Ref {key: key}) WHERE n:Entity AND n.source = $source }
RETURN collect(key) AS absent
"""

#: rows per write
BATCH = 5000


def _list(value: Any) -> list[str]:
    """A stored list: JSON text, or (remembered before) a list property."""
    if isinstance(value, str):
        return cast(list[str], orjson.loads(value))
    return list(value or ())


def _id(source: str, path: str) -> str:
    return f"{source}\n{path}"


async def source_files(db: Connection, source: str) -> dict[str, SourceFile]:
    (row,) = await db.read(db.statement(READ, source=source))
    return {
        path: SourceFile(path, blob, deps, tuple(_list(keys)), tuple(_list(follows)))
        for path, blob, deps, keys, follows in row["files"]
    }


async def update_source_files(
    db: Connection, source: str, upserts: Sequence[SourceFile], deletes: Sequence[str]
) -> None:
    if deletes:
        ids = [_id(source, path) for path in deletes]
        await db.write(db.statement(DELETE, ids=ids))
    rows = [
        {
            "id": _id(source, f.path),
            "source": source,
            "path": f.path,
            "blob": f.blob,
            "deps": f.deps,
            "keys": orjson.dumps(list(f.keys)).decode(),
            "follows": orjson.dumps(list(f.follows)).decode(),
        }
        for f in upserts
    ]
    for start in range(0, len(rows), BATCH):
        await db.write(db.statement(UPSERT, rows=rows[start : start + BATCH]))


async def absent_keys(db: Connection, source: str, keys: Sequence[str]) -> list[str]:
    """Counted first: usually all are held, and the look-ups are not needed."""
    if not keys:
        return []
    wanted = lookup_keys(keys)
    (row,) = await db.read(db.statement(HELD, source=source, keys=wanted))
    if row["held"] == len(wanted):
        return []
    (row,) = await db.read(db.statement(ABSENT, source=source, keys=wanted))
    return list(row["absent"])
