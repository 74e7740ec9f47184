"""The page planner answers exactly what the loaders answer, in one store statement.

Every query runs twice on the same store, with the planner on and off (``Context.plan_pages``),
and the two JSON answers must be equal; the catalog has a relation of every planned walk,
dangling ends, self-relations and entities of every kind, so an answer that differs shows.
"""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry.types.nodes import InlineFragment, SelectedField

from bench.peer_questions import PAGE_WITH_DEPENDENCIES_GRAPHQL
from bench.questions import PAGE_GRAPHQL
from graph.port import GraphStore
from schema.context import Context
from schema.planner import INTERFACE_FIELDS, RELATION_FIELDS, plan_page
from tests.factories import record, rel

KINDS = (
    "component", "api", "resource", "system", "domain", "group", "user", "template",
    "pipeline", "environment",
)  # fmt: skip


async def _catalog(store: GraphStore) -> None:
    """Three entities of each kind; each relation of the planned walks from every entity to
    entities of the kinds the walks want (and to a missing one), so every field has
    answers, including the first-of-several and dangling cases of the one-entity fields."""
    records = [
        record(f"{kind}:default/{kind}-{i}", title=f"T{i}") for kind in KINDS for i in range(3)
    ]
    relations = []
    walks = {walk for walk in [*INTERFACE_FIELDS.values(), *RELATION_FIELDS.values()]}
    forward = {
        "ownedBy", "dependsOn", "partOf", "providesApi", "consumesApi", "scaffoldedFrom",
        "builtBy", "childOf", "memberOf", "deployedTo",
    }  # fmt: skip
    inverse = {
        "dependencyOf": "dependsOn", "hasPart": "partOf", "apiProvidedBy": "providesApi",
        "apiConsumedBy": "consumesApi", "parentOf": "childOf", "hasMember": "memberOf",
        "ownerOf": "ownedBy",
    }  # fmt: skip
    for n, (type_, kind) in enumerate(sorted(walks, key=str)):
        forward_type = type_ if type_ in forward else inverse[type_]
        ends = [kind] if kind else ["group", "component"]
        for source_kind in KINDS:
            for i in range(3):
                me = f"{source_kind}:default/{source_kind}-{i}"
                for end in ends:
                    other = f"{end}:default/{end}-{(i + n) % 3}"
                    pair = (me, other) if type_ in forward else (other, me)
                    relations.append(rel(pair[0], forward_type, pair[1]))
                if i == 1:  # a dangling end that sorts first, and one that sorts last
                    ghost = f"{ends[0]}:default/{ends[0]}-0-ghost"
                    first = f"{ends[0]}:default/a-ghost"
                    for other in (ghost, first):
                        pair = (me, other) if type_ in forward else (other, me)
                        relations.append(rel(pair[0], forward_type, pair[1]))
    relations.append(
        rel("component:default/component-2", "dependsOn", "component:default/component-2")
    )
    await store.upsert_entities("src", "r", records)
    await store.upsert_relations("src", "r", relations)


async def _both(
    schema: strawberry.Schema, store: GraphStore, document: str, **variables: Any
) -> tuple[dict[str, Any], int]:
    """The answer with the planner on (asserted equal to the answer with it off) and the
    store statements it cost."""
    answers, costs = [], []
    for plan in (True, False):
        before = store.query_count
        result = await schema.execute(
            document, variable_values=variables, context_value=Context(store, plan_pages=plan)
        )
        costs.append(store.query_count - before)
        assert result.errors is None, result.errors
        answers.append(result.data)
    assert answers[0] == answers[1]
    assert answers[0] is not None
    return answers[0], costs[0]


def _field_query(on: str, field: str, leaves: str) -> str:
    return (
        "query($first: Int) { entities(first: $first) { edges { cursor node { __typename ref "
        f"... on {on} {{ {field} {{ {leaves} }} }} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )


@pytest.mark.parametrize("leaves", ["ref name", "__typename id ref kind title tags namespace"])
async def test_every_planned_field_answers_as_the_loaders_do(
    graphql_schema: strawberry.Schema, store: GraphStore, leaves: str
) -> None:
    await _catalog(store)
    fields = [("Entity", name) for name in INTERFACE_FIELDS] + list(RELATION_FIELDS)

    for on, field in fields:
        data, cost = await _both(graphql_schema, store, _field_query(on, field, leaves), first=100)

        nodes = [edge["node"] for edge in data["entities"]["edges"]]
        answered = [node[field] for node in nodes if node.get(field)]
        assert answered, f"{on}.{field}: no entity has one, the comparison proves nothing"
        assert cost == 1, f"{on}.{field}: {cost} store statements"


async def test_paging_orders_and_filters_answer_as_the_loaders_do(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    node = "ref name owner { ref name } dependsOn { ref } ... on Component { providesApis { ref } }"
    pages = [
        f'entities(kind: "component", first: 2) {{ edges {{ cursor node {{ {node} }} }} }}',
        f"entities(first: 5, after: $cursor) {{ edges {{ cursor node {{ {node} }} }} }}",
        f"entities(last: 4, before: $cursor) {{ edges {{ cursor node {{ {node} }} }} }}",
        f"entities(last: 3) {{ edges {{ cursor node {{ {node} }} }} }}",
        'entities(first: 4, orderBy: {field: "metadata.name"}) '
        f"{{ edges {{ cursor node {{ {node} }} }} pageInfo {{ endCursor hasNextPage }} }}",
        'entities(first: 4, orderBy: {field: "kind", direction: DESC}) '
        f"{{ edges {{ cursor node {{ {node} }} }} }}",
        f'entities(search: "component", first: 4) {{ totalCount edges {{ node {{ {node} }} }} }}',
        f'entities(owner: "group:default/group-1", first: 4) {{ edges {{ node {{ {node} }} }} }}',
    ]
    first, _ = await _both(
        graphql_schema, store, "{ entities(first: 7) { pageInfo { endCursor } } }"
    )
    cursor = first["entities"]["pageInfo"]["endCursor"]

    for page in pages:
        if "$cursor" in page:
            data, _ = await _both(
                graphql_schema, store, f"query($cursor: String) {{ {page} }}", cursor=cursor
            )
        else:
            data, _ = await _both(graphql_schema, store, f"{{ {page} }}")

        assert data["entities"]["edges"], page


@pytest.mark.parametrize("document", [PAGE_GRAPHQL, PAGE_WITH_DEPENDENCIES_GRAPHQL])
async def test_the_bench_pages_cost_one_statement(
    graphql_schema: strawberry.Schema, store: GraphStore, document: str
) -> None:
    await _catalog(store)

    data, cost = await _both(graphql_schema, store, document)

    assert len(data["entities"]["edges"]) == 3
    assert cost == 1


async def test_a_selection_the_planner_does_not_know_is_read_as_before(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    nested = (
        '{ entities(kind: "component", first: 3) { edges { node { ref '
        "owner { ref owner { ref } } relations { type targetRef } } } } }"
    )

    data, cost = await _both(graphql_schema, store, nested)

    assert data["entities"]["edges"][0]["node"]["owner"]["owner"] is not None
    assert cost > 1  # listing, then loaders


def test_plan_names_each_walk_once_and_light_only_for_ref_fields() -> None:
    def field(name: str, *selections: Any) -> SelectedField:
        return SelectedField(name, {}, {}, list(selections))

    node = field(
        "node",
        field("ref"),
        field("owner", field("ref")),
        InlineFragment("Component", [field("providesApis", field("title"))], {}),
        InlineFragment("Component", [field("owner", field("name"))], {}),
    )
    plan = plan_page([field("entities", field("edges", node))])

    assert plan is not None
    assert [(p.type, p.kind, p.light) for p in plan.plans] == [
        ("ownedBy", None, True),
        ("providesApi", "api", False),
    ]
    unknown = field("node", InlineFragment("Component", [field("builds", field("ref"))], {}))
    assert plan_page([field("entities", field("edges", unknown))]) is None
