"""GitLab Pipeline and Deployment Hooks applied directly (no API call), on both stores: a
status change of a pipeline and of a deployment the last read stored is written as the next
read of the same data (a loopback GitLab) finds it, each a recorded change of the webhook's
run; hook times parse as GitLab writes them."""

from __future__ import annotations

import json
from typing import Any

from graph.port import GraphStore
from ingestors.gitlab import GitlabSource, gitlab_event_fetcher
from ingestors.gitlab.events import gitlab_time
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from tests.ingestors.gitlab.fake_gitlab import FakeGitlab
from tests.ingestors.gitlab.recorded import PAYMENTS
from tests.ingestors.gitlab.test_gitlab_ingest import _run, gitlab

__all__ = ["gitlab"]  # the loopback GitLab fixture

BUILD = "build:default/acme-platform-payments-gitlab-ci-3"
DEPLOYMENT = "deployment:default/acme-platform-payments-production-703"


def _hooks(fake: FakeGitlab) -> list[dict[str, Any]]:
    """The hooks GitLab sends for the pipeline and deployment as they are now."""
    project = fake.project(PAYMENTS)
    pipeline = next(p for p in fake.pipelines[PAYMENTS] if p["iid"] == 3)
    deployment = next(d for d in fake.deployments[PAYMENTS] if d["id"] == 703)
    hook_project = {
        "id": project["id"],
        "name": project["name"],
        "web_url": project["web_url"],
        "path_with_namespace": PAYMENTS,
        "default_branch": project.get("default_branch"),
    }
    return [
        {
            "object_kind": "pipeline",
            "object_attributes": {
                "id": pipeline["id"],
                "iid": pipeline["iid"],
                "ref": pipeline["ref"],
                "sha": pipeline["sha"],
                "source": pipeline["source"],
                "status": pipeline["status"],
                "created_at": "2024-05-02 10:00:00 UTC",
                "finished_at": "2024-05-02 10:06:40 UTC",
                "duration": pipeline["duration"],
                "url": pipeline["web_url"],
            },
            "project": hook_project,
        },
        {
            "object_kind": "deployment",
            "status": deployment["status"],
            "status_changed_at": "2024-05-02 12:20:00 +0200",
            "deployment_id": deployment["id"],
            "deployable_url": deployment["deployable"]["web_url"],
            "environment": deployment["environment"]["name"],
            "project": hook_project,
            "short_sha": deployment["sha"][:8],
            "user": {"username": deployment["user"]["username"]},
            "commit_url": f"{project['web_url']}/-/commit/{deployment['sha']}",
            "ref": deployment["ref"],
        },
    ]


def test_hook_times_read_as_utc() -> None:
    assert gitlab_time("2024-05-02 10:00:00 UTC") == "2024-05-02T10:00:00Z"
    assert gitlab_time("2024-05-02 12:20:00 +0200") == "2024-05-02T10:20:00Z"
    assert gitlab_time(None) is None


async def test_hooks_write_what_the_next_read_of_the_same_data_finds(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    first = await _run(store, gitlab)
    assert first.status == "SUCCEEDED", first.errors
    stored = await store.get_entities([BUILD, DEPLOYMENT])
    assert stored[BUILD].document["spec"]["status"] == "in_progress"
    assert stored[DEPLOYMENT].document["spec"]["status"] == "in_progress"
    # on GitLab: pipeline 3 and deployment 703 succeed
    pipeline = next(p for p in gitlab.pipelines[PAYMENTS] if p["iid"] == 3)
    pipeline.update(status="success", duration=395.0, finished_at="2024-05-02T10:06:40.000Z")
    deployment = next(d for d in gitlab.deployments[PAYMENTS] if d["id"] == 703)
    deployment.update(status="success")
    source = GitlabSource(name="acme-gitlab", group="acme/platform", api_url=gitlab.api_url)
    gitlab.server.requests.clear()

    fetch = gitlab_event_fetcher(
        source, CatalogLookup(store), [json.dumps(h) for h in _hooks(gitlab)]
    )
    hooked = await run_ingestion(
        store,
        source="acme-gitlab",
        source_type="gitlab",
        fetch=fetch,
        trigger="webhook",
        scope=(f"gitlab/{PAYMENTS}",),
    )

    assert hooked.status == "SUCCEEDED", hooked.errors
    assert gitlab.server.requests == []
    assert {(c.kind, c.added, c.updated) for c in hooked.counts} == {
        ("build", 0, 1),
        ("deployment", 0, 1),
    }
    written = await store.get_entities([BUILD, DEPLOYMENT])
    assert written[BUILD].document["spec"]["conclusion"] == "success"
    assert written[DEPLOYMENT].document["spec"]["status"] == "success"
    changes = await store.changes(source="acme-gitlab", since=hooked.started_at, limit=10)
    assert {(c.ref, c.change, c.run_id) for c in changes} == {
        (BUILD, "UPDATED", hooked.id),
        (DEPLOYMENT, "UPDATED", hooked.id),
    }

    again = await _run(store, gitlab)

    assert again.status == "SUCCEEDED", again.errors
    read = await store.get_entities([BUILD, DEPLOYMENT])
    assert {k: e.document for k, e in read.items()} == {k: e.document for k, e in written.items()}
    counts = {c.kind: (c.added, c.updated) for c in again.counts}
    assert counts["build"] == (0, 0) and counts["deployment"] == (0, 0)
