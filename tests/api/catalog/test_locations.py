"""The catalog API's location routes on each store, with a real git repository registered
over ``file://``: dry run, registration, listing, by entity, ancestry, refresh, analysis,
removal, and who may do each."""

from __future__ import annotations

from pathlib import Path

from ingestors.location import location_ref
from tests.api.catalog.conftest import ADMIN_TOKEN, WRITER_TOKEN, Catalog
from tests.api.catalog.test_routes import assert_error
from tests.gitrepo import GitRepo, component, group

AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
AS_WRITER = {"Authorization": f"Bearer {WRITER_TOKEN}"}


def shop(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "shop")
    repo.write("org/catalog-info.yaml", group("team-shop"))
    repo.write("services/cart/catalog-info.yaml", component("cart", owner="team-shop"))
    repo.commit()
    return repo


async def test_an_admin_registers_a_repository_and_backstage_reads_its_location(
    catalog: Catalog, tmp_path: Path
) -> None:
    repo = shop(tmp_path)
    body = {"type": "url", "target": repo.url()}
    client = catalog.client

    dry = await client.post("/locations", params={"dryRun": "true"}, json=body, headers=AS_ADMIN)
    assert (await client.get("/locations")).json() == []
    as_writer = await client.post("/locations", json=body, headers=AS_WRITER)
    created = await client.post("/locations", json=body, headers=AS_ADMIN)
    again = await client.post("/locations", json=body, headers=AS_ADMIN)
    location = created.json()["location"]
    listed = await client.get("/locations")
    by_id = await client.get(f"/locations/{location['id']}")
    by_entity = await client.get("/locations/by-entity/component/default/cart")
    not_registered = await client.get("/locations/by-entity/component/default/petstore")
    ancestry = await client.get("/entities/by-name/component/default/cart/ancestry")

    assert dry.status_code == 201, dry.text
    assert dry.json()["exists"] is False
    names = [e["metadata"]["name"] for e in dry.json()["entities"]]
    assert names[0] == location_ref(repo.url()).split("/")[1]  # the location's own, first
    assert sorted(names[1:]) == ["cart", "team-shop"]
    assert_error(as_writer, 403, "NotAllowedError", "/api/catalog/locations")
    assert created.status_code == 201, created.text
    assert created.json()["entities"] == []
    assert (location["type"], location["target"]) == ("url", repo.url())
    assert_error(again, 409, "ConflictError", "/api/catalog/locations")
    assert listed.json() == [{"data": location}]
    assert by_id.json() == location
    assert by_entity.json() == location
    assert_error(
        not_registered,
        404,
        "NotFoundError",
        "/api/catalog/locations/by-entity/component/default/petstore",
    )
    chain = ancestry.json()
    assert chain["rootEntityRef"] == "component:default/cart"
    assert [(i["entity"]["metadata"]["name"], i["parentEntityRefs"]) for i in chain["items"]] == [
        ("cart", [location_ref(repo.url())]),
        (location_ref(repo.url()).split("/")[1], []),
    ]


async def test_refresh_rereads_the_repository_and_delete_removes_its_entities(
    catalog: Catalog, tmp_path: Path
) -> None:
    repo = shop(tmp_path)
    client = catalog.client
    created = await client.post(
        "/locations", json={"type": "url", "target": repo.url()}, headers=AS_ADMIN
    )
    location_id = created.json()["location"]["id"]
    repo.write("services/basket/catalog-info.yaml", component("basket", owner="team-shop"))
    repo.commit()

    refreshed = await client.post(
        "/refresh", json={"entityRef": "component:default/cart"}, headers=AS_WRITER
    )
    basket = await client.get("/entities/by-name/component/default/basket")
    unknown = await client.post(
        "/refresh", json={"entityRef": "component:default/nope"}, headers=AS_WRITER
    )
    pushed_or_configured = await client.post(
        "/refresh", json={"entityRef": "component:default/petstore"}, headers=AS_WRITER
    )
    deleted = await client.delete(f"/locations/{location_id}", headers=AS_ADMIN)
    gone = await client.get("/entities/by-name/component/default/basket")
    missing = await client.get(f"/locations/{location_id}")
    deleted_again = await client.delete(f"/locations/{location_id}", headers=AS_ADMIN)

    assert refreshed.status_code == 200, refreshed.text
    assert basket.status_code == 200
    assert_error(unknown, 404, "NotFoundError", "/api/catalog/refresh")
    assert pushed_or_configured.status_code == 200
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert_error(missing, 404, "NotFoundError", f"/api/catalog/locations/{location_id}")
    assert_error(deleted_again, 404, "NotFoundError", f"/api/catalog/locations/{location_id}")
    assert (await client.get("/entities/by-name/component/default/petstore")).status_code == 200


async def test_analyze_location_lists_descriptors_or_suggests_a_component(
    catalog: Catalog, tmp_path: Path
) -> None:
    repo = shop(tmp_path)
    bare = GitRepo(tmp_path / "empty-service")
    bare.write("README.md", "nothing to see\n")
    bare.commit()

    found = await catalog.client.post(
        "/analyze-location",
        json={"location": {"type": "url", "target": repo.url()}},
        headers=AS_ADMIN,
    )
    empty = await catalog.client.post(
        "/analyze-location",
        json={"location": {"type": "url", "target": bare.url()}},
        headers=AS_ADMIN,
    )
    bad = await catalog.client.post(
        "/analyze-location",
        json={"location": {"type": "url", "target": "ftp://x/y"}},
        headers=AS_ADMIN,
    )

    assert found.status_code == 200, found.text
    files = found.json()["existingEntityFiles"]
    assert sorted((f["entity"]["metadata"]["name"], f["isRegistered"]) for f in files) == [
        ("cart", False),
        ("team-shop", False),
    ]
    assert {f["location"]["target"] for f in files} == {
        f"{repo.url()}/services/cart/catalog-info.yaml",
        f"{repo.url()}/org/catalog-info.yaml",
    }
    assert found.json()["generateEntities"] == []
    suggestion = empty.json()["generateEntities"]
    assert empty.json()["existingEntityFiles"] == []
    assert suggestion[0]["entity"]["metadata"]["name"] == "empty-service"
    assert suggestion[0]["fields"][0]["field"] == "spec.owner"
    assert_error(bad, 400, "InputError", "/api/catalog/analyze-location")
