"""The Neo4j schema: relationship type and label names, constraints and indexes, how list
properties are stored, and the migration of older data (all idempotent, run on every open).

Joined lists. An entity's searchable fields and annotations are many short strings; kept as
list properties they were half of what the server spent writing an entity node (each item
its own record in the array store). They are kept as ONE string each instead: the items
joined by :data:`PAIRS_SEPARATOR` with one at each end too (:func:`joined`), so that "holds
this item" is ``prop CONTAINS <SEP>item<SEP>`` (:func:`item`), "an item starting with
this" is ``prop CONTAINS <SEP>prefix``, and the items are ``split(prop, <SEP>)`` (with an
empty string at each end, which no test matches). An item never holds the separator: it is
replaced by U+FFFD when written and when asked for, alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, LiteralString

import orjson
from neo4j.exceptions import Neo4jError

from catalog.kinds import KIND_SPECS
from catalog.relations import RELATION_TYPES
from graph.errors import StoreError
from graph.neo4j import fulltext
from graph.neo4j.connection import Connection

#: forward relation type -> relationship type (ownedBy -> OWNED_BY)
REL_TYPES: dict[str, str] = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() for name in RELATION_TYPES
}
#: relationship type -> forward relation type (OWNED_BY -> ownedBy)
REL_NAMES: dict[str, str] = {rel: name for name, rel in REL_TYPES.items()}

#: What separates the items of a joined list property (the ASCII record separator).
PAIRS_SEPARATOR = "\u001e"
_IN_ITEM = "\ufffd"  # what a separator inside an item becomes


def item(value: str) -> str:
    """``value`` as it is found in a joined list: ``<SEP>value<SEP>``."""
    return PAIRS_SEPARATOR + value.replace(PAIRS_SEPARATOR, _IN_ITEM) + PAIRS_SEPARATOR


def joined(values: Iterable[str]) -> str:
    """``values`` as one joined list property: ``<SEP>a<SEP>b<SEP>`` (``<SEP>`` when empty)."""
    return PAIRS_SEPARATOR + "".join(
        v.replace(PAIRS_SEPARATOR, _IN_ITEM) + PAIRS_SEPARATOR for v in values
    )


def annotation_key(key: str) -> str:
    """The start of the stored pairs of annotation ``key`` in ``annotation_pairs``
    (``<SEP>["key",``: JSON escapes every control character, the separator included)."""
    return PAIRS_SEPARATOR + "[" + orjson.dumps(key).decode() + ","


#: Few-valued field paths (the SQLite adapter's counted paths but tags) -> the property
#: holding an entity's one value as written (:func:`graph.neo4j.rows.facet_props`), from
#: which the facet counts are kept (:mod:`graph.neo4j.facet_counts`).
FACET_PROPERTIES: dict[str, LiteralString] = {
    "kind": "facet_kind",
    "metadata.namespace": "facet_namespace",
    "spec.type": "facet_type",
    "spec.lifecycle": "facet_lifecycle",
    "spec.owner": "facet_owner",
}

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT ref_key IF NOT EXISTS FOR (n:Ref) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT entity_ref IF NOT EXISTS FOR (n:Entity) REQUIRE n.ref IS UNIQUE",
    "CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.id IS UNIQUE",
    "CREATE CONSTRAINT lease_name IF NOT EXISTS FOR (l:Lease) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT task_id IF NOT EXISTS FOR (t:Task) REQUIRE t.id IS UNIQUE",
    "CREATE INDEX task_status IF NOT EXISTS FOR (t:Task) ON (t.status, t.created_at)",
    "CREATE INDEX task_created_at IF NOT EXISTS FOR (t:Task) ON (t.created_at)",
    "CREATE CONSTRAINT task_event IF NOT EXISTS FOR (e:TaskEvent) REQUIRE (e.task_id, e.seq) IS UNIQUE",
    "CREATE CONSTRAINT location_id IF NOT EXISTS FOR (l:RegisteredLocation) REQUIRE l.id IS UNIQUE",
    "CREATE CONSTRAINT location_key IF NOT EXISTS "
    "FOR (l:RegisteredLocation) REQUIRE l.key IS UNIQUE",
    "CREATE CONSTRAINT delivery_id IF NOT EXISTS FOR (d:Delivery) REQUIRE d.id IS UNIQUE",
    "CREATE INDEX delivery_source IF NOT EXISTS FOR (d:Delivery) ON (d.source)",
    "CREATE CONSTRAINT source_file_id IF NOT EXISTS FOR (f:SourceFile) REQUIRE f.id IS UNIQUE",
    "CREATE INDEX source_file_source IF NOT EXISTS FOR (f:SourceFile) ON (f.source)",
    "CREATE CONSTRAINT entity_change_id IF NOT EXISTS FOR (c:EntityChange) REQUIRE c.id IS UNIQUE",
    "CREATE INDEX entity_change_seq IF NOT EXISTS FOR (c:EntityChange) ON (c.seq)",
    "CREATE INDEX entity_change_at IF NOT EXISTS FOR (c:EntityChange) ON (c.at)",
    "CREATE INDEX entity_change_ref IF NOT EXISTS FOR (c:EntityChange) ON (c.ref)",
    "CREATE CONSTRAINT feed_cursor_name IF NOT EXISTS FOR (f:FeedCursor) REQUIRE f.name IS UNIQUE",
    "CREATE INDEX entity_source_path IF NOT EXISTS FOR (n:Entity) ON (n.source_path)",
    "CREATE INDEX entity_kind IF NOT EXISTS FOR (n:Entity) ON (n.kind)",
    "CREATE INDEX entity_namespace IF NOT EXISTS FOR (n:Entity) ON (n.namespace)",
    "CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name)",
    "CREATE INDEX entity_source IF NOT EXISTS FOR (n:Entity) ON (n.source)",
    "CREATE INDEX entity_run_id IF NOT EXISTS FOR (n:Entity) ON (n.run_id)",
    "CREATE INDEX entity_spec_type IF NOT EXISTS FOR (n:Entity) ON (n.spec_type)",
    "CREATE INDEX entity_lifecycle IF NOT EXISTS FOR (n:Entity) ON (n.lifecycle)",
    "CREATE INDEX entity_updated_at IF NOT EXISTS FOR (n:Entity) ON (n.updated_at)",
    # the (kind, value) indexes facets were read from before the counts: every entity
    # write paid for six index entries no read uses any more
    *(f"DROP INDEX entity_{prop} IF EXISTS" for prop in FACET_PROPERTIES.values()),
    "DROP INDEX entity_facet_multi IF EXISTS",
    # the facet counts (graph.neo4j.facet_counts): one per id, read by path and kind
    "CREATE CONSTRAINT facet_count_id IF NOT EXISTS FOR (c:FacetCount) REQUIRE c.id IS UNIQUE",
    "CREATE INDEX facet_count_path IF NOT EXISTS FOR (c:FacetCount) ON (c.path, c.kind)",
    "CREATE INDEX run_source IF NOT EXISTS FOR (r:Run) ON (r.source)",
    "CREATE INDEX run_started_at IF NOT EXISTS FOR (r:Run) ON (r.started_at)",
    "CREATE INDEX run_status IF NOT EXISTS FOR (r:Run) ON (r.status)",
    "CREATE INDEX run_finished_at IF NOT EXISTS FOR (r:Run) ON (r.finished_at)",
    "CREATE FULLTEXT INDEX entity_search IF NOT EXISTS FOR (n:Entity) "
    "ON EACH [n.name, n.title, n.description, n.tags_text]",
    fulltext.INDEX,
    # cleanup finds a source's relationships through these (one per type: Neo4j indexes
    # relationship properties per type)
    *(
        f"CREATE INDEX rel_{rel.lower()}_source IF NOT EXISTS "
        f"FOR ()-[r:{rel}]-() ON (r.source, r.run_id)"
        for rel in REL_TYPES.values()
    ),
)

#: The store's own labels: a kind whose label would be one of these gets no kind label.
OWN_LABELS = frozenset({"Ref", "Entity", "Run", "Delivery", "Waiting", "Task", "TaskEvent"})

#: kind -> its label, for the kinds the catalog defines. Entities are written one kind per
#: statement with the label in the text (a label cannot be a parameter, and the dynamic
#: ``SET n:$(labels)`` costs a lookup per row); kinds outside this table use the dynamic
#: form with their validated label.
KIND_LABELS: dict[str, str] = {
    kind: kind.capitalize() for kind in KIND_SPECS if kind.capitalize() not in OWN_LABELS
}


_KIND = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")


def kind_labels(kind: str) -> list[str]:
    """The labels an entity of ``kind`` carries besides ``:Ref``: ``:Entity`` and its kind's."""
    if not _KIND.match(kind):
        raise StoreError(f"invalid entity kind {kind!r}: a kind is a letter then letters/digits")
    label = kind.capitalize()
    return ["Entity"] if label in OWN_LABELS else ["Entity", label]


def rel_type(name: str) -> str:
    try:
        return REL_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(REL_TYPES))
        raise StoreError(f"unknown relation type {name!r}; known: {known}") from None


# Runs saved before ``status`` was a property (setup backfills it from their documents).
RUNS_WITHOUT_STATUS: LiteralString = (
    "MATCH (r:Run) WHERE r.status IS NULL RETURN r.id AS id, r.document AS document"
)
SET_RUN_STATUS: LiteralString = """
UNWIND $rows AS row
MATCH (r:Run {id: row.id})
SET r.status = row.status
"""


# Entities written before their searchable fields (or facet properties) were properties,
# or while those and the annotations were list properties, not joined strings
# (graph.neo4j.rows.joined); setup backfills them.
ENTITIES_WITHOUT_FIELDS: LiteralString = """
MATCH (e:Entity)
WHERE NOT (e.field_keys IS :: STRING NOT NULL) OR e.facet_multi IS NULL
   OR NOT (e.annotation_pairs IS :: STRING NOT NULL)
WITH e LIMIT $limit
RETURN collect([e.key, e.name, e.namespace, e.document]) AS entities
"""
SET_FIELDS: LiteralString = """
UNWIND $rows AS row
MATCH (e:Ref {key: row.key})
SET e += row.props
REMOVE e.annotation_keys
"""


# Entities written before their source path was a property (setup backfills it; scoped
# cleanup finds a scope's entities by it).
ENTITIES_WITHOUT_SOURCE_PATH: LiteralString = """
MATCH (e:Entity) WHERE e.source_path IS NULL AND e.annotation_pairs CONTAINS $annotation
WITH e LIMIT $limit
RETURN collect([e.key, e.document]) AS entities
"""
SET_SOURCE_PATH: LiteralString = """
UNWIND $rows AS row
MATCH (e:Ref {key: row.key})
SET e.source_path = row.path
"""
SOURCE_PATH = "stagegraph.dev/source-path"

# Deliveries recorded before waiting ones carried the label the inbox reads them by.
WAITING_DELIVERIES: LiteralString = """
MATCH (d:Delivery) WHERE d.run_id IS NULL AND NOT d:Waiting
SET d:Waiting
"""


async def _backfill_source_paths(db: Connection, batch: int = 2000) -> None:
    """Give entities written before ``source_path`` was kept theirs, from their documents."""
    while True:
        (row,) = await db.read(
            db.statement(
                ENTITIES_WITHOUT_SOURCE_PATH, annotation=annotation_key(SOURCE_PATH), limit=batch
            )
        )
        if not row["entities"]:
            return
        rows = []
        for key, document in row["entities"]:
            annotations = orjson.loads(document).get("metadata", {}).get("annotations") or {}
            path = annotations.get(SOURCE_PATH)
            rows.append({"key": key, "path": path if isinstance(path, str) else ""})
        await db.write(db.statement(SET_SOURCE_PATH, rows=rows))


async def prepare(db: Connection, fields: FieldProps) -> None:
    """Create the constraints and indexes, wait for them, and migrate older data.
    ``fields`` computes an entity's searchable properties (key, name, namespace,
    document): :func:`graph.neo4j.rows.searchable_props`."""
    names, online = await _existing(db)
    pending = [statement for statement in SCHEMA if _needed(statement, names)]
    for statement in pending:
        await _create(db, statement)
    if pending or not online:
        await db.write(db.statement("CALL db.awaitIndexes(300)"))
    await _backfill_run_status(db)
    await _backfill_fields(db, fields)
    await fulltext.backfill(db, PAIRS_SEPARATOR)
    await _backfill_source_paths(db)
    await db.write(db.statement(WAITING_DELIVERIES))


#: what a schema statement fails with when another replica (``serve --workers N``) made the
#: same index or constraint at the same moment: ``IF NOT EXISTS`` does not cover that race
_MADE_MEANWHILE = frozenset(
    {
        "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
        "Neo.ClientError.Schema.IndexAlreadyExists",
        "Neo.ClientError.Schema.ConstraintAlreadyExists",
        # or dropped a retired index at the same moment
        "Neo.ClientError.Schema.IndexNotFound",
        "Neo.DatabaseError.Schema.IndexDropFailed",
    }
)


SHOW_INDEXES: LiteralString = "SHOW INDEXES YIELD name, state RETURN name, state"
SHOW_CONSTRAINTS: LiteralString = "SHOW CONSTRAINTS YIELD name RETURN name"

#: a schema statement's verb and the name of what it makes or drops
_SCHEMA_NAME = re.compile(r"^(CREATE|DROP) (?:\w+ )?(?:INDEX|CONSTRAINT) (\w+) IF (?:NOT )?EXISTS")


async def _existing(db: Connection) -> tuple[set[str], bool]:
    """The names of the indexes and constraints there are, and whether every index is
    online: a store opened again (each serve worker, each test) then sends two reads instead
    of one write per schema statement (about 230 ms of server CPU a setup)."""
    indexes = await db.read(db.statement(SHOW_INDEXES))
    constraints = await db.read(db.statement(SHOW_CONSTRAINTS))
    names = {r["name"] for r in indexes} | {r["name"] for r in constraints}
    return names, all(r["state"] == "ONLINE" for r in indexes)


def _needed(statement: str, names: set[str]) -> bool:
    """Whether a schema statement would change anything: a CREATE of a name not there, a
    DROP of one that is (``IF [NOT] EXISTS`` statements are decided by name alone)."""
    match = _SCHEMA_NAME.match(statement)
    if match is None:
        return True
    verb, name = match.groups()
    return (name not in names) if verb == "CREATE" else (name in names)


async def _create(db: Connection, statement: LiteralString) -> None:
    """Run one schema statement; an index or constraint another replica made meanwhile is
    what the statement asked for."""
    try:
        await db.write(db.statement(statement))
    except StoreError as exc:
        cause = exc.__cause__
        if not (isinstance(cause, Neo4jError) and cause.code in _MADE_MEANWHILE):
            raise


FieldProps = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


async def _backfill_fields(db: Connection, fields: FieldProps, batch: int = 2000) -> None:
    """Give entities written before the searchable fields were kept theirs."""
    while True:
        (row,) = await db.read(db.statement(ENTITIES_WITHOUT_FIELDS, limit=batch))
        if not row["entities"]:
            return
        rows = [
            {"key": key, "props": fields(key, name, namespace, orjson.loads(document))}
            for key, name, namespace, document in row["entities"]
        ]
        await db.write(db.statement(SET_FIELDS, rows=rows))


async def _backfill_run_status(db: Connection) -> None:
    """Give runs saved before ``status`` was a property theirs, from their documents."""
    rows = await db.read(db.statement(RUNS_WITHOUT_STATUS))
    if rows:
        status = [
            {"id": r["id"], "status": orjson.loads(r["document"]).get("status")} for r in rows
        ]
        await db.write(db.statement(SET_RUN_STATUS, rows=status))
