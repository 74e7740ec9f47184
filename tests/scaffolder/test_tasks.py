"""Tasks in the store, run by the worker, on both stores: the Backstage example template end
to end (published to a loopback GitHub that pushes to a real bare repository, registered as
a catalog location, the component in the catalog made from the template, on every later
read of the location too), the dry run, a dead process's task, cancellation and timeouts
stopping the running step."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.refs import parse_ref
from graph.port import Direction, GraphStore
from ingestors.clock import FakeClock
from ingestors.locations import remove_location, source_name, sync_locations
from ingestors.push import push_entities
from ingestors.scheduler import Scheduler
from scaffolder.actions.contract import Action, ActionContext, Services
from scaffolder.actions.registry import ACTIONS
from scaffolder.errors import ParameterError
from scaffolder.tasks import cancel_task, create_task
from scaffolder.worker import EXPIRED, TaskWorker
from tests.gitrepo import GitRepo
from tests.loopback import LoopbackServer
from tests.scaffolder.helpers import (
    EXAMPLE_REF,
    EXAMPLE_VALUES,
    GITHUB_TOKEN,
    FakeGithubRepos,
    load_templates,
    task_worker,
)


async def test_the_example_template_end_to_end(store: GraphStore, tmp_path: Path) -> None:
    await load_templates(store, tmp_path)
    with LoopbackServer() as api:
        github = FakeGithubRepos(api, tmp_path / "github")
        worker = task_worker(store, tmp_path, api.url)
        started = time.perf_counter()

        task = await create_task(
            store, "example-nodejs-template", EXAMPLE_VALUES, created_by="user:default/guest"
        )
        assert await worker.run_once()
        key = parse_ref("component:default/hello-world").key
        component = (await store.get_entities([key])).get(key)
        elapsed = time.perf_counter() - started

    done = (await store.get_tasks([task.id]))[task.id]
    assert done.status == "completed", done.error
    assert [s.status for s in done.steps] == ["completed"] * 4
    assert done.output["links"] == [
        {"title": "Repository", "url": "https://github.com/acme/hello-world"},
        {
            "title": "Open in catalog",
            "icon": "catalog",
            "entityRef": "component:default/hello-world",
        },
    ]
    assert done.notifications[0]["title"] == "Template executed"
    created = api.requests_to("/orgs/acme/repos", "POST")[0]
    assert created.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert created.json()["description"] == "This is hello-world"
    assert api.requests_to("/repos/acme/hello-world", "PATCH")[0].json() == {
        "default_branch": "main"
    }
    assert sorted(github.show("hello-world", "ls-tree", "--name-only", "main").split()) == [
        "catalog-info.yaml",
        "index.js",
        "package.json",
    ]
    assert component is not None
    assert component.document["metadata"]["annotations"]["backstage.io/source-template"] == (
        "template:default/example-nodejs-template"
    )
    relations = {(r.type, r.target_ref) for r in await store.get_relations([key], Direction.OUT)}
    assert ("scaffoldedFrom", "template:default/example-nodejs-template") in relations
    assert ("ownedBy", "user:default/guest") in relations
    events = await store.get_task_events(task.id)
    assert events[-1].type == "completion" and events[-1].body["status"] == "completed"
    steps = ", ".join(
        f"{s.id} {(s.ended_at - s.started_at).total_seconds():.2f}s"
        for s in done.steps
        if s.ended_at and s.started_at
    )
    print(
        f"\ncreateTask -> component queryable: {elapsed:.2f}s ({store.url.split(':')[0]}; {steps})"
    )


async def _made_from_template(store: GraphStore, key: str) -> bool:
    found = (await store.get_entities([key])).get(key)
    relations = {(r.type, r.target_ref) for r in await store.get_relations([key], Direction.OUT)}
    made = await store.get_relations([parse_ref(EXAMPLE_REF).key], Direction.IN)
    return (
        found is not None
        and found.document["metadata"]["annotations"].get("backstage.io/source-template")
        == EXAMPLE_REF
        and ("scaffoldedFrom", EXAMPLE_REF) in relations
        and any(r.type == "scaffoldedFrom" and r.source_ref == found.ref for r in made)
    )


async def test_the_registered_location_keeps_the_template_on_every_read(
    store: GraphStore, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)
    key = parse_ref("component:default/hello-world").key
    api_process = Scheduler(store, [], FakeClock(datetime(2030, 1, 1, tzinfo=UTC)), "api")
    with LoopbackServer() as api:
        github = FakeGithubRepos(api, tmp_path / "github")
        task = await create_task(store, "example-nodejs-template", EXAMPLE_VALUES)
        assert await task_worker(store, tmp_path, api.url, scheduler=api_process).run_once()
    done = (await store.get_tasks([task.id]))[task.id]
    assert done.status == "completed", done.error
    (location,) = await store.get_locations()
    first_read = await _made_from_template(store, key)
    # The team edits the descriptor (still no source-template in it) and pushes.
    clone = GitRepo(tmp_path / "clone")
    clone.git("pull", "--quiet", str(github.bare("hello-world")), "main")
    text = clone.path.joinpath("catalog-info.yaml").read_text()
    clone.write("catalog-info.yaml", text.replace("  name:", "  description: edited\n  name:"))
    clone.commit("describe it")
    clone.git("push", "--quiet", str(github.bare("hello-world")), "main")

    refreshed = await api_process.run_once(location.source, "refresh")  # POST /refresh's way
    after_refresh = await _made_from_template(store, key)
    worker = Scheduler(store, [], FakeClock(datetime(2030, 1, 1, tzinfo=UTC)), "worker")
    assert await sync_locations(store, worker) == (1, 0)  # another process takes it on
    scheduled = await worker.run_once(location.source, "schedule")
    after_schedule = await _made_from_template(store, key)
    described = (await store.get_entities([key]))[key].document["metadata"].get("description")
    removed = await remove_location(store, location.id, scheduler=worker)
    await api_process.stop(grace_seconds=0)
    await worker.stop(grace_seconds=0)

    assert location.source == source_name(location.id)
    assert location.template == EXAMPLE_REF
    assert location.target == f"file://{github.bare('hello-world')}/blob/main/catalog-info.yaml"
    assert location.source in {s.name for s in api_process.sources}
    assert done.output["links"][1]["entityRef"] == "component:default/hello-world"
    assert (first_read, after_refresh, after_schedule) == (True, True, True)
    assert (refreshed.status, scheduled.status) == ("SUCCEEDED", "SUCCEEDED")
    assert described == "edited"
    assert removed == location
    assert await store.get_entities([key]) == {}


async def test_the_dry_run_returns_the_three_files_and_publishes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)
    with LoopbackServer() as api:
        task = await create_task(
            store, "template:default/example-nodejs-template", EXAMPLE_VALUES, dry_run=True
        )
        await task_worker(store, tmp_path, api.url).run_once()

    done = (await store.get_tasks([task.id]))[task.id]
    assert done.status == "completed", done.error
    assert [f["path"] for f in done.files] == ["catalog-info.yaml", "index.js", "package.json"]
    assert done.step_inputs["publish"]["repoUrl"] == EXAMPLE_VALUES["repoUrl"]
    assert api.requests == []
    assert await store.get_entities([parse_ref("component:default/hello-world").key]) == {}


async def test_invalid_values_are_refused_before_the_task_is_stored(
    store: GraphStore, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)

    with pytest.raises(ParameterError, match="repoUrl: 'repoUrl' is a required property"):
        await create_task(store, "example-nodejs-template", {"name": "x"})

    assert await store.count_tasks() == 0


async def test_a_task_whose_process_died_is_failed_after_its_lease_expires(
    store: GraphStore, tmp_path: Path
) -> None:
    await load_templates(store, tmp_path)
    task = await create_task(store, "example-nodejs-template", EXAMPLE_VALUES)
    dead = TaskWorker(store, Services(), "dead-process", lease_ttl=0.2)
    claimed = await store.claim_task(
        "dead-process", dead.now(), dead.now() + timedelta(seconds=0.2)
    )
    assert claimed is not None and claimed.id == task.id
    await asyncio.sleep(0.3)

    assert not await task_worker(store, tmp_path).run_once()

    done = (await store.get_tasks([task.id]))[task.id]
    assert (done.status, done.error) == ("failed", EXPIRED)
    assert (await store.get_task_events(task.id))[-1].body["status"] == "failed"


async def _sleep(ctx: ActionContext) -> None:
    ctx.log("sleeping")
    await asyncio.sleep(60)


SLOW = {**ACTIONS, "test:sleep": Action("test:sleep", "Sleeps a minute.", _sleep)}


async def _slow_task(store: GraphStore) -> str:
    steps = [
        {"id": "nap", "action": "test:sleep"},
        {"id": "after", "action": "debug:log", "input": {"message": "x"}},
    ]
    document = {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "slow"},
        "spec": {"type": "service", "owner": "team-a", "steps": steps},
    }
    await push_entities(store, "tests", [document])
    return (await create_task(store, "slow", {}, actions=SLOW)).id


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_cancellation_and_timeout_stop_the_running_step(
    store: GraphStore, tmp_path: Path, how: str
) -> None:
    task_id = await _slow_task(store)
    worker = task_worker(
        store,
        tmp_path,
        actions=SLOW,
        lease_ttl=1.5,
        timeout=timedelta(seconds=60 if how == "cancel" else 0.5),
    )
    running = asyncio.create_task(worker.run_once())
    if how == "cancel":
        await asyncio.sleep(0.5)
        await cancel_task(store, task_id)
    started = time.perf_counter()

    await asyncio.wait_for(running, 5)

    done = (await store.get_tasks([task_id]))[task_id]
    expected = ("cancelled", "cancelled") if how == "cancel" else ("failed", "failed")
    assert (done.status, done.steps[0].status) == expected
    assert done.steps[1].status == "skipped"
    assert time.perf_counter() - started < 3
    assert (
        "timeout" in (done.error or "") if how == "timeout" else "cancelled" in (done.error or "")
    )
