"""The facet counts on Neo4j (:mod:`graph.neo4j.facet_counts`): facets of a kind filter or
none are read from a few count nodes, not from the entities' index entries; concurrent batch
transactions lose no increment; setup counts a store written before the counts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from neo4j import AsyncDriver

from graph.neo4j import Neo4jStore
from graph.neo4j.facet_counts import read_call, read_params
from graph.neo4j.writes import BULK_BATCH_SIZE, bulk_writers
from graph.port import EntityFilter, FieldCondition
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER
from tests.factories import record

_PATHS = ["kind", "metadata.namespace", "spec.type", "spec.lifecycle", "spec.owner"]


@pytest.fixture
def store(neo4j_store: Neo4jStore) -> Neo4jStore:
    """The Neo4j store alone (tests/graph/conftest.py), on an emptied database."""
    return neo4j_store


def _operators(plan: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Every operator of a profiled plan with its rows and details."""
    found = [
        (
            str(plan.get("operatorType", "")).split("@")[0],
            int(plan.get("rows", 0)),
            str(plan.get("args", {}).get("Details", "")),
        )
    ]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


def _components(count: int, prefix: str = "c") -> list[Any]:
    return [
        record(f"component:default/{prefix}{i}", spec={"type": "service", "owner": "team"})
        for i in range(count)
    ]


@pytest.mark.parametrize(("kinds", "summary"), [((), False), (("component",), False), ((), True)])
async def test_facets_of_a_kind_filter_or_none_seek_a_few_counts_not_the_entities(
    store: Neo4jStore, driver: AsyncDriver, kinds: tuple[str, ...], summary: bool
) -> None:
    await store.upsert_entities("src", "r", _components(300))

    profiled = await driver.execute_query(
        "PROFILE " + read_call(bool(kinds), summary) + "RETURN counts",
        read_params(["kind", "spec.type"], kinds),
    )
    before = store._db.queries
    if summary:
        answer = await store.facets(["kind", "spec.type"], EntityFilter(kinds=kinds))
    else:
        answer = await store.field_facets(["kind", "spec.type"], EntityFilter(kinds=kinds))

    assert profiled.summary.profile is not None
    operators = _operators(profiled.summary.profile)
    assert not [op for op in operators if "Scan" in op[0]]
    seeks = [op for op in operators if op[0] == "NodeIndexSeek"]
    assert len(seeks) == 1 and "FacetCount" in seeks[0][2] and seeks[0][1] <= 2
    assert store._db.queries - before == 1
    kind = "component" if summary else "Component"
    assert answer == {"kind": [(kind, 300)], "spec.type": [("service", 300)]}


async def test_concurrent_batch_transactions_lose_no_count(store: Neo4jStore) -> None:
    """The first ingest's concurrent batches, and concurrent writers of other keys, all add
    to the same counts."""
    with bulk_writers():
        await store.upsert_entities("src", "r", _components(3 * BULK_BATCH_SIZE + 10))
    await asyncio.gather(
        *(store.upsert_entities("src", "r", _components(50, f"w{w}-")) for w in range(4))
    )

    facets = await store.field_facets(["kind", "spec.type", "spec.owner"], EntityFilter())

    total = 3 * BULK_BATCH_SIZE + 10 + 4 * 50
    assert facets == {
        "kind": [("Component", total)],
        "spec.type": [("service", total)],
        "spec.owner": [("team", total)],
    }


async def test_setup_counts_a_store_written_without_counts(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src",
        "r",
        [
            record("component:default/a", spec={"type": ["service", "Library"], "owner": "t"}),
            record("component:prod/b", spec={"type": "service", "lifecycle": "beta"}),
            record("api:default/c", spec={"type": "openapi"}),
        ],
    )
    expected = await store.field_facets(_PATHS, EntityFilter())
    await driver.execute_query("MATCH (c:FacetCount) DELETE c")
    emptied = await store.field_facets(_PATHS, EntityFilter())

    again = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await again.setup()
    await again.setup()  # counted once
    try:
        counted = await again.field_facets(_PATHS, EntityFilter())
        scanned = await again.field_facets(
            _PATHS, EntityFilter(any_of=((FieldCondition("metadata.name"),),))
        )
    finally:
        await again.close()

    assert emptied == {path: [] for path in _PATHS}
    assert counted == expected == scanned
    assert counted["spec.type"] == [("service", 2), ("Library", 1), ("openapi", 1)]


async def test_setup_drops_the_indexes_facets_were_read_from_before_the_counts(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await driver.execute_query(
        "CREATE INDEX entity_facet_type IF NOT EXISTS FOR (n:Entity) ON (n.kind, n.facet_type)"
    )

    again = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await again.setup()
    await again.close()

    names = await driver.execute_query("SHOW INDEXES YIELD name RETURN collect(name) AS n")
    assert [n for n in names.records[0]["n"] if n.startswith("entity_facet")] == []
    assert "facet_count_path" in names.records[0]["n"]
