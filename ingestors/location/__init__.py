"""The location source (``type: location``): a Backstage location's target read as a git
repository (``get`` and ``transform`` of :mod:`ingestors.git`), plus the location's own
Location entity (:mod:`.transform`), through the shared runner. A location a scaffolder task
registered names its template: what it holds is annotated with it on every read. Configured by
:class:`.config.LocationSource`; registered at run time by :mod:`ingestors.locations`."""

from __future__ import annotations

import asyncio

from catalog.errors import SourceLocation
from ingestors.contract import Fetch, SourceType
from ingestors.git.get import read_git_source
from ingestors.location.config import LocationSource
from ingestors.location.transform import (
    LOCATION_TYPE,
    location_entity,
    location_ref,
    with_source_template,
)
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

SOURCE_TYPE = "location"


def read_location(target: str, type_: str = LOCATION_TYPE, template: str | None = None) -> Snapshot:
    """Read the repository the target names (its entities annotated with ``template``, when
    given), and add the location's own entity (blocking: git subprocesses)."""
    git = LocationSource(name="preview", target=target).git
    here = f"{type_}:{target}"
    snapshot = read_git_source(git.url, git.ref, git.paths, root=here)
    if template:
        snapshot = with_source_template(snapshot, template)
    snapshot.add(location_entity(target, type_), SourceLocation(here))
    return snapshot


def location_fetch(target: str, template: str | None = None) -> Fetch:
    """The fetch of one location: :func:`read_location` in a thread."""

    async def fetch() -> Snapshot:
        return await asyncio.to_thread(read_location, target, LOCATION_TYPE, template)

    return fetch


def location_fetcher(source: LocationSource, lookup: CatalogLookup | None = None) -> Fetch:
    """The fetch of a location source (``lookup`` is not needed)."""
    return location_fetch(source.target, source.template)


LOCATION = SourceType(SOURCE_TYPE, LocationSource, location_fetcher)

__all__ = [
    "LOCATION",
    "LOCATION_TYPE",
    "SOURCE_TYPE",
    "LocationSource",
    "location_entity",
    "location_fetch",
    "location_ref",
    "read_location",
]
