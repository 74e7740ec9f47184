"""Relation fields typed by the kind at their other end (``providesApis: [API!]!``,
``Group.members: [User!]!``, ...), and ``Group.descendants``: flat, cycle-safe, one store
query per level of the tree, and cheap in the cost model where nested ``children`` are not."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import parse
from graphql.language import OperationDefinitionNode

from graph.port import GraphStore
from schema.limits import QueryLimits, query_cost
from tests.factories import record, rel
from tests.schema.conftest import Client


async def _system(store: GraphStore) -> None:
    records = [
        record("domain:default/commerce"),
        record("system:default/shop", spec={"type": "product"}),
        record("component:default/cart", spec={"type": "service", "lifecycle": "production"}),
        record("component:default/cart-db-proxy", spec={"type": "library"}),
        record("api:default/cart-api", spec={"type": "openapi", "definition": "openapi: 3.0.0"}),
        record("group:default/team-a", spec={"type": "team"}),
        record("user:default/ada"),
        record("template:default/service"),
    ]
    relations = [
        rel("system:default/shop", "partOf", "domain:default/commerce"),
        rel("component:default/cart", "partOf", "system:default/shop"),
        rel("component:default/cart-db-proxy", "partOf", "component:default/cart"),
        rel("component:default/cart", "providesApi", "api:default/cart-api"),
        rel("component:default/cart-db-proxy", "consumesApi", "api:default/cart-api"),
        # a providesApi at a ref of another kind is a relation, not one of the typed APIs
        rel("component:default/cart", "providesApi", "component:default/cart-db-proxy"),
        rel("component:default/cart", "scaffoldedFrom", "template:default/service"),
        rel("user:default/ada", "memberOf", "group:default/team-a"),
        rel("component:default/cart", "memberOf", "group:default/team-a"),
    ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


async def test_typed_relation_fields_answer_the_fields_of_their_kind(client: Client) -> None:
    await _system(client.store)

    data = await client.query(
        """{
          cart: entity(ref: "component:default/cart") { ... on Component {
            system { type domain { systems { ref } } }
            providesApis { ref type definition consumers { ref } providers { ref } }
            scaffoldedFrom { ref }
            subcomponents { ref subcomponentOf { lifecycle } consumesApis { ref } }
          } }
          team: entity(ref: "group:default/team-a") { ... on Group {
            members { ref memberOf { ref type } }
          } }
        }"""
    )

    assert data["cart"] == {
        "system": {"type": "product", "domain": {"systems": [{"ref": "system:default/shop"}]}},
        "providesApis": [
            {
                "ref": "api:default/cart-api",
                "type": "openapi",
                "definition": "openapi: 3.0.0",
                "consumers": [{"ref": "component:default/cart-db-proxy"}],
                "providers": [{"ref": "component:default/cart"}],
            }
        ],
        "scaffoldedFrom": {"ref": "template:default/service"},
        "subcomponents": [
            {
                "ref": "component:default/cart-db-proxy",
                "subcomponentOf": {"lifecycle": "production"},
                "consumesApis": [{"ref": "api:default/cart-api"}],
            }
        ],
    }
    # the component that says it is a member is a relation, not a member
    assert data["team"] == {
        "members": [
            {
                "ref": "user:default/ada",
                "memberOf": [{"ref": "group:default/team-a", "type": "team"}],
            }
        ]
    }


def _group(name: str) -> str:
    return f"group:default/{name}"


async def _tree_with_a_cycle(store: GraphStore) -> None:
    """org -> eng -> {web, data}; data -> ml -> org (a cycle back to the top); sales alone."""
    names = ["org", "eng", "web", "data", "ml", "sales"]
    await store.upsert_entities("test", "r1", [record(_group(n)) for n in names])
    await store.upsert_relations(
        "test",
        "r1",
        [
            rel(_group("eng"), "childOf", _group("org")),
            rel(_group("web"), "childOf", _group("eng")),
            rel(_group("data"), "childOf", _group("eng")),
            rel(_group("ml"), "childOf", _group("data")),
            rel(_group("org"), "childOf", _group("ml")),
            rel(_group("gone"), "childOf", _group("web")),  # not an entity: left out
        ],
    )


DESCENDANTS = """{ entities(kind: "group", first: 10) { edges { node {
  ref ... on Group { descendants { ref name } }
} } } }"""


async def test_descendants_are_every_group_below_each_once_on_a_cycle(client: Client) -> None:
    await _tree_with_a_cycle(client.store)

    data = await client.query(DESCENDANTS)

    found = {
        edge["node"]["ref"]: [d["name"] for d in edge["node"]["descendants"]]
        for edge in data["entities"]["edges"]
    }
    assert found == {
        _group("data"): ["eng", "ml", "org", "web"],
        _group("eng"): ["data", "ml", "org", "web"],
        _group("ml"): ["data", "eng", "org", "web"],
        _group("org"): ["data", "eng", "ml", "web"],
        _group("sales"): [],
        _group("web"): [],
    }


async def test_descendants_of_a_page_cost_one_query_per_level_not_per_group(
    client: Client,
) -> None:
    # ten trees: a-root-i -> b-mid-i -> c-leaf-i; a page of 3 or 10 holds roots only
    groups, relations = [], []
    for i in range(10):
        groups += [_group(f"a-root-{i}"), _group(f"b-mid-{i}"), _group(f"c-leaf-{i}")]
        relations += [
            rel(_group(f"b-mid-{i}"), "childOf", _group(f"a-root-{i}")),
            rel(_group(f"c-leaf-{i}"), "childOf", _group(f"b-mid-{i}")),
        ]
    await client.store.upsert_entities("test", "r1", [record(g) for g in groups])
    await client.store.upsert_relations("test", "r1", relations)
    page = """query ($first: Int!) { entities(kind: "group", first: $first) { edges { node {
      ... on Group { descendants { ref members { ref } } }
    } } } }"""

    before = client.store.query_count
    small = await client.query(page, first=3)
    cost_small = client.store.query_count - before
    before = client.store.query_count
    large = await client.query(page, first=10)
    cost_large = client.store.query_count - before

    assert len(small["entities"]["edges"]) == 3
    roots = [e["node"] for e in large["entities"]["edges"]]
    assert roots[0]["descendants"] == [
        {"ref": _group("b-mid-0"), "members": []},
        {"ref": _group("c-leaf-0"), "members": []},
    ]
    assert sum(len(node["descendants"]) for node in roots) == 10 * 2
    # the page; relations of levels 1, 2 and 3 (empty); the descendants' documents. The
    # descendants' members come from relations already loaded.
    assert cost_small == cost_large == 5


def _operation(document: str) -> tuple[Any, OperationDefinitionNode]:
    parsed = parse(document)
    first = parsed.definitions[0]
    assert isinstance(first, OperationDefinitionNode)
    return parsed, first


def _nested_children(levels: int) -> str:
    inner = ""
    for _ in range(levels):
        inner = f"children {{ ref {inner} }}"
    return f'{{ entity(ref: "group:default/org") {{ ... on Group {{ {inner} }} }} }}'


def test_descendants_are_cheap_where_five_levels_of_children_are_refused(
    graphql_schema: strawberry.Schema,
) -> None:
    schema = graphql_schema._schema
    flat = '{ entity(ref: "group:default/org") { ... on Group { descendants { ref name } } } }'

    assert query_cost(schema, *_operation(_nested_children(5))) == 222_221
    assert query_cost(schema, *_operation(_nested_children(5))) > QueryLimits.max_cost
    assert query_cost(schema, *_operation(flat)) == 1 + 10 * (1 + 2)
