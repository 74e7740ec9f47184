"""How Neo4j plans the listing reads (:mod:`graph.neo4j.filters`), read from profiles of the
statements the store sends: a page of some kinds in key order reads only those kinds."""

from __future__ import annotations

from typing import Any

import pytest
from neo4j import AsyncDriver

from graph.neo4j import Neo4jStore
from graph.neo4j.filters import entity_match, list_query
from graph.port import EntityFilter, FieldCondition, Order
from tests.factories import record


@pytest.fixture
def store(neo4j_store: Neo4jStore) -> Neo4jStore:
    """The Neo4j store alone (tests/graph/conftest.py), on an emptied database."""
    return neo4j_store


def _leaf_rows(plan: dict[str, Any]) -> list[int]:
    """The rows of every leaf of a profiled plan (what it read from an index or a scan)."""
    children = plan.get("children", [])
    if not children:
        return [int(plan.get("rows", 0))]
    return [rows for child in children for rows in _leaf_rows(child)]


@pytest.mark.parametrize(
    "flt",
    [
        EntityFilter(kinds=("Component",)),
        EntityFilter(any_of=((FieldCondition("kind", ("component",)),),)),
    ],
    ids=["kinds", "kind condition"],
)
async def test_a_page_of_a_kind_in_key_order_seeks_only_that_kinds_keys(
    store: Neo4jStore, driver: AsyncDriver, flt: EntityFilter
) -> None:
    # 200 APIs sort before the components ("api:" < "component:"): the seek by key used to
    # read through all of them before the first component
    await store.upsert_entities(
        "src",
        "r1",
        [
            *(record(f"api:default/a-{i:03}") for i in range(200)),
            *(record(f"component:default/c-{i}") for i in range(5)),
            record("resource:default/db"),
        ],
    )
    match = entity_match(flt)
    assert match is not None
    params = {"limit": 3, "after_key": "", "after_value": None, **match.params}

    profiled = await driver.execute_query("PROFILE " + list_query(match, Order.KEY), params)
    first = await store.list_entities(flt, 2)
    rest = await store.list_entities(flt, 5, after=first.entities[-1].key)
    last = await store.list_entities(flt, 2, backward=True)
    before = await store.list_entities(flt, 5, after=last.entities[0].key, backward=True)

    assert max(_leaf_rows(profiled.summary.profile or {})) <= 5  # the components, no API
    assert [e.name for e in first.entities] == ["c-0", "c-1"]
    assert [e.name for e in rest.entities] == ["c-2", "c-3", "c-4"]
    assert [e.name for e in last.entities] == ["c-3", "c-4"]
    assert [e.name for e in before.entities] == ["c-0", "c-1", "c-2"]
