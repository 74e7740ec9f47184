"""Locations registered at run time (Backstage's ``POST /locations``): each is a
``type: location`` source (:mod:`ingestors.location`) kept in the store
(:class:`graph.port.Locations`), so it outlives the process, run at once and then on its
schedule by the :class:`~ingestors.scheduler.Scheduler`.

- :func:`register_location` stores a location, hands its source to the scheduler and
  ingests it at once: the catalog API's ``POST /locations`` and the scaffolder's
  ``catalog:register`` action call it.
- :func:`preview_location` reads a target without storing anything (``dryRun=true``).
- :func:`remove_location` lets the source go and deletes the location with every entity
  and relation its source holds.
- :func:`sync_locations` brings a scheduler in line with the stored locations (at start,
  and now and then in a worker, which learns of registrations made by an API replica).

A location's source is named ``location-<id>``; its entities carry that name. A location
registered with a ``template`` (``catalog:register``) keeps it: every read of the location,
at once, on refresh or on schedule, annotates its entities with that template.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from catalog.entity import Entity
from graph.port import EntityFilter, GraphStore, LocationRecord, RunRecord, StoredEntity
from ingestors.changes import deleted_changes
from ingestors.contract import Schedule
from ingestors.git.targets import parse_target
from ingestors.location import (
    LOCATION_TYPE,
    SOURCE_TYPE,
    LocationSource,
    location_fetch,
    read_location,
)
from ingestors.runner import RunPolicy, run_ingestion
from ingestors.scheduler import Scheduler

log = logging.getLogger("stagegraph.locations")

#: how often a registered location is read again unless the caller says otherwise
DEFAULT_REFRESH = timedelta(minutes=30)
SOURCE_PREFIX = "location-"
#: the most entity refs a registration lists
MAX_LISTED = 10_000
#: entities read (and changes recorded) per call when a location's source is forgotten
FORGET_PAGE = 2000


@dataclass(frozen=True)
class Registration:
    """The outcome of :func:`register_location`.

    ``created`` is False when the target was registered already: nothing was stored or
    run, and ``location`` is the one registered before. ``run`` is the ingestion made at
    once (None when nothing was created); ``entity_refs`` are the refs the location's
    source holds now, sorted (its own ``location:default/generated-…`` included).
    """

    location: LocationRecord
    created: bool
    run: RunRecord | None
    entity_refs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    """What registering a target would add (:func:`preview_location`): its entities as
    read, and the problems met reading them."""

    location: LocationRecord
    entities: list[Entity]
    errors: list[str]


def source_name(location_id: str) -> str:
    return f"{SOURCE_PREFIX}{location_id}"


def new_location(
    target: str,
    *,
    type_: str = LOCATION_TYPE,
    now: datetime | None = None,
    template: str | None = None,
) -> LocationRecord:
    """A location record for ``target`` with a new id (not stored); raises
    :class:`~ingestors.git.targets.InvalidTargetError` when the target names no
    repository, and ValueError for a type other than ``url``."""
    if type_ != LOCATION_TYPE:
        raise ValueError(f"location type {type_!r} is not supported; use type: {LOCATION_TYPE}")
    git = parse_target(target)
    location_id = str(uuid.uuid4())
    return LocationRecord(
        id=location_id,
        type=type_,
        target=target.strip(),
        source=source_name(location_id),
        url=git.url,
        created_at=now or datetime.now(UTC),
        ref=git.ref,
        paths=git.paths,
        template=template,
    )


def location_source(
    location: LocationRecord, refresh: timedelta, *, first_after: timedelta = timedelta(0)
) -> LocationSource:
    """The source that reads ``location`` every ``refresh``, the first time no sooner than
    ``first_after`` from when the scheduler takes it on."""
    return LocationSource(
        name=location.source,
        target=location.target,
        schedule=Schedule(every=refresh),
        initial_delay=first_after,
        template=location.template,
    )


async def register_location(
    store: GraphStore,
    target: str,
    *,
    scheduler: Scheduler | None,
    refresh: timedelta = DEFAULT_REFRESH,
    type_: str = LOCATION_TYPE,
    policy: RunPolicy | None = None,
    trigger: str = "location",
    template: str | None = None,
) -> Registration:
    """Register ``target`` (a git repository URL, or a GitHub/GitLab URL of a descriptor
    file or folder) and ingest it now; see :class:`Registration`.

    With a ``scheduler``, the location's source joins it (read again every ``refresh``)
    and the run at once goes through it (under the source's lease); without one, the run
    is made here and the location is picked up by whichever scheduler next loads the
    stored locations (:func:`sync_locations`). Raises
    :class:`~ingestors.git.targets.InvalidTargetError` for a target that names no
    repository. A target that cannot be read is still registered: its run is FAILED and
    says why, as Backstage keeps a location whose target is unreachable. ``template``: the
    Template ref the location's entities are annotated with (the scaffolder's).
    """
    wanted = new_location(target, type_=type_, template=template)
    location = await store.add_location(wanted)
    if location.id != wanted.id:
        return Registration(location, False, None, await _refs(store, location.source))
    if scheduler is not None:
        scheduler.add_source(location_source(location, refresh, first_after=refresh))
        run = await scheduler.run_once(location.source, trigger)
    else:
        run = await run_ingestion(
            store,
            source=location.source,
            source_type=SOURCE_TYPE,
            fetch=location_fetch(location.target, location.template),
            trigger=trigger,
            policy=policy,
        )
    log.info(
        "registered location %s (%s): run %s",
        location.id,
        location.target,
        run.status,
        extra={"run_id": run.id, "source": location.source},
    )
    return Registration(location, True, run, await _refs(store, location.source))


async def preview_location(
    target: str, *, type_: str = LOCATION_TYPE, store: GraphStore | None = None
) -> Preview:
    """What :func:`register_location` would add, read without storing anything. Raises
    :class:`~ingestors.git.targets.InvalidTargetError` for a target that names no
    repository and :class:`~ingestors.errors.SourceUnavailableError` for one that cannot
    be read."""
    location = new_location(target, type_=type_)
    if store is not None:
        for stored in await store.get_locations():
            if (stored.type, stored.target) == (location.type, location.target):
                location = stored
    snapshot = await asyncio.to_thread(read_location, location.target, type_, location.template)
    errors = [f"{e.file}: {e.message}" if e.file else e.message for e in snapshot.errors]
    errors += [f"{r.error.file}: {r.error.message}" for r in snapshot.rejected]
    return Preview(location, [d.entity for d in snapshot.descriptors], errors)


async def remove_location(
    store: GraphStore, location_id: str, *, scheduler: Scheduler | None
) -> LocationRecord | None:
    """Remove the location: its source leaves the scheduler (a run going on is cancelled
    first), then the location and every entity and relation of its source are deleted.
    None when no location has this id."""
    found = await store.get_locations([location_id])
    if not found:
        return None
    (location,) = found
    if scheduler is not None and location.source in {s.name for s in scheduler.sources}:
        await scheduler.remove_source(location.source)
    await store.delete_location(location.id)
    await _forget(store, location.source)
    return location


async def sync_locations(
    store: GraphStore, scheduler: Scheduler, refresh: timedelta = DEFAULT_REFRESH
) -> tuple[int, int]:
    """Give ``scheduler`` every stored location it lacks (on its schedule, counted from
    its last run) and let go of location sources no longer stored (deleting what they
    still hold). Returns (added, removed)."""
    stored = {location.source: location for location in await store.get_locations()}
    held = {s.name for s in scheduler.sources if s.type == SOURCE_TYPE}
    added = [stored[name] for name in stored.keys() - held]
    removed = [name for name in held - stored.keys() if name.startswith(SOURCE_PREFIX)]
    for location in added:
        scheduler.add_source(location_source(location, refresh))
    for name in removed:
        await scheduler.remove_source(name)
        await _forget(store, name)
    return len(added), len(removed)


async def follow_locations(
    store: GraphStore,
    scheduler: Scheduler,
    refresh: timedelta = DEFAULT_REFRESH,
    *,
    every: float = 60.0,
) -> None:
    """:func:`sync_locations` every ``every`` seconds until cancelled (the caller syncs
    once at start); a failed sync is logged and tried again at the next turn."""
    while True:
        await asyncio.sleep(every)
        try:
            added, removed = await sync_locations(store, scheduler, refresh)
            if added or removed:
                log.info("locations: %d taken on, %d let go", added, removed)
        except Exception:
            log.exception("could not bring the scheduler in line with the stored locations")


async def _forget(store: GraphStore, source: str) -> None:
    """Delete every entity and relation of ``source`` (no run carries the id "", so all of
    it is stale) and record each entity as ``DELETED`` (no run id: no run deleted it), as
    a run's cleanup does."""
    going: list[StoredEntity] = []
    after: str | None = None
    while True:
        page = await store.list_entities(EntityFilter(source=source), FORGET_PAGE, after)
        going.extend(page.entities)
        if not page.has_next or page.last_key is None:
            break
        after = page.last_key
    deleted = await store.delete_stale(source, "")
    if not sum(deleted.values()):
        return
    now = datetime.now(UTC)
    for start in range(0, len(going), FORGET_PAGE):
        chunk = going[start : start + FORGET_PAGE]
        await store.record_changes(
            deleted_changes(source=source, run_id=None, entities=chunk, at=now)
        )


async def _refs(store: GraphStore, source: str) -> list[str]:
    found = await store.select_entities(EntityFilter(source=source), [], 0, MAX_LISTED)
    return sorted(e.ref for e in found)
