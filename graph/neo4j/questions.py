"""Graph questions: traversal, group expansion, impact, shortest path and the ownership
roll-up (dangling relations and orphans are in :mod:`graph.neo4j.quality`). Each is one
statement, except :func:`impact`, one statement per level of its breadth-first walk (a
step there is one relationship or two, which no path pattern expresses). Only whitelisted relationship types and validated
integers reach the text; every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import LiteralString

from neo4j import AsyncManagedTransaction

from graph.errors import StoreError
from graph.neo4j.connection import Connection
from graph.neo4j.rows import (
    ENTITY_FIELDS,
    SUMMARY_FIELDS,
    lookup_keys,
    stored_entity,
    summary_entity,
)
from graph.neo4j.schema import REL_TYPES
from graph.port import (
    Direction,
    ImpactRow,
    StoredEntity,
    Traversal,
    TraversalEdge,
)

_VIA = ("dependsOn", "consumesApi")  # impact: the rank of a hop -> its name


OWNED_BY: dict[bool, LiteralString] = {
    False: """
        MATCH (o:Ref) WHERE o.key IN $owners
        MATCH (e:Entity)-[:OWNED_BY]->(o)
        WITH DISTINCT e ORDER BY e.key
        RETURN collect(e.ref) AS refs
    """,
    True: """
        MATCH (o:Ref) WHERE o.key IN $owners
        MATCH (o)<-[:CHILD_OF*0..]-(g)
        WITH DISTINCT g
        MATCH (e:Entity)-[:OWNED_BY]->(g)
        WITH DISTINCT e ORDER BY e.key
        RETURN collect(e.ref) AS refs
    """,
}

#: :data:`OWNED_BY`, returning the entities themselves (``collect`` of ``ENTITY_FIELDS``,
#: or of ``SUMMARY_FIELDS`` for summaries): by (include subgroups, summary).
OWNED_ENTITIES: dict[tuple[bool, bool], LiteralString] = {
    (subgroups, summary): query.replace(
        "RETURN collect(e.ref) AS refs",
        "RETURN collect(" + (SUMMARY_FIELDS if summary else ENTITY_FIELDS) + ") AS entities",
    )
    for subgroups, query in OWNED_BY.items()
    for summary in (False, True)
}

# Every group below the given ones, each once, however the hierarchy is shaped (cycles
# included); the given keys themselves come back at distance 0. ``*0..`` under DISTINCT is
# planned as a breadth-first expansion visiting each group once
# (``VarLengthExpand(Pruning,BFS)``); ``ANY SHORTEST`` to each group walked paths (60 groups,
# each a child of the ten before it: 31 s).
EXPAND_GROUPS: LiteralString = """
MATCH (g:Ref) WHERE g.key IN $keys
MATCH (g)<-[:CHILD_OF*0..]-(c)
RETURN collect(DISTINCT c.key) AS keys
"""

# One level of the impact walk: whatever depends on a frontier entity, or consumes an API
# a frontier entity provides (one hop); each once, dependsOn (rank 0) first. Entities seen
# at nearer levels come back too and are dropped by the caller: a ``NOT key IN $seen`` here
# scanned the list for every row, quadratic in the size of the impact.
IMPACT_LEVEL: LiteralString = """
UNWIND $frontier AS key
MATCH (a:Ref {key: key})
CALL (a) {
    MATCH (x:Ref)-[r:DEPENDS_ON]->(a)
    RETURN x, r.source_ref AS ref, 0 AS rank
    UNION ALL
    MATCH (a)-[:PROVIDES_API]->(:Ref)<-[r:CONSUMES_API]-(x:Ref)
    RETURN x, r.source_ref AS ref, 1 AS rank
}
WITH x.key AS key, ref, rank
WITH key, min([rank, ref]) AS best
WITH key, best ORDER BY best[0], key
RETURN collect([key, best[1], best[0]]) AS level
"""

ENTITY_REF: LiteralString = "MATCH (e:Ref {key: $key}) WHERE e:Entity RETURN e.ref AS ref"


def traverse_query(rel: str, direction: Direction, max_depth: int) -> LiteralString:
    """One query for :func:`traverse` (the entities of the root and of what it reaches
    included); ``rel`` is whitelisted and ``max_depth`` a positive int, the only parts that
    are not parameters. ``min(length(p))`` is planned as a breadth-first expansion visiting
    each node once (``VarLengthExpand(Pruning,BFS)``); ``ANY SHORTEST`` to every node
    walked paths (40 components each depending on all later ones: over 30 s at depth 7)."""
    hops = f"[:{rel}*1..{int(max_depth)}]"
    arrow = f"-{hops}->" if direction is Direction.OUT else f"<-{hops}-"
    edge = f"(a)-[r:{rel}]->()" if direction is Direction.OUT else f"(a)<-[r:{rel}]-()"
    text = (
        f"""
        MATCH (root:Ref {{key: $root}})
        CALL (root) {{
            MATCH p = (root){arrow}(n)
            WITH n, min(length(p)) AS depth
            WHERE n <> root
            RETURN collect([n, n.key, depth]) AS reached
        }}
        CALL (root, reached) {{
            UNWIND [root] + [x IN reached WHERE x[2] < $max_depth | x[0]] AS a
            MATCH {edge}
            RETURN collect([r.source_ref, r.target_ref]) AS edges
        }}
        RETURN [x IN reached | x[1..]] AS reached, edges,
               [e IN [root] + [x IN reached | x[0]] WHERE e:Entity | """
        + ENTITY_FIELDS
        + """]
                   AS entities
    """
    )
    return text


def _far_refs(
    root_key: str, depths: Mapping[str, int], edges: Sequence[Sequence[str]], direction: Direction
) -> dict[str, str]:
    """The ref as written of each reached key: the far end of an edge from one level nearer."""
    depth_of = {**depths, root_key: 0}
    refs: dict[str, str] = {}
    for edge in edges:
        near, far = edge if direction is Direction.OUT else edge[::-1]
        key = far.lower()
        if key in depths and key not in refs and depth_of.get(near.lower()) == depths[key] - 1:
            refs[key] = far
    return refs


def shortest_path_query(rel: str, max_depth: int) -> LiteralString:
    """One query for :func:`shortest_path`: the distance ``n`` from ``$start`` to ``$goal``
    along ``rel`` (no row when beyond ``max_depth``), the distances of the nodes nearer than
    ``n``, and the edges leaving them: the breadth-first layers a shortest path is picked
    from."""
    text = f"""
        MATCH (s:Ref {{key: $start}})
        CALL (s) {{
            MATCH p = ANY SHORTEST (s)-[:{rel}]->{{0,{int(max_depth)}}}(v)
            RETURN collect([v, length(p)]) AS reached
        }}
        WITH reached, [x IN reached WHERE x[0].key = $goal | x[1]][0] AS n
        WHERE n IS NOT NULL
        CALL (reached, n) {{
            UNWIND reached AS x
            WITH x[0] AS u WHERE x[1] < n
            MATCH (u)-[r:{rel}]->(v)
            RETURN collect([u.key, v.key, r.source_ref, r.target_ref]) AS edges
        }}
        RETURN n, [x IN reached WHERE x[1] < n | [x[0].key, x[1]]] AS depths, edges
    """
    return text


def _pick_path(
    start: str, goal: str, depths: Mapping[str, int], edges: Sequence[Sequence[str]]
) -> list[str]:
    """Refs along the shortest path the SQLite adapter picks: walking back from the goal,
    the smallest predecessor key one layer nearer each time. ``depths`` holds the goal's
    distance and that of every nearer node; ``edges`` are the edges leaving the nearer
    nodes, as (source key, target key, source ref, target ref)."""
    into: dict[str, list[tuple[str, str, str]]] = {}
    for source_key, target_key, source_ref, target_ref in edges:
        if depths.get(target_key) == depths[source_key] + 1:
            into.setdefault(target_key, []).append((source_key, source_ref, target_ref))
    steps: list[tuple[str, str, str]] = []  # (source key, source ref, target ref), goal first
    here = goal
    while here != start:
        steps.append(min(into[here]))
        here = steps[-1][0]
    return [steps[-1][1], *(target_ref for _, _, target_ref in reversed(steps))]


async def traverse(
    db: Connection, root_key: str, rel_type: str, direction: Direction, max_depth: int
) -> Traversal:
    """One query: a breadth-first expansion finds every node within ``max_depth`` hops at
    its shortest distance (cycles end it), then the edges leaving the root and every node
    nearer than ``max_depth``: the edges the walk followed, refs as written among them."""
    if direction is Direction.BOTH:
        raise StoreError("traverse follows one direction: OUT or IN")
    if max_depth < 1 or rel_type not in REL_TYPES:
        return Traversal({}, {}, [])
    query = traverse_query(REL_TYPES[rel_type], direction, max_depth)
    rows = await db.read(db.statement(query, root=root_key.lower(), max_depth=max_depth))
    if not rows:
        return Traversal({}, {}, [])
    depths: dict[str, int] = {key: depth for key, depth in rows[0]["reached"]}
    edges = sorted(rows[0]["edges"], key=lambda e: (e[0].lower(), e[1].lower(), e[0], e[1]))
    return Traversal(
        depths=depths,
        refs=_far_refs(root_key.lower(), depths, edges, direction),
        edges=[TraversalEdge(from_ref, to_ref) for from_ref, to_ref in edges],
        entities={entity.key: entity for entity in map(stored_entity, rows[0]["entities"])},
    )


async def expand_groups(db: Connection, keys: Sequence[str]) -> list[str]:
    """One statement: a breadth-first search below each group through ``CHILD_OF``."""
    wanted = lookup_keys(keys)
    if not wanted:
        return []
    (row,) = await db.read(db.statement(EXPAND_GROUPS, keys=wanted))
    return sorted({*wanted, *row["keys"]})


async def impact(db: Connection, root_key: str, max_depth: int) -> list[ImpactRow]:
    """A breadth-first walk, one statement per level in one read transaction, until the
    level comes back empty or ``max_depth`` is reached: each level finds what depends on
    the frontier or consumes an API it provides, leaving out what was seen before."""
    root = root_key.lower()

    async def work(tx: AsyncManagedTransaction) -> list[ImpactRow]:
        seen, frontier = {root}, [root]
        found: list[ImpactRow] = []
        for depth in range(1, max_depth + 1):
            (row,) = await db.run(tx, IMPACT_LEVEL, frontier=frontier)
            level = [
                ImpactRow(key, ref, depth, _VIA[rank])
                for key, ref, rank in row["level"]
                if key not in seen
            ]
            if not level:
                break
            found += level
            frontier = [r.key for r in level]
            seen.update(frontier)
        return found

    return await db.read(work)


async def shortest_path(
    db: Connection, from_key: str, to_key: str, rel_type: str, max_depth: int
) -> list[str] | None:
    """One statement: ``ANY SHORTEST`` gives the distances from the start (a breadth-first
    search); the query returns the layers nearer than the goal with the edges leaving
    them, and the path is picked from those as the SQLite adapter picks it."""
    start, goal = from_key.lower(), to_key.lower()
    if start == goal:
        rows = await db.read(db.statement(ENTITY_REF, key=start))
        return [rows[0]["ref"] if rows else from_key]
    if max_depth < 1 or rel_type not in REL_TYPES:
        return None
    query = shortest_path_query(REL_TYPES[rel_type], max_depth)
    rows = await db.read(db.statement(query, start=start, goal=goal))
    if not rows:
        return None
    depths: dict[str, int] = {key: depth for key, depth in rows[0]["depths"]}
    depths[goal] = rows[0]["n"]
    return _pick_path(start, goal, depths, rows[0]["edges"])


async def owned_by(db: Connection, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
    if not owner_keys:
        return []
    query = OWNED_BY[include_subgroups]
    (row,) = await db.read(db.statement(query, owners=lookup_keys(owner_keys)))
    return list(row["refs"])


async def owned_entities(
    db: Connection, owner_keys: Sequence[str], include_subgroups: bool, summary: bool = False
) -> list[StoredEntity]:
    if not owner_keys:
        return []
    query = OWNED_ENTITIES[include_subgroups, summary]
    (row,) = await db.read(db.statement(query, owners=lookup_keys(owner_keys)))
    entity = summary_entity if summary else stored_entity
    return [entity(found) for found in row["entities"]]
