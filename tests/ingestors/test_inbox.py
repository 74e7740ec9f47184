"""The webhook inbox on both stores: a delivery waits in the store while another worker
holds the source's lease, and the worker that can take the lease runs it, scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.port import Delivery, GraphStore
from ingestors.clock import SystemClock
from ingestors.git import GitSource
from ingestors.inbox import Inbox
from ingestors.scheduler import Scheduler, lease_name
from tests.gitrepo import GitRepo, component


async def test_a_delivery_waits_for_the_lease_then_runs_scoped(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/a/catalog-info.yaml", component("a"))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path), webhook={"secret": "s3cret-for-tests"})
    scheduler = Scheduler(store, [source], SystemClock(), "worker-b")
    inbox = Inbox(store, scheduler, ["repo"], SystemClock())
    now = datetime.now(UTC)
    await store.record_delivery(Delivery("git:1:repo", "repo", "push", now, ("services/a",)))
    await store.acquire_lease(lease_name("repo"), "worker-a", now, now + timedelta(minutes=1))

    while_held = await inbox.take_in()
    waiting = await store.waiting_deliveries(["repo"], 10)
    await store.release_lease(lease_name("repo"), "worker-a")
    started = await inbox.take_in()
    run = await scheduler.wait(started[0])
    await scheduler.stop()

    assert while_held == [] and [d.id for d in waiting] == ["git:1:repo"]
    assert run is not None
    assert (run.status, run.trigger, run.scope) == ("SUCCEEDED", "webhook", ["services/a"])
    assert await store.waiting_deliveries(["repo"], 10) == []
    assert "component:default/a" in await store.get_entities(["component:default/a"])
