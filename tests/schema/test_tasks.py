"""Scaffolder tasks over GraphQL, on both stores: the template's parameterSchema, createTask
(writer only; invalid values refused with every problem), the task as it runs in this
process's worker, cancelTask, tasks, and the taskEvents subscription to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import strawberry

from graph.port import GraphStore
from ingestors.git import ingest_git
from scaffolder.service import Scaffolder
from scaffolder.tasks import create_task
from schema.context import Context
from tests.scaffolder.helpers import template_repo

DRY_RUN = """
mutation($values: JSON!) {
  createTask(template: "example-nodejs-template", values: $values, dryRun: true) { id status }
}
"""
TASK = """
query($id: ID!) {
  task(id: $id) {
    template status createdBy dryRun
    steps { id action status startedAt endedAt }
    log { seq message stepId }
    later: log(after: 3) { seq }
    output { links { title url entityRef } }
    dryRunFiles { path }
  }
}
"""
TEMPLATE = "template:default/example-nodejs-template"
VALUES = {"name": "hello-world", "repoUrl": "github.com?owner=acme&repo=hello-world"}


async def _run(schema: strawberry.Schema, context: Context, document: str, **variables: Any) -> Any:
    return await schema.execute(document, variable_values=variables, context_value=context)


async def test_create_follow_and_read_a_dry_run(
    graphql_schema: strawberry.Schema, store: GraphStore, tmp_path: Path
) -> None:
    repo = template_repo(tmp_path)
    await ingest_git(
        store, str(repo.path), name="templates", paths=["example-nodejs-template/template.yaml"]
    )
    scaffolder = Scaffolder.for_store(
        store, "here", run_tasks=True, poll_seconds=0.05, work_dir=tmp_path
    )
    scaffolder.start()
    writer = Context(store, role="writer", principal="ci", scaffolder=scaffolder)
    try:
        schema_result = await _run(
            graphql_schema,
            Context(store),
            '{ entity(ref: "template:example-nodejs-template") { ... on Template { parameterSchema } } }',
        )
        refused = await _run(
            graphql_schema, Context(store, scaffolder=scaffolder), DRY_RUN, values=VALUES
        )
        invalid = await _run(graphql_schema, writer, DRY_RUN, values={"name": 3})
        created = await _run(graphql_schema, writer, DRY_RUN, values=VALUES)
        task_id = created.data["createTask"]["id"]
        events = await graphql_schema.subscribe(
            "subscription($id: ID!) { taskEvents(id: $id) { seq type stepId status message } }",
            variable_values={"id": task_id},
            context_value=Context(store),
        )
        stream = cast(Any, events)
        seen = [event.data["taskEvents"] async for event in stream]
        task = await _run(graphql_schema, Context(store), TASK, id=task_id)
        listed = await _run(
            graphql_schema,
            Context(store),
            "{ tasks(status: COMPLETED) { totalCount edges { node { id } } } }",
        )
    finally:
        await scaffolder.stop()

    steps = schema_result.data["entity"]["parameterSchema"]["steps"]
    assert steps[0]["schema"]["required"] == ["name"]
    assert "writer" in refused.errors[0].message
    assert "name: 3 is not of type 'string'" in invalid.errors[0].message
    assert "repoUrl: 'repoUrl' is a required property" in invalid.errors[0].message
    assert created.data["createTask"]["status"] == "OPEN"
    assert seen[-1]["type"] == "completion" and seen[-1]["status"] == "completed"
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    got = task.data["task"]
    assert (got["status"], got["createdBy"], got["dryRun"]) == ("COMPLETED", "ci", True)
    assert [s["status"] for s in got["steps"]] == ["completed"] * 4
    assert [f["path"] for f in got["dryRunFiles"]] == [
        "catalog-info.yaml",
        "index.js",
        "package.json",
    ]
    assert got["output"]["links"][0]["url"] == "https://github.com/acme/hello-world"
    assert any(line["message"] == "Beginning step Publish" for line in got["log"])
    assert [line["seq"] for line in got["later"]] == [
        line["seq"] for line in got["log"] if line["seq"] > 3
    ]
    assert got["later"] and len(got["later"]) < len(got["log"])
    assert listed.data["tasks"]["totalCount"] == 1


async def test_cancel_task_needs_a_writer_and_tasks_match_any_of_several_values(
    graphql_schema: strawberry.Schema, store: GraphStore, tmp_path: Path
) -> None:
    """No worker runs here, so the tasks stay open until cancelTask ends one."""
    repo = template_repo(tmp_path)
    await ingest_git(
        store, str(repo.path), name="templates", paths=["example-nodejs-template/template.yaml"]
    )
    ids = [
        (await create_task(store, TEMPLATE, VALUES, created_by=who, dry_run=True)).id
        for who in ("ci", "portal", "alice")
    ]
    cancel = "mutation($id: ID!) { cancelTask(id: $id) { id status error } }"

    refused = await _run(graphql_schema, Context(store), cancel, id=ids[0])
    cancelled = await _run(graphql_schema, Context(store, role="writer"), cancel, id=ids[0])
    unknown = await _run(graphql_schema, Context(store, role="writer"), cancel, id="no-such")
    listed = await _run(
        graphql_schema,
        Context(store),
        '{ tasks(status: [OPEN, CANCELLED], createdBy: ["ci", "portal"]) '
        "{ totalCount edges { node { id status createdBy } } } }",
    )
    single = await _run(graphql_schema, Context(store), "{ tasks(status: OPEN) { totalCount } }")

    assert "writer" in refused.errors[0].message
    assert cancelled.data["cancelTask"]["status"] == "CANCELLED"
    assert unknown.errors[0].extensions["code"] == "NOT_FOUND"
    nodes = [e["node"] for e in listed.data["tasks"]["edges"]]
    assert listed.data["tasks"]["totalCount"] == 2
    assert {(n["id"], n["status"], n["createdBy"]) for n in nodes} == {
        (ids[0], "CANCELLED", "ci"),
        (ids[1], "OPEN", "portal"),
    }
    assert single.data["tasks"]["totalCount"] == 2
