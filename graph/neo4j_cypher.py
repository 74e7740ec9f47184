"""The Cypher text of the Neo4j adapter (:mod:`graph.neo4j_store`): statements and small
builders, kept apart from the store's behaviour.

Only whitelisted relationship types, field names from the fixed tables below and validated
integers reach the text; every value is a parameter. Builders return ``LiteralString`` so
the type checker sees that no value was pasted in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, LiteralString

import orjson

from catalog.kinds import KIND_SPECS
from catalog.relations import RELATION_TYPES
from graph.port import Direction, EntityFilter, Order
from graph.search import search_tokens

#: forward relation type -> relationship type (ownedBy -> OWNED_BY)
REL_TYPES: dict[str, str] = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() for name in RELATION_TYPES
}
#: relationship type -> forward relation type (OWNED_BY -> ownedBy)
REL_NAMES: dict[str, str] = {rel: name for name, rel in REL_TYPES.items()}

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT ref_key IF NOT EXISTS FOR (n:Ref) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT entity_ref IF NOT EXISTS FOR (n:Entity) REQUIRE n.ref IS UNIQUE",
    "CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.id IS UNIQUE",
    "CREATE CONSTRAINT lease_name IF NOT EXISTS FOR (l:Lease) REQUIRE l.name IS UNIQUE",
    "CREATE INDEX entity_kind IF NOT EXISTS FOR (n:Entity) ON (n.kind)",
    "CREATE INDEX entity_namespace IF NOT EXISTS FOR (n:Entity) ON (n.namespace)",
    "CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name)",
    "CREATE INDEX entity_source IF NOT EXISTS FOR (n:Entity) ON (n.source)",
    "CREATE INDEX entity_run_id IF NOT EXISTS FOR (n:Entity) ON (n.run_id)",
    "CREATE INDEX entity_spec_type IF NOT EXISTS FOR (n:Entity) ON (n.spec_type)",
    "CREATE INDEX entity_lifecycle IF NOT EXISTS FOR (n:Entity) ON (n.lifecycle)",
    "CREATE INDEX entity_updated_at IF NOT EXISTS FOR (n:Entity) ON (n.updated_at)",
    "CREATE INDEX run_source IF NOT EXISTS FOR (r:Run) ON (r.source)",
    "CREATE INDEX run_started_at IF NOT EXISTS FOR (r:Run) ON (r.started_at)",
    "CREATE INDEX run_status IF NOT EXISTS FOR (r:Run) ON (r.status)",
    "CREATE FULLTEXT INDEX entity_search IF NOT EXISTS FOR (n:Entity) "
    "ON EACH [n.name, n.title, n.description, n.tags_text]",
    # cleanup finds a source's relationships through these (one per type: Neo4j indexes
    # relationship properties per type)
    *(
        f"CREATE INDEX rel_{rel.lower()}_source IF NOT EXISTS "
        f"FOR ()-[r:{rel}]-() ON (r.source, r.run_id)"
        for rel in REL_TYPES.values()
    ),
)

# -- writes ------------------------------------------------------------------------------

#: The store's own labels: a kind whose label would be one of these gets no kind label.
OWN_LABELS = frozenset({"Ref", "Entity", "Run"})

#: kind -> its label, for the kinds the catalog defines. Entities are written one kind per
#: statement with the label in the text (a label cannot be a parameter, and the dynamic
#: ``SET n:$(labels)`` costs a lookup per row); kinds outside this table use the dynamic
#: form with their validated label.
KIND_LABELS: dict[str, str] = {
    kind: kind.capitalize() for kind in KIND_SPECS if kind.capitalize() not in OWN_LABELS
}


def _upsert_entities(labels: LiteralString) -> LiteralString:
    """Upsert ``$rows`` (key, labels, props), setting ``labels`` on each. An entity stored
    with the same document and source and no error is only restamped with the run id:
    rewriting it would change nothing but cost every index (full-text included) an update."""
    return (
        """
UNWIND $rows AS row
MERGE (n:Ref {key: row.key})
WITH n, row,
     (n:Entity AND n.document = row.props.document AND n.hash = row.props.hash
      AND n.source = $source AND n.error IS NULL) AS same,
     (n:Entity AND n.hash = row.props.hash) AS unchanged
SET n.run_id = $run_id
WITH n, row, unchanged WHERE NOT same
SET """
        + labels
        + """
SET n += row.props,
    n.source = $source, n.error = null,
    n.updated_at = CASE WHEN unchanged THEN n.updated_at ELSE $now END
"""
    )


#: label (None: the row's own ``labels``) -> the upsert statement
UPSERT_ENTITIES: dict[str | None, LiteralString] = {
    None: _upsert_entities("n:Entity, n:$(row.labels)"),
    **{label: _upsert_entities(f"n:Entity:{label}") for label in KIND_LABELS.values()},
}

#: relationship type -> the upsert of ``$rows`` of that type (one statement text per type:
#: a dynamic type, or a per-row choice among all types, made the MERGEs several times slower)
UPSERT_RELATIONS: dict[str, LiteralString] = {
    rel: "UNWIND $rows AS row\n"
    "MERGE (s:Ref {key: row.source_key}) ON CREATE SET s.ref = row.source_ref\n"
    "MERGE (t:Ref {key: row.target_key}) ON CREATE SET t.ref = row.target_ref\n"
    f"MERGE (s)-[r:{rel}]->(t)\n"
    "SET r.source = $source, r.run_id = $run_id,\n"
    "    r.source_ref = row.source_ref, r.target_ref = row.target_ref\n"
    for rel in REL_TYPES.values()
}

TOUCH_ENTITIES: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source
SET n.run_id = $run_id, n.error = $error
"""

TOUCH_RELATIONS: LiteralString = """
MATCH (n:Ref) WHERE n.key IN $keys
MATCH (n)-[r]-() WHERE r.source = $source
SET r.run_id = $run_id
"""

STALE: LiteralString = """
MATCH (n:Entity) WHERE n.source = $source
RETURN count(n) AS total,
       collect(CASE WHEN n.run_id <> $run_id THEN [n.key, n.ref, n.kind] END) AS stale
"""

# Removes the relationships the caller matched as ``r``, then the placeholders they leave bare.
_DROP_RELATIONSHIPS: LiteralString = """
WITH r, startNode(r) AS a, endNode(r) AS b
DELETE r
WITH collect(a) + collect(b) AS ends
UNWIND ends AS n
WITH DISTINCT n
WHERE NOT n:Entity AND NOT EXISTS { (n)--() }
DELETE n
"""

# Retires the entities the caller matched as ``n``: a placeholder while relationships still
# reach it, otherwise gone. Yields one row per entity with its ``kind``.
_RETIRE_ENTITIES: LiteralString = """
WITH n, n.kind AS kind, [label IN labels(n) WHERE label <> 'Ref'] AS extra
REMOVE n:$(extra)
SET n = {key: n.key, ref: n.ref}
FOREACH (gone IN CASE WHEN EXISTS { (n)--() } THEN [] ELSE [n] END | DELETE gone)
"""

_STALE_RELATIONSHIPS: LiteralString = (
    "CALL () {\n"
    + "\nUNION ALL\n".join(
        f"MATCH ()-[r:{rel}]->() WHERE r.source = $source AND r.run_id <> $run_id RETURN r"
        for rel in REL_TYPES.values()
    )
    + "\n}\n"
)

# Removes the given relations of ``$source`` (rows of source key, relationship type, target key).
REMOVE_RELATIONS: LiteralString = (
    """
UNWIND $rows AS row
MATCH (:Ref {key: row.source_key})-[r]->(:Ref {key: row.target_key})
WHERE type(r) = row.type AND r.source = $source
"""
    + _DROP_RELATIONSHIPS
)

DELETE_STALE: tuple[LiteralString, LiteralString] = (
    _STALE_RELATIONSHIPS + _DROP_RELATIONSHIPS,
    "MATCH (n:Entity) WHERE n.source = $source AND n.run_id <> $run_id\n"
    + _RETIRE_ENTITIES
    + "RETURN kind, count(*) AS deleted",
)

DELETE_ENTITIES: tuple[LiteralString, LiteralString] = (
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    "MATCH (n)-[r]->() WHERE r.source = $source\n" + _DROP_RELATIONSHIPS,
    "MATCH (n:Ref) WHERE n.key IN $keys AND n:Entity AND n.source = $source\n"
    + _RETIRE_ENTITIES
    + "RETURN count(*) AS deleted",
)

SAVE_RUN: LiteralString = """
MERGE (r:Run {id: $id})
ON CREATE SET r.source = $source, r.started_at = $started_at
SET r.document = $document, r.status = $status
"""

# Runs saved before ``status`` was a property (setup backfills it from their documents).
RUNS_WITHOUT_STATUS: LiteralString = (
    "MATCH (r:Run) WHERE r.status IS NULL RETURN r.id AS id, r.document AS document"
)
SET_RUN_STATUS: LiteralString = """
UNWIND $rows AS row
MATCH (r:Run {id: row.id})
SET r.status = row.status
"""

PRUNE_RUNS: LiteralString = """
MATCH (r:Run) WHERE r.started_at < $before AND r.status <> 'RUNNING'
DETACH DELETE r
RETURN count(*) AS deleted
"""

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

# -- reads -------------------------------------------------------------------------------

# ``updated_at`` as microseconds since the epoch: the driver turns a DateTime into Python
# objects slowly enough to triple the time of reading a few hundred entities.
ENTITY_FIELDS: LiteralString = (
    "e {.ref, .kind, .namespace, .name, .document, .hash, .source, .run_id, .error, "
    "updated_at: e.updated_at.epochSeconds * 1000000 + e.updated_at.microsecond}"
)

# Reads return their rows collected into one (``collect``): the async driver pays for each
# record it receives, about as much as the server pays for the whole read of a page.
GET_ENTITIES: LiteralString = (
    "MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity RETURN collect("
    + ENTITY_FIELDS
    + ") AS entities"
)

# One row holding every state: the async driver pays per record received, far more than
# the server pays to collect them.
GET_ENTITY_STATES: LiteralString = """
MATCH (e:Ref) WHERE e.key IN $keys AND e:Entity
RETURN collect([e.key, e.source, e.hash, e.error]) AS states
"""

_GET_RELATIONS_TAIL: LiteralString = """
WHERE type(r) IN $types
WITH DISTINCT r
RETURN collect([r.source_ref, type(r), r.target_ref, r.source,
                startNode(r):Entity, endNode(r):Entity]) AS relations
"""

GET_RELATIONS: dict[Direction, LiteralString] = {
    Direction.OUT: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]->()" + _GET_RELATIONS_TAIL,
    Direction.IN: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)<-[r]-()" + _GET_RELATIONS_TAIL,
    Direction.BOTH: "MATCH (n:Ref) WHERE n.key IN $keys MATCH (n)-[r]-()" + _GET_RELATIONS_TAIL,
}

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

# A breadth-first search finds every group below the given ones once, however the hierarchy
# is shaped (cycles included); the given keys themselves come back at distance 0.
EXPAND_GROUPS: LiteralString = """
MATCH (g:Ref) WHERE g.key IN $keys
MATCH ANY SHORTEST (g)<-[:CHILD_OF]-{0,}(c)
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

# Relationships with a placeholder at either end, by (source key, relation name, target key).
DANGLING: LiteralString = """
MATCH (p:Ref) WHERE NOT p:Entity
MATCH (p)-[r]-()
WITH DISTINCT r
WITH r, startNode(r) AS a, endNode(r) AS b
WITH r, a, b, [a.key, $names[type(r)], b.key] AS position
WHERE $after IS NULL OR position > $after
RETURN r.source_ref AS source_ref, position[1] AS type, r.target_ref AS target_ref,
       r.source AS source, a:Entity AS source_exists, b:Entity AS target_exists
ORDER BY a.key, position[1], b.key
LIMIT $limit
"""

ORPHANS: LiteralString = (
    """
MATCH (e:Ref:Entity)
WHERE e.key > $after AND e.kind IN $kinds AND NOT EXISTS { (e)-[:OWNED_BY]->(:Entity) }
RETURN """
    + ENTITY_FIELDS
    + """ AS entity,
       COLLECT { MATCH (e)-[o:OWNED_BY]->(t) RETURN o.target_ref ORDER BY t.key LIMIT 1 }[0]
           AS owner_ref
ORDER BY e.key
LIMIT $limit
"""
)

GET_RUNS: LiteralString = """
OPTIONAL MATCH (a:Run {id: $after})
WITH a
MATCH (r:Run)
WHERE ($source IS NULL OR r.source = $source)
  AND ($status IS NULL OR r.status = $status)
  AND ($after IS NULL OR (a IS NOT NULL AND (r.started_at < a.started_at
       OR (r.started_at = a.started_at AND r.id < a.id))))
RETURN r.document AS document
ORDER BY r.started_at DESC, r.id DESC LIMIT $first
"""

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

# -- builders ----------------------------------------------------------------------------

#: Full-text fields with boosts mirroring the SQLite adapter's bm25 weights.
SEARCH_FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 10),
    ("title", 5),
    ("description", 1),
    ("tags_text", 3),
)


def search_query(text: str) -> str | None:
    """A Lucene query for the ``entity_search`` index: every token of ``text`` as a prefix
    in some field, name and title weighing most; None when nothing is searchable."""
    tokens = search_tokens(text)
    if not tokens:
        return None
    fields = " OR ".join(f"{name}:{{t}}*^{boost}" for name, boost in SEARCH_FIELDS)
    return " AND ".join("(" + fields.format(t=token) + ")" for token in tokens)


@dataclass(frozen=True)
class EntityMatch:
    """The head of a query over the entities matching a filter: ``source`` binds ``e`` (and
    ``score`` when searching), ``conditions`` must all hold."""

    source: LiteralString
    conditions: tuple[LiteralString, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def clause(self, *more: LiteralString) -> LiteralString:
        """``source WHERE ...`` with the filter's conditions and ``more``."""
        conditions = (*more, *self.conditions)
        if not conditions:
            return self.source
        return self.source + " WHERE " + " AND ".join(conditions)


def entity_match(flt: EntityFilter) -> EntityMatch | None:
    """The query head for ``flt``, or None when nothing can match (an empty search)."""
    params: dict[str, Any] = {}
    conditions: list[LiteralString] = []
    if flt.search is None:
        source: LiteralString = "MATCH (e:Ref:Entity)"
    else:
        query = search_query(flt.search)
        if query is None:
            return None
        params["search"] = query
        source = (
            "CALL db.index.fulltext.queryNodes('entity_search', $search) YIELD node AS e, score"
        )
    if flt.kinds:
        conditions.append("e.kind IN $kinds")
        params["kinds"] = lookup_keys(flt.kinds)
    if flt.namespace is not None:
        conditions.append("toLower(e.namespace) = $namespace")
        params["namespace"] = flt.namespace.lower()
    if flt.owner_keys:
        conditions.append("EXISTS { MATCH (e)-[:OWNED_BY]->(o:Ref) WHERE o.key IN $owners }")
        params["owners"] = lookup_keys(flt.owner_keys)
    if flt.tag is not None:
        conditions.append("$tag IN e.tags")
        params["tag"] = flt.tag.lower()
    if flt.source is not None:
        conditions.append("e.source = $source")
        params["source"] = flt.source
    if flt.types:
        conditions.append("e.spec_type IN $types")
        params["types"] = list(flt.types)
    if flt.lifecycles:
        conditions.append("e.lifecycle IN $lifecycles")
        params["lifecycles"] = list(flt.lifecycles)
    if flt.system_keys:
        conditions.append("EXISTS { MATCH (e)-[:PART_OF]->(s:Ref) WHERE s.key IN $systems }")
        params["systems"] = lookup_keys(flt.system_keys)
    if flt.annotation is not None:
        key, value = flt.annotation
        conditions.append("$annotation_key IN e.annotation_keys")
        params["annotation_key"] = key
        if value is not None:
            conditions.append("$annotation_pair IN e.annotation_pairs")
            params["annotation_pair"] = annotation_pair(key, value)
    return EntityMatch(source, tuple(conditions), params)


def annotation_pair(key: str, value: Any) -> str:
    """How an annotation is stored for exact matching: the JSON array ``[key, value]``
    (unambiguous whatever the key and value contain)."""
    return orjson.dumps([key, value]).decode()


#: Sort value and direction of each order but KEY (which pages on the key index).
ORDER_VALUES: dict[Order, tuple[LiteralString, LiteralString]] = {
    Order.NAME: ("toLower(e.name)", "ASC"),
    Order.KIND: ("e.kind", "ASC"),
    Order.UPDATED_AT: ("e.updated_at", "DESC"),
    Order.RELEVANCE: ("-score", "ASC"),  # lower first, like SQLite's bm25 rank
}


def list_query(match: EntityMatch, order: Order) -> LiteralString:
    """A page of ``match`` in ``order`` after ``$after_value``/``$after_key``: one row whose
    ``page`` holds up to ``$limit`` pairs of entity and sort value."""
    if order is Order.KEY:
        return (
            match.clause("e.key > $after_key")
            + " WITH e ORDER BY e.key LIMIT $limit RETURN collect(["
            + ENTITY_FIELDS
            + ", e.key]) AS page"
        )
    value, direction = ORDER_VALUES[order]
    compare: LiteralString = "<" if direction == "DESC" else ">"
    return (
        match.clause()
        + " WITH e, "
        + value
        + " AS sort_value"
        + " WHERE $after_value IS NULL OR sort_value "
        + compare
        + " $after_value OR (sort_value = $after_value AND e.key > $after_key)"
        + " WITH e, sort_value ORDER BY sort_value "
        + direction
        + ", e.key LIMIT $limit RETURN collect(["
        + ENTITY_FIELDS
        + ", sort_value]) AS page"
    )


def count_query(match: EntityMatch) -> LiteralString:
    return match.clause() + " RETURN count(e) AS total"


#: facet field -> the clause binding its ``value`` for one entity ``e`` (one row per value).
FACET_VALUES: dict[str, LiteralString] = {
    "kind": "WITH e.kind AS value",
    "namespace": "WITH e.namespace AS value",
    "spec.type": "WITH e.spec_type AS value",
    "spec.lifecycle": "WITH e.lifecycle AS value",
    "metadata.tags": "UNWIND e.tags AS value",
    "owner": "MATCH (e)-[o:OWNED_BY]->() WITH o.target_ref AS value",
    "source": "WITH e.source AS value",
}

_COLUMNS: tuple[LiteralString, ...] = ("f0", "f1", "f2", "f3", "f4", "f5", "f6")


def facets_query(match: EntityMatch, fields: Sequence[str]) -> LiteralString:
    """One statement counting each of ``fields`` (keys of :data:`FACET_VALUES`) over the
    entities of ``match``: column ``f<i>`` holds ``[value, count]`` pairs, most frequent
    first, ties by value, at most ``$limit``."""
    text = match.clause() + "\nWITH collect(e) AS matched\n"
    columns: list[LiteralString] = []
    for index, name in enumerate(fields):
        column = _COLUMNS[index]
        text += (
            "CALL (matched) {\n  UNWIND matched AS e\n  "
            + FACET_VALUES[name]
            + "\n  WITH value WHERE value IS NOT NULL"
            + "\n  WITH value, count(*) AS n ORDER BY n DESC, value LIMIT $limit"
            + "\n  RETURN collect([value, n]) AS "
            + column
            + "\n}\n"
        )
        columns.append(column)
    return text + "RETURN " + ", ".join(columns)


def traverse_query(rel: str, direction: Direction, max_depth: int) -> LiteralString:
    """One query for :meth:`graph.neo4j_store.Neo4jStore.traverse`; ``rel`` is whitelisted
    and ``max_depth`` a positive int, the only parts that are not parameters."""
    arrow = f"-[:{rel}]->" if direction is Direction.OUT else f"<-[:{rel}]-"
    edge = f"(a)-[r:{rel}]->()" if direction is Direction.OUT else f"(a)<-[r:{rel}]-()"
    far_ref = "target_ref" if direction is Direction.OUT else "source_ref"
    text = f"""
        MATCH (root:Ref {{key: $root}})
        CALL (root) {{
            MATCH p = ANY SHORTEST (root){arrow}{{1,{int(max_depth)}}}(n)
            WITH n, length(p) AS depth, last(relationships(p)).{far_ref} AS ref
            WHERE n <> root
            RETURN collect([n, n.key, ref, depth]) AS reached
        }}
        CALL (root, reached) {{
            UNWIND [root] + [x IN reached WHERE x[3] < $max_depth | x[0]] AS a
            MATCH {edge}
            RETURN collect([r.source_ref, r.target_ref]) AS edges
        }}
        RETURN [x IN reached | x[1..]] AS reached, edges
    """
    return text


def shortest_path_query(rel: str, max_depth: int) -> LiteralString:
    """One query for :meth:`graph.neo4j_store.Neo4jStore.shortest_path`: the distance ``n``
    from ``$start`` to ``$goal`` along ``rel`` (no row when beyond ``max_depth``), the
    distances of the nodes nearer than ``n``, and the edges leaving them: the
    breadth-first layers a shortest path is picked from."""
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


def lookup_keys(keys: Sequence[str]) -> list[str]:
    """Keys as parameters: lowercased, each once."""
    return list(dict.fromkeys(k.lower() for k in keys))
