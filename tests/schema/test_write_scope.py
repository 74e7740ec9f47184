"""A token's write scope (sources, namespaces, kinds) on upsertEntities / deleteEntities:
every refusal names the token, the rule and the offending value; nothing is written."""

from __future__ import annotations

from typing import Any

import strawberry

from graph.port import GraphStore
from ingestors.git.config import GitSource
from schema.access import Role, WriteScope
from schema.context import Context

UPSERT = """mutation ($source: String!, $entities: [JSON!]!) {
  upsertEntities(source: $source, entities: $entities) { index ref status error } }"""
DELETE = """mutation ($source: String!, $refs: [String!]!) {
  deleteEntities(source: $source, refs: $refs) }"""
SCOPE = WriteScope(
    rule="auth.tokens[deploy-bot].scope",
    sources=frozenset({"bot"}),
    namespaces=frozenset({"default"}),
    kinds=frozenset({"component", "api"}),
)


def entity(kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "team", "children": []}
    if kind == "Component":
        spec = {"type": "service", "lifecycle": "production", "owner": "team-a"}
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


async def run(
    schema: strawberry.Schema,
    store: GraphStore,
    document: str,
    *,
    role: Role = "writer",
    scope: WriteScope | None = SCOPE,
    **variables: Any,
) -> tuple[Any, list[dict[str, Any]]]:
    context = Context(store, role=role, principal="deploy-bot", scope=scope)
    result = await schema.execute(document, variable_values=variables, context_value=context)
    return result.data, [dict(e.formatted) for e in result.errors or []]


async def test_a_scoped_token_writes_inside_its_scope(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    data, errors = await run(
        graphql_schema, store, UPSERT, source="bot", entities=[entity("Component", "a")]
    )

    assert errors == []
    assert [r["status"] for r in data["upsertEntities"]] == ["CREATED"]


async def test_a_source_outside_the_scope_is_refused_naming_the_rule(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    _, errors = await run(
        graphql_schema, store, UPSERT, source="other", entities=[entity("Component", "a")]
    )

    assert errors[0]["extensions"] == {"code": "FORBIDDEN"}
    assert errors[0]["message"] == (
        "token 'deploy-bot' may not write to source 'other': "
        "auth.tokens[deploy-bot].scope.sources allows only bot"
    )
    assert await store.get_entities(["component:default/a"]) == {}


async def test_a_kind_or_namespace_outside_the_scope_fails_that_entity_and_writes_nothing(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    entities = [
        entity("Component", "ok"),
        entity("Group", "team-x"),
        entity("Component", "elsewhere", namespace="payments"),
    ]

    data, errors = await run(graphql_schema, store, UPSERT, source="bot", entities=entities)

    assert errors == []
    results = data["upsertEntities"]
    assert [r["status"] for r in results] == ["SKIPPED", "FAILED", "FAILED"]
    assert results[1]["error"] == (
        "token 'deploy-bot' may not write kind 'group': "
        "auth.tokens[deploy-bot].scope.kinds allows only api, component"
    )
    assert results[2]["error"] == (
        "token 'deploy-bot' may not write in namespace 'payments': "
        "auth.tokens[deploy-bot].scope.namespaces allows only default"
    )
    assert await store.get_entities(["component:default/ok"]) == {}


async def test_deleting_outside_the_scope_deletes_nothing(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await run(
        graphql_schema,
        store,
        UPSERT,
        scope=None,
        source="bot",
        entities=[entity("Component", "a"), entity("Group", "team-x")],
    )

    _, errors = await run(
        graphql_schema, store, DELETE, source="bot", refs=["component:a", "group:team-x"]
    )

    assert errors[0]["extensions"] == {"code": "FORBIDDEN"}
    assert errors[0]["message"] == (
        "token 'deploy-bot' may not write kind 'group': "
        "auth.tokens[deploy-bot].scope.kinds allows only api, component; nothing was deleted"
    )
    stored = await store.get_entities(["component:default/a", "group:default/team-x"])
    assert sorted(stored) == ["component:default/a", "group:default/team-x"]


async def test_a_reader_is_refused_with_its_token_named(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    _, errors = await run(
        graphql_schema,
        store,
        UPSERT,
        role="reader",
        scope=None,
        source="bot",
        entities=[entity("Component", "a")],
    )

    assert errors[0]["extensions"] == {"code": "FORBIDDEN"}
    assert "the request has reader (token 'deploy-bot')" in errors[0]["message"]


async def test_a_push_into_a_configured_sources_name_is_a_conflict(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    context = Context(store, role="writer", sources=(GitSource(name="catalog", url="/nowhere"),))

    result = await graphql_schema.execute(
        UPSERT,
        variable_values={"source": "catalog", "entities": [entity("Component", "a")]},
        context_value=context,
    )

    assert result.errors is not None
    error: dict[str, Any] = dict(result.errors[0].formatted)
    assert error["extensions"] == {"code": "CONFLICT"}
    assert "'catalog' is a configured source" in error["message"]
    assert "a configured (pulled) source outranks a pushed one" in error["message"]
    assert await store.get_entities(["component:default/a"]) == {}
