"""Locations registered at run time, on both stores, with real git repositories: stored,
ingested at once, scheduled, picked up again after a restart, removed with their entities."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graph.port import EntityFilter, GraphStore
from ingestors.clock import FakeClock
from ingestors.git.targets import InvalidTargetError
from ingestors.location import location_ref
from ingestors.locations import (
    preview_location,
    register_location,
    remove_location,
    sync_locations,
)
from ingestors.scheduler import Scheduler
from tests.gitrepo import GitRepo, component, group
from tests.ingestors.test_scheduler import eventually

START = datetime(2030, 1, 31, 10, 7, 30, tzinfo=UTC)
REFRESH = timedelta(minutes=30)


@pytest.fixture
async def schedulers() -> AsyncIterator[list[Scheduler]]:
    made: list[Scheduler] = []
    yield made
    for scheduler in made:
        await scheduler.stop(grace_seconds=0)


def running(store: GraphStore, clock: FakeClock, made: list[Scheduler], owner: str) -> Scheduler:
    scheduler = Scheduler(store, [], clock, owner, rng=random.Random(1))
    made.append(scheduler)
    asyncio.get_running_loop().create_task(scheduler.run())
    return scheduler


def shop(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "shop")
    repo.write("org/catalog-info.yaml", group("team-a"))
    repo.write("services/cart/catalog-info.yaml", component("cart"))
    repo.commit()
    return repo


async def source_refs(store: GraphStore, source: str) -> list[str]:
    found = await store.select_entities(EntityFilter(source=source), [], 0, 100)
    return sorted(e.ref for e in found)


async def deletions(store: GraphStore, source: str) -> list[str]:
    """The refs the change log records as deleted from ``source`` (no run deletes them:
    ``run_id`` None), each with what it was."""
    changes = await store.changes(source=source, limit=100)
    gone = [c for c in changes if c.change == "DELETED"]
    assert all(c.run_id is None and c.before and c.after is None for c in gone)
    return sorted(c.ref for c in gone)


async def test_a_registered_location_is_stored_ingested_at_once_then_scheduled(
    store: GraphStore, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    repo = shop(tmp_path)
    clock = FakeClock(START)
    scheduler = running(store, clock, schedulers, "api")

    registered = await register_location(store, repo.url(), scheduler=scheduler, refresh=REFRESH)
    again = await register_location(store, repo.url(), scheduler=scheduler, refresh=REFRESH)

    location = registered.location
    assert registered.created and registered.run is not None
    assert (registered.run.status, registered.run.trigger) == ("SUCCEEDED", "location")
    assert registered.entity_refs == [
        "component:default/cart",
        "group:default/team-a",
        location_ref(repo.url()),
    ]
    assert await store.get_locations() == [location]
    assert (location.type, location.target, location.url) == ("url", repo.url(), repo.url())
    assert (again.created, again.run, again.location) == (False, None, location)
    await eventually(lambda: scheduler.next_run_at(location.source) is not None)
    assert scheduler.next_run_at(location.source) == START + REFRESH
    cart = (await store.get_entities(["component:default/cart"]))["component:default/cart"]
    annotations = cart.document["metadata"]["annotations"]
    assert annotations["backstage.io/managed-by-origin-location"] == f"url:{repo.url()}"
    assert annotations["backstage.io/managed-by-location"].startswith(f"git:{repo.url()}@")


async def test_stored_locations_survive_a_restart_and_go_with_their_entities(
    store: GraphStore, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    repo = shop(tmp_path)
    clock = FakeClock(START)
    first = running(store, clock, schedulers, "before")
    location = (await register_location(store, repo.url(), scheduler=first)).location
    await first.stop(grace_seconds=0)

    after = running(store, clock, schedulers, "after")  # a restart, or a worker beside the API
    assert await sync_locations(store, after, REFRESH) == (1, 0)
    assert await sync_locations(store, after, REFRESH) == (0, 0)
    rerun = await after.run_once(location.source, "refresh")
    held = await source_refs(store, location.source)
    removed = await remove_location(store, location.id, scheduler=after)

    assert rerun.status == "SUCCEEDED"
    assert removed == location
    assert await store.get_locations() == []
    assert await source_refs(store, location.source) == []
    assert await deletions(store, location.source) == held
    assert location.source not in {s.name for s in after.sources}
    assert await remove_location(store, location.id, scheduler=after) is None


async def test_a_worker_lets_go_of_a_location_removed_elsewhere_and_deletes_its_entities(
    store: GraphStore, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    repo = shop(tmp_path)
    clock = FakeClock(START)
    worker = running(store, clock, schedulers, "worker")
    location = (await register_location(store, repo.url(), scheduler=None)).location
    await sync_locations(store, worker, REFRESH)
    await store.delete_location(location.id)  # removed by an API replica without this worker

    held = await source_refs(store, location.source)
    assert await sync_locations(store, worker, REFRESH) == (0, 1)
    assert await source_refs(store, location.source) == []
    assert await deletions(store, location.source) == held


async def test_a_github_blob_url_is_read_as_its_repository_ref_and_path(
    store: GraphStore,
) -> None:
    target = "https://github.invalid/acme/shop/blob/main/services/cart/catalog-info.yaml"

    registered = await register_location(store, target, scheduler=None)

    location = registered.location
    assert (location.url, location.ref, location.paths) == (
        "https://github.invalid/acme/shop",
        "main",
        ("services/cart/catalog-info.yaml",),
    )
    # .invalid never resolves: the location is kept, its first run says why it failed
    assert registered.run is not None and registered.run.status == "FAILED"
    with pytest.raises(InvalidTargetError):
        await register_location(store, "ftp://example.com/x", scheduler=None)


async def test_a_preview_reads_the_target_and_stores_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = shop(tmp_path)

    preview = await preview_location(repo.url(), store=store)

    assert sorted(str(e.ref) for e in preview.entities) == [
        "component:default/cart",
        "group:default/team-a",
        location_ref(repo.url()),
    ]
    assert preview.errors == []
    assert await store.get_locations() == []
    assert await source_refs(store, preview.location.source) == []
