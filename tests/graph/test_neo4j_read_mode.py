"""Every read of the Neo4j store runs in a READ transaction of a READ session, so that on a
cluster (a ``neo4j://`` routing URL) the driver sends it to a follower: the server itself
refuses a write in such a transaction, and no read method takes the write path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from graph import open_store
from graph.errors import StoreError
from graph.neo4j.store import Neo4jStore
from graph.port import Direction, EntityFilter, Order
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER, require_neo4j, wipe_neo4j
from tests.factories import record, rel

pytestmark = pytest.mark.neo4j


@pytest.fixture
async def neo4j() -> AsyncIterator[Neo4jStore]:
    await require_neo4j()
    await wipe_neo4j()
    store = open_store(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    assert isinstance(store, Neo4jStore)
    await store.setup()
    try:
        yield store
    finally:
        await store.close()


async def test_the_read_path_is_refused_a_write_by_the_server(neo4j: Neo4jStore) -> None:
    db = neo4j._db

    with pytest.raises(StoreError, match="refused a request"):
        await db.read(db.statement("CREATE (p:ReadModeProbe) RETURN p"))

    assert await db.read(db.statement("MATCH (p:ReadModeProbe) RETURN p")) == []


async def test_no_read_method_takes_the_write_path(neo4j: Neo4jStore) -> None:
    await neo4j.upsert_entities(
        "t", "r1", [record("component:default/a"), record("group:default/g")]
    )
    await neo4j.upsert_relations(
        "t", "r1", [rel("component:default/a", "ownedBy", "group:default/g")]
    )
    db = neo4j._db
    writes: list[Any] = []

    async def refuse(work: Any) -> Any:
        writes.append(work)
        raise AssertionError("a read took the write path")

    db.write = refuse  # type: ignore[method-assign]
    keys = ["component:default/a"]
    await neo4j.get_entities(keys)
    await neo4j.get_entity_states(keys)
    await neo4j.get_relations(keys, Direction.BOTH)
    await neo4j.get_entities_with_relations(keys, Direction.BOTH)
    await neo4j.list_entities(EntityFilter(), 10, None, Order.KEY)
    await neo4j.count_entities(EntityFilter())
    await neo4j.facets(["kind"], EntityFilter())
    await neo4j.traverse("component:default/a", "dependsOn", Direction.OUT, 10)
    await neo4j.expand_groups(["group:default/g"])
    await neo4j.impact("component:default/a", 5)
    await neo4j.shortest_path("component:default/a", "group:default/g", "dependsOn", 5)
    await neo4j.dangling(10)
    await neo4j.orphans(10)
    await neo4j.owned_by(["group:default/g"], True)
    await neo4j.owned_entities(["group:default/g"], True)
    await neo4j.select_entities_with_relations(EntityFilter(), [], 0, 10)
    await neo4j.field_facets(["kind", "spec.type", "relations.ownedBy"], EntityFilter())
    await neo4j.get_runs(None, 10)
    await neo4j.runs_by_id(["x"])
    assert await neo4j.ping()

    assert writes == []
