"""Scaffolder tasks (``(:Task {id, template, created_by, created_at, document})`` with the
state properties claiming changes) and their events (``(:TaskEvent {task_id, seq,
document})``, numbered from the task's ``event_seq``). Times are fixed-width UTC ISO
strings, so they order and compare as text.

Claiming writes the oldest open candidates first (``SET t.locked``, always in creation
order, so claimers queue rather than deadlock), which takes their locks: their status is then
re-read as last committed, and the first still open is claimed, so two processes never both
claim one (the lease's pattern) and a claimer that queued behind another takes the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString

from neo4j import Record

from graph.neo4j.connection import Connection
from graph.port import TaskEvent, TaskRecord
from graph.tasks import event_from_json, event_to_json, task_to_json, task_with_state

#: How many of the oldest open tasks a claim locks and looks through.
CLAIM_WINDOW = 16


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else None


_RETURN: LiteralString = """
RETURN t.document AS document, t.status AS status, t.owner AS owner,
       t.lease_until AS lease_until, t.pinned_to AS pinned_to,
       t.cancel_requested AS cancel_requested, t.error AS error, t.ended_at AS ended_at
"""


def _task(record: Record) -> TaskRecord:
    data = dict(record)
    return task_with_state(data.pop("document"), data)


SAVE_TASK: LiteralString = """
MERGE (t:Task {id: $id})
SET t.template = $template, t.created_by = $created_by, t.created_at = $created_at,
    t.document = $document, t.status = $status, t.owner = $owner,
    t.lease_until = $lease_until, t.pinned_to = $pinned_to,
    t.cancel_requested = coalesce(t.cancel_requested, false) OR $cancel_requested, t.error = $error, t.ended_at = $ended_at,
    t.event_seq = coalesce(t.event_seq, 0)
"""

GET_TASKS: LiteralString = "MATCH (t:Task) WHERE t.id IN $ids " + _RETURN

_FILTER: LiteralString = """
WHERE ($template IS NULL OR t.template = $template) AND ($status IS NULL OR t.status = $status)
  AND ($created_by IS NULL OR t.created_by = $created_by)
"""


def _list_query(backward: bool) -> LiteralString:
    """Tasks newest first after the task ``$after`` (``backward``: newer than it, read
    oldest first)."""
    older: LiteralString = ">" if backward else "<"
    direction: LiteralString = "" if backward else " DESC"
    return (
        """
OPTIONAL MATCH (a:Task {id: $after})
WITH a
MATCH (t:Task)
"""
        + _FILTER
        + """
  AND ($after IS NULL OR (a IS NOT NULL AND (t.created_at """
        + older
        + """ a.created_at
       OR (t.created_at = a.created_at AND t.id """
        + older
        + """ a.id))))
WITH t ORDER BY t.created_at"""
        + direction
        + ", t.id"
        + direction
        + """ LIMIT $first
"""
        + _RETURN
    )


LIST_TASKS: dict[bool, LiteralString] = {way: _list_query(way) for way in (False, True)}

COUNT_TASKS: LiteralString = "MATCH (t:Task) " + _FILTER + " RETURN count(t) AS total"

CLAIM_TASK: LiteralString = (
    """
MATCH (t:Task {status: 'open'})
WHERE t.pinned_to IS NULL OR t.pinned_to = $owner
WITH t ORDER BY t.created_at, t.id LIMIT $window
SET t.locked = true
WITH t ORDER BY t.created_at, t.id
REMOVE t.locked
WITH t WHERE t.status = 'open'
WITH t ORDER BY t.created_at, t.id LIMIT 1
SET t.status = 'processing', t.owner = $owner, t.lease_until = $until
"""
    + _RETURN
)

RENEW_TASK: LiteralString = (
    """
MATCH (t:Task {id: $id}) WHERE t.owner = $owner AND t.status = 'processing'
SET t.lease_until = $until
"""
    + _RETURN
)

FAIL_EXPIRED: LiteralString = (
    """
MATCH (t:Task {status: 'processing'}) WHERE t.lease_until < $now
SET t.locked = true
WITH t
REMOVE t.locked
WITH t WHERE t.status = 'processing' AND t.lease_until < $now
SET t.status = 'failed', t.error = $reason, t.ended_at = $now
"""
    + _RETURN
)

REQUEST_CANCEL: LiteralString = (
    """
MATCH (t:Task {id: $id})
SET t.locked = true
WITH t
REMOVE t.locked
WITH t, t.status = 'open' AS waiting, t.status IN ['open', 'processing'] AS live
SET t.status = CASE WHEN waiting THEN 'cancelled' ELSE t.status END,
    t.ended_at = CASE WHEN waiting THEN $now ELSE t.ended_at END,
    t.cancel_requested = CASE WHEN live THEN true ELSE t.cancel_requested END
"""
    + _RETURN
)

ADD_EVENTS: LiteralString = """
MATCH (t:Task {id: $id})
SET t.event_seq = coalesce(t.event_seq, 0) + size($events)
WITH t, t.event_seq - size($events) AS base
UNWIND range(0, size($events) - 1) AS i
CREATE (e:TaskEvent {task_id: $id, seq: base + i + 1, document: $events[i]})
RETURN e.seq AS seq
"""

GET_EVENTS: LiteralString = """
MATCH (e:TaskEvent {task_id: $id}) WHERE e.seq > $after
RETURN e.seq AS seq, e.document AS document ORDER BY e.seq
"""


async def save_task(db: Connection, task: TaskRecord) -> None:
    await db.write(
        db.statement(
            SAVE_TASK,
            id=task.id,
            template=task.template,
            created_by=task.created_by,
            created_at=_iso(task.created_at),
            document=task_to_json(task),
            status=task.status,
            owner=task.owner,
            lease_until=_iso(task.lease_until),
            pinned_to=task.pinned_to,
            cancel_requested=task.cancel_requested,
            error=task.error,
            ended_at=_iso(task.ended_at),
        )
    )


async def get_tasks(db: Connection, ids: Sequence[str]) -> dict[str, TaskRecord]:
    tasks = [_task(r) for r in await db.read(db.statement(GET_TASKS, ids=list(ids)))]
    return {task.id: task for task in tasks}


async def list_tasks(
    db: Connection,
    first: int,
    after: str | None,
    template: str | None,
    status: str | None,
    created_by: str | None,
    backward: bool = False,
) -> list[TaskRecord]:
    rows = await db.read(
        db.statement(
            LIST_TASKS[backward],
            first=first,
            after=after,
            template=template,
            status=status,
            created_by=created_by,
        )
    )
    found = [_task(r) for r in rows]
    return found[::-1] if backward else found


async def count_tasks(
    db: Connection, template: str | None, status: str | None, created_by: str | None
) -> int:
    (row,) = await db.read(
        db.statement(COUNT_TASKS, template=template, status=status, created_by=created_by)
    )
    return int(row["total"])


async def claim_task(
    db: Connection, owner: str, now: datetime, until: datetime
) -> TaskRecord | None:
    rows = await db.write(
        db.statement(CLAIM_TASK, owner=owner, until=_iso(until), window=CLAIM_WINDOW)
    )
    return _task(rows[0]) if rows else None


async def renew_task(
    db: Connection, task_id: str, owner: str, until: datetime
) -> TaskRecord | None:
    rows = await db.write(db.statement(RENEW_TASK, id=task_id, owner=owner, until=_iso(until)))
    return _task(rows[0]) if rows else None


async def fail_expired_tasks(db: Connection, now: datetime, reason: str) -> list[TaskRecord]:
    rows = await db.write(db.statement(FAIL_EXPIRED, now=_iso(now), reason=reason))
    return [_task(r) for r in rows]


async def request_cancel(db: Connection, task_id: str, now: datetime) -> TaskRecord | None:
    rows = await db.write(db.statement(REQUEST_CANCEL, id=task_id, now=_iso(now)))
    return _task(rows[0]) if rows else None


async def add_task_events(
    db: Connection, task_id: str, at: datetime, events: Sequence[tuple[str, dict[str, Any]]]
) -> list[TaskEvent]:
    if not events:
        return []
    made = [TaskEvent(task_id, 0, at, kind, body) for kind, body in events]
    rows = await db.write(
        db.statement(ADD_EVENTS, id=task_id, events=[event_to_json(e) for e in made])
    )
    return [
        TaskEvent(task_id, int(row["seq"]), e.at, e.type, e.body)
        for row, e in zip(rows, made, strict=False)
    ]


async def get_task_events(db: Connection, task_id: str, after: int) -> list[TaskEvent]:
    rows = await db.read(db.statement(GET_EVENTS, id=task_id, after=after))
    return [event_from_json(task_id, int(r["seq"]), r["document"]) for r in rows]
