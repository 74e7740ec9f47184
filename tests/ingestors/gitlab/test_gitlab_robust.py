"""The GitLab source's rate limit reset and per-environment deployments, end to end on the
loopback GitLab (both stores)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from graph.port import EntityFilter, GraphStore
from tests.ingestors.gitlab.fake_gitlab import FakeGitlab
from tests.ingestors.gitlab.recorded import PAYMENTS
from tests.ingestors.gitlab.test_gitlab_ingest import Waits, _run
from tests.loopback import LoopbackServer


@pytest.fixture
def gitlab() -> Iterator[FakeGitlab]:
    with LoopbackServer() as server:
        yield FakeGitlab(server)


async def _deployments(store: GraphStore) -> set[str]:
    page = await store.list_entities(EntityFilter(kinds=("deployment",)), 500, None)
    return {e.key.rsplit("-", 2)[-2] + "-" + e.key.rsplit("-", 1)[-1] for e in page.entities}


async def test_an_exhausted_rate_limit_is_waited_out_until_its_reset(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    gitlab.rate_limit_first = 1
    gitlab.rate_limit_reset_in = 20  # RateLimit-Remaining: 0, RateLimit-Reset, no Retry-After
    waits = Waits()

    run = await _run(store, gitlab, waits)

    assert run.status == "SUCCEEDED", run.errors
    assert len(waits.waits) == 1 and 15 <= waits.waits[0] <= 22, waits.waits
    listing = gitlab.server.requests_to("/api/v4/groups/acme%2Fplatform/projects")
    assert [r.param("page") for r in listing][:2] == [None, None]  # the same call again
    assert "component:default/payments" in await store.get_entities(["component:default/payments"])


async def test_each_environment_keeps_its_newest_deployments(
    store: GraphStore, gitlab: FakeGitlab
) -> None:
    staging = next(d for d in gitlab.deployments[PAYMENTS] if d["id"] == 702)
    for n in range(5):  # staging deploys far more often than production
        newer = copy.deepcopy(staging)
        newer.update(id=710 + n, iid=10 + n, created_at=f"2024-05-0{3 + n}T09:00:00.000Z")
        newer["updated_at"] = newer["created_at"]
        gitlab.deployments[PAYMENTS].append(newer)

    run = await _run(store, gitlab, deploymentsPerEnvironment=2)

    assert run.status == "SUCCEEDED", run.errors
    assert await _deployments(store) == {
        "production-703",
        "production-701",
        "staging-714",
        "staging-713",
    }
    (project,) = [p for p in gitlab.projects if p["path_with_namespace"] == PAYMENTS]
    calls = gitlab.server.requests_to(f"/api/v4/projects/{project['id']}/deployments")
    assert sorted(r.param("environment") or "" for r in calls) == ["Staging", "production"]
    assert {(r.param("per_page"), r.param("order_by"), r.param("sort")) for r in calls} == {
        ("2", "created_at", "desc")
    }
