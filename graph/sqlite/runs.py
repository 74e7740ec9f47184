"""The run log (one JSON document per run) and leases (one run per source across processes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from graph.port import RunRecord
from graph.runs import run_from_json, run_to_json
from graph.sqlite.connection import Connection
from graph.sqlite.rows import iso, json_list


async def save_run(db: Connection, run: RunRecord) -> None:
    def write(conn: sqlite3.Connection) -> None:
        db.execute(
            conn,
            "INSERT INTO runs (id, source, started_at, document) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
            (run.id, run.source, iso(run.started_at), run_to_json(run)),
        )

    await db.call(write)


async def get_runs(
    db: Connection,
    source: str | None,
    first: int,
    after: str | None = None,
    status: str | None = None,
    backward: bool = False,
) -> list[RunRecord]:
    """``backward`` reads oldest first from the position, then turns the page round."""
    compare, direction = (">", "ASC") if backward else ("<", "DESC")
    sql = f"""
        SELECT r.document FROM runs r
        WHERE (:source IS NULL OR r.source = :source)
          AND (:status IS NULL OR r.status = :status)
          AND (:after IS NULL OR (r.started_at, r.id) {compare}
               (SELECT a.started_at, a.id FROM runs a WHERE a.id = :after))
        ORDER BY r.started_at {direction}, r.id {direction} LIMIT :first
    """
    params = {"source": source, "status": status, "after": after, "first": first}

    def read(conn: sqlite3.Connection) -> list[RunRecord]:
        rows = db.execute(conn, sql, params).fetchall()
        found = [run_from_json(r[0]) for r in rows]
        return found[::-1] if backward else found

    return await db.call(read)


async def count_runs(db: Connection, source: str | None, status: str | None = None) -> int:
    sql = (
        "SELECT count(*) FROM runs WHERE (:source IS NULL OR source = :source) "
        "AND (:status IS NULL OR status = :status)"
    )
    params = {"source": source, "status": status}
    return await db.call(lambda c: int(db.execute(c, sql, params).fetchone()[0]))


async def latest_runs(
    db: Connection, sources: Sequence[str], statuses: Sequence[str]
) -> dict[str, RunRecord]:
    sql = """
        SELECT document FROM (
            SELECT r.document, row_number() OVER (
                PARTITION BY r.source ORDER BY r.started_at DESC, r.id DESC) AS n
            FROM runs r
            WHERE r.source IN (SELECT value FROM json_each(:sources))
              AND r.status IN (SELECT value FROM json_each(:statuses))
        ) WHERE n = 1
    """
    params = {"sources": json_list(sources), "statuses": json_list(statuses)}

    def read(conn: sqlite3.Connection) -> dict[str, RunRecord]:
        runs = [run_from_json(r[0]) for r in db.execute(conn, sql, params).fetchall()]
        return {run.source: run for run in runs}

    return await db.call(read)


async def runs_by_id(db: Connection, ids: Sequence[str]) -> dict[str, RunRecord]:
    sql = "SELECT document FROM runs WHERE id IN (SELECT value FROM json_each(?))"

    def read(conn: sqlite3.Connection) -> dict[str, RunRecord]:
        runs = [run_from_json(r[0]) for r in db.execute(conn, sql, (json_list(ids),))]
        return {run.id: run for run in runs}

    return await db.call(read)


async def prune_runs(db: Connection, started_before: datetime) -> int:
    sql = "DELETE FROM runs WHERE started_at < ? AND status != 'RUNNING'"
    cutoff = iso(started_before)
    return await db.call(lambda c: db.execute(c, sql, (cutoff,)).rowcount)


# -- leases --------------------------------------------------------------------------
async def acquire_lease(
    db: Connection, name: str, owner: str, now: datetime, until: datetime
) -> bool:
    sql = """
        INSERT INTO leases (name, owner, expires_at) VALUES (:name, :owner, :until)
        ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,
            expires_at = excluded.expires_at
        WHERE leases.owner = excluded.owner OR leases.expires_at <= :now
        RETURNING owner
    """
    params = {"name": name, "owner": owner, "now": iso(now), "until": iso(until)}

    def write(conn: sqlite3.Connection) -> bool:
        row = db.execute(conn, sql, params).fetchone()
        return row is not None and row[0] == owner

    return await db.call(write)


async def release_lease(db: Connection, name: str, owner: str) -> None:
    sql = "DELETE FROM leases WHERE name = ? AND owner = ?"
    await db.call(lambda c: db.execute(c, sql, (name, owner)))
