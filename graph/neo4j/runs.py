"""The run log (``(:Run {id, source, started_at, status, document})``) and leases
(``(:Lease {name, owner, expires_at})``, one run per source across processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import LiteralString

from graph.neo4j.connection import Connection
from graph.port import RunRecord
from graph.runs import run_from_json, run_to_json

SAVE_RUN: LiteralString = """
MERGE (r:Run {id: $id})
ON CREATE SET r.source = $source, r.started_at = $started_at
SET r.document = $document, r.status = $status
"""

PRUNE_RUNS: LiteralString = """
MATCH (r:Run) WHERE r.started_at < $before AND r.status <> 'RUNNING'
DETACH DELETE r
RETURN count(*) AS deleted
"""


def _runs_query(backward: bool) -> LiteralString:
    """Runs newest first after the run ``$after`` (``backward``: newer than it, read oldest
    first)."""
    older: LiteralString = ">" if backward else "<"
    direction: LiteralString = "" if backward else " DESC"
    return (
        """
OPTIONAL MATCH (a:Run {id: $after})
WITH a
MATCH (r:Run)
WHERE ($source IS NULL OR r.source = $source)
  AND ($status IS NULL OR r.status = $status)
  AND ($after IS NULL OR (a IS NOT NULL AND (r.started_at """
        + older
        + """ a.started_at
       OR (r.started_at = a.started_at AND r.id """
        + older
        + """ a.id))))
RETURN r.document AS document
ORDER BY r.started_at"""
        + direction
        + ", r.id"
        + direction
        + """ LIMIT $first
"""
    )


GET_RUNS: dict[bool, LiteralString] = {way: _runs_query(way) for way in (False, True)}

COUNT_RUNS: LiteralString = """
MATCH (r:Run)
WHERE ($source IS NULL OR r.source = $source) AND ($status IS NULL OR r.status = $status)
RETURN count(r) AS total
"""

LATEST_RUNS: LiteralString = """
MATCH (r:Run)
WHERE r.source IN $sources AND r.status IN $statuses
WITH r ORDER BY r.started_at DESC, r.id DESC
WITH r.source AS source, collect(r.document)[0] AS document
RETURN document
"""

RUNS_BY_ID: LiteralString = """
MATCH (r:Run) WHERE r.id IN $ids
RETURN r.document AS document
"""


async def save_run(db: Connection, run: RunRecord) -> None:
    await db.write(
        db.statement(
            SAVE_RUN,
            id=run.id,
            source=run.source,
            started_at=run.started_at.astimezone(UTC),
            status=run.status,
            document=run_to_json(run),
        )
    )


async def get_runs(
    db: Connection,
    source: str | None,
    first: int,
    after: str | None = None,
    status: str | None = None,
    backward: bool = False,
) -> list[RunRecord]:
    rows = await db.read(
        db.statement(GET_RUNS[backward], source=source, status=status, after=after, first=first)
    )
    found = [run_from_json(r["document"]) for r in rows]
    return found[::-1] if backward else found


async def count_runs(db: Connection, source: str | None, status: str | None = None) -> int:
    (row,) = await db.read(db.statement(COUNT_RUNS, source=source, status=status))
    return int(row["total"])


async def latest_runs(
    db: Connection, sources: Sequence[str], statuses: Sequence[str]
) -> dict[str, RunRecord]:
    rows = await db.read(db.statement(LATEST_RUNS, sources=list(sources), statuses=list(statuses)))
    runs = [run_from_json(r["document"]) for r in rows]
    return {run.source: run for run in runs}


async def runs_by_id(db: Connection, ids: Sequence[str]) -> dict[str, RunRecord]:
    rows = await db.read(db.statement(RUNS_BY_ID, ids=list(ids)))
    runs = [run_from_json(r["document"]) for r in rows]
    return {run.id: run for run in runs}


async def prune_runs(db: Connection, started_before: datetime) -> int:
    (row,) = await db.write(db.statement(PRUNE_RUNS, before=started_before.astimezone(UTC)))
    return int(row["deleted"])


# -- leases --------------------------------------------------------------------------
# Writing the lease first takes its lock, so the owner and expiry read next are the latest
# committed ones and two processes cannot both be granted it.
ACQUIRE_LEASE: LiteralString = """
MERGE (l:Lease {name: $name})
ON CREATE SET l.owner = $owner, l.expires_at = $until
SET l.locked = true
WITH l
WITH l, l.owner = $owner OR l.expires_at <= $now AS granted
SET l.owner = CASE WHEN granted THEN $owner ELSE l.owner END,
    l.expires_at = CASE WHEN granted THEN $until ELSE l.expires_at END
REMOVE l.locked
RETURN granted
"""

RELEASE_LEASE: LiteralString = """
MATCH (l:Lease {name: $name}) WHERE l.owner = $owner
DELETE l
"""


async def acquire_lease(
    db: Connection, name: str, owner: str, now: datetime, until: datetime
) -> bool:
    (row,) = await db.write(
        db.statement(
            ACQUIRE_LEASE,
            name=name,
            owner=owner,
            now=now.astimezone(UTC),
            until=until.astimezone(UTC),
        )
    )
    return bool(row["granted"])


async def release_lease(db: Connection, name: str, owner: str) -> None:
    await db.write(db.statement(RELEASE_LEASE, name=name, owner=owner))
