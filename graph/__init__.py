"""The graph store: one port (:class:`graph.port.GraphStore`), two adapters, chosen by URL."""

from __future__ import annotations

from graph.errors import StoreUrlError
from graph.port import GraphStore

DEFAULT_STORE_URL = "sqlite:///stagegraph.db"
NEO4J_SCHEMES = ("bolt://", "neo4j://", "bolt+s://", "neo4j+s://", "bolt+ssc://", "neo4j+ssc://")
STORE_SCHEMES = ("sqlite:", *NEO4J_SCHEMES)


def open_store(url: str, *, user: str | None = None, password: str | None = None) -> GraphStore:
    """Build (not connect) the adapter for ``url``; call ``await store.setup()`` to connect."""
    if url.startswith("sqlite:"):
        from graph.sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(
        ("bolt://", "neo4j://", "bolt+s://", "neo4j+s://", "bolt+ssc://", "neo4j+ssc://")
    ):
        from graph.neo4j import Neo4jStore

        return Neo4jStore(url, user=user, password=password)
    raise StoreUrlError(url)
