"""The SQLite schema: tables, indexes, the FTS5 search table, the searchable fields of each
entity (``entity_fields``, :mod:`graph.fields`; emptied by a trigger when the entity goes),
and the migrations that bring
an older file up to date (all idempotent, run on every open).
"""

from __future__ import annotations

import sqlite3

import orjson

from graph.sqlite.rows import INSERT_FIELDS, field_rows, search_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    key TEXT PRIMARY KEY,
    ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    document TEXT NOT NULL,
    hash TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_kind ON entities (kind, key);
CREATE INDEX IF NOT EXISTS entities_namespace ON entities (namespace, key);
CREATE INDEX IF NOT EXISTS entities_source ON entities (source, run_id);
CREATE TABLE IF NOT EXISTS relations (
    source_key TEXT NOT NULL,
    type TEXT NOT NULL,
    target_key TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    target_ref TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (source_key, type, target_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relations_target ON relations (target_key, type);
CREATE INDEX IF NOT EXISTS relations_type ON relations (type, source_key);
CREATE INDEX IF NOT EXISTS relations_source ON relations (source, run_id);
CREATE VIRTUAL TABLE IF NOT EXISTS entity_search USING fts5 (
    key UNINDEXED, name, title, description, tags, tokenize = 'unicode61'
);
CREATE TABLE IF NOT EXISTS entity_fields (
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    value TEXT,
    original TEXT
);
CREATE INDEX IF NOT EXISTS entity_fields_path ON entity_fields (path, value, key);
CREATE INDEX IF NOT EXISTS entity_fields_key ON entity_fields (key, path, value);
CREATE TRIGGER IF NOT EXISTS entity_fields_delete AFTER DELETE ON entities BEGIN
    DELETE FROM entity_fields WHERE key = old.key;
END;
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_source ON runs (source, started_at);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    template TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    lease_until TEXT,
    pinned_to TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    ended_at TEXT,
    event_seq INTEGER NOT NULL DEFAULT 0,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, created_at);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at, id);
CREATE TABLE IF NOT EXISTS task_events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locations (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    ref TEXT,
    paths TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    template TEXT,
    UNIQUE (type, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    event TEXT NOT NULL,
    scope TEXT NOT NULL,
    received_at TEXT NOT NULL,
    run_id TEXT,
    payload TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS source_files (
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    blob TEXT NOT NULL,
    deps TEXT NOT NULL,
    keys TEXT NOT NULL,
    follows TEXT NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    change TEXT NOT NULL,
    fields TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS entity_changes_ref ON entity_changes (ref, seq);
CREATE INDEX IF NOT EXISTS entity_changes_at ON entity_changes (at);
CREATE TABLE IF NOT EXISTS feed_cursors (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries (run_id, source, received_at);
"""

#: Columns added after the first release, derived from the document (so writes stay the same).
_GENERATED_COLUMNS = {
    "spec_type": "json_extract(document, '$.spec.type')",
    "lifecycle": "json_extract(document, '$.spec.lifecycle')",
    "source_path": "json_extract(document, '$.metadata.annotations.\"stagegraph.dev/source-path\"')",
}
_LATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS entities_type ON entities (spec_type, key)",
    "CREATE INDEX IF NOT EXISTS entities_lifecycle ON entities (lifecycle, key)",
    "CREATE INDEX IF NOT EXISTS entities_name_order ON entities (lower(name), key)",
    "CREATE INDEX IF NOT EXISTS entities_updated_order ON entities (updated_at, key)",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_finished ON runs (finished_at, id)",
    # a scoped run's cleanup starts from its scope, never from the whole source
    "CREATE INDEX IF NOT EXISTS entities_source_path ON entities (source, source_path)",
    # Keys and refs alone: checking that an entity exists, or reading its ref, through the
    # table itself reads its row, document and all (4x slower on the relations of a page,
    # 15x on an ownership roll-up).
    "DROP INDEX IF EXISTS entities_key",
    "CREATE INDEX IF NOT EXISTS entities_key_ref ON entities (key, ref)",
)


def _index_statement(name: str) -> str:
    """The schema's ``CREATE INDEX IF NOT EXISTS`` statement of the index ``name``."""
    statements = [*_SCHEMA.split(";"), *_LATE_INDEXES]
    found = [s.strip() for s in statements if f"INDEX IF NOT EXISTS {name} ON" in s]
    if len(found) != 1:
        raise ValueError(f"the schema creates no index {name!r}")
    return found[0]


#: The indexes a bulk load (:mod:`graph.sqlite.bulk`) drops first and builds at its end,
#: by name: the secondary indexes of the tables a first ingest fills, but those a
#: statement names (``INDEXED BY``), which would fail without them, and the key index of
#: ``entity_fields`` (its writes count facets and delete an entity's fields by key).
#: :func:`prepare` creates any that is missing.
DEFERRED_INDEXES = {
    name: _index_statement(name)
    for name in (
        "entity_fields_path",
        "entities_kind",
        "entities_namespace",
        "entities_source",
        "entities_type",
        "entities_lifecycle",
        "entities_name_order",
        "entities_updated_order",
        "relations_target",
        "relations_type",
        "relations_source",
        "entity_changes_ref",
        "entity_changes_at",
    )
}

#: Facet counts (:mod:`graph.sqlite.facets`): for each of these dot paths (:mod:`graph.fields`
#: paths with few values, which catalogs facet on), kind and value as written, how many
#: entities have it, kept in the writer's transaction: a trigger on ``entity_fields``
#: counts deletions; insertions are counted per batch by :data:`COUNT_INSERTED_FIELDS`
#: (a per-row insert trigger cost more than half of writing the fields of a first ingest).
#: Rows whose count fell to zero stay (one per value ever seen); reads leave them out.
COUNTED_PATHS = (
    "kind",
    "metadata.namespace",
    "metadata.tags",
    "spec.type",
    "spec.lifecycle",
    "spec.owner",
)
_PATHS_SQL = ", ".join(f"'{path}'" for path in COUNTED_PATHS)
_KIND = "substr({row}.key, 1, instr({row}.key, ':') - 1)"
_FIELD_COUNTS = f"""
CREATE TABLE IF NOT EXISTS field_counts (
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (path, kind, value)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS field_counts_delete AFTER DELETE ON entity_fields
WHEN old.original IS NOT NULL AND old.path IN ({_PATHS_SQL}) BEGIN
    UPDATE field_counts SET n = n - 1
    WHERE path = old.path AND kind = {_KIND.format(row="old")} AND value = old.original;
END;
"""
_FILL = f"""
INSERT INTO field_counts (path, kind, value, n)
SELECT path, {_KIND.format(row="f")}, original, count(*) FROM entity_fields f
WHERE original IS NOT NULL AND path IN ({_PATHS_SQL}) GROUP BY 1, 2, 3
"""
#: Counts the ``entity_fields`` rows of the keys in ``?`` (a JSON array), just inserted
#: (their previous rows deleted first, which the delete trigger uncounted), each key's rows
#: looked up by key: through the path index it would scan every counted row of the table.
COUNT_INSERTED_FIELDS = f"""
INSERT INTO field_counts (path, kind, value, n)
SELECT f.path, {_KIND.format(row="f")}, f.original, count(*)
FROM json_each(?) AS k JOIN entity_fields AS f INDEXED BY entity_fields_key ON f.key = k.value
WHERE f.original IS NOT NULL AND f.path IN ({_PATHS_SQL})
GROUP BY 1, 2, 3
ON CONFLICT (path, kind, value) DO UPDATE SET n = n + excluded.n
"""
#: The counts of the facets before ``field_counts`` (spec.type and spec.lifecycle only),
#: and the per-row insert trigger that counted before :data:`COUNT_INSERTED_FIELDS`.
_RETIRED = (
    "DROP TRIGGER IF EXISTS field_counts_insert",
    "DROP TRIGGER IF EXISTS facet_spec_type_insert",
    "DROP TRIGGER IF EXISTS facet_spec_type_delete",
    "DROP TRIGGER IF EXISTS facet_spec_type_update",
    "DROP TRIGGER IF EXISTS facet_lifecycle_insert",
    "DROP TRIGGER IF EXISTS facet_lifecycle_delete",
    "DROP TRIGGER IF EXISTS facet_lifecycle_update",
    "DROP TABLE IF EXISTS facet_counts",
)


def _count_facets(conn: sqlite3.Connection) -> None:
    """Create the count table and its triggers; fill it when it is new (idempotent)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'field_counts'"
    ).fetchone()
    conn.executescript(_FIELD_COUNTS)
    if exists is None:
        conn.execute(_FILL)
    for statement in _RETIRED:
        conn.execute(statement)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older file up to the current schema (idempotent)."""
    present = {row[1] for row in conn.execute("PRAGMA table_xinfo(entities)")}
    for column, expression in _GENERATED_COLUMNS.items():
        if column not in present:
            conn.execute(
                f"ALTER TABLE entities ADD COLUMN {column} TEXT "
                f"GENERATED ALWAYS AS ({expression}) VIRTUAL"
            )
    runs = {row[1] for row in conn.execute("PRAGMA table_xinfo(runs)")}
    if "status" not in runs:
        conn.execute(
            "ALTER TABLE runs ADD COLUMN status TEXT "
            "GENERATED ALWAYS AS (json_extract(document, '$.status')) VIRTUAL"
        )
    if "finished_at" not in runs:  # the outgoing webhooks read runs by finish time
        conn.execute("ALTER TABLE runs ADD COLUMN finished_at TEXT")
    locations = {row[1] for row in conn.execute("PRAGMA table_xinfo(locations)")}
    if "template" not in locations:  # the scaffolder's template ref (issue 12)
        conn.execute("ALTER TABLE locations ADD COLUMN template TEXT")
    deliveries = {row[1] for row in conn.execute("PRAGMA table_xinfo(deliveries)")}
    if "payload" not in deliveries:  # payloads applied directly (issue 13)
        conn.execute("ALTER TABLE deliveries ADD COLUMN payload TEXT")
    for statement in _LATE_INDEXES:
        conn.execute(statement)
    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
        # search rows are now found by a rowid derived from the key: rebuild them once
        conn.execute("DELETE FROM entity_search")
        conn.executemany(
            "INSERT INTO entity_search (rowid, key, name, title, description, tags) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    search_id(key),
                    key,
                    name,
                    title or "",
                    description or "",
                    " ".join(orjson.loads(tags)),
                )
                for key, name, title, description, tags in conn.execute(
                    "SELECT key, name, title, description, tags FROM entities"
                )
            ],
        )
        conn.execute("PRAGMA user_version = 2")
    if conn.execute("PRAGMA user_version").fetchone()[0] < 3:
        # Backstage's searchable fields of every entity (graph.fields), filled once
        conn.execute("DELETE FROM entity_fields")
        conn.executemany(
            INSERT_FIELDS,
            [
                row
                for key, name, namespace, document in conn.execute(
                    "SELECT key, name, namespace, document FROM entities"
                )
                for row in field_rows(key, name, namespace, orjson.loads(document))
            ],
        )
        conn.execute("PRAGMA user_version = 3")
    _count_facets(conn)


def prepare(conn: sqlite3.Connection) -> None:
    """Create the schema and migrate an older file (idempotent)."""
    conn.executescript(_SCHEMA)
    _migrate(conn)
