"""Jenkins overloaded or restarting (429/503 with Retry-After): the wait asked for is taken
and the run completes, end to end on the loopback Jenkins (both stores)."""

from __future__ import annotations

from graph.port import GraphStore
from tests.ingestors.jenkins.fake_jenkins import FakeJenkins
from tests.ingestors.jenkins.test_jenkins_ingest import Waits, _present, _run, jenkins

__all__ = ["jenkins"]  # the fixture, used by name


async def test_retry_after_on_429_and_503_is_honoured(
    store: GraphStore, jenkins: FakeJenkins
) -> None:
    jenkins.busy["/api/json"] = [(503, "9"), (429, "4")]
    jenkins.busy["/job/platform/job/search-build/api/json"] = [(429, "2")]
    waits = Waits()

    run = await _run(store, jenkins, waits)

    assert run.status == "SUCCEEDED", run.errors
    assert sorted(waits.waits) == [2.0, 4.0, 9.0]  # each Retry-After, nothing else
    assert len(jenkins.server.requests_to("/api/json")) == 3
    assert len(jenkins.server.requests_to("/job/platform/job/search-build/api/json")) == 2
    build = "build:default/acme-platform-search-jenkins-"
    present = await _present(store, [f"{build}{n}" for n in range(1, 30)])
    assert present  # the retried job's builds were read
    assert run.stats["retries"] == 3
