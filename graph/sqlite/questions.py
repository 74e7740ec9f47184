"""Graph questions: traversal, group expansion, impact, shortest path, dangling relations,
orphans and the ownership roll-up, as recursive CTEs or one statement per breadth-first level.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from graph.errors import StoreError
from graph.port import (
    OWNED_KINDS,
    DanglingPage,
    Direction,
    ImpactRow,
    Orphan,
    StoredEntity,
    StoredRelation,
    Traversal,
    TraversalEdge,
)
from graph.sqlite.connection import Connection
from graph.sqlite.reads import entities_read, get_entities
from graph.sqlite.rows import (
    ENTITY_COLUMNS,
    SUMMARY_COLUMNS,
    json_list,
    lookup_keys,
    stored_entity,
    summary_entity,
)


async def traverse(
    db: Connection, root_key: str, rel_type: str, direction: Direction, max_depth: int
) -> Traversal:
    if direction is Direction.BOTH:
        raise StoreError("traverse follows one direction: OUT or IN")
    near, far = ("source", "target") if direction is Direction.OUT else ("target", "source")
    walk = f"""
        WITH RECURSIVE walk(key, ref, depth) AS (
            SELECT :root, :root, 0
            UNION
            SELECT r.{far}_key, r.{far}_ref, w.depth + 1
            FROM relations r JOIN walk w ON r.{near}_key = w.key
            WHERE r.type = :type AND w.depth < :max_depth
        )
        SELECT key, ref, min(depth) FROM walk GROUP BY key
    """
    root = root_key.lower()

    def read(conn: sqlite3.Connection) -> Traversal:  # the walk, its edges, its entities
        rows = db.execute(
            conn, walk, {"root": root, "type": rel_type, "max_depth": max_depth}
        ).fetchall()
        depths = {key: depth for key, _, depth in rows}
        refs = {key: ref for key, ref, _ in rows if key != root}
        edges_rows = db.execute(
            conn,
            "SELECT r.source_key, r.target_key, r.source_ref, r.target_ref FROM relations r "
            "WHERE r.type = ? AND r.source_key IN (SELECT value FROM json_each(?)) "
            "AND r.target_key IN (SELECT value FROM json_each(?)) "
            "ORDER BY r.source_key, r.target_key",
            (rel_type, json_list(list(depths)), json_list(list(depths))),
        ).fetchall()
        edges = []
        for source_key, target_key, source_ref, target_ref in edges_rows:
            near_key = source_key if direction is Direction.OUT else target_key
            if depths[near_key] < max_depth:
                edges.append(TraversalEdge(source_ref, target_ref))
        entities = entities_read(db, list(depths))(conn)
        depths.pop(root, None)
        return Traversal(depths, refs, edges, entities)

    return await db.call(read)


async def expand_groups(db: Connection, keys: Sequence[str]) -> list[str]:
    sql = """
        WITH RECURSIVE groups(key) AS (
            SELECT value FROM json_each(:keys)
            UNION
            SELECT r.source_key FROM relations r JOIN groups g ON r.target_key = g.key
            WHERE r.type = 'childOf'
        )
        SELECT key FROM groups ORDER BY key
    """

    def read(conn: sqlite3.Connection) -> list[str]:
        return [r[0] for r in db.execute(conn, sql, {"keys": lookup_keys(keys)}).fetchall()]

    return await db.call(read)


async def impact(db: Connection, root_key: str, max_depth: int) -> list[ImpactRow]:
    # Breadth-first, one statement per level over the frontier only: a recursive CTE
    # re-expands every entity at every depth a cycle or a second path reaches it.
    step = """
        SELECT r.source_key, r.source_ref, 'dependsOn' AS via
        FROM relations r
        WHERE r.type = 'dependsOn' AND r.target_key IN (SELECT value FROM json_each(:keys))
        UNION ALL
        SELECT c.source_key, c.source_ref, 'consumesApi'
        FROM relations p  -- CROSS JOIN keeps p outside: SQLite would scan c by type
        CROSS JOIN relations c ON c.target_key = p.target_key AND c.type = 'consumesApi'
        WHERE p.type = 'providesApi' AND p.source_key IN (SELECT value FROM json_each(:keys))
        ORDER BY 3 DESC, 1
    """
    root = root_key.lower()

    def read(conn: sqlite3.Connection) -> list[ImpactRow]:
        seen = {root}
        found: list[ImpactRow] = []
        frontier = [root]
        for depth in range(1, max_depth + 1):
            level: dict[str, ImpactRow] = {}
            rows = db.execute(conn, step, {"keys": json_list(frontier)}).fetchall()
            for key, ref, via in rows:  # dependsOn rows first: preferred on ties
                if key not in seen and key not in level:
                    level[key] = ImpactRow(key, ref, depth, via)
            if not level:
                break
            ordered = sorted(level.values(), key=lambda r: (r.via == "consumesApi", r.key))
            found.extend(ordered)
            seen.update(level)
            frontier = list(level)
        return found

    return await db.call(read)


async def shortest_path(
    db: Connection, from_key: str, to_key: str, rel_type: str, max_depth: int
) -> list[str] | None:
    start, goal = from_key.lower(), to_key.lower()
    walk = await traverse(db, start, rel_type, Direction.OUT, max_depth)
    if start == goal:
        found = await get_entities(db, [start])
        return [found[start].ref] if start in found else [from_key]
    if goal not in walk.depths:
        return None
    predecessors: dict[str, list[str]] = {}
    refs = dict(walk.refs)
    for edge in walk.edges:
        predecessors.setdefault(edge.to_ref.lower(), []).append(edge.from_ref.lower())
        refs.setdefault(edge.from_ref.lower(), edge.from_ref)
    depths = {**walk.depths, start: 0}
    path = [goal]
    while path[-1] != start:
        here = path[-1]
        path.append(min(p for p in predecessors[here] if depths.get(p) == depths[here] - 1))
    return [refs.get(key, key) for key in reversed(path)]


async def dangling(
    db: Connection, first: int, after: tuple[str, str, str] | None = None, backward: bool = False
) -> DanglingPage:
    """``backward`` reads the other way from the position, then turns the page round."""
    compare, direction = ("<", "DESC") if backward else (">", "ASC")
    sql = f"""
        SELECT r.source_ref, r.type, r.target_ref, r.source, s.key IS NOT NULL,
               t.key IS NOT NULL
        FROM relations r
        LEFT JOIN entities s ON s.key = r.source_key
        LEFT JOIN entities t ON t.key = r.target_key
        WHERE (s.key IS NULL OR t.key IS NULL)
          AND (:a IS NULL OR (r.source_key, r.type, r.target_key) {compare} (:a, :b, :c))
        ORDER BY r.source_key {direction}, r.type {direction}, r.target_key {direction}
        LIMIT :limit
    """
    a, b, c = after if after else (None, None, None)

    def read(conn: sqlite3.Connection) -> DanglingPage:
        rows = db.execute(conn, sql, {"a": a, "b": b, "c": c, "limit": first + 1}).fetchall()
        relations = [StoredRelation(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows]
        page = relations[:first][::-1] if backward else relations[:first]
        return DanglingPage(page, has_next=len(rows) > first)

    return await db.call(read)


async def orphans(
    db: Connection, first: int, after: str | None = None, backward: bool = False
) -> tuple[list[Orphan], bool]:
    compare, direction = ("<", "DESC") if backward else (">", "ASC")
    sql = f"""
        SELECT {ENTITY_COLUMNS},
               (SELECT o.target_ref FROM relations o
                WHERE o.source_key = e.key AND o.type = 'ownedBy' LIMIT 1) AS owner_ref
        FROM entities e
        WHERE e.kind IN (SELECT value FROM json_each(:kinds))
          AND NOT EXISTS (SELECT 1 FROM relations o JOIN entities t ON t.key = o.target_key
                          WHERE o.source_key = e.key AND o.type = 'ownedBy')
          AND (:after IS NULL OR e.key {compare} :after)
        ORDER BY e.key {direction} LIMIT :limit
    """
    params = {
        "kinds": json_list(OWNED_KINDS),
        "after": after.lower() if after else None,
        "limit": first + 1,
    }

    def read(conn: sqlite3.Connection) -> tuple[list[Orphan], bool]:
        rows = db.execute(conn, sql, params).fetchall()
        orphans = [Orphan(stored_entity(r), r[-1]) for r in rows[:first]]
        return (orphans[::-1] if backward else orphans), len(rows) > first

    return await db.call(read)


async def count_dangling(db: Connection) -> int:
    sql = """
        SELECT count(*) FROM relations r
        LEFT JOIN entities s ON s.key = r.source_key
        LEFT JOIN entities t ON t.key = r.target_key
        WHERE s.key IS NULL OR t.key IS NULL
    """
    return await db.call(lambda conn: int(db.execute(conn, sql).fetchone()[0]))


async def count_orphans(db: Connection) -> int:
    sql = """
        SELECT count(*) FROM entities e
        WHERE e.kind IN (SELECT value FROM json_each(:kinds))
          AND NOT EXISTS (SELECT 1 FROM relations o JOIN entities t ON t.key = o.target_key
                          WHERE o.source_key = e.key AND o.type = 'ownedBy')
    """
    params = {"kinds": json_list(OWNED_KINDS)}
    return await db.call(lambda conn: int(db.execute(conn, sql, params).fetchone()[0]))


_OWNERS = """
    WITH RECURSIVE owners(key) AS (
        SELECT value FROM json_each(:owners)
        UNION
        SELECT r.source_key FROM relations r JOIN owners o ON r.target_key = o.key
        WHERE r.type = 'childOf' AND :subgroups
    )
"""


async def owned_by(db: Connection, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
    if not owner_keys:
        return []
    sql = (
        _OWNERS
        + """
        SELECT DISTINCT e.ref FROM owners o  -- from the owners, not every ownedBy row
        CROSS JOIN relations r ON r.target_key = o.key
        JOIN entities e INDEXED BY entities_key_ref ON e.key = r.source_key
        WHERE r.type = 'ownedBy'
        ORDER BY e.key
    """
    )
    params = {"owners": json_list([k.lower() for k in owner_keys]), "subgroups": include_subgroups}

    def read(conn: sqlite3.Connection) -> list[str]:
        return [r[0] for r in db.execute(conn, sql, params).fetchall()]

    return await db.call(read)


async def owned_entities(
    db: Connection, owner_keys: Sequence[str], include_subgroups: bool, summary: bool = False
) -> list[StoredEntity]:
    if not owner_keys:
        return []
    sql = (
        _OWNERS
        + f"""
        SELECT {SUMMARY_COLUMNS if summary else ENTITY_COLUMNS} FROM entities e WHERE e.key IN (
            SELECT r.source_key FROM owners o  -- from the owners, not every ownedBy row
            CROSS JOIN relations r ON r.target_key = o.key WHERE r.type = 'ownedBy'
        )
        ORDER BY e.key
    """
    )
    params = {"owners": json_list([k.lower() for k in owner_keys]), "subgroups": include_subgroups}

    entity = summary_entity if summary else stored_entity

    def read(conn: sqlite3.Connection) -> list[StoredEntity]:
        return [entity(r) for r in db.execute(conn, sql, params).fetchall()]

    return await db.call(read)
