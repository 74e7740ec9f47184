"""The location a scaffolder task registers, through the catalog API on each store: after the
example template runs (published to a loopback GitHub, ``catalog:register``),
``GET /locations`` lists it with the others and ``DELETE /locations/:id`` removes it and the
entities it brought."""

from __future__ import annotations

from pathlib import Path

from scaffolder.tasks import create_task
from tests.api.catalog.conftest import ADMIN_TOKEN, Catalog
from tests.loopback import LoopbackServer
from tests.scaffolder.helpers import (
    EXAMPLE_VALUES,
    FakeGithubRepos,
    load_templates,
    task_worker,
)

AS_ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HELLO = "/entities/by-name/component/default/hello-world"


async def test_a_scaffolded_location_is_listed_and_deleting_it_removes_its_entities(
    catalog: Catalog, tmp_path: Path
) -> None:
    client, store = catalog.client, catalog.store
    await load_templates(store, tmp_path)
    before = (await client.get("/locations")).json()
    with LoopbackServer() as api:
        github = FakeGithubRepos(api, tmp_path / "github")
        task = await create_task(store, "example-nodejs-template", EXAMPLE_VALUES)
        assert await task_worker(store, tmp_path, api.url).run_once()
    done = (await store.get_tasks([task.id]))[task.id]
    assert done.status == "completed", done.error

    listed = (await client.get("/locations")).json()
    (location,) = [item["data"] for item in listed if item not in before]
    by_id = await client.get(f"/locations/{location['id']}")
    by_entity = await client.get("/locations/by-entity/component/default/hello-world")
    component = await client.get(HELLO)
    deleted = await client.delete(f"/locations/{location['id']}", headers=AS_ADMIN)
    after = (await client.get("/locations")).json()
    gone = await client.get(HELLO)
    again = await client.delete(f"/locations/{location['id']}", headers=AS_ADMIN)

    target = f"file://{github.bare('hello-world')}/blob/main/catalog-info.yaml"
    assert (location["type"], location["target"]) == ("url", target)
    assert by_id.json() == location
    assert by_entity.json() == location
    assert component.status_code == 200
    annotations = component.json()["metadata"]["annotations"]
    assert annotations["backstage.io/source-template"] == (
        "template:default/example-nodejs-template"
    )
    assert deleted.status_code == 204, deleted.text
    assert after == before
    assert gone.status_code == 404
    assert again.status_code == 404
    assert await store.get_locations() == []
