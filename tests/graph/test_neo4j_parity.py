"""The Neo4j adapter answers exactly as the SQLite adapter on the same random graph: traversal
depths and edges, the ownership roll-up, relations and cleanup; impact, shortest paths,
facets, listing orders, group expansion, dangling relations and orphans."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.neo4j import Neo4jStore
from graph.port import (
    FACET_FIELDS,
    Direction,
    EntityFilter,
    EntityRecord,
    GraphStore,
    Order,
    RelationRecord,
    StoredRelation,
)
from graph.sqlite import SqliteStore
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
                assert actual.entities.keys() == expected.entities.keys(), (root, direction)


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


APIS = [f"api:default/a{i:02d}" for i in range(8)]
# s -> a -> d -> g and s -> b -> c -> g: walking back from g picks c then b, so the two
# shortest paths are told apart by the tie rule
TIE = {name: f"component:default/tie-{name}" for name in "sabcdg"}
GHOSTS = ["component:default/ghost", "api:default/ghost-api", "resource:default/ghost-db"]


def question_graph(seed: int) -> tuple[list[EntityRecord], list[RelationRecord]]:
    """Components and APIs with types, lifecycles, tags and owners (none, missing, one, two);
    dependencies, provided and consumed APIs with cycles, self-loops and dangling ends at
    either side; a group forest with a cycle."""
    rng = random.Random(seed)
    entities = [
        record(
            ref,
            tags=tuple(rng.sample(["java", "go", "pci", "web"], rng.randrange(3))),
            spec={
                "type": rng.choice(["service", "website", "library"]),
                "lifecycle": rng.choice(["production", "experimental", "deprecated"]),
            },
        )
        for ref in [*NODES, *TIE.values()]
    ]
    entities += [record(ref, spec={"type": rng.choice(["openapi", "grpc"])}) for ref in APIS]
    entities += [record(ref, spec={"type": "team"}) for ref in GROUPS]
    things = NODES + APIS
    relations = [
        rel(rng.choice(NODES), "dependsOn", rng.choice([*things, *GHOSTS])) for _ in range(45)
    ]
    relations += [rel(NODES[5], "dependsOn", NODES[5]), rel(GHOSTS[0], "dependsOn", NODES[1])]
    relations += [rel(TIE[a], "dependsOn", TIE[b]) for a, b in ("sa", "ad", "dg", "sb", "bc", "cg")]
    relations += [rel(TIE["g"], "dependsOn", NODES[0]), rel(NODES[3], "dependsOn", TIE["s"])]
    relations += [rel(rng.choice(NODES), "providesApi", api) for api in APIS for _ in range(2)]
    relations += [rel(NODES[2], "providesApi", GHOSTS[1])]
    relations += [rel(rng.choice(NODES), "consumesApi", rng.choice(APIS)) for _ in range(30)]
    relations += [rel(rng.choice(NODES), "consumesApi", GHOSTS[1]) for _ in range(3)]
    relations += [rel(GROUPS[i], "childOf", GROUPS[rng.randrange(i)]) for i in range(1, 10)]
    relations += [rel(GROUPS[2], "childOf", GROUPS[7])]
    for ref in things:
        owners = rng.choice([[], ["group:default/gone"], [rng.choice(GROUPS)], GROUPS[8:]])
        if ref in NODES[::7]:
            owners = ["group:default/gone-b", "group:default/gone-a"]
        relations += [rel(ref, "ownedBy", owner) for owner in owners]
    return entities, relations


async def load_questions(stores: tuple[GraphStore, GraphStore], seed: int) -> None:
    entities, relations = question_graph(seed)
    for store in stores:
        await store.upsert_entities("src", "r1", entities)
        await store.upsert_relations("src", "r1", relations)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_impact_and_paths_match_sqlite(
    stores: tuple[GraphStore, GraphStore], seed: int
) -> None:
    await load_questions(stores, seed)
    roots = [*NODES[:12], APIS[0], *GHOSTS, "component:default/nowhere"]

    for root in roots:
        for depth in (1, 2, 3, 10):
            expected, actual = [await store.impact(root, depth) for store in stores]
            assert actual == expected, (root, depth)
    for start in [*NODES[:6], GHOSTS[0], TIE["s"]]:
        for goal in [*NODES[::2], start, TIE["g"], GHOSTS[2], "component:default/nowhere"]:
            for depth in (2, 10):
                expected_path, actual_path = [
                    await store.shortest_path(start, goal, "dependsOn", depth) for store in stores
                ]
                assert actual_path == expected_path, (start, goal, depth)


@pytest.mark.parametrize("seed", [1, 2])
async def test_facets_orders_and_groups_match_sqlite(
    stores: tuple[GraphStore, GraphStore], seed: int
) -> None:
    await load_questions(stores, seed)
    filters = [
        EntityFilter(),
        EntityFilter(kinds=("component",), lifecycles=("production", "deprecated")),
        EntityFilter(owner_keys=tuple(GROUPS[:4]), tag="java"),
        EntityFilter(system_keys=("system:default/none",)),
    ]

    for flt in filters:
        for limit in (2, 100):
            expected, actual = [await store.facets(FACET_FIELDS, flt, limit) for store in stores]
            assert actual == expected, (flt, limit)
        for order in (Order.KEY, Order.NAME, Order.KIND):
            expected_keys, actual_keys = [await listed(store, flt, order) for store in stores]
            assert actual_keys == expected_keys, (flt, order)
    for groups in ([GROUPS[0]], [GROUPS[2], "group:default/none"], []):
        expected_groups, actual_groups = [await store.expand_groups(groups) for store in stores]
        assert actual_groups == expected_groups, groups


async def listed(store: GraphStore, flt: EntityFilter, order: Order) -> list[str]:
    keys: list[str] = []
    after = None
    while True:
        page = await store.list_entities(flt, 4, after, order)
        keys += [e.key for e in page.entities]
        if not page.has_next:
            return keys
        after = page.last_cursor


@pytest.mark.parametrize("seed", [1, 2])
async def test_dangling_and_orphans_match_sqlite(
    stores: tuple[GraphStore, GraphStore], seed: int
) -> None:
    await load_questions(stores, seed)

    dangling: list[list[StoredRelation]] = []
    orphans: list[list[tuple[str, str | None]]] = []
    for store in stores:
        relations: list[StoredRelation] = []
        position = None
        while True:
            page = await store.dangling(3, position)
            relations += page.relations
            if not page.has_next:
                break
            last = page.relations[-1]
            position = (last.source_ref.lower(), last.type, last.target_ref.lower())
        dangling.append(relations)
        found: list[tuple[str, str | None]] = []
        after = None
        while True:
            batch, more = await store.orphans(3, after)
            found += [(o.entity.ref, o.owner_ref) for o in batch]
            if not more:
                break
            after = batch[-1].entity.key
        orphans.append(found)

    assert dangling[1] == dangling[0]
    assert orphans[1] == orphans[0]
    assert len(dangling[0]) > 5 and len(orphans[0]) > 3


async def test_mutate_matches_sqlite(stores: tuple[GraphStore, GraphStore]) -> None:
    await load_questions(stores, 1)
    _, relations = question_graph(1)
    removed = [r for r in relations if r.source_ref in NODES[:10]][::2]
    removed += [
        rel(NODES[0], "dependsOn", "component:default/never"),
        rel(NODES[0], "likes", NODES[1]),
    ]
    added = [rel(NODES[1], "dependsOn", "resource:default/new-ghost"), *removed[:2]]
    upserts = [record(NODES[0], title="changed"), record("component:default/fresh")]

    for store in stores:
        await store.mutate("src", "r2", upserts, added, removed, [NODES[4], APIS[1]])
        await store.mutate("other", "x1", [], [], relations[:5], [NODES[6]])

    everything = [*NODES, *APIS, *GROUPS, *GHOSTS, "component:default/fresh"]
    relations_after = [await store.get_relations(everything, Direction.BOTH) for store in stores]
    entities_after = [await store.get_entities(everything) for store in stores]
    dangling_after = [(await store.dangling(500)).relations for store in stores]

    assert relations_after[1] == relations_after[0]
    assert [(k, e.run_id, e.hash) for k, e in sorted(entities_after[1].items())] == [
        (k, e.run_id, e.hash) for k, e in sorted(entities_after[0].items())
    ]
    assert dangling_after[1] == dangling_after[0]


async def test_paging_by_cursor_visits_the_whole_listing_once_in_every_order(
    stores: tuple[GraphStore, GraphStore],
) -> None:
    await load_questions(stores, 1)
    rewritten = [
        record(NODES[1], title="Java gateway", tags=("java",)),
        record(NODES[2], description="java java"),
        record(NODES[3], title="java"),
    ]
    for store in stores:
        await store.upsert_entities("src", "r2", rewritten[:1])
        await store.upsert_entities("src", "r2", rewritten[1:])

    for store in stores:
        for order in Order:
            for flt in (EntityFilter(), EntityFilter(search="java"), EntityFilter(tag="go")):
                whole = await store.list_entities(flt, 500, None, order)
                one_by_one = []
                after = None
                while True:
                    page = await store.list_entities(flt, 1, after, order)
                    one_by_one += [e.key for e in page.entities]
                    if not page.has_next:
                        break
                    after = page.last_cursor
                assert one_by_one == [e.key for e in whole.entities], (store.url, order, flt)
                assert len(whole.entities) > 2, (order, flt)
        newest = await store.list_entities(EntityFilter(), 3, None, Order.UPDATED_AT)
        best = await store.list_entities(EntityFilter(search="java"), 2, None, Order.RELEVANCE)
        assert [e.key for e in newest.entities] == [NODES[2], NODES[3], NODES[1]]
        # scores differ (bm25 against boosted prefix clauses); title matches lead in both
        assert {e.key for e in best.entities} == {NODES[1], NODES[3]}, store.url
