"""The inbox of webhook deliveries (:class:`graph.port.Deliveries`): one row per delivery id,
so a replayed delivery is refused by the primary key."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import orjson

from graph.port import Delivery
from graph.sqlite.connection import Connection
from graph.sqlite.rows import iso, json_list


async def record_delivery(db: Connection, delivery: Delivery) -> bool:
    sql = (
        "INSERT INTO deliveries (id, source, event, scope, received_at, payload) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING"
    )
    row = (
        delivery.id,
        delivery.source,
        delivery.event,
        json_list(delivery.scope),
        iso(delivery.received_at),
        delivery.payload,
    )
    return await db.call(lambda conn: db.execute(conn, sql, row).rowcount == 1)


async def waiting_deliveries(db: Connection, sources: Sequence[str], first: int) -> list[Delivery]:
    sql = (
        "SELECT id, source, event, scope, received_at, payload FROM deliveries "
        "WHERE run_id IS NULL AND source IN (SELECT value FROM json_each(?)) "
        "ORDER BY received_at, id LIMIT ?"
    )

    def read(conn: sqlite3.Connection) -> list[Delivery]:
        rows = db.execute(conn, sql, (json_list(sources), first)).fetchall()
        return [
            Delivery(
                id=r[0],
                source=r[1],
                event=r[2],
                scope=tuple(orjson.loads(r[3])),
                received_at=datetime.fromisoformat(r[4]),
                payload=r[5],
            )
            for r in rows
        ]

    return await db.call(read)


async def take_deliveries(db: Connection, ids: Sequence[str], run_id: str) -> None:
    if not ids:
        return
    sql = "UPDATE deliveries SET run_id = ? WHERE id IN (SELECT value FROM json_each(?))"
    await db.call(lambda conn: db.execute(conn, sql, (run_id, json_list(ids))))


async def prune_deliveries(db: Connection, received_before: datetime) -> int:
    sql = "DELETE FROM deliveries WHERE run_id IS NOT NULL AND received_at < ?"
    cutoff = iso(received_before)
    return await db.call(lambda conn: db.execute(conn, sql, (cutoff,)).rowcount)
