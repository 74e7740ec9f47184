"""``entities(filter:)`` and ``entityFacets``: Backstage's filter sets (an OR of ANDs over dot
paths, with exists), ``kind`` as a list, facets of any dot path. Both stores."""

from __future__ import annotations

from typing import Any

from graph.port import GraphStore
from tests.factories import record, rel
from tests.schema.conftest import Client

LIST = """query ($kind: [String!], $filter: [EntityFilter!]) {
  entities(kind: $kind, filter: $filter, first: 100) { totalCount edges { node { ref } } }
}"""
FACETS = """query ($fields: [String!]!, $kind: [String!], $filter: [EntityFilter!]) {
  entityFacets(fields: $fields, kind: $kind, filter: $filter) { field values { value count } }
}"""
SLUG = "metadata.annotations.github.com/project-slug"


async def _catalog(store: GraphStore) -> None:
    records = [
        record(
            "component:default/a",
            spec={"type": "service", "lifecycle": "production"},
            annotations={"github.com/project-slug": "org/a"},
        ),
        record("component:default/b", spec={"type": "website", "lifecycle": "experimental"}),
        record("api:default/c", spec={"type": "openapi", "lifecycle": "production"}),
        record("group:default/team-x"),
        record("group:default/Team-Y"),
    ]
    relations = [
        rel("component:default/a", "ownedBy", "group:default/team-x"),
        rel("component:default/b", "ownedBy", "group:default/Team-Y"),
        rel("api:default/c", "ownedBy", "group:default/team-x"),
    ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


def _set(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"conditions": list(conditions)}


async def _refs(client: Client, **variables: Any) -> list[str]:
    data = await client.query(LIST, **variables)
    refs = [edge["node"]["ref"].split("/")[-1] for edge in data["entities"]["edges"]]
    assert data["entities"]["totalCount"] == len(refs)
    return refs


async def test_filter_sets_are_an_or_of_ands_matched_case_insensitively(client: Client) -> None:
    await _catalog(client.store)

    either = [
        _set({"key": "Kind", "values": ["COMPONENT"]}, {"key": "spec.type", "values": ["Service"]}),
        _set({"key": "kind", "values": ["api"]}),
    ]
    assert await _refs(client, filter=either) == ["c", "a"]
    assert await _refs(client, filter=[_set({"key": SLUG})]) == ["a"]
    owned_by_y = _set({"key": "relations.ownedBy", "values": ["group:default/team-y"]})
    assert await _refs(client, filter=[owned_by_y]) == ["b"]
    owners = _set({"key": "relations.ownerOf"})
    assert await _refs(client, filter=[owners]) == ["team-x", "Team-Y"]
    # the other arguments hold as well
    experimental = [_set({"key": "spec.lifecycle", "values": ["experimental", "production"]})]
    assert await _refs(client, kind="component", filter=experimental) == ["a", "b"]
    assert await _refs(client, filter=[_set()]) == ["c", "a", "b", "team-x", "Team-Y"]


async def test_exists_false_asks_for_an_absent_path(client: Client) -> None:
    await _catalog(client.store)

    no_slug = [_set({"key": "kind", "values": ["component"]}, {"key": SLUG, "exists": False})]
    unowned = [_set({"key": "relations.ownedBy", "exists": False})]
    no_kind = [_set({"key": "kind", "values": ["group"], "exists": False})]

    assert await _refs(client, filter=no_slug) == ["b"]
    assert await _refs(client, filter=unowned) == ["team-x", "Team-Y"]
    errors = await client.errors(LIST, filter=no_kind)
    assert errors[0]["message"].startswith("filter[0].conditions[0]: exists: false takes no")


async def test_kind_takes_a_list(client: Client) -> None:
    await _catalog(client.store)

    assert await _refs(client, kind=["Component", "API"]) == ["c", "a", "b"]
    assert await _refs(client, kind="group") == ["team-x", "Team-Y"]


async def test_facets_of_any_dot_path_under_filter_sets(client: Client) -> None:
    await _catalog(client.store)

    data = await client.query(
        FACETS,
        fields=["kind", "spec.type", "relations.ownedBy", SLUG, "spec.nothing"],
        filter=[_set({"key": "spec.lifecycle", "values": ["production"]})],
    )

    facets = {
        f["field"]: {v["value"]: v["count"] for v in f["values"]} for f in data["entityFacets"]
    }
    assert facets == {
        "kind": {"api": 1, "component": 1},
        "spec.type": {"openapi": 1, "service": 1},
        "relations.ownedBy": {"group:default/team-x": 2},
        SLUG: {"org/a": 1},
        "spec.nothing": {},
    }


async def test_facets_cost_one_statement_per_kind_of_field(client: Client) -> None:
    await _catalog(client.store)
    any_set = [_set({"key": "kind", "values": ["component", "api"]})]

    async def cost(fields: list[str]) -> int:
        before = client.store.query_count
        await client.query(FACETS, fields=fields, filter=any_set)
        return client.store.query_count - before

    paths = await cost(["spec.owner", "relations.ownedBy", SLUG, "metadata.name"])
    summary = await cost(["kind", "owner", "source"])  # SQLite: a statement per field
    mixed = await cost(["kind", "owner", "source", "relations.ownedBy", "spec.owner"])

    assert paths == 1
    assert 1 <= summary <= 3
    assert mixed == summary + 1
