"""The scaffolder REST routes the front-end run leaves out, on each store: the template
editor's ``POST /dry-run`` (the template and its files in the request, the rendered files,
step inputs and log back), ``POST /tasks/:id/cancel`` on a task no scheduler has claimed, and
``GET /tasks/:id/events`` polled after an event id."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from graph.port import GraphStore
from tests.api.scaffolder_app import scaffolder_client
from tests.scaffolder.helpers import EXAMPLE_REF, EXAMPLE_VALUES, FIXTURE, load_templates


def _directory_contents() -> list[dict[str, str]]:
    return [
        {
            "path": path.relative_to(FIXTURE).as_posix(),
            "base64Content": base64.b64encode(path.read_bytes()).decode(),
        }
        for path in sorted(FIXTURE.rglob("*"))
        if path.is_file() and path.name != "template.yaml"
    ]


async def test_the_editor_dry_run_renders_the_files_it_sent(
    store: GraphStore, tmp_path: Path
) -> None:
    template = yaml.safe_load((FIXTURE / "template.yaml").read_text())
    body = {"template": template, "values": EXAMPLE_VALUES, "directoryContents": []}

    async with scaffolder_client(store, tmp_path, role="writer") as client:
        done = await client.post(
            "/dry-run", json={**body, "directoryContents": _directory_contents()}
        )
        invalid = await client.post("/dry-run", json={**body, "values": {"name": 3}})
        escaping = await client.post(
            "/dry-run",
            json={**body, "directoryContents": [{"path": "../x", "base64Content": ""}]},
        )
        garbled = await client.post(
            "/dry-run",
            json={**body, "directoryContents": [{"path": "x", "base64Content": "%%%"}]},
        )
    async with scaffolder_client(store, tmp_path, role="reader") as client:
        refused = await client.post("/dry-run", json=body)

    assert done.status_code == 200, done.text
    result = done.json()
    files = {
        f["path"]: base64.b64decode(f["base64Content"]).decode()
        for f in result["directoryContents"]
    }
    assert sorted(files) == ["catalog-info.yaml", "index.js", "package.json"]
    assert files["index.js"] == "console.log('Hello from hello-world!');\n"
    steps = {s["id"]: s for s in result["steps"]}
    assert steps["publish"]["input"]["description"] == "This is hello-world"
    assert {"message": "Beginning step Publish", "stepId": "publish", "status": "processing"} in [
        entry["body"] for entry in result["log"]
    ]
    assert result["output"]["links"][0]["url"] == "https://github.com/acme/hello-world"
    assert "error" not in result
    assert invalid.status_code == 400
    assert "name: 3 is not of type 'string'" in invalid.json()["error"]["message"]
    assert escaping.status_code == 400
    assert "leaves the workspace" in escaping.json()["error"]["message"]
    assert garbled.status_code == 400
    assert "'x': base64Content is not base64" in garbled.json()["error"]["message"]
    assert refused.status_code == 403


async def test_a_task_is_cancelled_and_its_events_are_polled(
    store: GraphStore, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)

    async with scaffolder_client(store, tmp_path, role="writer") as client:
        created = await client.post(
            "/tasks", json={"templateRef": EXAMPLE_REF, "values": EXAMPLE_VALUES}
        )
        task_id = created.json()["id"]
        before = (await client.get(f"/tasks/{task_id}")).json()
        cancelled = await client.post(f"/tasks/{task_id}/cancel")
        after = (await client.get(f"/tasks/{task_id}")).json()
        events = (await client.get(f"/tasks/{task_id}/events")).json()
        later = (await client.get(f"/tasks/{task_id}/events", params={"after": 1})).json()
        unknown = await client.post("/tasks/nope/cancel")
        bad_after = await client.get(f"/tasks/{task_id}/events", params={"after": "x"})

    assert created.status_code == 201, created.text
    assert (before["status"], after["status"]) == ("open", "cancelled")
    assert before["createdBy"] == "portal"
    assert cancelled.json() == {"status": "cancelled"}
    assert [(e["id"], e["type"]) for e in events] == [(1, "cancelled"), (2, "completion")]
    assert events[1]["body"]["status"] == "cancelled"
    assert all(e["taskId"] == task_id for e in events)
    assert [e["id"] for e in later] == [2]
    assert unknown.status_code == 404
    assert bad_after.status_code == 400
