"""The fixtures of the Neo4j-only test modules (test_neo4j_*.py): the raw driver of an emptied
test database, and a set-up :class:`Neo4jStore` on it. (The ``store`` fixture of
tests/conftest.py runs a test on both stores; these modules test the Neo4j adapter alone and
name ``neo4j_store`` their ``store``.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from neo4j import AsyncDriver, AsyncGraphDatabase

from graph.neo4j import Neo4jStore
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER, require_neo4j, wipe_neo4j


@pytest.fixture
async def driver() -> AsyncIterator[AsyncDriver]:
    """A driver on the test database, emptied first."""
    await require_neo4j()
    await wipe_neo4j()
    raw = AsyncGraphDatabase.driver(NEO4J_URL, auth=(NEO4J_USER, NEO4J_PASSWORD))
    try:
        yield raw
    finally:
        await raw.close()


@pytest.fixture
async def neo4j_store(driver: AsyncDriver) -> AsyncIterator[Neo4jStore]:
    """A set-up store on the emptied test database (after ``driver`` wiped it)."""
    store = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await store.setup()
    try:
        yield store
    finally:
        await store.close()
