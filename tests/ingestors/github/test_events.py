"""GitHub ``workflow_run``, ``deployment`` and ``deployment_status`` deliveries applied
directly (no API call): the Build and Deployment they write equal what a full read of the
same data (a loopback GitHub) then finds, on both stores, and each write is a recorded
change of the webhook's run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from graph.port import GraphStore
from ingestors.github import github_event_fetcher, github_fetcher
from ingestors.github.config import GithubSource
from ingestors.http import ETagCache
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.snapshot import Snapshot
from ingestors.webhooks import github_targets
from tests.gitrepo import component
from tests.ingestors.github.test_ingest import (
    FakeSleep,
    GithubApi,
    _load,
    ingest,
    make_repo,
    repo_item,
    server,
)
from tests.loopback import LoopbackServer, constant

__all__ = ["server"]  # the loopback GitHub fixture

BUILD = "build:default/acme-payments-ci-3"
STAGING = "deployment:default/acme-payments-staging-502"
NEW = "deployment:default/acme-payments-production-503"


def _deployment(api: GithubApi, number: int) -> dict[str, Any]:
    return next(d for d in api.deployments["payments"] if d["id"] == number)


async def test_deliveries_write_what_a_full_read_of_the_same_data_finds(
    store: GraphStore, server: LoopbackServer, tmp_path: Path
) -> None:
    repo = make_repo(
        tmp_path / "payments",
        {
            "catalog-info.yaml": component("payments"),
            ".github/workflows/ci.yml": "name: CI\non: [push]\njobs: {}\n",
        },
    )
    payments = repo_item("payments", repo.url())
    api = GithubApi(server, [payments])
    api.install()
    source = GithubSource(name="acme-github", org="acme", api_url=server.url, teams=False)
    first = await ingest(store, source, ETagCache(), FakeSleep())
    assert first.status == "SUCCEEDED", first.errors
    before = await store.get_entities([BUILD, STAGING])
    assert before[BUILD].document["spec"]["status"] == "in_progress"
    assert before[STAGING].document["spec"]["status"] == "failure"

    # on GitHub: run 3 completes, deployment 502 succeeds, a new deployment 503 starts
    workflow = api.workflows["payments"][0]
    run = api.runs[workflow["id"]][0]
    run.update(status="completed", conclusion="success", updated_at="2026-11-22T09:04:30Z")
    staging = _deployment(api, 502)
    status = {
        "id": 5021,
        "state": "success",
        "environment": "Staging",
        "target_url": "https://github.com/acme/payments/actions/runs/5020",
        "created_at": "2026-11-22T10:05:00Z",
        "updated_at": "2026-11-22T10:05:00Z",
    }
    server.route("GET", "/repos/acme/payments/deployments/502/statuses", constant([status]))
    new = {
        **copy.deepcopy(staging),
        "id": 503,
        "environment": "production",
        "description": "Deploy main to production",
        "created_at": "2026-11-22T11:00:00Z",
        "updated_at": "2026-11-22T11:00:00Z",
    }
    api.deployments["payments"].append(new)
    server.route("GET", "/repos/acme/payments/deployments/503/statuses", constant([]))
    deliveries = [
        {"action": "completed", "workflow_run": run, "workflow": workflow, "repository": payments},
        {"action": "created", "deployment": staging, "repository": payments},  # older
        {"deployment": staging, "deployment_status": status, "repository": payments},
        {"action": "created", "deployment": new, "repository": payments},
        {  # a workflow no read has stored yet: passed over, not guessed
            "workflow_run": {**run, "id": 1, "path": ".github/workflows/new.yml"},
            "workflow": {**workflow, "id": 2, "path": ".github/workflows/new.yml"},
            "repository": payments,
        },
    ]
    server.requests.clear()

    fetch = github_event_fetcher(source, CatalogLookup(store), [json.dumps(d) for d in deliveries])
    hooked = await run_ingestion(
        store,
        source=source.name,
        source_type="github",
        fetch=fetch,
        trigger="webhook",
        scope=("github:acme/payments",),
    )

    assert hooked.status == "SUCCEEDED", hooked.errors
    assert server.requests == []  # no API call (and no clone: no git source was read)
    assert hooked.cleanup == "skipped: a direct update from webhook deliveries deletes nothing"
    assert {(c.kind, c.added, c.updated, c.deleted) for c in hooked.counts} == {
        ("build", 0, 1, 0),
        ("deployment", 1, 1, 0),
    }
    assert any("new.yml: the pipeline is not in the catalog yet" in s for s in hooked.skipped)
    written = await store.get_entities([BUILD, STAGING, NEW])
    assert written[BUILD].document["spec"]["conclusion"] == "success"
    assert written[STAGING].document["spec"]["status"] == "success"
    assert written[NEW].document["spec"]["status"] == "pending"
    changes = await store.changes(source=source.name, since=hooked.started_at, limit=10)
    assert {(c.ref, c.change, c.run_id) for c in changes} == {
        (BUILD, "UPDATED", hooked.id),
        (STAGING, "UPDATED", hooked.id),
        (NEW, "CREATED", hooked.id),
    }
    assert {c.fields for c in changes if c.ref == BUILD} == {
        ("spec.conclusion", "spec.durationSeconds", "spec.status")
    }

    full = await ingest(store, source, ETagCache(), FakeSleep())

    assert full.status == "SUCCEEDED", full.errors
    read = await store.get_entities([BUILD, STAGING, NEW])
    assert {k: e.document for k, e in read.items()} == {k: e.document for k, e in written.items()}
    assert {k: e.hash for k, e in read.items()} == {k: e.hash for k, e in written.items()}
    counts = {c.kind: (c.added, c.updated) for c in full.counts}
    assert counts["build"] == (0, 0) and counts["deployment"] == (0, 0)

    # a delivery arriving late (in_progress after completed) does not undo the stored state
    late = {**run, "status": "in_progress", "conclusion": None}
    fetch = github_event_fetcher(
        source,
        CatalogLookup(store),
        [json.dumps({"workflow_run": late, "workflow": workflow, "repository": payments})],
    )
    snapshot = await fetch()
    assert isinstance(snapshot, Snapshot)
    assert snapshot.descriptors == []
    assert snapshot.skipped == [
        f"{BUILD}: a late delivery (in_progress) after the stored completed"
    ]


@pytest.mark.parametrize("switch", ["actions", "deployments"])
async def test_a_source_that_reads_no_actions_or_deployments_takes_none_from_webhooks(
    store: GraphStore, switch: str
) -> None:
    source = GithubSource(name="acme-github", org="acme", **{switch: False})
    repo = repo_item("payments", "file:///nowhere")
    delivery = (
        {"workflow_run": {"id": 1, "path": "ci.yml"}, "repository": repo}
        if switch == "actions"
        else {"deployment": {"id": 1, "environment": "prod"}, "repository": repo}
    )
    fetch = github_event_fetcher(source, CatalogLookup(store), [json.dumps(delivery)])

    snapshot = await fetch()

    assert isinstance(snapshot, Snapshot)
    assert snapshot.descriptors == [] and snapshot.additive
    assert snapshot.skipped == [
        f"acme/payments: a {'workflow run' if switch == 'actions' else 'deployment'}, but {switch}: false"
    ]


async def test_a_membership_delivery_re_reads_only_the_teams(
    store: GraphStore, server: LoopbackServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "payments", {"catalog-info.yaml": component("payments")})
    api = GithubApi(server, [repo_item("payments", repo.url())])
    api.install()
    source = GithubSource(name="acme-github", org="acme", api_url=server.url)
    first = await ingest(store, source, ETagCache(), FakeSleep())
    assert first.status == "SUCCEEDED", first.errors
    assert "user:default/linus" in await store.get_entities(["user:default/linus"])
    # linus leaves the organisation's teams (GitHub lists him in the parent team too)
    for team in api.teams:
        path = f"/orgs/acme/teams/{team['slug']}/members"
        listed = _load(f"teams/{team['slug']}/members.json")
        members = [m for m in listed if m["login"] != "linus"]
        server.route("GET", path, api.page(members))
    targets, _ = github_targets(
        [source], "membership", {"action": "removed", "organization": {"login": "acme"}}
    )
    server.requests.clear()

    run = await run_ingestion(
        store,
        source=source.name,
        source_type="github",
        fetch=github_fetcher(
            source, CatalogLookup(store), sleep=FakeSleep(), scope=targets[0].scope
        ),
        trigger="webhook",
        scope=targets[0].scope,
    )

    assert (run.status, run.scope) == ("SUCCEEDED", ["github:acme/teams"])
    assert not [
        r.path for r in server.requests if not r.path.startswith(("/orgs/acme/teams", "/users/"))
    ]
    gone = await store.get_entities(["user:default/linus", "group:default/payments-team"])
    assert "user:default/linus" not in gone
    assert (
        "user:default/linus" not in gone["group:default/payments-team"].document["spec"]["members"]
    )
    changes = await store.changes(source=source.name, since=run.started_at, limit=20)
    assert {(c.ref, c.change) for c in changes} >= {
        ("user:default/linus", "DELETED"),
        ("group:default/payments-team", "UPDATED"),
    }
    assert {c.run_id for c in changes} == {run.id}
    still = await store.get_entities(["component:default/payments"])
    assert still["component:default/payments"].run_id == first.id
