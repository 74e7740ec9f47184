"""The webhook inbox on both stores: a delivery waits in the store while another worker
holds the source's lease, and the worker that can take the lease runs it, scoped; a process
that does not run the schedule takes in what it received; the lease holder takes in, as its
run ends, what waited for its lease (no polling)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.port import Delivery, GraphStore, RunRecord
from ingestors.clock import SystemClock
from ingestors.git import GitSource
from ingestors.github.config import GithubSource
from ingestors.inbox import Inbox
from ingestors.scheduler import Scheduler, lease_name
from tests.gitrepo import GitRepo, component
from tests.ingestors.test_scheduler import eventually, gated
from tests.loopback import LoopbackServer


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


async def _webhook_run(store: GraphStore, source: str) -> RunRecord:
    """The source's run started by the inbox, once it has ended."""
    found: list[RunRecord] = []

    async def ended() -> bool:
        runs = await store.get_runs(source, first=10)
        found[:] = [r for r in runs if r.trigger == "webhook" and r.status != "RUNNING"]
        return bool(found)

    await eventually(ended)
    return found[0]


async def test_a_process_that_does_not_run_the_schedule_takes_in_what_it_received(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/a/catalog-info.yaml", component("a"))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path), webhook={"secret": "s3cret-for-tests"})
    replica = Scheduler(store, [source], SystemClock(), "replica")  # its run() never goes
    now = datetime.now(UTC)
    await store.record_delivery(Delivery("git:1:repo", "repo", "push", now, ("services/a",)))

    replica.wake()
    run = await _webhook_run(store, "repo")
    await replica.stop()

    assert (run.status, run.scope) == ("SUCCEEDED", ["services/a"])
    assert await store.waiting_deliveries(["repo"], 10) == []
    assert "component:default/a" in await store.get_entities(["component:default/a"])


async def test_the_lease_holder_takes_in_what_waited_for_its_lease_when_its_run_ends(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/a/catalog-info.yaml", component("a"))
    repo.write("services/b/catalog-info.yaml", component("b"))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path), webhook={"secret": "s3cret-for-tests"})
    gate = asyncio.Event()
    holder = Scheduler(store, [source], SystemClock(), "worker-a", source_types=gated(gate))
    receiver = Scheduler(store, [source], SystemClock(), "worker-b")
    receiving = Inbox(store, receiver, ["repo"], SystemClock(), poll=None)
    manual = await holder.trigger("repo")  # holds the lease until the gate opens
    now = datetime.now(UTC)
    await store.record_delivery(Delivery("git:1:repo", "repo", "push", now, ("services/b",)))

    taken_by_receiver = await receiving.take_in()
    gate.set()
    first = await holder.wait(manual)
    run = await _webhook_run(store, "repo")
    await holder.stop()
    await receiver.stop()

    assert taken_by_receiver == []
    assert first is not None and first.trigger == "manual"
    assert (run.status, run.scope) == ("SUCCEEDED", ["services/b"])
    assert await store.waiting_deliveries(["repo"], 10) == []


async def test_payloads_are_applied_first_in_their_own_run_then_the_rest_is_read(
    store: GraphStore,
) -> None:
    with LoopbackServer() as api:  # answers nothing: /repos/acme/pay is gone (404)
        source = GithubSource(
            name="acme", org="acme", api_url=api.url, webhook={"secret": "s3cret-for-tests"}
        )
        scheduler = Scheduler(store, [source], SystemClock(), "worker-a")
        inbox = Inbox(store, scheduler, ["acme"], SystemClock())
        now = datetime.now(UTC)
        run_payload = {"workflow_run": {"id": 7, "path": "ci.yml"}, "repository": _REPO}
        await store.record_delivery(
            Delivery("github:1:acme", "acme", "push", now, ("github:acme/pay",))
        )
        await store.record_delivery(
            Delivery(
                "github:2:acme",
                "acme",
                "workflow_run.completed",
                now + timedelta(seconds=1),
                ("github:acme/pay",),
                payload=json.dumps(run_payload),
            )
        )

        (applied,) = await inbox.take_in()
        direct = await scheduler.wait(applied)
        calls_after_direct = len(api.requests)
        waiting = await store.waiting_deliveries(["acme"], 10)
        (read,) = await inbox.take_in()
        reread = await scheduler.wait(read)
        await scheduler.stop()

    assert direct is not None and reread is not None
    assert direct.cleanup == "skipped: a direct update from webhook deliveries deletes nothing"
    assert direct.skipped == ["acme/pay: run 7 of ci.yml: the pipeline is not in the catalog yet"]
    assert calls_after_direct == 0
    assert [d.id for d in waiting] == ["github:1:acme"]
    assert (reread.trigger, reread.scope) == ("webhook", ["github:acme/pay"])
    assert [r.path for r in api.requests] == ["/repos/acme/pay"]


_REPO = {
    "name": "pay",
    "full_name": "acme/pay",
    "owner": {"login": "acme"},
    "default_branch": "main",
    "clone_url": "file:///nowhere",
}
