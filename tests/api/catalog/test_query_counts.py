"""N+1 is a bug: a catalog REST request costs the same number of store queries for 10
entities or 100."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from graph.neo4j.store import Neo4jStore
from graph.port import GraphStore, LocationRecord
from tests.factories import record, rel


async def _catalog(store: GraphStore, size: int) -> None:
    records = [record(f"group:default/team-{t}") for t in range(5)]
    records += [
        record(f"component:default/svc-{i:03d}", spec={"type": "service"}) for i in range(size)
    ]
    relations = []
    for i in range(size):
        svc = f"component:default/svc-{i:03d}"
        relations += [
            rel(svc, "ownedBy", f"group:default/team-{i % 5}"),
            rel(svc, "dependsOn", f"component:default/svc-{(i + 7) % size:03d}"),
        ]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


@pytest.fixture
async def client(store: GraphStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    await _catalog(store, 120)
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'unused.db'}", scheduler=False
    )  # no task worker
    app = create_app(settings, store=store)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/catalog"
        ) as http,
    ):
        yield http


async def _cost(
    store: GraphStore, client: httpx.AsyncClient, method: str, url: str, **kw: object
) -> tuple[int, httpx.Response]:
    before = store.query_count
    response = await client.request(method, url, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return store.query_count - before, response


@pytest.mark.parametrize(
    ("method", "url", "small", "large"),
    [
        ("GET", "/entities", {"params": {"limit": 10}}, {"params": {"limit": 100}}),
        (
            "GET",
            "/entities/by-query",
            {"params": {"limit": 10, "filter": "kind=component"}},
            {"params": {"limit": 100, "filter": "kind=component"}},
        ),
        (
            "POST",
            "/entities/by-refs",
            {"json": {"entityRefs": [f"component:default/svc-{i:03d}" for i in range(10)]}},
            {"json": {"entityRefs": [f"component:default/svc-{i:03d}" for i in range(100)]}},
        ),
        (
            "POST",
            "/entities/by-refs?filter=spec.type=service",
            {"json": {"entityRefs": [f"component:default/svc-{i:03d}" for i in range(10)]}},
            {"json": {"entityRefs": [f"component:default/svc-{i:03d}" for i in range(100)]}},
        ),
    ],
)
async def test_a_page_costs_the_same_queries_for_10_and_100(
    store: GraphStore,
    client: httpx.AsyncClient,
    method: str,
    url: str,
    small: dict[str, object],
    large: dict[str, object],
) -> None:
    cost_10, answer_10 = await _cost(store, client, method, url, **small)
    cost_100, answer_100 = await _cost(store, client, method, url, **large)

    body_10, body_100 = answer_10.json(), answer_100.json()
    items_10 = body_10 if isinstance(body_10, list) else body_10["items"]
    items_100 = body_100 if isinstance(body_100, list) else body_100["items"]
    assert (len(items_10), len(items_100)) == (10, 100)
    assert all(item["relations"] for item in items_100)
    assert cost_10 == cost_100
    assert cost_100 <= 3


@pytest.mark.parametrize(
    ("url", "params", "neo4j", "sqlite"),
    [
        ("/entities", {"filter": "relations.ownedBy=group:default/team-1"}, 1, 2),
        ("/entities/by-query", {"filter": "kind=component", "limit": 30}, 1, 3),  # + count
        (
            "/entities/by-query",
            {
                "filter": "kind=component",
                "orderField": "metadata.name,asc",
                "fullTextFilterTerm": "svc-01",
                "fullTextFilterFields": "metadata.name,metadata.title",
            },
            1,
            3,
        ),
    ],
)
async def test_a_page_is_read_with_its_relations_in_one_statement(
    store: GraphStore,
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, object],
    neo4j: int,
    sqlite: int,
) -> None:
    cost, response = await _cost(store, client, "GET", url, params=params)
    narrow, _ = await _cost(store, client, "GET", url, params={**params, "fields": "kind"})

    body = response.json()
    items = body if isinstance(body, list) else body["items"]
    assert items
    assert all(
        any(r["type"] == "ownedBy" for r in item["relations"])
        and any(r["type"] == "dependencyOf" for r in item["relations"])
        for item in items
    )
    assert cost == (neo4j if isinstance(store, Neo4jStore) else sqlite)
    assert narrow == (neo4j if isinstance(store, Neo4jStore) else sqlite - 1)  # no relations


async def test_facets_cost_one_query_whatever_the_number_of_facets(
    store: GraphStore, client: httpx.AsyncClient
) -> None:
    one, _ = await _cost(store, client, "GET", "/entity-facets", params={"facet": "kind"})
    many, answer = await _cost(
        store,
        client,
        "GET",
        "/entity-facets",
        params=[
            ("facet", f)
            for f in ("kind", "spec.type", "relations.ownedBy", "relations.dependencyOf")
        ],
    )

    assert answer.json()["facets"]["relations.ownedBy"][0] == {
        "value": "group:default/team-0",
        "count": 24,
    }
    assert one == many == 1


async def test_locations_cost_one_query_for_2_or_40_and_by_entity_two(
    store: GraphStore, client: httpx.AsyncClient
) -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(40):
        await store.add_location(
            LocationRecord(f"id-{i:02d}", "url", f"file:///srv/{i}", f"location-{i}", "x", at)
        )
    await store.upsert_entities("location-7", "r1", [record("component:default/located")])

    listed, answer = await _cost(store, client, "GET", "/locations")
    by_entity, found = await _cost(
        store, client, "GET", "/locations/by-entity/component/default/located"
    )

    assert len(answer.json()) == 40
    assert found.json()["id"] == "id-07"
    assert (listed, by_entity) == (1, 2)


async def test_an_entity_by_name_is_read_with_its_relations_in_one_statement(
    store: GraphStore, client: httpx.AsyncClient
) -> None:
    cost, response = await _cost(
        store, client, "GET", "/entities/by-name/component/default/svc-003"
    )
    missing = await client.get("/entities/by-name/component/default/nothing")

    assert cost == (1 if isinstance(store, Neo4jStore) else 2)  # SQLite: one call, two reads
    relations = {(r["type"], r["targetRef"]) for r in response.json()["relations"]}
    assert relations == {
        ("ownedBy", "group:default/team-3"),
        ("dependsOn", "component:default/svc-010"),
        ("dependencyOf", "component:default/svc-116"),
    }
    assert missing.status_code == 404
    assert "No entity named 'nothing' found" in missing.json()["error"]["message"]
