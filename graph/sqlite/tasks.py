"""Scaffolder tasks (``tasks``: the document plus the state columns claiming changes) and
their events (``task_events``, numbered per task from the task's ``event_seq``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from graph.port import TaskEvent, TaskRecord
from graph.sqlite.connection import Connection
from graph.sqlite.rows import iso, json_list
from graph.tasks import event_from_json, event_to_json, task_to_json, task_with_state

_COLUMNS = "document, status, owner, lease_until, pinned_to, cancel_requested, error, ended_at"


def _task(row: sqlite3.Row | tuple[Any, ...]) -> TaskRecord:
    document, status, owner, lease_until, pinned_to, cancel, error, ended_at = row
    return task_with_state(
        document,
        {
            "status": status,
            "owner": owner,
            "lease_until": lease_until,
            "pinned_to": pinned_to,
            "cancel_requested": cancel,
            "error": error,
            "ended_at": ended_at,
        },
    )


async def save_task(db: Connection, task: TaskRecord) -> None:
    sql = f"""
        INSERT INTO tasks (id, template, created_by, created_at, {_COLUMNS})
        VALUES (:id, :template, :created_by, :created_at, :document, :status, :owner,
                :lease_until, :pinned_to, :cancel, :error, :ended_at)
        ON CONFLICT (id) DO UPDATE SET document = excluded.document, status = excluded.status,
            owner = excluded.owner, lease_until = excluded.lease_until,
            pinned_to = excluded.pinned_to,
            cancel_requested = max(cancel_requested, excluded.cancel_requested),
            error = excluded.error, ended_at = excluded.ended_at
    """
    params = {
        "id": task.id,
        "template": task.template,
        "created_by": task.created_by,
        "created_at": iso(task.created_at),
        "document": task_to_json(task),
        "status": task.status,
        "owner": task.owner,
        "lease_until": iso(task.lease_until) if task.lease_until else None,
        "pinned_to": task.pinned_to,
        "cancel": int(task.cancel_requested),
        "error": task.error,
        "ended_at": iso(task.ended_at) if task.ended_at else None,
    }
    await db.call(lambda c: db.execute(c, sql, params))


async def get_tasks(db: Connection, ids: Sequence[str]) -> dict[str, TaskRecord]:
    sql = f"SELECT {_COLUMNS} FROM tasks WHERE id IN (SELECT value FROM json_each(?))"

    def read(conn: sqlite3.Connection) -> dict[str, TaskRecord]:
        tasks = [_task(row) for row in db.execute(conn, sql, (json_list(ids),))]
        return {task.id: task for task in tasks}

    return await db.call(read)


_WHERE = """
    (:template IS NULL OR t.template = :template) AND (:status IS NULL OR t.status = :status)
    AND (:created_by IS NULL OR t.created_by = :created_by)
"""


async def list_tasks(
    db: Connection,
    first: int,
    after: str | None,
    template: str | None,
    status: str | None,
    created_by: str | None,
    backward: bool = False,
) -> list[TaskRecord]:
    """``backward`` reads oldest first from the position, then turns the page round."""
    compare, direction = (">", "ASC") if backward else ("<", "DESC")
    sql = f"""
        SELECT {", ".join("t." + c.strip() for c in _COLUMNS.split(","))} FROM tasks t
        WHERE {_WHERE}
          AND (:after IS NULL OR (t.created_at, t.id) {compare}
               (SELECT a.created_at, a.id FROM tasks a WHERE a.id = :after))
        ORDER BY t.created_at {direction}, t.id {direction} LIMIT :first
    """
    params = {
        "template": template,
        "status": status,
        "created_by": created_by,
        "after": after,
        "first": first,
    }
    found = await db.call(lambda c: [_task(row) for row in db.execute(c, sql, params)])
    return found[::-1] if backward else found


async def count_tasks(
    db: Connection, template: str | None, status: str | None, created_by: str | None
) -> int:
    sql = f"SELECT count(*) FROM tasks t WHERE {_WHERE}"
    params = {"template": template, "status": status, "created_by": created_by}
    return await db.call(lambda c: int(db.execute(c, sql, params).fetchone()[0]))


async def claim_task(
    db: Connection, owner: str, now: datetime, until: datetime
) -> TaskRecord | None:
    # One statement: the write lock is taken before the candidate is read, so two
    # processes never both see it open.
    sql = f"""
        UPDATE tasks SET status = 'processing', owner = :owner, lease_until = :until
        WHERE id = (
            SELECT id FROM tasks WHERE status = 'open'
              AND (pinned_to IS NULL OR pinned_to = :owner)
            ORDER BY created_at, id LIMIT 1
        ) AND status = 'open'
        RETURNING {_COLUMNS}
    """
    params = {"owner": owner, "until": iso(until)}

    def write(conn: sqlite3.Connection) -> TaskRecord | None:
        if not conn.in_transaction:  # take the write lock before reading (WAL snapshots)
            conn.execute("BEGIN IMMEDIATE")
        row = db.execute(conn, sql, params).fetchone()
        return _task(row) if row is not None else None

    return await db.call(write)


async def renew_task(
    db: Connection, task_id: str, owner: str, until: datetime
) -> TaskRecord | None:
    sql = f"""
        UPDATE tasks SET lease_until = :until
        WHERE id = :id AND owner = :owner AND status = 'processing'
        RETURNING {_COLUMNS}
    """
    params = {"id": task_id, "owner": owner, "until": iso(until)}

    def write(conn: sqlite3.Connection) -> TaskRecord | None:
        row = db.execute(conn, sql, params).fetchone()
        return _task(row) if row is not None else None

    return await db.call(write)


async def fail_expired_tasks(db: Connection, now: datetime, reason: str) -> list[TaskRecord]:
    sql = f"""
        UPDATE tasks SET status = 'failed', error = :reason, ended_at = :now
        WHERE status = 'processing' AND lease_until < :now
        RETURNING {_COLUMNS}
    """
    params = {"now": iso(now), "reason": reason}
    return await db.call(lambda c: [_task(row) for row in db.execute(c, sql, params).fetchall()])


async def request_cancel(db: Connection, task_id: str, now: datetime) -> TaskRecord | None:
    sql = f"""
        UPDATE tasks SET
            status = CASE WHEN status = 'open' THEN 'cancelled' ELSE status END,
            ended_at = CASE WHEN status = 'open' THEN :now ELSE ended_at END,
            cancel_requested = CASE WHEN status IN ('open', 'processing') THEN 1
                                    ELSE cancel_requested END
        WHERE id = :id
        RETURNING {_COLUMNS}
    """
    params = {"id": task_id, "now": iso(now)}

    def write(conn: sqlite3.Connection) -> TaskRecord | None:
        row = db.execute(conn, sql, params).fetchone()
        return _task(row) if row is not None else None

    return await db.call(write)


async def add_task_events(
    db: Connection, task_id: str, at: datetime, events: Sequence[tuple[str, dict[str, Any]]]
) -> list[TaskEvent]:
    bump = "UPDATE tasks SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq"
    insert = "INSERT INTO task_events (task_id, seq, document) VALUES (?, ?, ?)"

    def write(conn: sqlite3.Connection) -> list[TaskEvent]:
        row = db.execute(conn, bump, (len(events), task_id)).fetchone()
        if row is None:
            return []
        first = int(row[0]) - len(events) + 1
        made = [
            TaskEvent(task_id, first + i, at, kind, body) for i, (kind, body) in enumerate(events)
        ]
        db.executemany(conn, insert, [(e.task_id, e.seq, event_to_json(e)) for e in made])
        return made

    return await db.call(write)


async def get_task_events(db: Connection, task_id: str, after: int) -> list[TaskEvent]:
    sql = "SELECT seq, document FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq"
    return await db.call(
        lambda c: [event_from_json(task_id, s, d) for s, d in db.execute(c, sql, (task_id, after))]
    )
