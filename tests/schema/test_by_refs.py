"""``entitiesByRefs``: entities in the order asked, null for unknown refs, in one store call
whatever the number of refs; its cost counts the refs given."""

from __future__ import annotations

from graphql import parse
from graphql.language import OperationDefinitionNode

from graph.port import GraphStore
from schema.limits import query_cost
from tests.factories import record, rel
from tests.schema.conftest import Client

BY_REFS = """query ($refs: [String!]!) {
  entitiesByRefs(refs: $refs) { ref owner { ref } }
}"""


async def _catalog(store: GraphStore, size: int) -> None:
    records = [record("group:default/team")]
    records += [record(f"component:default/svc-{i:03d}") for i in range(size)]
    relations = [
        rel(f"component:default/svc-{i:03d}", "ownedBy", "group:default/team") for i in range(size)
    ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


async def test_entities_come_in_request_order_with_null_for_unknown_refs(client: Client) -> None:
    await _catalog(client.store, 3)

    data = await client.query(
        BY_REFS,
        refs=[
            "component:svc-002",
            "component:default/nowhere",
            "Component:Default/SVC-000",
            "component:svc-002",
        ],
    )

    assert data["entitiesByRefs"] == [
        {"ref": "component:default/svc-002", "owner": {"ref": "group:default/team"}},
        None,
        {"ref": "component:default/svc-000", "owner": {"ref": "group:default/team"}},
        {"ref": "component:default/svc-002", "owner": {"ref": "group:default/team"}},
    ]


async def test_by_refs_costs_the_same_queries_for_3_and_100_refs(client: Client) -> None:
    await _catalog(client.store, 100)
    refs = [f"component:svc-{i:03d}" for i in range(100)]

    before = client.store.query_count
    small = await client.query(BY_REFS, refs=refs[:3])
    cost_3 = client.store.query_count - before
    before = client.store.query_count
    large = await client.query(BY_REFS, refs=refs)
    cost_100 = client.store.query_count - before

    assert len(small["entitiesByRefs"]) == 3 and len(large["entitiesByRefs"]) == 100
    assert cost_3 == cost_100 == 3  # the entities, their relations, the owner


async def test_bad_refs_and_long_lists_are_refused(client: Client) -> None:
    bad = await client.errors(BY_REFS, refs=["component:ok", "component:"])
    long = await client.errors(BY_REFS, refs=[f"component:c{i}" for i in range(101)])

    assert bad[0]["message"].startswith("refs[1]: ")
    assert "at most 100 refs" in long[0]["message"]


def test_the_cost_counts_the_refs_given(client: Client) -> None:
    schema = client.schema._schema
    document = parse(BY_REFS)
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    literal = parse('{ entitiesByRefs(refs: ["component:a", "component:b"]) { ref } }')
    (literal_operation,) = literal.definitions
    assert isinstance(literal_operation, OperationDefinitionNode)

    # each entity: 1 + ref + owner (1 + ref) = 4
    assert query_cost(schema, document, operation, {"refs": ["a"] * 7}) == 7 * 4
    assert query_cost(schema, literal, literal_operation) == 2 * 2
