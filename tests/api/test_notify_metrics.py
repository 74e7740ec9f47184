"""The outgoing webhooks' counters on every process, both stores: the sender saves its
outcomes with each receiver's position, so a process that does not send (another worker of
``serve --workers N``, which answers a scrape as often) reports the same totals at its
scrape, and a sender that takes over counts on from them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from api.metrics import Metrics
from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.notify import Notifier, NotifyTarget
from tests.ingestors.test_notify import FAILING, OK, counted, eventually, posts, repo_with, target
from tests.loopback import LoopbackServer, sequence


@asynccontextmanager
async def sending(store: GraphStore, flaky: NotifyTarget, metrics: Metrics) -> AsyncIterator[None]:
    notifier = Notifier(store, [flaky], observer=metrics, interval=0.02)
    task = asyncio.create_task(notifier.run())
    await eventually(lambda: None, store=store, targets=(flaky,))
    try:
        yield
    finally:
        await notifier.stop()
        await task


def outcomes(metrics: Metrics, flaky: NotifyTarget) -> tuple[float, float, float]:
    return (
        counted(metrics, "delivered", flaky, "run.finished"),
        counted(metrics, "retried", flaky, "run.finished"),
        counted(metrics, "dropped", flaky, "run.finished"),
    )


async def test_a_process_that_does_not_send_reports_the_senders_counts_from_the_store(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    sender, other, successor = Metrics(), Metrics(), Metrics()
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", sequence(FAILING, FAILING, OK))
        flaky = target(receiver, events=["run.finished"], attempts=5)
        async with sending(store, flaky, sender):
            await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: counted(sender, "delivered", flaky, "run.finished") == 1)
            await asyncio.sleep(0.3)  # the page's position (and counts) is saved
        await other.refresh_notify(store, [flaky])
        first = outcomes(other, flaky)
        await other.refresh_notify(store, [flaky])  # a second scrape adds nothing
        again = outcomes(other, flaky)

        async with sending(store, flaky, successor):  # a takeover: counts go on
            await ingest_git(store, str(repo.path), name="repo")
            await eventually(lambda: len(posts(receiver)) >= 4)
            await asyncio.sleep(0.3)
        await other.refresh_notify(store, [flaky])
        await successor.refresh_notify(store, [flaky])

    assert first == again == (1.0, 2.0, 0.0)
    assert outcomes(sender, flaky) == (1.0, 2.0, 0.0)
    assert outcomes(other, flaky) == outcomes(successor, flaky) == (2.0, 2.0, 0.0)


async def test_counts_are_saved_while_a_receiver_keeps_failing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path, "a")
    other = Metrics()
    with LoopbackServer() as down:
        down.route("POST", "/hook", FAILING)
        # one event, the change of a: tried at 0 s, 1 s (retried twice by then) and 3 s
        failing = target(down, events=["entity.changed"], attempts=3, backoff=1.0)
        async with sending(store, failing, Metrics()):
            await ingest_git(store, str(repo.path), name="repo")
            for _ in range(200):
                await other.refresh_notify(store, [failing])
                if counted(other, "retried", failing, "entity.changed") >= 2:
                    break
                await asyncio.sleep(0.05)
            tries_then = len(posts(down))

    assert counted(other, "retried", failing, "entity.changed") == 2
    assert tries_then == 2  # the event was still being retried
