"""The outgoing webhooks' sender on both stores, against a real receiver on loopback: an
ingestion's changes and its finished run arrive signed; a receiver that fails a few times
gets the event on a retry; one that always fails has it dropped after its attempts (and
counted); a receiver gets only the events it asked for; a sender that restarts resumes
where the last one stopped; of two processes on one store, only the lease holder sends."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from api.metrics import Metrics
from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.notify import Notifier, NotifyTarget, delivering
from tests.gitrepo import GitRepo, component
from tests.loopback import LoopbackServer, Reply, Request, sequence

SECRET = "s3cret-for-the-receiver"
OK: Reply = (200, {}, {"ok": True})
FAILING: Reply = (503, {}, {"message": "down for a moment"})


def target(server: LoopbackServer, **options: Any) -> NotifyTarget:
    return NotifyTarget.model_validate(
        {"url": f"{server.url}/hook", "secret": SECRET, "backoff": 0.01, **options}
    )


@asynccontextmanager
async def sending(
    store: GraphStore, *targets: NotifyTarget, observer: Metrics | None = None
) -> AsyncIterator[Notifier]:
    """A sender following ``targets`` (their positions saved before the block starts)."""
    notifier = Notifier(store, targets, observer=observer, interval=0.02)
    task = asyncio.create_task(notifier.run())
    await eventually(lambda: None, store=store, targets=targets)
    try:
        yield notifier
    finally:
        await notifier.stop()
        await task


async def eventually(
    done: Callable[[], object],
    *,
    store: GraphStore | None = None,
    targets: tuple[NotifyTarget, ...] = (),
    seconds: float = 10.0,
) -> None:
    for _ in range(int(seconds / 0.02)):
        saved = [await store.feed_cursor(t.cursor) for t in targets] if store else []
        if done() is not False and None not in saved and (done() or targets):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


def counted(metrics: Metrics, outcome: str, target: NotifyTarget, event: str) -> float:
    """``stagegraph_notify_<outcome>_total{host, event}`` as /metrics would show it."""
    labels = {"host": target.host, "event": event}
    return metrics.registry.get_sample_value(f"stagegraph_notify_{outcome}_total", labels) or 0.0


def posts(server: LoopbackServer) -> list[Request]:
    return server.requests_to("/hook", "POST")


def signed(request: Request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["x-stagegraph-signature-256"])


def repo_with(tmp_path: Path, *names: str) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    for name in names:
        repo.write(f"{name}/catalog-info.yaml", component(name))
    repo.commit()
    return repo


async def test_an_ingestion_posts_signed_changes_then_its_finished_run(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a", "b")
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", OK)
        async with sending(store, target(receiver)):
            run = await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(receiver)) >= 3)
        received = posts(receiver)

    events = [r.headers["x-stagegraph-event"] for r in received]
    bodies = [orjson.loads(r.body) for r in received]
    assert events == ["entity.changed", "entity.changed", "run.finished"]
    assert all(signed(r) for r in received)
    assert all(r.headers["content-type"] == "application/json" for r in received)
    assert len({uuid.UUID(r.headers["x-stagegraph-delivery"]) for r in received}) == 3
    assert {(b["ref"], b["change"], b["runId"]) for b in bodies[:2]} == {
        (f"component:default/{n}", "CREATED", run.id) for n in "ab"
    }
    assert bodies[0]["after"]["kind"] == "Component" and bodies[0]["before"] is None
    assert (bodies[2]["id"], bodies[2]["source"], bodies[2]["status"]) == (
        run.id,
        "repo",
        "SUCCEEDED",
    )
    assert bodies[2]["counts"] == [
        {"kind": "component", "added": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    ]
    assert bodies[2]["finishedAt"] is not None


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_try(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    metrics = Metrics()
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", sequence(FAILING, (500, {}, None), OK))
        flaky = target(receiver, events=["run.finished"], attempts=5)
        async with sending(store, flaky, observer=metrics):
            await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(receiver)) >= 3)
            await asyncio.sleep(0.2)  # no more tries follow a delivery
        received = posts(receiver)

    assert len(received) == 3
    assert len({r.headers["x-stagegraph-delivery"] for r in received}) == 1
    assert len({r.body for r in received}) == 1 and all(signed(r) for r in received)
    assert counted(metrics, "retried", flaky, "run.finished") == 2
    assert counted(metrics, "delivered", flaky, "run.finished") == 1
    assert counted(metrics, "dropped", flaky, "run.finished") == 0


async def test_a_receiver_that_always_fails_has_the_event_dropped_after_its_attempts(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    metrics = Metrics()
    with LoopbackServer() as down, LoopbackServer() as refusing:
        down.route("POST", "/hook", FAILING)
        refusing.route("POST", "/hook", (404, {}, {"message": "no such hook"}))
        targets = (
            target(down, events=["run.finished"], attempts=3),
            target(refusing, events=["run.finished"], attempts=3),
        )
        async with sending(store, *targets, observer=metrics):
            first = await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: counted(metrics, "dropped", targets[0], "run.finished") == 1)
            second = await ingest_git(store, str(repo.path), name="repo")  # still goes out
            await eventually(lambda: len(posts(down)) >= 6 and len(posts(refusing)) >= 2)
            await asyncio.sleep(0.2)
        to_down, to_refusing = posts(down), posts(refusing)
        text = bytes(metrics.response().body).decode()

    assert [orjson.loads(r.body)["id"] for r in to_down] == [first.id] * 3 + [second.id] * 3
    assert [orjson.loads(r.body)["id"] for r in to_refusing] == [first.id, second.id]  # 4xx: final
    assert (
        f'stagegraph_notify_dropped_total{{event="run.finished",host="{targets[0].host}"}} 2.0'
        in text
    )
    assert (
        f'stagegraph_notify_retried_total{{event="run.finished",host="{targets[0].host}"}} 4.0'
        in text
    )
    assert (
        f'stagegraph_notify_dropped_total{{event="run.finished",host="{targets[1].host}"}} 2.0'
        in text
    )


async def test_a_receiver_gets_only_the_events_it_asked_for(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a", "b", "c")
    with LoopbackServer() as runs_only, LoopbackServer() as changes_only:
        runs_only.route("POST", "/hook", OK)
        changes_only.route("POST", "/hook", OK)
        targets = (
            target(runs_only, events=["run.finished"]),
            target(changes_only, events=["entity.changed"]),
        )
        async with sending(store, *targets):
            run = await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(runs_only)) >= 1 and len(posts(changes_only)) >= 3)
            await asyncio.sleep(0.2)
        to_runs, to_changes = posts(runs_only), posts(changes_only)

    assert [(r.headers["x-stagegraph-event"], orjson.loads(r.body)["id"]) for r in to_runs] == [
        ("run.finished", run.id)
    ]
    assert {r.headers["x-stagegraph-event"] for r in to_changes} == {"entity.changed"}
    assert len(to_changes) == 3


async def test_two_processes_on_one_store_deliver_each_event_once(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", OK)
        hook = target(receiver)
        async with (
            delivering(store, [hook], "replica-1"),
            delivering(store, [hook], "replica-2"),
        ):
            await eventually(lambda: None, store=store, targets=(hook,))
            run = await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(receiver)) >= 2)
            await asyncio.sleep(1.0)  # two polls more: a second sender would have sent by now
        received = posts(receiver)

    assert [r.headers["x-stagegraph-event"] for r in received] == [
        "entity.changed",
        "run.finished",
    ]
    assert orjson.loads(received[1].body)["id"] == run.id


async def test_a_restarted_sender_delivers_what_happened_while_it_was_down(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", OK)
        hook = target(receiver)
        async with sending(store, hook):
            pass  # the receiver's position is saved: it starts here
        run = await ingest_git(store, str(repo.path), name="repo")  # nobody is sending
        assert posts(receiver) == []
        async with sending(store, hook):
            await eventually(lambda: len(posts(receiver)) >= 2)
            await asyncio.sleep(0.2)
        async with sending(store, hook):  # and nothing is sent twice
            await asyncio.sleep(0.2)
        received = posts(receiver)

    assert [r.headers["x-stagegraph-event"] for r in received] == [
        "entity.changed",
        "run.finished",
    ], [(r.headers["x-stagegraph-delivery"], r.body[:120]) for r in received]
    assert orjson.loads(received[1].body)["id"] == run.id


async def test_retries_wait_the_backoff_then_twice_as_long_each_time(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0.01)

    with LoopbackServer() as down:
        down.route("POST", "/hook", FAILING)
        failing = target(down, events=["run.finished"], attempts=4, backoff=0.5)
        notifier = Notifier(store, [failing], interval=0.02, sleep=sleep)
        task = asyncio.create_task(notifier.run())
        try:
            await eventually(lambda: None, store=store, targets=(failing,))
            await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(down)) >= 4)
            await asyncio.sleep(0.2)  # no fifth try follows
        finally:
            await notifier.stop()
            await task
        tries = len(posts(down))

    assert tries == 4
    assert [w for w in waits if w != 0.02] == [0.5, 1.0, 2.0]  # then dropped
