"""Shared fixtures: a store fixture parametrized over both adapters, so every test that uses
``store`` runs unchanged on SQLite and on a real Neo4j.

Neo4j tests connect to ``STAGEGRAPH_TEST_NEO4J_URL`` (default ``bolt://127.0.0.1:7687``,
user ``neo4j``, password ``stagegraph``: what ``make neo4j`` starts). When it does not
answer they are skipped with the reason, unless ``STAGEGRAPH_REQUIRE_NEO4J=1``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from neo4j import AsyncGraphDatabase
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from graph import open_store
from graph.port import GraphStore

NEO4J_URL = os.environ.get("STAGEGRAPH_TEST_NEO4J_URL", "bolt://127.0.0.1:7687")
NEO4J_USER = os.environ.get("NEO4J_USER", "neo4j")
NEO4J_PASSWORD = os.environ.get("NEO4J_PASSWORD", "stagegraph")
REQUIRE_NEO4J = os.environ.get("STAGEGRAPH_REQUIRE_NEO4J") == "1"

_neo4j_state: dict[str, str | None] = {}


async def _neo4j_unavailable() -> str | None:
    """None when Neo4j answers, else why not (checked once per session)."""
    if "reason" not in _neo4j_state:
        driver = AsyncGraphDatabase.driver(NEO4J_URL, auth=(NEO4J_USER, NEO4J_PASSWORD))
        try:
            await driver.verify_connectivity()
            _neo4j_state["reason"] = None
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            _neo4j_state["reason"] = (
                f"Neo4j not reachable at {NEO4J_URL} ({exc.__class__.__name__})"
            )
        finally:
            await driver.close()
    return _neo4j_state["reason"]


async def require_neo4j() -> None:
    reason = await _neo4j_unavailable()
    if reason is None:
        return
    if REQUIRE_NEO4J:
        pytest.fail(f"{reason}; STAGEGRAPH_REQUIRE_NEO4J=1 makes this a failure", pytrace=False)
    pytest.skip(f"{reason}: start one with `make neo4j` (STAGEGRAPH_REQUIRE_NEO4J=1 to fail)")


async def wipe_neo4j() -> None:
    """Remove everything from the test database (the throwaway server is ours alone)."""
    driver = AsyncGraphDatabase.driver(NEO4J_URL, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        await driver.execute_query("MATCH (n) DETACH DELETE n")
    finally:
        await driver.close()


@pytest.fixture(params=["sqlite", "neo4j"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        request.applymarker(pytest.mark.neo4j)
        yield NEO4J_URL


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[GraphStore]:
    if not store_url.startswith("sqlite"):
        await require_neo4j()
        await wipe_neo4j()
    graph_store = open_store(store_url, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await graph_store.setup()
    try:
        yield graph_store
    finally:
        await graph_store.close()
