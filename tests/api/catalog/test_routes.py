"""The catalog REST API's read routes on each store: Backstage's paths, parameters, shapes
and status codes, over the Backstage example catalog."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx
from starlette.routing import Route

from graph.fields import entity_uid
from tests.api.catalog.conftest import Catalog


def names(entities: list[dict[str, Any]]) -> list[str]:
    return [e["metadata"]["name"] for e in entities]


def assert_error(response: httpx.Response, status: int, name: str, url: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["name"] == name
    assert body["error"]["message"]
    assert body["request"] == {"method": response.request.method, "url": url}
    assert body["response"] == {"statusCode": status}


async def test_entities_filters_with_or_of_ands_and_selects_fields(catalog: Catalog) -> None:
    response = await catalog.client.get(
        "/entities",
        params=[
            ("filter", "kind=component,spec.type=website"),
            ("filter", "kind=API,spec.type=grpc"),
            ("fields", "kind,metadata.name"),
            ("order", "asc:metadata.name"),
        ],
    )

    assert response.status_code == 200
    assert response.json() == [
        {"kind": "API", "metadata": {"name": "hello-world"}},
        {"kind": "Component", "metadata": {"name": "queue-proxy"}},
        {"kind": "Component", "metadata": {"name": "www-artist"}},
    ]


async def test_entities_pages_with_limit_and_the_link_header(catalog: Catalog) -> None:
    params = {"filter": "kind=group", "fields": "metadata.name", "limit": "3"}
    first = await catalog.client.get("/entities", params=params)
    seen = names(first.json())
    link = first.headers.get("link")
    pages = 1
    while link:
        url = link.split(";")[0].strip("<>")
        page = await catalog.client.get(url.removeprefix("/api/catalog"))
        seen += names(page.json())
        link = page.headers.get("link")
        pages += 1
    everything = await catalog.client.get("/entities", params={"filter": "kind=group"})

    assert first.status_code == 200
    assert pages == 3
    assert seen == names(everything.json())
    assert len(seen) == 8


async def test_entity_json_has_uid_etag_and_relations_both_ways(catalog: Catalog) -> None:
    petstore = (await catalog.client.get("/entities/by-name/Component/default/petstore")).json()
    team = (await catalog.client.get("/entities/by-name/group/default/team-c")).json()

    assert petstore["metadata"]["uid"] == entity_uid("component:default/petstore")
    assert petstore["metadata"]["namespace"] == "default"
    assert len(petstore["metadata"]["etag"]) >= 16
    assert {"type": "ownedBy", "targetRef": "group:default/team-c"} in petstore["relations"]
    assert {"type": "ownerOf", "targetRef": "component:default/petstore"} in team["relations"]
    assert petstore["metadata"]["annotations"]["backstage.io/managed-by-location"]


async def test_entity_json_has_only_the_metadata_fields_its_descriptor_wrote(
    catalog: Catalog,
) -> None:
    # petstore writes links but no labels or tags: Backstage answers it as written, with no
    # empty labels, tags or links added, in whole entities, projections and ancestry alike.
    path = "/entities/by-name/component/default/petstore"
    petstore = (await catalog.client.get(path)).json()
    projected = (await catalog.client.get("/entities", params={"fields": "kind,metadata"})).json()
    ancestry = (await catalog.client.get(f"{path}/ancestry")).json()
    by_refs = (
        await catalog.client.post(
            "/entities/by-refs", json={"entityRefs": ["component:default/petstore"]}
        )
    ).json()

    assert petstore["metadata"]["links"][0]["title"] == "GitHub Repo"
    for metadata in [
        petstore["metadata"],
        ancestry["items"][0]["entity"]["metadata"],
        by_refs["items"][0]["metadata"],
        *[
            e["metadata"]
            for e in projected
            if e["kind"] == "Component" and e["metadata"]["name"] == "petstore"
        ],
    ]:
        assert "labels" not in metadata
        assert "tags" not in metadata
        assert metadata["namespace"] == "default"
    assert not [e for e in projected if e["metadata"].get("tags") == []]


async def test_etag_changes_when_the_entity_does_and_uid_does_not(catalog: Catalog) -> None:
    from tests.factories import record

    before = (await catalog.client.get("/entities/by-name/component/default/petstore")).json()
    await catalog.store.upsert_entities(
        "backstage", "r2", [record("component:default/petstore", description="changed")]
    )
    after = (await catalog.client.get("/entities/by-name/component/default/petstore")).json()

    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["etag"] != before["metadata"]["etag"]


async def test_by_query_pages_forward_to_the_end_and_back(catalog: Catalog) -> None:
    first = (
        await catalog.client.get(
            "/entities/by-query",
            params={"filter": "kind=user", "limit": "5", "orderField": "metadata.name,desc"},
        )
    ).json()
    pages = [first]
    while "nextCursor" in pages[-1]["pageInfo"]:
        cursor = pages[-1]["pageInfo"]["nextCursor"]
        pages.append(
            (
                await catalog.client.get(
                    "/entities/by-query", params={"cursor": cursor, "limit": "5"}
                )
            ).json()
        )
    back = [pages[-1]]
    while "prevCursor" in back[-1]["pageInfo"]:
        cursor = back[-1]["pageInfo"]["prevCursor"]
        back.append(
            (
                await catalog.client.get(
                    "/entities/by-query", params={"cursor": cursor, "limit": "5"}
                )
            ).json()
        )

    forward = [name for page in pages for name in names(page["items"])]
    assert first["totalItems"] == 17
    assert len(pages) == 4
    assert forward == sorted(forward, reverse=True)
    assert len(forward) == 17
    assert forward.count("guest") == 2  # default and development
    assert [names(p["items"]) for p in reversed(back)] == [names(p["items"]) for p in pages]
    assert "prevCursor" not in first["pageInfo"]


async def test_by_query_full_text_filter_in_given_fields(catalog: Catalog) -> None:
    response = await catalog.client.get(
        "/entities/by-query",
        params={
            "fullTextFilterTerm": "SEARCH",
            "fullTextFilterFields": "metadata.name",
            "filter": "kind=component",
            "orderField": "metadata.name,asc",
            "fields": "metadata.name",
        },
    )

    assert response.json()["items"] == [
        {"metadata": {"name": "searcher"}},
        {"metadata": {"name": "wayback-search"}},
    ]
    assert response.json()["totalItems"] == 2


async def test_by_refs_in_request_order_with_null_for_unknown_and_filtered(
    catalog: Catalog,
) -> None:
    refs = ["api:default/petstore", "component:default/nope", "component:default/petstore", "::"]
    response = await catalog.client.post(
        "/entities/by-refs", json={"entityRefs": refs, "fields": ["metadata.name"]}
    )
    filtered = await catalog.client.post(
        "/entities/by-refs", params={"filter": "kind=api"}, json={"entityRefs": refs}
    )

    assert response.json() == {
        "items": [
            {"metadata": {"name": "petstore"}},
            None,
            {"metadata": {"name": "petstore"}},
            None,
        ]
    }
    items = filtered.json()["items"]
    assert [i and i["kind"] for i in items] == ["API", None, None, None]


async def test_by_uid_finds_the_entity_by_its_stable_uid(catalog: Catalog) -> None:
    uid = entity_uid("api:default/petstore")
    found = await catalog.client.get(f"/entities/by-uid/{uid}")
    missing = await catalog.client.get("/entities/by-uid/00000000-0000-0000-0000-000000000000")

    assert found.json()["metadata"]["name"] == "petstore"
    assert found.json()["kind"] == "API"
    assert_error(
        missing,
        404,
        "NotFoundError",
        "/api/catalog/entities/by-uid/00000000-0000-0000-0000-000000000000",
    )


async def test_by_name_and_ancestry(catalog: Catalog) -> None:
    ancestry = await catalog.client.get("/entities/by-name/component/default/petstore/ancestry")
    missing = await catalog.client.get("/entities/by-name/component/default/nope/ancestry")

    assert ancestry.json()["rootEntityRef"] == "component:default/petstore"
    (item,) = ancestry.json()["items"]
    assert item["entity"]["metadata"]["name"] == "petstore"
    assert item["parentEntityRefs"] == []
    assert_error(
        missing,
        404,
        "NotFoundError",
        "/api/catalog/entities/by-name/component/default/nope/ancestry",
    )


async def test_facets_on_any_dot_path_with_a_filter(catalog: Catalog) -> None:
    response = await catalog.client.get(
        "/entity-facets",
        params=[
            ("facet", "spec.type"),
            ("facet", "relations.ownedBy"),
            ("facet", "metadata.annotations.backstage.io/managed-by-location"),
            ("filter", "kind=component,spec.lifecycle=production"),
        ],
    )
    facets = response.json()["facets"]

    assert response.status_code == 200
    assert set(facets) == {
        "spec.type",
        "relations.ownedBy",
        "metadata.annotations.backstage.io/managed-by-location",
    }
    assert facets["spec.type"] == [
        {"value": "service", "count": 7},
        {"value": "website", "count": 2},
    ]
    assert sum(f["count"] for f in facets["relations.ownedBy"]) == 9
    assert all(
        f["value"].startswith("git:")
        for f in facets["metadata.annotations.backstage.io/managed-by-location"]
    )


async def test_errors_have_backstages_shape(catalog: Catalog) -> None:
    bad_filter = await catalog.client.get("/entities", params={"filter": "=x"})
    no_facet = await catalog.client.get("/entity-facets")
    bad_cursor = await catalog.client.get("/entities/by-query", params={"cursor": "nope"})
    bad_body = await catalog.client.post("/entities/by-refs", json={"refs": []})
    unknown = await catalog.client.get("/nothing-here")
    no_token = await catalog.client.get("/entities", headers={"Authorization": ""})
    wrong_token = await catalog.client.get("/entities", headers={"Authorization": "Bearer x"})

    assert_error(bad_filter, 400, "InputError", "/api/catalog/entities?filter=%3Dx")
    assert_error(no_facet, 400, "InputError", "/api/catalog/entity-facets")
    assert_error(bad_cursor, 400, "InputError", "/api/catalog/entities/by-query?cursor=nope")
    assert_error(bad_body, 400, "InputError", "/api/catalog/entities/by-refs")
    assert_error(unknown, 404, "NotFoundError", "/api/catalog/nothing-here")
    assert_error(no_token, 401, "AuthenticationError", "/api/catalog/entities")
    assert_error(wrong_token, 401, "AuthenticationError", "/api/catalog/entities")


async def test_a_query_parameter_the_operation_does_not_declare_is_refused(
    catalog: Catalog,
) -> None:
    # Backstage validates requests against its OpenAPI document: by-refs takes its fields in
    # the body, so ?fields= is a 400 there, and so is a misspelt parameter anywhere.
    body = {"entityRefs": ["component:default/petstore"]}
    by_refs = await catalog.client.post("/entities/by-refs?fields=kind", json=body)
    misspelt = await catalog.client.get("/entities", params={"filters": "kind=api"})
    declared = await catalog.client.post("/entities/by-refs?filter=kind=component", json=body)

    assert_error(by_refs, 400, "InputError", "/api/catalog/entities/by-refs?fields=kind")
    assert "fields" in by_refs.json()["error"]["message"]
    assert_error(misspelt, 400, "InputError", "/api/catalog/entities?filters=kind%3Dapi")
    assert declared.json()["items"][0]["metadata"]["name"] == "petstore"


async def test_openapi_document_describes_exactly_the_served_routes(catalog: Catalog) -> None:
    from api.catalog.app import CatalogApi

    document = (await catalog.client.get("/openapi.json")).json()
    app = CatalogApi(lambda: None, authenticator=None, max_body_bytes=1)  # type: ignore[arg-type]
    served = {
        (route.path, method.lower())
        for route in app._router.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }

    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert document["openapi"].startswith("3.")
    assert described == served


async def test_filters_match_labels_and_relations_with_keys_and_values_in_any_case(
    catalog: Catalog,
) -> None:
    labelled = await catalog.client.get(
        "/entities",
        params=[("filter", "KIND=Component,Metadata.Labels.Category=MUSIC"), ("fields", "kind")],
    )
    owned = await catalog.client.get(
        "/entities",
        params=[
            ("filter", "relations.ownedBy=Group:Default/Team-C,kind=component"),
            ("filter", "kind=system,relations.ownedBy"),
            ("fields", "kind,metadata.name"),
            ("order", "asc:metadata.name"),
        ],
    )
    owner = await catalog.client.get(
        "/entities", params={"filter": "relations.ownerOf=component:default/petstore"}
    )
    label_facets = await catalog.client.get(
        "/entity-facets", params={"facet": "metadata.labels.category", "filter": "kind=component"}
    )

    assert labelled.json() == [{"kind": "Component"}]
    assert [e["metadata"]["name"] for e in owned.json() if e["kind"] == "Component"] == [
        "petstore",
        "playback-sdk",
    ]
    assert {e["kind"] for e in owned.json()} == {"Component", "System"}
    assert names(owner.json()) == ["team-c"]
    assert label_facets.json() == {
        "facets": {"metadata.labels.category": [{"value": "music", "count": 1}]}
    }


async def test_offsets_and_after_on_entities_and_repeated_order_fields_on_by_query(
    catalog: Catalog,
) -> None:
    groups = {"filter": "kind=group", "fields": "metadata.name", "order": "desc:metadata.name"}
    every = names((await catalog.client.get("/entities", params=groups)).json())
    window = await catalog.client.get("/entities", params={**groups, "offset": "2", "limit": "3"})
    after = window.headers["link"].split("after=")[1].split(">")[0]
    rest = await catalog.client.get("/entities", params={**groups, "after": unquote(after)})
    query = [
        ("filter", "kind=component"),
        ("fields", "metadata.name,spec.type"),
        ("orderField", "spec.type,asc"),
        ("orderField", "metadata.name,desc"),
    ]
    whole = await catalog.client.get("/entities/by-query", params=[*query, ("limit", "100")])
    page = await catalog.client.get(
        "/entities/by-query", params=[*query, ("offset", "3"), ("limit", "4")]
    )

    assert every == sorted(every, reverse=True) and len(every) == 8
    assert names(window.json()) == every[2:5]
    assert names(rest.json()) == every[5:]
    ordered = [(i["spec"]["type"], i["metadata"]["name"]) for i in whole.json()["items"]]
    assert ordered == sorted(sorted(ordered, key=lambda t: t[1], reverse=True), key=lambda t: t[0])
    assert names(page.json()["items"]) == [name for _, name in ordered[3:7]]
    assert page.json()["totalItems"] == len(ordered) == 13
    assert {"nextCursor", "prevCursor"} <= set(page.json()["pageInfo"])
