"""The SQLite adapter's own behaviour: a cancelled call frees the store's single thread; a
scoped cleanup reads its scope through an index."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from graph.port import SOURCE_PATH_ANNOTATION, EntityFilter, FieldCondition
from graph.sqlite import SqliteStore
from graph.sqlite.writes import _scope_keys
from ingestors.changes import written_changes
from tests.factories import record

# Counts to 300 million: minutes of work for the one thread, unless interrupted.
LONG_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")
    await store.setup()
    try:
        yield store
    finally:
        await store.close()


def _count(conn: sqlite3.Connection) -> int:
    return int(conn.execute(LONG_QUERY).fetchone()[0])


async def test_cancelling_a_running_call_interrupts_its_statement(
    sqlite_store: SqliteStore,
) -> None:
    slow = asyncio.ensure_future(sqlite_store._call(_count))
    await asyncio.sleep(0.3)  # the statement is running on the store's thread

    slow.cancel()
    started = time.perf_counter()
    answered = await asyncio.wait_for(sqlite_store.ping(), timeout=5)

    assert answered is True
    assert time.perf_counter() - started < 2
    assert slow.cancelled()


async def test_cancelling_a_queued_call_skips_it(sqlite_store: SqliteStore) -> None:
    ran: list[str] = []

    def remember(conn: sqlite3.Connection) -> None:
        ran.append("queued")

    slow = asyncio.ensure_future(sqlite_store._call(_count))
    await asyncio.sleep(0.3)
    queued = asyncio.ensure_future(sqlite_store._call(remember))
    await asyncio.sleep(0.05)

    queued.cancel()
    slow.cancel()
    assert await asyncio.wait_for(sqlite_store.ping(), timeout=5) is True

    assert ran == []


async def test_cancelling_a_call_of_many_statements_stops_it_and_commits_nothing(
    sqlite_store: SqliteStore,
) -> None:
    # Most of such a call's time is spent between statements, where interrupt() alone is
    # lost; the call must still stop at its next statement and roll back.
    def many(conn: sqlite3.Connection) -> int:
        conn.execute("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)")
        for i in range(3_000_000):
            conn.execute("INSERT INTO scratch VALUES (?)", (i,))
        return 0

    def rows(conn: sqlite3.Connection) -> int:
        found = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'scratch'"
        ).fetchone()[0]
        if not found:
            return 0
        return int(conn.execute("SELECT count(*) FROM scratch").fetchone()[0])

    busy = asyncio.ensure_future(sqlite_store._call(many))
    await asyncio.sleep(0.5)
    busy.cancel()
    started = time.perf_counter()
    assert await asyncio.wait_for(sqlite_store.ping(), timeout=5) is True

    assert time.perf_counter() - started < 2
    assert await sqlite_store._call(rows) == 0


async def test_opening_an_older_file_fills_the_searchable_fields(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    await sqlite_store.upsert_entities(
        "src", "r", [record("component:default/old", spec={"type": "service"})]
    )
    await sqlite_store.close()
    with sqlite3.connect(tmp_path / "store.db") as conn:  # as a file of the last release
        conn.execute("DELETE FROM entity_fields")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    reopened = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")

    await reopened.setup()
    try:
        services = EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
        found = await reopened.count_entities(services)
    finally:
        await reopened.close()

    assert found == 1


async def test_facet_paths_are_counted_per_kind_in_a_table_kept_by_each_write(
    sqlite_store: SqliteStore,
) -> None:
    await sqlite_store.upsert_entities(
        "s",
        "r1",
        [
            record("component:default/a", spec={"type": "service", "lifecycle": "beta"}),
            record("component:default/b", spec={"type": "service"}),
            record("api:default/c", spec={"type": "openapi"}),
        ],
    )
    await sqlite_store.upsert_entities(
        "s", "r2", [record("component:default/a", spec={"type": "library", "lifecycle": "beta"})]
    )
    await sqlite_store.delete_entities("s", ["component:default/b"])

    rows = await sqlite_store._call(
        lambda conn: conn.execute(
            "SELECT path, kind, value, n FROM field_counts "
            "WHERE n > 0 AND path LIKE 'spec.%' ORDER BY path, kind, value"
        ).fetchall()
    )

    assert rows == [
        ("spec.lifecycle", "component", "beta", 1),
        ("spec.type", "api", "openapi", 1),
        ("spec.type", "component", "library", 1),
    ]


async def test_opening_a_file_without_counts_counts_its_entities(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    await sqlite_store.upsert_entities(
        "src", "r", [record("component:default/old", spec={"type": "service"})]
    )
    await sqlite_store.close()
    with sqlite3.connect(tmp_path / "store.db") as conn:  # as a file of an older release
        conn.execute("DROP TABLE field_counts")
    conn.close()
    reopened = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")

    await reopened.setup()
    try:
        found = await reopened.field_facets(["spec.type"], EntityFilter())
        tables = await reopened._call(
            lambda c: c.execute(
                "SELECT name FROM sqlite_master WHERE name = 'facet_counts'"
            ).fetchall()
        )
    finally:
        await reopened.close()

    assert found == {"spec.type": [("service", 1)]}
    assert tables == []


async def test_opening_a_file_with_the_per_row_count_trigger_drops_it(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    await sqlite_store.close()
    with sqlite3.connect(tmp_path / "store.db") as conn:  # as a file of an older release
        conn.execute(
            "CREATE TRIGGER field_counts_insert AFTER INSERT ON entity_fields "
            "WHEN new.original IS NOT NULL AND new.path = 'spec.type' BEGIN "
            "INSERT INTO field_counts (path, kind, value, n) VALUES (new.path, 'component', "
            "new.original, 1) ON CONFLICT (path, kind, value) DO UPDATE SET n = n + 1; END"
        )
    conn.close()
    reopened = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")

    await reopened.setup()
    try:
        await reopened.upsert_entities(
            "src", "r", [record("component:default/new", spec={"type": "service"})]
        )
        found = await reopened.field_facets(["spec.type"], EntityFilter())
    finally:
        await reopened.close()

    assert found == {"spec.type": [("service", 1)]}


async def test_opening_a_file_whose_locations_have_no_template_column_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the locations table as the last release made it
        conn.execute(
            "CREATE TABLE locations (id TEXT PRIMARY KEY, type TEXT NOT NULL, target TEXT NOT "
            "NULL, source TEXT NOT NULL, url TEXT NOT NULL, ref TEXT, paths TEXT NOT NULL "
            "DEFAULT '[]', created_at TEXT NOT NULL, UNIQUE (type, target)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO locations VALUES ('a1', 'url', 'file:///srv/x', 'location-a1', "
            "'file:///srv/x', NULL, '[]', '2026-01-02T03:04:05+00:00')"
        )
    conn.close()
    reopened = SqliteStore(f"sqlite:///{path}")

    await reopened.setup()
    try:
        (kept,) = await reopened.get_locations()
        added = await reopened.add_location(
            dataclasses.replace(
                kept, id="b2", target="file:///srv/y", template="template:default/t"
            )
        )
    finally:
        await reopened.close()

    assert (kept.id, kept.template) == ("a1", None)
    assert added.template == "template:default/t"


async def test_a_scoped_cleanup_finds_its_scope_through_the_source_path_index(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    await sqlite_store.upsert_entities(
        "git",
        "r1",
        [
            record(f"component:default/c{i}", annotations={SOURCE_PATH_ANNOTATION: f"svc/c{i}"})
            for i in range(20)
        ],
    )
    conn = sqlite3.connect(tmp_path / "store.db")
    conn.execute("ANALYZE")
    query, params = _scope_keys(["svc/c1", "svc/c2/x", "svc/c1"])
    params["source"] = "git"

    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params)]
    keys = conn.execute(query, params).fetchall()
    conn.close()

    reads = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert len(reads) == 6 and all(
        step.startswith(
            "SEARCH entities USING INDEX entities_source_path (source=? AND source_path"
        )
        for step in reads
    ), plan
    assert keys == [("component:default/c1",)]


async def test_opening_a_file_whose_deliveries_have_no_payload_column_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the deliveries table as the last release made it
        conn.execute(
            "CREATE TABLE deliveries (id TEXT PRIMARY KEY, source TEXT NOT NULL, event TEXT NOT "
            "NULL, scope TEXT NOT NULL, received_at TEXT NOT NULL, run_id TEXT) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO deliveries VALUES ('github:1:gh', 'gh', 'push', '[\"github:a/b\"]', "
            "'2026-01-02T03:04:05+00:00', NULL)"
        )
    conn.close()
    reopened = SqliteStore(f"sqlite:///{path}")

    await reopened.setup()
    try:
        (kept,) = await reopened.waiting_deliveries(["gh"], 10)
        fresh = dataclasses.replace(kept, id="github:2:gh", payload='{"workflow_run": {}}')
        await reopened.record_delivery(fresh)
        waiting = await reopened.waiting_deliveries(["gh"], 10)
    finally:
        await reopened.close()

    assert (kept.scope, kept.payload) == (("github:a/b",), None)
    assert waiting == [kept, fresh]


async def test_a_document_given_as_json_is_stored_and_logged_as_given(
    sqlite_store: SqliteStore,
) -> None:
    plain = record("component:default/a", spec={"type": "service", "owner": "team-a"})
    text = orjson.dumps(plain.document, option=orjson.OPT_SORT_KEYS).decode()
    given = dataclasses.replace(plain, document_json=text)

    await sqlite_store.upsert_entities("s", "run", [given])
    await sqlite_store.record_changes(
        written_changes(source="s", run_id="run", records=[given], before={})
    )
    stored, logged = await sqlite_store._call(
        lambda conn: (
            conn.execute("SELECT document FROM entities").fetchone()[0],
            conn.execute("SELECT after FROM entity_changes").fetchone()[0],
        )
    )

    assert text != orjson.dumps(plain.document).decode()  # the keys in another order
    assert stored == text and logged == text  # written as given, not serialised again
    assert orjson.loads(stored) == plain.document
