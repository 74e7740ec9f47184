"""Catalog quality questions on Neo4j: dangling relations (a placeholder at either end) and
orphans (owned kinds with no owner), paged by position either way, and their counts. Each is
one statement.
"""

from __future__ import annotations

from typing import LiteralString

from graph.neo4j.connection import Connection
from graph.neo4j.rows import ENTITY_FIELDS, stored_entity
from graph.neo4j.schema import REL_NAMES
from graph.port import OWNED_KINDS, DanglingPage, Orphan, StoredRelation


def _dangling_query(backward: bool) -> LiteralString:
    """Dangling relations (a placeholder at either end) in position order after ``$after``
    (``backward``: before it, read the other way)."""
    compare: LiteralString = "<" if backward else ">"
    direction: LiteralString = " DESC" if backward else ""
    return (
        """
MATCH (p:Ref) WHERE NOT p:Entity
MATCH (p)-[r]-()
WITH DISTINCT r
WITH r, startNode(r) AS a, endNode(r) AS b
WITH r, a, b, [a.key, $names[type(r)], b.key] AS position
WHERE $after IS NULL OR position """
        + compare
        + """ $after
RETURN r.source_ref AS source_ref, position[1] AS type, r.target_ref AS target_ref,
       r.source AS source, a:Entity AS source_exists, b:Entity AS target_exists
ORDER BY a.key"""
        + direction
        + ", position[1]"
        + direction
        + ", b.key"
        + direction
        + """
LIMIT $limit
"""
    )


DANGLING: dict[bool, LiteralString] = {way: _dangling_query(way) for way in (False, True)}


def _orphans_query(backward: bool) -> LiteralString:
    """Orphans by key after ``$after`` (``backward``: before it, read the other way)."""
    compare: LiteralString = "<" if backward else ">"
    direction: LiteralString = " DESC" if backward else ""
    return (
        """
MATCH (e:Ref:Entity)
WHERE e.key """
        + compare
        + """ $after AND e.kind IN $kinds AND NOT EXISTS { (e)-[:OWNED_BY]->(:Entity) }
RETURN """
        + ENTITY_FIELDS
        + """ AS entity,
       COLLECT { MATCH (e)-[o:OWNED_BY]->(t) RETURN o.target_ref ORDER BY t.key LIMIT 1 }[0]
           AS owner_ref
ORDER BY e.key"""
        + direction
        + """
LIMIT $limit
"""
    )


ORPHANS: dict[bool, LiteralString] = {way: _orphans_query(way) for way in (False, True)}


COUNT_DANGLING: LiteralString = """
MATCH (p:Ref) WHERE NOT p:Entity
MATCH (p)-[r]-()
RETURN count(DISTINCT r) AS total
"""

COUNT_ORPHANS: LiteralString = """
MATCH (e:Ref:Entity)
WHERE e.kind IN $kinds AND NOT EXISTS { (e)-[:OWNED_BY]->(:Entity) }
RETURN count(e) AS total
"""


async def dangling(
    db: Connection, first: int, after: tuple[str, str, str] | None = None, backward: bool = False
) -> DanglingPage:
    """One statement, starting from the placeholders (the bare ``:Ref`` nodes)."""
    rows = await db.read(
        db.statement(
            DANGLING[backward],
            names=REL_NAMES,
            after=list(after) if after else None,
            limit=first + 1,
        )
    )
    relations = [
        StoredRelation(
            r["source_ref"],
            r["type"],
            r["target_ref"],
            r["source"],
            r["source_exists"],
            r["target_exists"],
        )
        for r in rows
    ]
    page = relations[:first][::-1] if backward else relations[:first]
    return DanglingPage(page, has_next=len(rows) > first)


async def orphans(
    db: Connection, first: int, after: str | None = None, backward: bool = False
) -> tuple[list[Orphan], bool]:
    start = "\U0010ffff" if backward else ""  # before every key, or after every key
    rows = await db.read(
        db.statement(
            ORPHANS[backward],
            kinds=list(OWNED_KINDS),
            after=after.lower() if after else start,
            limit=first + 1,
        )
    )
    orphans = [Orphan(stored_entity(r["entity"]), r["owner_ref"]) for r in rows[:first]]
    return (orphans[::-1] if backward else orphans), len(rows) > first


async def count_dangling(db: Connection) -> int:
    (row,) = await db.read(db.statement(COUNT_DANGLING))
    return int(row["total"])


async def count_orphans(db: Connection) -> int:
    (row,) = await db.read(db.statement(COUNT_ORPHANS, kinds=list(OWNED_KINDS)))
    return int(row["total"])
