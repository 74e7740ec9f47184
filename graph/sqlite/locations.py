"""Locations registered at run time: the ``locations`` table, unique on (type, target)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import orjson

from graph.port import LocationRecord
from graph.sqlite.connection import Connection
from graph.sqlite.rows import iso, json_list

_COLUMNS = "id, type, target, source, url, ref, paths, created_at, template"


def _location(row: sqlite3.Row | tuple[object, ...]) -> LocationRecord:
    return LocationRecord(
        id=str(row[0]),
        type=str(row[1]),
        target=str(row[2]),
        source=str(row[3]),
        url=str(row[4]),
        ref=None if row[5] is None else str(row[5]),
        paths=tuple(orjson.loads(str(row[6]))),
        created_at=datetime.fromisoformat(str(row[7])),
        template=None if row[8] is None else str(row[8]),
    )


async def add_location(db: Connection, location: LocationRecord) -> LocationRecord:
    insert = (
        f"INSERT INTO locations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (type, target) DO NOTHING"
    )
    params = (
        location.id,
        location.type,
        location.target,
        location.source,
        location.url,
        location.ref,
        orjson.dumps(list(location.paths)).decode(),
        iso(location.created_at),
        location.template,
    )
    select = f"SELECT {_COLUMNS} FROM locations WHERE type = ? AND target = ?"

    def write(conn: sqlite3.Connection) -> LocationRecord:
        db.execute(conn, insert, params)
        return _location(db.execute(conn, select, (location.type, location.target)).fetchone())

    return await db.call(write)


async def get_locations(db: Connection, ids: Sequence[str] | None) -> list[LocationRecord]:
    sql = (
        f"SELECT {_COLUMNS} FROM locations "
        "WHERE :ids IS NULL OR id IN (SELECT value FROM json_each(:ids)) "
        "ORDER BY created_at, id"
    )
    params = {"ids": None if ids is None else json_list(ids)}

    def read(conn: sqlite3.Connection) -> list[LocationRecord]:
        return [_location(row) for row in db.execute(conn, sql, params).fetchall()]

    return await db.call(read)


async def delete_location(db: Connection, id: str) -> LocationRecord | None:
    sql = f"DELETE FROM locations WHERE id = ? RETURNING {_COLUMNS}"

    def write(conn: sqlite3.Connection) -> LocationRecord | None:
        row = db.execute(conn, sql, (id,)).fetchone()
        return None if row is None else _location(row)

    return await db.call(write)
