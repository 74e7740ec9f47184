"""The Neo4j adapter answers exactly as the SQLite adapter on the same random graph: traversal
depths and edges, the ownership roll-up, relations and cleanup."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.neo4j_store import Neo4jStore
from graph.port import Direction, GraphStore, RelationRecord
from graph.sqlite_store import SqliteStore
from tests.conftest import NEO4J_PASSWORD, NEO4J_URL, NEO4J_USER, require_neo4j, wipe_neo4j
from tests.factories import record, rel

pytestmark = pytest.mark.neo4j

NODES = [f"component:default/n{i:02d}" for i in range(30)]
GROUPS = [f"group:default/g{i:02d}" for i in range(10)]


def random_relations(seed: int) -> list[RelationRecord]:
    """Dependencies with cycles, self-loops and dangling ends; a group forest with owners."""
    rng = random.Random(seed)
    targets = [*NODES, "resource:default/ghost-1", "resource:default/ghost-2"]
    relations = [rel(rng.choice(NODES), "dependsOn", rng.choice(targets)) for _ in range(70)]
    relations += [rel(NODES[3], "dependsOn", NODES[3])]
    relations += [rel(GROUPS[i], "childOf", GROUPS[rng.randrange(i)]) for i in range(1, 10)]
    relations += [rel(GROUPS[2], "childOf", GROUPS[7])]  # a cycle in the hierarchy
    relations += [rel(n, "ownedBy", rng.choice(GROUPS)) for n in NODES]
    return relations


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[GraphStore, GraphStore]]:
    await require_neo4j()
    await wipe_neo4j()
    sqlite = SqliteStore(f"sqlite:///{tmp_path / 'parity.db'}")
    neo4j = Neo4jStore(NEO4J_URL, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await sqlite.setup()
    await neo4j.setup()
    try:
        yield sqlite, neo4j
    finally:
        await sqlite.close()
        await neo4j.close()


async def load(store: GraphStore, seed: int) -> None:
    entities = [record(ref) for ref in NODES + GROUPS]
    await store.upsert_entities("src", "r1", entities)
    await store.upsert_relations("src", "r1", random_relations(seed))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_traversals_match_sqlite(stores: tuple[GraphStore, GraphStore], seed: int) -> None:
    for store in stores:
        await load(store, seed)

    for root in [*NODES[:8], "resource:default/ghost-1", "component:default/nowhere"]:
        for direction in (Direction.OUT, Direction.IN):
            for depth in (1, 2, 3, 10):
                expected, actual = [
                    await store.traverse(root, "dependsOn", direction, depth) for store in stores
                ]
                assert actual.depths == expected.depths, (root, direction, depth)
                assert actual.refs == expected.refs, (root, direction, depth)
                assert actual.edges == expected.edges, (root, direction, depth)


@pytest.mark.parametrize("seed", [1, 2])
async def test_ownership_and_relations_match_sqlite(
    stores: tuple[GraphStore, GraphStore], seed: int
) -> None:
    for store in stores:
        await load(store, seed)

    for owners in ([GROUPS[0]], [GROUPS[2], GROUPS[5]], ["group:default/none"]):
        for subgroups in (False, True):
            expected, actual = [await store.owned_by(owners, subgroups) for store in stores]
            assert actual == expected, (owners, subgroups)
    for direction in Direction:
        expected_rels, actual_rels = [
            await store.get_relations([*NODES[:10], "resource:default/ghost-1"], direction)
            for store in stores
        ]
        assert actual_rels == expected_rels


async def test_cleanup_matches_sqlite(stores: tuple[GraphStore, GraphStore]) -> None:
    for store in stores:
        await load(store, 1)
        await store.upsert_entities("src", "r2", [record(ref) for ref in NODES[::2]])
        await store.upsert_relations(
            "src", "r2", [r for r in random_relations(1) if r.source_ref in NODES[::4]]
        )
        await store.touch("src", "r2", [NODES[1]], "broken")

    summaries = [await store.stale("src", "r2") for store in stores]
    deleted = [await store.delete_stale("src", "r2") for store in stores]
    relations = [await store.get_relations(NODES + GROUPS, Direction.BOTH) for store in stores]
    entities = [sorted(await store.get_entities(NODES + GROUPS)) for store in stores]

    assert summaries[1] == summaries[0]
    assert deleted[1] == deleted[0]
    assert relations[1] == relations[0]
    assert entities[1] == entities[0]
