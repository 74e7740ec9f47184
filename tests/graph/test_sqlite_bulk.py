"""A bulk load into an empty SQLite store (graph.sqlite.bulk): the index on
``entity_fields`` (path, value, key) is dropped for the load and built at its end however
the load ends, reads inside stay correct, and a store holding entities defers nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.port import EntityFilter, FieldCondition
from graph.sqlite import SqliteStore
from graph.sqlite.bulk import BULK_FROM, begin
from graph.sqlite.schema import DEFERRED_INDEXES
from tests.factories import record

SERVICES = EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
BY_FIELD = "SELECT key FROM entity_fields WHERE path = 'spec.type' AND value = 'service'"


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")
    await store.setup()
    try:
        yield store
    finally:
        await store.close()


async def _indexes(store: SqliteStore) -> set[str]:
    return {
        row[0]
        for row in await store._call(
            lambda conn: conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
            ).fetchall()
        )
    }


async def _plan(store: SqliteStore) -> str:
    rows = await store._call(lambda conn: conn.execute(f"EXPLAIN QUERY PLAN {BY_FIELD}").fetchall())
    return " ".join(str(row[-1]) for row in rows)


async def test_a_bulk_load_reads_correctly_inside_and_builds_the_index_at_its_end(
    sqlite_store: SqliteStore,
) -> None:
    async with sqlite_store.bulk_load(BULK_FROM) as deferred:
        await sqlite_store.upsert_entities(
            "s", "r", [record("component:default/a", spec={"type": "service"})]
        )
        inside = await _indexes(sqlite_store)
        found_inside = await sqlite_store.count_entities(SERVICES)

    assert deferred is True
    assert not inside & set(DEFERRED_INDEXES)
    assert {"entity_fields_key", "entities_key_ref", "entities_source_path"} <= inside
    assert found_inside == 1
    assert set(DEFERRED_INDEXES) <= await _indexes(sqlite_store)
    assert "entity_fields_path" in await _plan(sqlite_store)
    assert await sqlite_store.count_entities(SERVICES) == 1


async def test_a_failed_bulk_load_still_builds_the_index(sqlite_store: SqliteStore) -> None:
    with pytest.raises(RuntimeError, match="source went away"):
        async with sqlite_store.bulk_load(BULK_FROM):
            await sqlite_store.upsert_entities(
                "s", "r", [record("component:default/a", spec={"type": "service"})]
            )
            raise RuntimeError("source went away")

    assert set(DEFERRED_INDEXES) <= await _indexes(sqlite_store)
    assert "entity_fields_path" in await _plan(sqlite_store)


async def test_a_cancelled_bulk_load_still_builds_the_index(sqlite_store: SqliteStore) -> None:
    inside = asyncio.Event()

    async def load() -> None:
        async with sqlite_store.bulk_load(BULK_FROM):
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.ensure_future(load())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert set(DEFERRED_INDEXES) <= await _indexes(sqlite_store)
    assert "entity_fields_path" in await _plan(sqlite_store)


async def test_a_store_left_inside_a_bulk_load_builds_the_index_when_opened(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    assert await begin(sqlite_store._db, BULK_FROM) is True
    await sqlite_store.close()  # as a process that died inside the load
    with sqlite3.connect(tmp_path / "store.db") as conn:
        left = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    conn.close()
    reopened = SqliteStore(f"sqlite:///{tmp_path / 'store.db'}")

    await reopened.setup()
    try:
        assert not {row[0] for row in left} & set(DEFERRED_INDEXES)
        assert set(DEFERRED_INDEXES) <= await _indexes(reopened)
    finally:
        await reopened.close()


async def test_a_store_holding_entities_or_a_small_write_defers_nothing(
    sqlite_store: SqliteStore,
) -> None:
    async with sqlite_store.bulk_load(BULK_FROM - 1) as small:
        assert "entity_fields_path" in await _indexes(sqlite_store)
    await sqlite_store.upsert_entities("s", "r", [record("component:default/a")])
    async with sqlite_store.bulk_load(BULK_FROM * 10) as held:
        assert "entity_fields_path" in await _indexes(sqlite_store)

    assert (small, held) == (False, False)
