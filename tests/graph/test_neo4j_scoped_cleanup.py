"""A scoped run's cleanup on Neo4j starts from its scope (the source-path index), so what it
touches does not grow with the rest of the source: counted in the database hits of the
profiled statements, the same for a source of 10 and of 400 entities outside the scope."""

from __future__ import annotations

from typing import Any, LiteralString

import pytest
from neo4j import AsyncDriver

from graph.neo4j import Neo4jStore
from graph.neo4j.writes import DELETE_STALE_IN_SCOPE
from graph.port import SOURCE_PATH_ANNOTATION, Direction, EntityRecord
from tests.factories import record, rel

pytestmark = pytest.mark.neo4j


@pytest.fixture
def store(neo4j_store: Neo4jStore) -> Neo4jStore:
    """The Neo4j store alone (tests/graph/conftest.py), on an emptied database."""
    return neo4j_store


def _at(ref: str, path: str) -> EntityRecord:
    return record(ref, annotations={SOURCE_PATH_ANNOTATION: path})


def _hits(plan: dict[str, Any]) -> int:
    return int(plan.get("dbHits", 0)) + sum(_hits(child) for child in plan.get("children", []))


async def _profiled(driver: AsyncDriver, query: LiteralString, **params: Any) -> int:
    result = await driver.execute_query("PROFILE " + query, params)
    return _hits(result.summary.profile or {})


async def _source(store: Neo4jStore, source: str, outside: int) -> None:
    """``pay`` (kept) and ``pay-ci`` (stale) in the scope ``<source>/pay``, each with a stale
    relation, and ``outside`` entities elsewhere in the source, related in a ring."""
    others = [f"component:default/{source}-other-{i}" for i in range(outside)]
    await store.upsert_entities(
        source,
        "r1",
        [
            _at(f"component:default/{source}-pay", f"{source}/pay"),
            _at(f"pipeline:default/{source}-pay-ci", f"{source}/pay/actions"),
            *(_at(ref, f"{source}/other-{i}") for i, ref in enumerate(others)),
        ],
    )
    await store.upsert_relations(
        source,
        "r1",
        [
            rel(f"component:default/{source}-pay", "dependsOn", others[0]),
            rel(f"pipeline:default/{source}-pay-ci", "ownedBy", others[0]),
            *(rel(ref, "dependsOn", others[(i + 1) % outside]) for i, ref in enumerate(others)),
        ],
    )
    await store.upsert_entities(
        source, "r2", [_at(f"component:default/{source}-pay", f"{source}/pay")]
    )


async def test_a_scoped_cleanup_touches_only_its_scope(
    store: Neo4jStore, driver: AsyncDriver
) -> None:
    await _source(store, "small", 10)
    await _source(store, "large", 400)
    drop, retire = DELETE_STALE_IN_SCOPE

    hits = {}
    for source in ("small", "large"):
        params = {"source": source, "run_id": "r2", "scope": [f"{source}/pay"], "kept": []}
        hits[source] = (
            await _profiled(driver, drop, **params),
            await _profiled(driver, retire, **params),
        )

    assert hits["large"] == hits["small"]
    gone = await store.get_entities(
        ["pipeline:default/large-pay-ci", "component:default/large-pay"]
    )
    assert sorted(gone) == ["component:default/large-pay"]
    kept = await store.get_relations(["component:default/large-other-0"], Direction.BOTH)
    assert len(kept) == 2  # the ring's two; the scope's stale relations are gone
