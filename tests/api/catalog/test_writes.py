"""The catalog API's first write routes on each store: deleting an entity by uid (writer
role) and validating an entity without storing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from catalog.rules import KindRule
from graph.fields import entity_uid
from graph.port import GraphStore
from ingestors.git.config import GitSource
from tests.api.catalog.conftest import ADMIN_TOKEN, READER_TOKEN, WRITER_TOKEN, Catalog
from tests.api.catalog.test_routes import assert_error

AS_WRITER = {"Authorization": f"Bearer {WRITER_TOKEN}"}


async def test_a_writer_deletes_an_entity_by_uid(catalog: Catalog) -> None:
    uid = entity_uid("component:default/petstore")

    as_reader = await catalog.client.delete(f"/entities/by-uid/{uid}")
    deleted = await catalog.client.delete(f"/entities/by-uid/{uid}", headers=AS_WRITER)
    again = await catalog.client.delete(f"/entities/by-uid/{uid}", headers=AS_WRITER)
    gone = await catalog.client.get("/entities/by-name/component/default/petstore")
    api = await catalog.client.get("/entities/by-name/api/default/petstore")

    assert_error(as_reader, 403, "NotAllowedError", f"/api/catalog/entities/by-uid/{uid}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(again, 404, "NotFoundError", f"/api/catalog/entities/by-uid/{uid}")
    assert gone.status_code == 404
    assert api.status_code == 200
    assert {"type": "apiProvidedBy", "targetRef": "component:default/petstore"} not in api.json()[
        "relations"
    ]


async def test_validate_entity_answers_200_or_backstages_errors(catalog: Catalog) -> None:
    entity = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "checkout"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    }
    location = "url:https://github.com/acme/checkout/blob/main/catalog-info.yaml"

    valid = await catalog.client.post(
        "/validate-entity", json={"entity": entity, "location": location}
    )
    bad_name = await catalog.client.post(
        "/validate-entity",
        json={
            "entity": {**entity, "metadata": {"name": "no spaces allowed"}},
            "location": location,
        },
    )
    no_owner = await catalog.client.post(
        "/validate-entity",
        json={"entity": {**entity, "spec": {"type": "service"}}, "location": location},
    )
    no_location = await catalog.client.post("/validate-entity", json={"entity": entity})

    assert (valid.status_code, valid.content) == (200, b"")
    for response, words in (
        (bad_name, "metadata.name"),
        (no_owner, "spec."),
        (no_location, "location"),
    ):
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["name"] == "InputError"
        assert words in error["message"]


async def test_validate_entity_honours_catalog_rules(store: GraphStore, tmp_path: Path) -> None:
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'unused.db'}",
        scheduler=False,
        anonymous_read=True,
        catalog_rules=(KindRule(allow=("Component", "Widget")),),
    )
    app = create_app(settings, store=store)
    widget = {
        "apiVersion": "acme.io/v1",
        "kind": "Widget",
        "metadata": {"name": "knob"},
        "spec": {"size": 3},
    }
    api = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": "orders"},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "a", "definition": "x"},
    }
    location = "url:https://github.com/acme/widgets/blob/main/catalog-info.yaml"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/catalog"
        ) as client,
    ):
        custom = await client.post(
            "/validate-entity", json={"entity": widget, "location": location}
        )
        outside = await client.post("/validate-entity", json={"entity": api, "location": location})

    assert (custom.status_code, custom.content) == (200, b"")
    assert outside.status_code == 400, outside.text
    (error,) = outside.json()["errors"]
    assert "kind 'API' is not allowed by catalog.rules" in error["message"]


async def test_validate_entity_honours_the_rules_of_the_source_reading_the_location(
    store: GraphStore, tmp_path: Path
) -> None:
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'unused.db'}",
        scheduler=False,
        anonymous_read=True,
        sources=(
            GitSource(name="shop", url="https://github.com/acme/shop.git"),
            GitSource(
                name="widgets",
                url="git@github.com:acme/widgets.git",
                rules=(KindRule(allow=("Widget",)),),
            ),
        ),
    )
    app = create_app(settings, store=store)
    widget = {
        "apiVersion": "acme.io/v1",
        "kind": "Widget",
        "metadata": {"name": "knob"},
        "spec": {"size": 3},
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/catalog"
        ) as client,
    ):
        answers = {
            where: await client.post(
                "/validate-entity",
                json={"entity": widget, "location": f"url:https://github.com/acme/{where}"},
            )
            for where in ("widgets/blob/main/catalog-info.yaml", "shop/blob/main/x.yaml")
        }

    admitted, refused = answers.values()
    assert (admitted.status_code, admitted.content) == (200, b"")
    assert refused.status_code == 400, refused.text
    (error,) = refused.json()["errors"]
    assert "unknown kind 'Widget'" in error["message"]
    assert "a source's rules" in error["message"]


#: (method, path, body, the role one below the one it needs, the answer with that role)
ROUTE_ROLES = [
    ("DELETE", "/entities/by-uid/nope", None, "reader", 404),
    ("POST", "/refresh", {"entityRef": "component:default/nope"}, "reader", 404),
    ("POST", "/locations", {"type": "url", "target": "ftp://x/y"}, "writer", 400),
    ("DELETE", "/locations/nope", None, "writer", 404),
    (
        "POST",
        "/analyze-location",
        {"location": {"type": "url", "target": "ftp://x"}},
        "writer",
        400,
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "below", "answer"), ROUTE_ROLES)
async def test_each_route_needs_its_role_and_a_token(
    catalog: Catalog, method: str, path: str, body: Any, below: str, answer: int
) -> None:
    tokens = {"reader": READER_TOKEN, "writer": WRITER_TOKEN, "admin": ADMIN_TOKEN}
    needed = {"reader": "writer", "writer": "admin"}[below]

    def call(token: str) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        return catalog.client.request(method, path, json=body, headers=headers)

    refused = await call(tokens[below])
    allowed = await call(tokens[needed])
    unknown = await call("sg_wrong")

    assert_error(refused, 403, "NotAllowedError", f"/api/catalog{path}")
    assert allowed.status_code == answer, allowed.text
    assert_error(unknown, 401, "AuthenticationError", f"/api/catalog{path}")
