"""The inbox of webhook deliveries (:class:`graph.port.Deliveries`) as
``(:Delivery {id, source, event, scope, received_at, run_id, payload})``, unique on ``id`` so a replayed
delivery is refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import LiteralString

from graph.neo4j.connection import Connection
from graph.neo4j.rows import stored_time
from graph.port import Delivery

RECORD: LiteralString = """
MERGE (d:Delivery {id: $id})
ON CREATE SET d.source = $source, d.event = $event, d.scope = $scope,
              d.received_at = $received_at, d.payload = $payload, d.fresh = true
WITH d, coalesce(d.fresh, false) AS fresh
REMOVE d.fresh
FOREACH (waiting IN CASE WHEN fresh THEN [d] ELSE [] END | SET waiting:Waiting)
RETURN fresh
"""

# A delivery no run has taken yet also carries the label :Waiting, so the inbox's frequent
# look reads only those, not the days of taken ones kept against replays.
WAITING: LiteralString = """
MATCH (d:Waiting) WHERE d.source IN $sources
WITH d ORDER BY d.received_at, d.id LIMIT $first
RETURN collect([d.id, d.source, d.event, d.scope, d.received_at, d.payload]) AS rows
"""

TAKE: LiteralString = """
MATCH (d:Delivery) WHERE d.id IN $ids
SET d.run_id = $run_id
REMOVE d:Waiting
"""

PRUNE: LiteralString = """
MATCH (d:Delivery) WHERE d.run_id IS NOT NULL AND d.received_at < $before
DELETE d
RETURN count(*) AS deleted
"""


async def record_delivery(db: Connection, delivery: Delivery) -> bool:
    (row,) = await db.write(
        db.statement(
            RECORD,
            id=delivery.id,
            source=delivery.source,
            event=delivery.event,
            scope=list(delivery.scope),
            received_at=delivery.received_at.astimezone(UTC),
            payload=delivery.payload,
        )
    )
    return bool(row["fresh"])


async def waiting_deliveries(db: Connection, sources: Sequence[str], first: int) -> list[Delivery]:
    (row,) = await db.read(db.statement(WAITING, sources=list(sources), first=first))
    return [
        Delivery(
            id=id_,
            source=source,
            event=event,
            scope=tuple(scope or ()),
            received_at=stored_time(received_at),
            payload=payload,
        )
        for id_, source, event, scope, received_at, payload in row["rows"]
    ]


async def take_deliveries(db: Connection, ids: Sequence[str], run_id: str) -> None:
    if ids:
        await db.write(db.statement(TAKE, ids=list(ids), run_id=run_id))


async def prune_deliveries(db: Connection, received_before: datetime) -> int:
    (row,) = await db.write(db.statement(PRUNE, before=received_before.astimezone(UTC)))
    return int(row["deleted"])
