"""Backstage's full-text filter on Neo4j (:mod:`graph.neo4j.fulltext`): the catalog page's
search seeks its candidates in the TEXT index, and setup gives older entities the indexed
property."""

from __future__ import annotations

from typing import Any

import pytest
from neo4j import AsyncDriver

from graph.conditions import PAIR_SEPARATOR
from graph.neo4j import Neo4jStore
from graph.neo4j.filters import count_query, entity_match, select_query
from graph.neo4j.fulltext import text_props
from graph.port import EntityFilter, FieldCondition, FieldOrder, TextFilter
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER
from tests.factories import record

#: What the catalog page sends: components in name order, a term in three paths.
SEARCHED = ("metadata.name", "metadata.title", "spec.profile.displayName")


def _search(term: str, *paths: str) -> EntityFilter:
    return EntityFilter(
        any_of=((FieldCondition("kind", ("component",)),),), text=TextFilter(term, paths)
    )


@pytest.fixture
def store(neo4j_store: Neo4jStore) -> Neo4jStore:
    """The Neo4j store alone (tests/graph/conftest.py), on an emptied database."""
    return neo4j_store


def _operators(plan: dict[str, Any]) -> list[tuple[str, int]]:
    """Every operator of a profiled plan with its rows."""
    found = [(str(plan.get("operatorType", "")).split("@")[0], int(plan.get("rows", 0)))]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


def test_text_values_are_the_lowercased_values_at_the_searched_paths_one_a_line() -> None:
    lpairs = [
        f"metadata.name{PAIR_SEPARATOR}pay",
        f"metadata.description{PAIR_SEPARATOR}not searched",
        f"metadata.title{PAIR_SEPARATOR}payments",
        f"spec.profile.displayname{PAIR_SEPARATOR}the pay team",
    ]

    assert text_props(lpairs) == {"text_values": "pay\npayments\nthe pay team"}


async def test_the_catalog_search_reads_its_candidates_from_the_text_index(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src",
        "r1",
        [
            *(record(f"component:default/svc-{i:03}", title=f"Service {i}") for i in range(300)),
            record("component:default/pay", title="Payments Tracker"),
            record("component:default/ship", spec={"profile": {"displayName": "Tracking"}}),
            record("api:default/track-api"),
        ],
    )
    flt = _search("TRACK", *SEARCHED)
    match = entity_match(flt)
    assert match is not None
    params = {"order_prefixes": [f"metadata.name{PAIR_SEPARATOR}"], "offset": 0, "limit": 10}

    profiled = await driver.execute_query(
        "PROFILE " + select_query(match, [False]), {**params, **match.params}
    )
    found = await store.select_entities(flt, [FieldOrder("metadata.name")], 0, 10)

    operators = _operators(profiled.summary.profile or {})
    assert ("NodeIndexContainsScan", 3) in operators  # pay, ship, track-api: not all 303
    assert not any(op.startswith(("NodeIndexSeek", "NodeByLabelScan")) for op, _ in operators)
    assert [e.name for e in found] == ["pay", "ship"]
    assert await store.count_entities(flt) == 2
    counted = await driver.execute_query("EXPLAIN " + count_query(match), match.params)
    assert "NodeIndexContainsScan" in str(counted.summary.plan)


async def test_a_filter_on_other_paths_tests_every_entity_and_finds_the_same(
    store: Neo4jStore,
) -> None:
    await store.upsert_entities(
        "src",
        "r1",
        [
            record("component:default/pay", description="tracks payments"),
            record("component:default/ship", title="Tracker"),
        ],
    )

    described = await store.select_entities(
        _search("track", "metadata.description"), [FieldOrder("metadata.name")], 0, 10
    )
    titled = await store.select_entities(
        _search("track", "metadata.title", "metadata.description"),
        [FieldOrder("metadata.name")],
        0,
        10,
    )

    assert [e.name for e in described] == ["pay"]
    assert [e.name for e in titled] == ["pay", "ship"]


async def test_setup_gives_entities_written_without_text_values_theirs(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await store.upsert_entities(
        "src",
        "r1",
        [
            record(
                "component:default/pay", title="Payments", spec={"profile": {"displayName": "Pay"}}
            )
        ],
    )
    await driver.execute_query("MATCH (e:Entity) REMOVE e.text_values")
    flt = _search("payments", *SEARCHED)
    before = await store.count_entities(flt)

    again = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await again.setup()
    try:
        after = await again.count_entities(flt)
    finally:
        await again.close()

    records = (await driver.execute_query("MATCH (e:Entity) RETURN e.text_values AS v")).records
    assert before == 0  # the index is what finds candidates
    assert [r["v"] for r in records] == ["pay\npayments\npay"]
    assert after == 1
