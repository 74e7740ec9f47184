"""Recorded entity changes (:class:`graph.port.ChangeLog`) as ``(:EntityChange {id, seq, at,
source, run_id, ref, kind, change, fields, before, after})``; ``seq`` comes from one
``(:ChangeSeq)`` counter taken in the same statement, so it follows recording order across
processes. ``before``/``after`` are JSON text (Neo4j properties cannot hold maps), and so
is ``fields``: a first ingest records every entity with all its paths, and as a list
property they cost the server several times what one string does (changes recorded
before were lists, read as they are)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString, cast

import orjson

from catalog.changes import ChangeType, EntityChange
from graph.neo4j.connection import Connection

RECORD: LiteralString = """
MERGE (s:ChangeSeq {name: 'changes'})
SET s.value = coalesce(s.value, 0) + size($rows)
WITH s.value - size($rows) AS base
UNWIND range(0, size($rows) - 1) AS i
WITH base, i, $rows[i] AS row
MERGE (c:EntityChange {id: row.id})
ON CREATE SET c = row, c.seq = base + i + 1
"""
# MERGE on the id, not CREATE: a managed write transaction is retried when the connection
# fails after the server committed (a timed-out read under load), and the retry must not
# fail on the id's uniqueness constraint or record the change twice.


def _match(backward: bool) -> LiteralString:
    """The changes after ``$after_id`` (``backward``: before it) matching the filters."""
    if backward:
        start: LiteralString = "WITH CASE WHEN $after_id IS NULL THEN NULL ELSE a.seq END AS at_seq"
        compare: LiteralString = "($after_id IS NULL OR c.seq < at_seq)"
    else:
        start = "WITH CASE WHEN $after_id IS NULL THEN 0 ELSE coalesce(a.seq, 0) END AS after_seq"
        compare = "c.seq > after_seq"
    return (
        """
OPTIONAL MATCH (a:EntityChange {id: $after_id})
"""
        + start
        + """
MATCH (c:EntityChange)
WHERE """
        + compare
        + """
  AND ($since IS NULL OR c.at >= $since)
  AND ($ref IS NULL OR c.ref = $ref)
  AND ($kind IS NULL OR c.kind = $kind)
  AND ($source IS NULL OR c.source = $source)
"""
    )


_MATCH = _match(False)

LIST: dict[bool, LiteralString] = {
    False: _MATCH + "RETURN c {.*} AS c ORDER BY c.seq LIMIT $limit\n",
    True: _match(True) + "RETURN c {.*} AS c ORDER BY c.seq DESC LIMIT $limit\n",
}

COUNT: LiteralString = _MATCH + "RETURN count(c) AS n"

PRUNE: LiteralString = """
MATCH (c:EntityChange) WHERE c.at < $before
DELETE c
RETURN count(*) AS n
"""


LATEST: LiteralString = """
UNWIND $refs AS r
CALL (r) {
  MATCH (c:EntityChange {ref: r})
  RETURN c ORDER BY c.seq DESC LIMIT $limit
}
RETURN c {.*} AS c ORDER BY c.ref, c.seq DESC
"""

READ_CURSOR: LiteralString = "MATCH (f:FeedCursor {name: $name}) RETURN f.position AS position"

SAVE_CURSOR: LiteralString = "MERGE (f:FeedCursor {name: $name}) SET f.position = $position"


def _fields(value: Any) -> list[str]:
    """Stored ``fields``: JSON text, or (recorded before) a list."""
    if isinstance(value, str):
        return cast(list[str], orjson.loads(value))
    return list(value or ())


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _row(change: EntityChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "source": change.source,
        "run_id": change.run_id,
        "ref": change.ref,
        "kind": change.kind,
        "change": change.change.value,
        "fields": orjson.dumps(list(change.fields)).decode(),
        "before": _json(change.before),
        "after": _json(change.after),
    }


def _change(props: dict[str, Any]) -> EntityChange:
    before, after = props.get("before"), props.get("after")
    return EntityChange(
        id=props["id"],
        at=datetime.fromisoformat(props["at"]),
        source=props["source"],
        run_id=props.get("run_id"),
        ref=props["ref"],
        kind=props["kind"],
        change=ChangeType(props["change"]),
        fields=tuple(_fields(props.get("fields"))),
        before=None if before is None else orjson.loads(before),
        after=None if after is None else orjson.loads(after),
    )


async def record_changes(db: Connection, changes: Sequence[EntityChange]) -> None:
    if changes:
        await db.write(db.statement(RECORD, rows=[_row(c) for c in changes]))


def _params(
    since: datetime | None,
    after_id: str | None,
    ref: str | None,
    kind: str | None,
    source: str | None,
) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "after_id": after_id,
        "ref": ref,
        "kind": kind,
        "source": source,
    }


async def changes(
    db: Connection,
    *,
    since: datetime | None = None,
    after_id: str | None = None,
    ref: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    limit: int = 100,
    backward: bool = False,
) -> list[EntityChange]:
    params = _params(since, after_id, ref, kind, source)
    records = await db.read(db.statement(LIST[backward], limit=limit, **params))
    found = [_change(dict(r["c"])) for r in records]
    return found[::-1] if backward else found


async def count_changes(
    db: Connection,
    *,
    since: datetime | None = None,
    ref: str | None = None,
    kind: str | None = None,
    source: str | None = None,
) -> int:
    (row,) = await db.read(db.statement(COUNT, **_params(since, None, ref, kind, source)))
    return int(row["n"])


async def latest_changes(
    db: Connection, refs: Sequence[str], limit: int
) -> dict[str, list[EntityChange]]:
    if not refs:
        return {}
    found: dict[str, list[EntityChange]] = {}
    for record in await db.read(db.statement(LATEST, refs=list(refs), limit=limit)):
        change = _change(dict(record["c"]))
        found.setdefault(change.ref, []).append(change)
    return found


async def feed_cursor(db: Connection, name: str) -> str | None:
    rows = await db.read(db.statement(READ_CURSOR, name=name))
    return str(rows[0]["position"]) if rows else None


async def save_feed_cursor(db: Connection, name: str, position: str) -> None:
    await db.write(db.statement(SAVE_CURSOR, name=name, position=position))


async def prune_changes(db: Connection, before: datetime) -> int:
    (row,) = await db.write(db.statement(PRUNE, before=before.isoformat()))
    return int(row["n"])
