"""N+1 is a bug: a request costs the same number of store queries for 10 items or 100."""

from __future__ import annotations

import strawberry

from graph.neo4j.store import Neo4jStore
from graph.port import GraphStore
from schema.context import Context
from schema.kinds import ALL_TYPES
from schema.query import Query
from schema.tracing import StoreTrace
from tests.factories import record, rel
from tests.schema.conftest import Client

LIST = """query ($first: Int!) {
  entities(kind: "component", first: $first) {
    totalCount
    edges { node {
      ref owner { ref name }
      dependsOn { ref owner { ref } }
      relations(type: "consumesApi") { targetRef target { ref } }
      ... on Component { system { ref } providesApis { ref owner { ref } } consumesApis { ref } }
    } }
  }
}"""


async def _catalog(store: GraphStore, size: int) -> None:
    records = [record(f"group:default/team-{t}") for t in range(5)]
    records += [record(f"system:default/sys-{s}") for s in range(3)]
    records += [record(f"component:default/svc-{i:03d}") for i in range(size)]
    records += [record(f"api:default/api-{i:03d}") for i in range(size)]
    relations = []
    for i in range(size):
        svc = f"component:default/svc-{i:03d}"
        relations += [
            rel(svc, "ownedBy", f"group:default/team-{i % 5}"),
            rel(svc, "partOf", f"system:default/sys-{i % 3}"),
            rel(svc, "providesApi", f"api:default/api-{i:03d}"),
            rel(svc, "consumesApi", f"api:default/api-{(i + 1) % size:03d}"),
            rel(svc, "dependsOn", f"component:default/svc-{(i + 7) % size:03d}"),
            rel(f"api:default/api-{i:03d}", "ownedBy", f"group:default/team-{i % 5}"),
        ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


async def test_listing_costs_the_same_queries_for_10_and_100(client: Client) -> None:
    await _catalog(client.store, 120)

    before = client.store.query_count
    small = await client.query(LIST, first=10)
    cost_10 = client.store.query_count - before
    before = client.store.query_count
    large = await client.query(LIST, first=100)
    cost_100 = client.store.query_count - before

    assert len(small["entities"]["edges"]) == 10
    assert len(large["entities"]["edges"]) == 100
    node = large["entities"]["edges"][42]["node"]
    assert node["owner"]["ref"] == "group:default/team-2"
    assert node["system"] == {"ref": "system:default/sys-0"}
    assert node["dependsOn"][0]["owner"] is not None
    assert cost_10 == cost_100
    assert cost_100 <= 12


async def test_trace_extension_reports_store_queries_per_request(client: Client) -> None:
    await _catalog(client.store, 30)
    traced = strawberry.Schema(query=Query, types=list(ALL_TYPES), extensions=[StoreTrace])

    small = await traced.execute(
        LIST, variable_values={"first": 5}, context_value=Context(client.store)
    )
    large = await traced.execute(
        LIST, variable_values={"first": 30}, context_value=Context(client.store)
    )

    assert small.extensions == large.extensions
    assert small.extensions is not None
    count = small.extensions["stagegraph"]["storeQueries"]
    assert 3 <= count <= 12


async def test_a_page_of_scalars_and_raw_relations_costs_no_preload(client: Client) -> None:
    await _catalog(client.store, 30)
    scalars = 'query { entities(kind: "component", first: 30) { edges { node { ref title } } } }'
    raw = (
        'query { entities(kind: "component", first: 30) '
        "{ edges { node { ref relations { type targetRef } } } } }"
    )

    before = client.store.query_count
    await client.query(scalars)
    cost_scalars = client.store.query_count - before
    before = client.store.query_count
    await client.query(raw)
    cost_raw = client.store.query_count - before

    assert cost_scalars == 1  # the page itself; no count, no relations, no targets
    assert cost_raw == 2  # the page and one batch of relations; no target documents


# A request's count has a ceiling set by the shape of the query; it is lower by one for each
# batch that has nothing left to fetch (README, "GraphQL"). SHAPE's ceiling is 5: the page,
# the page's relations and their forward targets (the preload), then for the dependencies'
# owners one batch of the dependencies' relations and one of the owners.
SHAPE = """query ($first: Int!) {
  entities(kind: "component", first: $first) { edges { node {
    ref owner { ref } dependsOn { ref owner { ref } }
    ... on Component { providesApis { ref } system { ref } }
  } } }
}"""
SHAPE_CEILING = 5
SMALL = 8


def _owner(i: int) -> str:
    return f"group:default/team-{min(i, 6)}"  # c7 shares c6's team


def _dependency(i: int) -> int:
    """c0 -> c5, then each later one on the one before it, and c6 <-> c7."""
    return {0: 5, 6: 7, 7: 6}.get(i, i - 1)


async def _small_catalog(store: GraphStore) -> None:
    records = [record(_owner(i)) for i in range(SMALL - 1)] + [record("system:default/sys")]
    relations = []
    for i in range(SMALL):
        svc = f"component:default/c{i}"
        records += [record(svc), record(f"api:default/a{i}")]
        relations += [
            rel(svc, "ownedBy", _owner(i)),
            rel(svc, "partOf", "system:default/sys"),
            rel(svc, "providesApi", f"api:default/a{i}"),
            rel(svc, "dependsOn", f"component:default/c{_dependency(i)}"),
        ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


def _expected_cost(first: int) -> int:
    """The documented rule, applied to the small catalog: the ceiling, less the batch of
    the dependencies' relations when every dependency is on the page (its relations came
    with the page), less the owners' batch when every dependency's owner was loaded already
    (as the owner of an entity on the page)."""
    page = set(range(first))
    off_page = {_dependency(i) for i in page} - page
    loaded_owners = {_owner(i) for i in page}
    cost = SHAPE_CEILING
    if not off_page:
        cost -= 1
    if {_owner(d) for d in off_page} <= loaded_owners:
        cost -= 1
    return cost


async def test_a_batch_with_nothing_left_to_fetch_is_skipped_and_nothing_else(
    client: Client,
) -> None:
    await _small_catalog(client.store)

    costs = {}
    for first in range(1, SMALL + 1):
        before = client.store.query_count
        data = await client.query(SHAPE, first=first)
        costs[first] = client.store.query_count - before
        assert len(data["entities"]["edges"]) == first

    assert costs == {first: _expected_cost(first) for first in costs}
    assert costs == {1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 3, 7: 4, 8: 3}


async def test_the_demo_catalog_costs_the_ceiling_until_one_page_holds_it(demo: Client) -> None:
    costs = {}
    for first in (1, 2, 5, 10, 25):
        before = demo.store.query_count
        await demo.query(SHAPE, first=first)
        costs[first] = demo.store.query_count - before

    # The demo has 21 components: a page of 25 holds them all, so every owner of a
    # dependency (a component or a resource) owns something on the page and is loaded
    # already: the owners' batch has nothing left to fetch.
    assert costs == {1: 5, 2: 5, 5: 5, 10: 5, 25: 4}


QUESTIONS = """query ($team: String!, $root: String!) {
  ownedEntities(owner: $team, includeSubgroups: true) { ref kind }
  dependencies(ref: $root, maxDepth: 10) { root { ref } nodes { ref kind } }
}"""


async def test_the_graph_questions_read_their_results_in_one_batch_each(client: Client) -> None:
    """A question reads its walk, then every entity it reached (root included) in one
    store call, whether it reaches a few entities or fifty."""
    costs = {}
    for size in (12, 120):
        await _catalog(client.store, size)
        before = client.store.query_count
        found = await client.query(QUESTIONS, team="group:default/team-1", root="component:svc-000")
        costs[size] = client.store.query_count - before
        assert len(found["ownedEntities"]) == 2 * len(range(1, size, 5))  # svc-i, api-i
        assert found["dependencies"]["root"] == {"ref": "component:default/svc-000"}
        assert len(found["dependencies"]["nodes"]) >= 10

    assert costs[12] == costs[120]
    # the roll-up is one statement; the walk reads its entities itself (on SQLite in one
    # call of three statements: the walk, its edges, its entities)
    assert costs[120] <= 4


async def test_dependencies_read_the_walk_and_its_entities_in_one_statement(
    client: Client,
) -> None:
    await _catalog(client.store, 120)
    query = "query ($root: String!) { dependencies(ref: $root, maxDepth: 10) { root { ref } nodes { ref } } }"

    before = client.store.query_count
    found = await client.query(query, root="component:svc-000")
    cost = client.store.query_count - before

    assert found["dependencies"]["root"] == {"ref": "component:default/svc-000"}
    assert len(found["dependencies"]["nodes"]) >= 10
    assert cost == (1 if isinstance(client.store, Neo4jStore) else 3)
