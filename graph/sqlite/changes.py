"""Recorded entity changes (:class:`graph.port.ChangeLog`), one row per change in recording
order (``seq``), so a poller reads only what follows the last id it saw."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from catalog.changes import ChangeType, EntityChange
from graph.sqlite.connection import Connection

_COLUMNS = "id, at, source, run_id, ref, kind, change, fields, before, after"


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _row(change: EntityChange) -> tuple[Any, ...]:
    return (
        change.id,
        change.at.isoformat(),
        change.source,
        change.run_id,
        change.ref,
        change.kind,
        change.change.value,
        _json(list(change.fields)),
        _json(change.before),
        change.after_json or _json(change.after),
    )


def _change(row: Sequence[Any]) -> EntityChange:
    id_, at, source, run_id, ref, kind, change, fields, before, after = row
    return EntityChange(
        id=id_,
        at=datetime.fromisoformat(at),
        source=source,
        run_id=run_id,
        ref=ref,
        kind=kind,
        change=ChangeType(change),
        fields=tuple(orjson.loads(fields)),
        before=None if before is None else orjson.loads(before),
        after=None if after is None else orjson.loads(after),
    )


def _where(
    since: datetime | None,
    after_id: str | None,
    ref: str | None,
    kind: str | None,
    source: str | None,
    backward: bool = False,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("at >= ?")
        params.append(since.isoformat())
    if after_id is not None:
        # Forward from a change pruned since (retention): all that is left is newer.
        at_seq = "(SELECT seq FROM entity_changes WHERE id = ?)"
        clauses.append(f"seq < {at_seq}" if backward else f"seq > coalesce({at_seq}, 0)")
        params.append(after_id)
    for column, value in (("ref", ref), ("kind", kind), ("source", source)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


async def record_changes(db: Connection, changes: Sequence[EntityChange]) -> None:
    if not changes:
        return
    rows = [_row(c) for c in changes]

    def write(conn: sqlite3.Connection) -> None:
        db.executemany(
            conn,
            f"INSERT OR IGNORE INTO entity_changes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    await db.call(write)


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
    """``backward`` reads newest first from the position, then turns the page round."""
    where, params = _where(since, after_id, ref, kind, source, backward)
    direction = "DESC" if backward else "ASC"
    sql = f"SELECT {_COLUMNS} FROM entity_changes{where} ORDER BY seq {direction} LIMIT ?"

    def read(conn: sqlite3.Connection) -> list[EntityChange]:
        found = [_change(row) for row in db.execute(conn, sql, (*params, limit))]
        return found[::-1] if backward else found

    return await db.call(read)


async def count_changes(
    db: Connection,
    *,
    since: datetime | None = None,
    ref: str | None = None,
    kind: str | None = None,
    source: str | None = None,
) -> int:
    where, params = _where(since, None, ref, kind, source)

    def read(conn: sqlite3.Connection) -> int:
        (count,) = db.execute(
            conn, f"SELECT count(*) FROM entity_changes{where}", params
        ).fetchone()
        return int(count)

    return await db.call(read)


async def latest_changes(
    db: Connection, refs: Sequence[str], limit: int
) -> dict[str, list[EntityChange]]:
    if not refs:
        return {}
    sql = (
        f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER "
        "(PARTITION BY ref ORDER BY seq DESC) AS n FROM entity_changes "
        "WHERE ref IN (SELECT value FROM json_each(?))) WHERE n <= ? ORDER BY ref, seq DESC"
    )
    params = (orjson.dumps(list(refs)).decode(), limit)

    def read(conn: sqlite3.Connection) -> dict[str, list[EntityChange]]:
        found: dict[str, list[EntityChange]] = {}
        for row in db.execute(conn, sql, params):
            change = _change(row)
            found.setdefault(change.ref, []).append(change)
        return found

    return await db.call(read)


async def feed_cursor(db: Connection, name: str) -> str | None:
    def read(conn: sqlite3.Connection) -> str | None:
        row = db.execute(
            conn, "SELECT position FROM feed_cursors WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    return await db.call(read)


async def save_feed_cursor(db: Connection, name: str, position: str) -> None:
    def write(conn: sqlite3.Connection) -> None:
        db.execute(
            conn,
            "INSERT INTO feed_cursors (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (name, position),
        )

    await db.call(write)


async def prune_changes(db: Connection, before: datetime) -> int:
    def write(conn: sqlite3.Connection) -> int:
        cursor = db.execute(conn, "DELETE FROM entity_changes WHERE at < ?", (before.isoformat(),))
        return int(cursor.rowcount)

    return await db.call(write)
