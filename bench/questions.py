"""The five read questions, each asked three ways: GraphQL over HTTP, and the best
hand-written single query for each store (SQL on the SQLite file, Cypher through the
driver), against the same data.

The hand-written queries answer the same question with the same rows (``rows`` in the
table compares the counts); they are the floor the API is measured against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, LiteralString

from bench.shape import Catalog

Count = Callable[[dict[str, Any]], int]
MAX_DEPTH = 10


@dataclass(frozen=True)
class Question:
    """One read, with its parameters for a given catalog."""

    key: str
    label: str
    graphql: str
    variables: dict[str, Any]
    count: Count  # items in the GraphQL answer's data
    sql: str
    sql_params: dict[str, Any]
    cypher: LiteralString
    cypher_params: dict[str, Any]
    schema_field: str  # the Query field it needs ("" for none)
    target_ms: float | None  # the p50 target at 100k, where it sets one


FLOOR_GRAPHQL = "{ __typename }"

BY_REF_GRAPHQL = "query($ref: String!) { entity(ref: $ref) { ref kind title } }"
BY_REF_SQL = "SELECT ref, kind, title FROM entities WHERE key = :key"
BY_REF_CYPHER: LiteralString = (
    "MATCH (e:Ref {key: $key}) WHERE e:Entity RETURN e.ref AS ref, e.kind AS kind, e.title AS title"
)

PAGE_GRAPHQL = """
query {
  entities(kind: "component", first: 100) {
    edges { node { ref owner { ref }
      ... on Component { providesApis { ref } consumesApis { ref } } } }
  }
}
"""
PAGE_SQL = """
SELECT e.ref,
  (SELECT o.ref FROM relations r JOIN entities o ON o.key = r.target_key
   WHERE r.source_key = e.key AND r.type = 'ownedBy') AS owner,
  (SELECT json_group_array(a.ref) FROM relations r JOIN entities a ON a.key = r.target_key
   WHERE r.source_key = e.key AND r.type = 'providesApi') AS provides,
  (SELECT json_group_array(a.ref) FROM relations r JOIN entities a ON a.key = r.target_key
   WHERE r.source_key = e.key AND r.type = 'consumesApi') AS consumes
FROM entities e WHERE e.kind = 'component' ORDER BY e.key LIMIT 100
"""
# Keys of one kind share a prefix, so the key index gives the first 100 in order.
PAGE_CYPHER: LiteralString = """
MATCH (e:Ref) WHERE e.key STARTS WITH 'component:' AND e:Entity
WITH e ORDER BY e.key LIMIT 100
RETURN e.ref AS ref,
       [(e)-[:OWNED_BY]->(o:Entity) | o.ref][0] AS owner,
       [(e)-[:PROVIDES_API]->(a:Entity) | a.ref] AS provides,
       [(e)-[:CONSUMES_API]->(a:Entity) | a.ref] AS consumes
"""

DEPENDENCIES_GRAPHQL = """
query($ref: String!) { dependencies(ref: $ref, maxDepth: 10) { nodes { ref kind } } }
"""
DEPENDENCIES_SQL = """
WITH RECURSIVE walk(key, depth) AS (
  SELECT :root, 0
  UNION
  SELECT r.target_key, w.depth + 1 FROM walk w
  JOIN relations r ON r.source_key = w.key AND r.type = 'dependsOn'
  WHERE w.depth < :max_depth
)
SELECT e.ref, e.kind, min(w.depth) FROM walk w JOIN entities e ON e.key = w.key
WHERE w.key != :root GROUP BY w.key
"""
DEPENDENCIES_CYPHER: LiteralString = """
MATCH (root:Ref {key: $root})
MATCH p = ANY SHORTEST (root)-[:DEPENDS_ON]->{1,10}(n:Entity)
RETURN n.ref AS ref, n.kind AS kind, length(p) AS depth
"""

IMPACT_GRAPHQL = """
query($ref: String!) {
  impact(ref: $ref, maxDepth: 10) { affected { entity { ref } distance via } owners { ref } }
}
"""
# Breadth-first over both ways of breaking: X breaks when something it depends on breaks,
# or when an API it consumes is provided by something broken (one hop either way). CROSS
# JOIN keeps SQLite's join order (provider, then consumers by API): left to itself the
# planner scans every consumesApi row for each step, 60x slower on the 2k catalog.
IMPACT_SQL = """
WITH RECURSIVE walk(key, depth) AS (
  SELECT :root, 0
  UNION
  SELECT r.source_key, w.depth + 1 FROM walk w
  JOIN relations r ON r.target_key = w.key AND r.type = 'dependsOn'
  WHERE w.depth < :max_depth
  UNION
  SELECT c.source_key, w.depth + 1 FROM walk w
  CROSS JOIN relations p CROSS JOIN relations c
  WHERE p.source_key = w.key AND p.type = 'providesApi'
    AND c.target_key = p.target_key AND c.type = 'consumesApi' AND w.depth < :max_depth
),
hit AS (SELECT key, min(depth) AS distance FROM walk WHERE key != :root GROUP BY key)
SELECT e.ref, h.distance, o.ref FROM hit h
JOIN entities e ON e.key = h.key
LEFT JOIN relations ob ON ob.source_key = h.key AND ob.type = 'ownedBy'
LEFT JOIN entities o ON o.key = ob.target_key
"""
# The same breadth-first walk in one statement, unrolled MAX_DEPTH times: each level finds
# what depends on the frontier or consumes an API it provides, leaving out what was seen.
# (One ANY SHORTEST over DEPENDS_ON|PROVIDES_API|CONSUMES_API with a direction predicate
# inside the quantified pattern answers the same and ran for over 13 minutes on 2k.)
IMPACT_HEAD: LiteralString = """
MATCH (root:Ref {key: $root})
WITH [root] AS frontier, [root.key] AS seen, [] AS found, 0 AS depth
"""
IMPACT_LEVEL: LiteralString = """
CALL (frontier, seen) {
  UNWIND frontier AS x
  CALL (x) {
    MATCH (x)<-[:DEPENDS_ON]-(y) RETURN y
    UNION
    MATCH (x)-[:PROVIDES_API]->()<-[:CONSUMES_API]-(y) RETURN y
  }
  WITH DISTINCT y WHERE NOT y.key IN seen
  RETURN collect(y) AS next
}
WITH next AS frontier, seen + [y IN next | y.key] AS seen,
     found + [y IN next | [y, depth + 1]] AS found, depth + 1 AS depth
"""
IMPACT_TAIL: LiteralString = """
UNWIND found AS hit
WITH hit[0] AS n, hit[1] AS distance WHERE n:Entity
OPTIONAL MATCH (n)-[:OWNED_BY]->(o:Entity)
RETURN n.ref AS ref, distance, o.ref AS owner
"""
IMPACT_CYPHER: LiteralString = IMPACT_HEAD + IMPACT_LEVEL * MAX_DEPTH + IMPACT_TAIL

ROLLUP_GRAPHQL = """
query($owner: String!) { ownedEntities(owner: $owner, includeSubgroups: true) { ref kind } }
"""
ROLLUP_SQL = """
WITH RECURSIVE groups(key) AS (
  SELECT :owner
  UNION
  SELECT r.source_key FROM groups g JOIN relations r ON r.target_key = g.key AND r.type = 'childOf'
)
SELECT DISTINCT e.ref, e.kind FROM groups g
JOIN relations r ON r.target_key = g.key AND r.type = 'ownedBy'
JOIN entities e ON e.key = r.source_key
"""
ROLLUP_CYPHER: LiteralString = """
MATCH (o:Ref {key: $owner})<-[:CHILD_OF*0..]-(g)
MATCH (e:Entity)-[:OWNED_BY]->(g)
RETURN DISTINCT e.ref AS ref, e.kind AS kind
"""


def _edges(data: dict[str, Any]) -> int:
    return len(data["entities"]["edges"])


def _nodes(data: dict[str, Any]) -> int:
    return len(data["dependencies"]["nodes"])


def _affected(data: dict[str, Any]) -> int:
    return len(data["impact"]["affected"])


def _owned(data: dict[str, Any]) -> int:
    return len(data["ownedEntities"])


def _one(data: dict[str, Any]) -> int:
    return 1 if data["entity"] else 0


def _typename(data: dict[str, Any]) -> int:
    return 1 if data["__typename"] else 0


def questions(catalog: Catalog) -> list[Question]:
    """The five questions, aimed at this catalog's deep service, hub and first department,
    after the floor: the cost of any request, answered without the store."""
    deep = f"component:default/{catalog.deep}"
    hub = f"component:default/{catalog.hub}"
    department = f"group:default/{catalog.departments[0].name}"
    return [
        Question(
            "floor",
            "(0) floor: { __typename } / SELECT 1",
            FLOOR_GRAPHQL,
            {},
            _typename,
            "SELECT 1",
            {},
            "RETURN 1",
            {},
            "",
            None,
        ),
        Question(
            "by_ref",
            "(a) entity by ref",
            BY_REF_GRAPHQL,
            {"ref": deep},
            _one,
            BY_REF_SQL,
            {"key": deep},
            BY_REF_CYPHER,
            {"key": deep},
            "entity",
            2,
        ),
        Question(
            "page",
            "(b) 100 components + owner, APIs",
            PAGE_GRAPHQL,
            {},
            _edges,
            PAGE_SQL,
            {},
            PAGE_CYPHER,
            {},
            "entities",
            30,
        ),
        Question(
            "dependencies",
            "(c) depth-10 dependencies",
            DEPENDENCIES_GRAPHQL,
            {"ref": deep},
            _nodes,
            DEPENDENCIES_SQL,
            {"root": deep, "max_depth": MAX_DEPTH},
            DEPENDENCIES_CYPHER,
            {"root": deep},
            "dependencies",
            50,
        ),
        Question(
            "impact",
            "(d) impact of a hub",
            IMPACT_GRAPHQL,
            {"ref": hub},
            _affected,
            IMPACT_SQL,
            {"root": hub, "max_depth": MAX_DEPTH},
            IMPACT_CYPHER,
            {"root": hub},
            "impact",
            None,
        ),
        Question(
            "rollup",
            "(e) department ownership roll-up",
            ROLLUP_GRAPHQL,
            {"owner": department},
            _owned,
            ROLLUP_SQL,
            {"owner": department},
            ROLLUP_CYPHER,
            {"owner": department},
            "ownedEntities",
            50,
        ),
    ]
