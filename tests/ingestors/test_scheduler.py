"""The scheduler on both stores, with real git repositories and a FakeClock: schedules,
one run per source, timeouts, retries, shutdown, leases, pruning, logs and observers."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from catalog.changes import ChangeType, EntityChange
from graph.port import GraphStore, RunRecord, Scope, StaleSummary
from ingestors.clock import FakeClock
from ingestors.contract import Fetch, Schedule, SourceType
from ingestors.git import GitSource, git_fetcher
from ingestors.lookup import CatalogLookup
from ingestors.registry import SOURCE_TYPES, SourceTypes
from ingestors.scheduler import Scheduler, SchedulerStoppedError, UnknownSourceError, lease_name
from ingestors.snapshot import Snapshot
from ingestors.stream import DescriptorStream
from tests.gitrepo import GitRepo, component, group

START = datetime(2030, 1, 31, 10, 7, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


# -- helpers ---------------------------------------------------------------------------------
async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 15.0) -> None:
    """Wait (in real time, briefly) until ``check`` holds: background work is real I/O."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {within}s: {check}")
        await asyncio.sleep(0.01)


def gated(gate: asyncio.Event) -> SourceTypes:
    """The git type, but each fetch waits for ``gate`` first: a run that stays open."""

    def fetcher(source: GitSource, lookup: CatalogLookup) -> Fetch:
        fetch = git_fetcher(source, lookup)

        async def held() -> Snapshot | DescriptorStream:
            await gate.wait()
            return await fetch()

        return held

    return SOURCE_TYPES.with_type(SourceType("git", GitSource, fetcher))


class HeldStore:
    """The real store, with one step of cleanup held until ``go`` is set: ``stale`` (the read
    just before cleanup decides) or ``delete_stale`` (cleanup itself)."""

    def __init__(self, store: GraphStore, hold: str) -> None:
        self._store = store
        self._hold = hold
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def _wait(self, step: str) -> None:
        if self._hold == step:
            self.reached.set()
            await self.go.wait()

    async def stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> StaleSummary:
        await self._wait("stale")
        return await self._store.stale(source, run_id, scope, kept)

    async def delete_stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> dict[str, int]:
        await self._wait("delete_stale")
        return await self._store.delete_stale(source, run_id, scope, kept)


class Recorder:
    """A RunObserver that notes (id, status) as it is told."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.finished: list[tuple[str, str]] = []

    def run_started(self, run: RunRecord) -> None:
        self.started.append((run.id, run.status))

    def run_finished(self, run: RunRecord) -> None:
        self.finished.append((run.id, run.status))


def catalog(tmp_path: Path, names: tuple[str, ...] = ("a", "b", "c")) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.write("org/catalog-info.yaml", group("team-a"))
    for name in names:
        repo.write(f"services/{name}/catalog-info.yaml", component(name))
    repo.commit()
    return repo


def source(url: str, **options: Any) -> GitSource:
    return GitSource(name="cat", url=url, **options)


async def runs(store: GraphStore, name: str = "cat") -> list[RunRecord]:
    """Runs of the source, oldest first."""
    return list(reversed(await store.get_runs(name, first=100)))


async def refs(store: GraphStore) -> set[str]:
    keys = [f"component:default/{n}" for n in "abcd"]
    return {e.name for e in (await store.get_entities(keys)).values()}


async def lease_is_free(store: GraphStore, clock: FakeClock, name: str = "cat") -> bool:
    now = clock.now()
    free = await store.acquire_lease(lease_name(name), "probe", now, now + timedelta(seconds=1))
    if free:
        await store.release_lease(lease_name(name), "probe")
    return free


async def step_to_next_run(scheduler: Scheduler, clock: FakeClock, name: str = "cat") -> datetime:
    """Wait until the scheduler sleeps towards its next run, then move the clock there."""

    def sleeping() -> bool:
        when = scheduler.next_run_at(name)
        return (
            scheduler.active_run(name) is None
            and when is not None
            and any(abs(d - when) < timedelta(milliseconds=1) for d in clock.deadlines)
        )

    await eventually(sleeping)
    when = scheduler.next_run_at(name)
    assert when is not None
    target = max([when, *(d for d in clock.deadlines if abs(d - when) < timedelta(seconds=1))])
    await clock.set(target)
    return target


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def stopper() -> AsyncIterator[list[Scheduler]]:
    """Schedulers a test made, stopped at its end whatever happened."""
    made: list[Scheduler] = []
    yield made
    for scheduler in made:
        await scheduler.stop(grace_seconds=0)


def make(
    store: GraphStore,
    sources: list[GitSource],
    clock: FakeClock,
    stopper: list[Scheduler],
    owner: str = "worker-1",
    **options: Any,
) -> Scheduler:
    scheduler = Scheduler(store, sources, clock, owner, rng=random.Random(4), **options)
    stopper.append(scheduler)
    return scheduler


# -- requested runs --------------------------------------------------------------------------
async def test_trigger_while_running_answers_with_the_same_run(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    gate = asyncio.Event()
    observer = Recorder()
    scheduler = make(
        store, [source(str(repo.path))], clock, stopper, source_types=gated(gate), observer=observer
    )

    first = await scheduler.trigger("cat")
    second = await scheduler.trigger("cat")
    both = await asyncio.gather(scheduler.trigger("cat"), scheduler.trigger("cat", "cli"))
    assert not await lease_is_free(store, clock)
    gate.set()
    record = await scheduler.wait(first)

    assert second == first and list(both) == [first, first]
    assert record is not None and (record.id, record.status, record.trigger) == (
        first,
        "SUCCEEDED",
        "manual",
    )
    assert [(r.id, r.status) for r in await runs(store)] == [(first, "SUCCEEDED")]
    assert record.started_at == record.finished_at == START  # stamped by the injected clock
    assert observer.started == [(first, "RUNNING")]
    assert observer.finished == [(first, "SUCCEEDED")]
    assert await lease_is_free(store, clock)
    assert scheduler.active_run("cat") is None


async def test_run_once_returns_the_final_record(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    scheduler = make(store, [source(str(repo.path))], clock, stopper)

    record = await scheduler.run_once("cat")

    assert (record.status, record.trigger) == ("SUCCEEDED", "cli")
    assert await refs(store) == {"a", "b", "c"}
    with pytest.raises(
        UnknownSourceError, match="no source is named 'nope'; configured sources: cat"
    ):
        await scheduler.trigger("nope")


# -- schedules -------------------------------------------------------------------------------
async def test_every_runs_after_the_initial_delay_then_at_its_interval(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    every = source(
        str(repo.path), schedule=Schedule(every=30 * MINUTE), initial_delay=timedelta(seconds=90)
    )
    scheduler = make(store, [every], clock, stopper)
    running = asyncio.create_task(scheduler.run())

    first = await step_to_next_run(scheduler, clock)
    await eventually(lambda: scheduler.next_run_at("cat") == first + 30 * MINUTE)
    second = await step_to_next_run(scheduler, clock)
    await eventually(lambda: scheduler.next_run_at("cat") is not None)
    await scheduler.stop()
    await running

    assert first == START + timedelta(seconds=90)
    assert second == first + 30 * MINUTE
    assert [(r.started_at, r.trigger, r.status) for r in await runs(store)] == [
        (first, "schedule", "SUCCEEDED"),
        (second, "schedule", "SUCCEEDED"),
    ]
    assert scheduler.next_run_at("cat") is None  # stopped


async def test_every_counts_from_the_last_recorded_run_after_a_restart(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    every = source(str(repo.path), schedule=Schedule(every=30 * MINUTE))
    await make(store, [every], clock, stopper, owner="before-restart").run_once("cat")
    await clock.advance(10 * 60)

    scheduler = make(store, [every], clock, stopper)
    running = asyncio.create_task(scheduler.run())
    await eventually(lambda: scheduler.next_run_at("cat") is not None)

    assert scheduler.next_run_at("cat") == START + 30 * MINUTE
    await scheduler.stop()
    await running


async def test_cron_runs_on_its_slots_with_jitter(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    cron = source(
        str(repo.path), schedule=Schedule(cron="*/15 * * * *"), jitter=timedelta(seconds=40)
    )
    scheduler = make(store, [cron], clock, stopper)
    running = asyncio.create_task(scheduler.run())

    first = await step_to_next_run(scheduler, clock)
    second = await step_to_next_run(scheduler, clock)
    await eventually(lambda: scheduler.next_run_at("cat") is not None)
    await scheduler.stop()
    await running

    slots = [START.replace(minute=15, second=0), START.replace(minute=30, second=0)]
    for slot, started in zip(slots, (first, second), strict=True):
        assert slot <= started <= slot + timedelta(seconds=40)
    assert first - slots[0] != second - slots[1]  # jitter is drawn per run
    assert [r.started_at for r in await runs(store)] == [first, second]


async def test_a_scheduled_slot_is_skipped_while_another_worker_holds_the_lease(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    every = source(str(repo.path), schedule=Schedule(every=30 * MINUTE))
    await store.acquire_lease(lease_name("cat"), "other", START, START + 5 * MINUTE)
    scheduler = make(store, [every], clock, stopper)
    running = asyncio.create_task(scheduler.run())

    await eventually(lambda: scheduler.next_run_at("cat") == START + 30 * MINUTE)
    await scheduler.stop()
    await running

    assert await runs(store) == []  # skipped quietly: no record per replica and slot


# -- timeouts --------------------------------------------------------------------------------
async def test_a_run_past_its_timeout_is_timed_out_and_deletes_nothing(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    await make(store, [source(str(repo.path))], clock, stopper, owner="first").run_once("cat")
    repo.remove("services/c/catalog-info.yaml")
    repo.write("services/d/catalog-info.yaml", component("d"))
    repo.commit()
    held = HeldStore(store, hold="stale")  # the run has written and is about to clean up
    timed = source(str(repo.path), timeout=5 * MINUTE)
    scheduler = make(cast(GraphStore, held), [timed], clock, stopper)

    run_id = await scheduler.trigger("cat")
    await asyncio.wait_for(held.reached.wait(), 15)
    await clock.advance(5 * 60)
    record = await scheduler.wait(run_id)

    assert record is not None and record.status == "TIMED_OUT"
    assert record.errors[0].message == (
        "the run took longer than its timeout of 5m and was cancelled; nothing was deleted"
    )
    assert record.cleanup == "skipped: the run did not finish, so nothing was deleted"
    assert record.finished_at == START + 5 * MINUTE
    assert await refs(store) == {"a", "b", "c", "d"}  # c kept; d written before the timeout
    assert sorted(r.status for r in await runs(store)) == ["SUCCEEDED", "TIMED_OUT"]
    assert await lease_is_free(store, clock)


async def test_a_timeout_during_cleanup_lets_it_land_and_records_it(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    await make(store, [source(str(repo.path))], clock, stopper, owner="first").run_once("cat")
    repo.remove("services/c/catalog-info.yaml")
    repo.commit()
    held = HeldStore(store, hold="delete_stale")
    timed = source(str(repo.path), timeout=5 * MINUTE)
    scheduler = make(cast(GraphStore, held), [timed], clock, stopper)

    run_id = await scheduler.trigger("cat")
    await asyncio.wait_for(held.reached.wait(), 15)
    await clock.advance(5 * 60)
    await asyncio.sleep(0.05)
    held.go.set()  # the cleanup transaction was already under way: it commits
    record = await scheduler.wait(run_id)

    assert record is not None and record.status == "SUCCEEDED"
    assert record.cleanup == "done: 1 stale entities deleted"
    assert record.warnings[-1].startswith("the run was cancelled while its cleanup")
    assert await refs(store) == {"a", "b"}
    assert await lease_is_free(store, clock)


# -- retries ---------------------------------------------------------------------------------
async def test_a_failing_scheduled_source_retries_with_backoff_until_the_next_slot(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    failing = source(
        str(tmp_path / "missing"),
        schedule=Schedule(every=10 * MINUTE),
        backoff=MINUTE,
        max_backoff=4 * MINUTE,
        max_retries=50,
    )
    scheduler = make(store, [failing], clock, stopper)
    running = asyncio.create_task(scheduler.run())

    await eventually(lambda: scheduler.next_run_at("cat") is not None)
    while (when := await step_to_next_run(scheduler, clock)) < START + 10 * MINUTE:
        pass
    await eventually(lambda: scheduler.next_run_at("cat") is not None)
    await scheduler.stop()
    await running

    recorded = await runs(store)
    assert [r.status for r in recorded] == ["FAILED"] * len(recorded)
    triggers = [r.trigger for r in recorded]
    retries = recorded[1:-1]
    assert triggers == ["schedule", *["retry"] * len(retries), "schedule"]
    assert 2 <= len(retries) < 50  # stopped by the next slot, not by maxRetries
    assert recorded[-1].started_at == when == START + 10 * MINUTE
    previous = START
    for attempt, retry in enumerate(retries, start=1):
        ceiling = min(MINUTE * 2 ** (attempt - 1), 4 * MINUTE)
        assert previous <= retry.started_at <= previous + ceiling
        previous = retry.started_at
    assert "no such file or folder" in recorded[0].errors[0].message


async def test_retries_stop_at_max_retries(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    failing = source(
        str(tmp_path / "missing"),
        schedule=Schedule(every=60 * MINUTE),
        backoff=timedelta(seconds=10),
        max_retries=2,
    )
    scheduler = make(store, [failing], clock, stopper)
    running = asyncio.create_task(scheduler.run())

    for _ in range(3):
        await step_to_next_run(scheduler, clock)
    await scheduler.stop()
    await running

    recorded = await runs(store)
    assert [r.trigger for r in recorded] == ["schedule", "retry", "retry", "schedule"]
    assert recorded[-1].started_at == START + 60 * MINUTE


# -- shutdown --------------------------------------------------------------------------------
async def test_stop_lets_a_run_finish_within_the_grace_period(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    gate = asyncio.Event()
    scheduler = make(store, [source(str(repo.path))], clock, stopper, source_types=gated(gate))
    run_id = await scheduler.trigger("cat")

    stopping = asyncio.create_task(scheduler.stop(grace_seconds=30))
    await eventually(lambda: len(clock.deadlines) >= 3)  # timeout, lease renewal, grace
    await clock.advance(20)
    gate.set()
    await stopping

    (record,) = await runs(store)
    assert (record.id, record.status) == (run_id, "SUCCEEDED")
    assert await lease_is_free(store, clock)
    with pytest.raises(SchedulerStoppedError):
        await scheduler.trigger("cat")


async def test_stop_cancels_a_run_after_the_grace_period(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    await make(store, [source(str(repo.path))], clock, stopper, owner="first").run_once("cat")
    repo.remove("services/c/catalog-info.yaml")
    repo.commit()
    held = HeldStore(store, hold="stale")
    scheduler = make(cast(GraphStore, held), [source(str(repo.path))], clock, stopper)
    run_id = await scheduler.trigger("cat")
    await asyncio.wait_for(held.reached.wait(), 15)

    stopping = asyncio.create_task(scheduler.stop(grace_seconds=30))
    await eventually(lambda: START + timedelta(seconds=30) in clock.deadlines)
    await clock.advance(30)
    await stopping

    record = next(r for r in await runs(store) if r.id == run_id)
    assert record.status == "FAILED"
    assert "grace period of 30s" in record.errors[0].message
    assert await refs(store) == {"a", "b", "c"}
    assert await lease_is_free(store, clock)


# -- leases ----------------------------------------------------------------------------------
async def test_a_dead_workers_lease_is_taken_over_once_it_expires(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    dead = RunRecord(
        id="dead-run",
        source="cat",
        source_type="git",
        status="RUNNING",
        trigger="schedule",
        started_at=START - MINUTE,
    )
    await store.save_run(dead)
    await store.acquire_lease(lease_name("cat"), "dead-worker", START, START + MINUTE)
    scheduler = make(store, [source(str(repo.path))], clock, stopper, lease_ttl=60)

    while_held = await scheduler.trigger("cat")
    await clock.advance(61)
    taken = await scheduler.trigger("cat")
    record = await scheduler.wait(taken)

    assert while_held == "dead-run"
    assert record is not None and record.status == "SUCCEEDED"
    assert record.started_at == START + timedelta(seconds=61)
    old = next(r for r in await runs(store) if r.id == "dead-run")
    assert (old.status, old.finished_at) == ("FAILED", START + timedelta(seconds=61))
    assert "stopped before it finished" in old.errors[0].message


async def test_a_request_while_the_lease_is_held_without_a_run_is_recorded_skipped(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    await store.acquire_lease(lease_name("cat"), "other", START, START + MINUTE)
    observer = Recorder()
    scheduler = make(store, [source(str(repo.path))], clock, stopper, observer=observer)

    skipped = await scheduler.run_once("cat", trigger="manual")

    assert (skipped.status, skipped.trigger) == ("SKIPPED", "manual")
    assert "another worker holds this source's lease" in skipped.errors[0].message
    assert [(r.id, r.status) for r in await runs(store)] == [(skipped.id, "SKIPPED")]
    assert observer.finished == [(skipped.id, "SKIPPED")] and observer.started == []


async def test_a_run_that_loses_its_lease_is_cancelled(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    gate = asyncio.Event()
    scheduler = make(
        store, [source(str(repo.path))], clock, stopper, source_types=gated(gate), lease_ttl=30
    )
    run_id = await scheduler.trigger("cat")
    await eventually(lambda: START + timedelta(seconds=10) in clock.deadlines)
    # Another worker sees the lease as expired (as if this one had stalled) and takes it.
    later = START + timedelta(seconds=31)
    assert await store.acquire_lease(lease_name("cat"), "other", later, later + MINUTE)

    await clock.advance(10)  # the renewal finds the lease gone
    record = await scheduler.wait(run_id)

    assert record is not None and record.status == "FAILED"
    assert "lost its lease" in record.errors[0].message


# -- history and logs ------------------------------------------------------------------------
async def test_old_runs_are_pruned_after_each_run(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    for age_days in (40, 20):
        started = START - timedelta(days=age_days)
        await store.save_run(
            RunRecord(
                id=f"old-{age_days}",
                source="cat",
                source_type="git",
                status="SUCCEEDED",
                trigger="schedule",
                started_at=started,
                finished_at=started,
            )
        )
    scheduler = make(
        store, [source(str(repo.path))], clock, stopper, run_retention=timedelta(days=30)
    )

    record = await scheduler.run_once("cat")

    assert [r.id for r in await runs(store)] == ["old-20", record.id]


async def test_old_entity_changes_are_pruned_after_each_run(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    await store.record_changes(
        [
            EntityChange(
                id=f"old-{age_days}",
                at=START - timedelta(days=age_days),
                source="cat",
                run_id=None,
                ref="component:default/old",
                kind="Component",
                change=ChangeType.DELETED,
                fields=(),
                before={},
                after=None,
            )
            for age_days in (10, 5)
        ]
    )
    scheduler = make(
        store, [source(str(repo.path))], clock, stopper, change_retention=timedelta(days=7)
    )

    await scheduler.run_once("cat")

    assert [c.id for c in await store.changes(ref="component:default/old")] == ["old-5"]


async def test_every_log_line_of_a_run_carries_its_run_id(
    store: GraphStore,
    tmp_path: Path,
    clock: FakeClock,
    stopper: list[Scheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = catalog(tmp_path)
    scheduler = make(store, [source(str(repo.path), timeout=MINUTE)], clock, stopper)
    gate = asyncio.Event()
    slow = make(
        store,
        [GitSource(name="slow", url=str(repo.path), timeout=MINUTE)],
        clock,
        stopper,
        owner="worker-2",
        source_types=gated(gate),
    )
    caplog.set_level(logging.INFO, logger="stagegraph")

    done = await scheduler.run_once("cat")
    timed_out = await slow.trigger("slow")
    await eventually(lambda: START + MINUTE in clock.deadlines)
    await clock.advance(60)
    await slow.wait(timed_out)

    lines = [r for r in caplog.records if r.name.startswith("stagegraph")]
    by_run = {
        run_id: [r.getMessage() for r in lines if getattr(r, "run_id", None) == run_id]
        for run_id in (done.id, timed_out)
    }
    assert by_run[done.id][0] == "run started (trigger cli)"
    assert by_run[done.id][-1].startswith("run ended SUCCEEDED")
    assert [m.split(":")[0] for m in by_run[timed_out]] == [
        "run started (trigger manual)",
        "run exceeded its timeout of 1m",
        "run cancelled",
        "run ended TIMED_OUT in 60.0s",
    ]
    assert all(
        getattr(r, "source", None) in ("cat", "slow") for r in lines if "run" in r.getMessage()
    )


# -- sources taken on and let go at run time ----------------------------------------------------
async def test_a_source_added_at_run_time_runs_on_its_schedule_and_removal_cancels_its_run(
    store: GraphStore, tmp_path: Path, clock: FakeClock, stopper: list[Scheduler]
) -> None:
    repo = catalog(tmp_path)
    gate = asyncio.Event()
    scheduler = make(store, [], clock, stopper, source_types=gated(gate))
    running = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    added = source(str(repo.path), schedule=Schedule(every=30 * MINUTE), initial_delay=MINUTE)

    scheduler.add_source(added)
    with pytest.raises(ValueError, match="already named 'cat'"):
        scheduler.add_source(added)
    await eventually(lambda: scheduler.next_run_at("cat") == START + MINUTE)
    await clock.set(START + MINUTE)
    await eventually(lambda: scheduler.active_run("cat") is not None)
    run_id = scheduler.active_run("cat")
    await scheduler.remove_source("cat")
    await scheduler.stop()
    await running

    assert [(r.id, r.status) for r in await runs(store)] == [(run_id, "FAILED")]
    assert "the source was removed" in (await runs(store))[0].errors[0].message
    assert await refs(store) == set()
    assert await lease_is_free(store, clock)
    with pytest.raises(UnknownSourceError):
        await scheduler.trigger("cat")
