"""The scaffolder REST API driven the way Backstage's scaffolder front end drives it, against
a real ``stagegraph serve`` on each store: read the parameter schema, create a task, follow
its event stream to the completion, read the task and its output; the component is then in
the catalog, made from the template. A secret sent with the task is in no answer and not in
the server log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from api.auth import hash_token
from graph.port import GraphStore
from tests.api.server import running_server
from tests.loopback import LoopbackServer
from tests.scaffolder.helpers import FakeGithubRepos, load_templates

WRITER = "sg_scaffold-writer-token-0123456789"
SECRET = "very-secret-value-42"
BASE = "/api/scaffolder/v2"


def _events(client: httpx.Client, task_id: str) -> list[dict[str, Any]]:
    """Read the SSE stream as an EventSource does, until the completion event."""
    found: list[dict[str, Any]] = []
    with client.stream("GET", f"{BASE}/tasks/{task_id}/eventstream", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                assert event["type"] == kind
                found.append(event)
    return found


def _drive(store_url: str, tmp_path: Path, log: Path) -> dict[str, Any]:
    """What the front end sees, against a real server (blocking HTTP, as a browser's)."""
    with LoopbackServer() as api:
        FakeGithubRepos(api, tmp_path / "github")
        environ = {
            "STAGEGRAPH_TOKENS": json.dumps(
                [{"name": "portal", "sha256": hash_token(WRITER), "role": "writer"}]
            ),
            "STAGEGRAPH_INTEGRATIONS": json.dumps(
                [
                    {
                        "host": "github.com",
                        "type": "github",
                        "apiUrl": api.url,
                        "tokenEnv": "TEST_GH_TOKEN",
                    }
                ]
            ),
            "TEST_GH_TOKEN": "ghp-rest-token",
            "STAGEGRAPH_LOG_LEVEL": "debug",
        }
        with (
            running_server(store_url, environ=environ, log=log) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {WRITER}"}, timeout=30
            ) as client,
        ):
            schema = client.get(
                f"{BASE}/templates/default/template/example-nodejs-template/parameter-schema"
            ).json()
            invalid = client.post(
                f"{BASE}/tasks",
                json={"templateRef": "template:default/example-nodejs-template", "values": {}},
            )
            created = client.post(
                f"{BASE}/tasks",
                json={
                    "templateRef": "template:default/example-nodejs-template",
                    "values": {
                        "name": "hello-world",
                        "repoUrl": "github.com?owner=acme&repo=hello-world",
                    },
                    "secrets": {"extraToken": SECRET},
                },
            )
            task_id = created.json()["id"]
            events = _events(client, task_id)
            task = client.get(f"{BASE}/tasks/{task_id}").json()
            listed = client.get(f"{BASE}/tasks").json()
            actions = {a["id"] for a in client.get(f"{BASE}/actions").json()}
            made = client.post(
                "/graphql",
                json={
                    "query": '{ entity(ref: "template:default/example-nodejs-template") { ... on Template { createdEntities { ref relations(type: "ownedBy") { targetRef } } } } }'
                },
            ).json()
            missing = client.get(f"{BASE}/tasks/nope")
    return {
        "schema": schema,
        "invalid": invalid,
        "created": created,
        "events": events,
        "task": task,
        "listed": listed,
        "actions": actions,
        "made": made,
        "missing": missing,
    }


async def test_a_front_end_creates_follows_and_reads_a_task(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)
    log = tmp_path / "server.log"
    seen = _drive(store_url, tmp_path, log)
    schema, invalid, created = seen["schema"], seen["invalid"], seen["created"]
    events, task, listed = seen["events"], seen["task"], seen["listed"]
    actions, made, missing = seen["actions"], seen["made"], seen["missing"]

    assert [step["title"] for step in schema["steps"]] == [
        "Fill in some steps",
        "Choose a location",
    ]
    assert invalid.status_code == 400
    assert {e["argument"] for e in invalid.json()["errors"]} == {"name", "repoUrl"}
    assert created.status_code == 201
    assert events[-1]["type"] == "completion"
    assert events[-1]["body"]["output"]["links"][1]["entityRef"] == "component:default/hello-world"
    finished = {(e["body"].get("stepId"), e["body"].get("status")) for e in events}
    assert {
        ("fetch-base", "completed"),
        ("publish", "completed"),
        ("register", "completed"),
    } <= finished
    assert task["status"] == "completed"
    assert [s["id"] for s in task["spec"]["steps"]] == [
        "fetch-base",
        "publish",
        "register",
        "notify",
    ]
    assert task["createdBy"] == "portal"
    assert listed["totalTasks"] == 1
    assert {"fetch:template", "publish:github", "catalog:register"} <= actions
    assert made["data"]["entity"]["createdEntities"] == [
        {"ref": "component:default/hello-world", "relations": [{"targetRef": "user:default/guest"}]}
    ]
    assert missing.status_code == 404 and missing.json()["error"]["name"] == "NotFoundError"
    everything = json.dumps([task, events, listed]) + log.read_text()
    assert SECRET not in everything
