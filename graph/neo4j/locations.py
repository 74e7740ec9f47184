"""Locations registered at run time: ``(:RegisteredLocation {id, key, type, target, source,
url, ref, paths, created_at, template})``, unique on ``key`` (type and target). The label is not
``Location``: that is the label of entities of kind Location."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any, LiteralString

from graph.neo4j.connection import Connection
from graph.neo4j.rows import stored_time
from graph.port import LocationRecord

ADD_LOCATION: LiteralString = """
MERGE (l:RegisteredLocation {key: $key})
ON CREATE SET l.id = $id, l.type = $type, l.target = $target, l.source = $source,
    l.url = $url, l.ref = $ref, l.paths = $paths, l.created_at = $created_at,
    l.template = $template
RETURN l {.*} AS location
"""

GET_LOCATIONS: LiteralString = """
MATCH (l:RegisteredLocation)
WHERE $ids IS NULL OR l.id IN $ids
RETURN l {.*} AS location
ORDER BY l.created_at, l.id
"""

DELETE_LOCATION: LiteralString = """
MATCH (l:RegisteredLocation {id: $id})
WITH l, l {.*} AS location
DELETE l
RETURN location
"""


def location_key(type_: str, target: str) -> str:
    return f"{type_}:{target}"


def _location(row: Mapping[str, Any]) -> LocationRecord:
    return LocationRecord(
        id=row["id"],
        type=row["type"],
        target=row["target"],
        source=row["source"],
        url=row["url"],
        ref=row.get("ref"),
        paths=tuple(row.get("paths") or ()),
        created_at=stored_time(row["created_at"]),
        template=row.get("template"),
    )


async def add_location(db: Connection, location: LocationRecord) -> LocationRecord:
    (row,) = await db.write(
        db.statement(
            ADD_LOCATION,
            key=location_key(location.type, location.target),
            id=location.id,
            type=location.type,
            target=location.target,
            source=location.source,
            url=location.url,
            ref=location.ref,
            paths=list(location.paths),
            created_at=location.created_at.astimezone(UTC),
            template=location.template,
        )
    )
    return _location(row["location"])


async def get_locations(db: Connection, ids: Sequence[str] | None) -> list[LocationRecord]:
    rows = await db.read(db.statement(GET_LOCATIONS, ids=None if ids is None else list(ids)))
    return [_location(r["location"]) for r in rows]


async def delete_location(db: Connection, id: str) -> LocationRecord | None:
    rows = await db.write(db.statement(DELETE_LOCATION, id=id))
    return _location(rows[0]["location"]) if rows else None
