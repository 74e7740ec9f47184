"""``catalog:register``'s way into the catalog: the new repository's descriptor registered as
a location, exactly as ``POST /api/catalog/locations`` registers one
(:func:`ingestors.locations.register_location`), and ingested at once.

The location keeps the template's ref, so every entity read from it (the first time, on a
``POST /refresh``, on its schedule, in any process) is annotated
``backstage.io/source-template`` and is ``scaffoldedFrom`` the template, even when the
skeleton wrote no annotation. It is listed by ``GET /api/catalog/locations`` and removed
with its entities by ``DELETE /api/catalog/locations/:id``.

The descriptor URL is what the ``publish:*`` actions give as ``repoContentsUrl`` plus
``catalogInfoPath``: ``https://github.com/o/r/blob/main/catalog-info.yaml``, a GitLab
``/-/blob/`` URL, or ``<clone URL ending in .git>/blob/<branch>/<file>`` for other hosts and
``file://`` repositories.

A registration whose first read fails is taken back (the location is deleted, so running the
task again registers afresh) and the step fails with the run's errors.
"""

from __future__ import annotations

from datetime import timedelta

from graph.port import GraphStore
from ingestors.errors import IngestError
from ingestors.locations import DEFAULT_REFRESH, register_location, remove_location
from ingestors.scheduler import Scheduler
from scaffolder.actions.contract import Registrar
from scaffolder.errors import ActionError

TRIGGER = "scaffolder"


def location_registrar(
    store: GraphStore, scheduler: Scheduler | None = None, refresh: timedelta = DEFAULT_REFRESH
) -> Registrar:
    """A registrar that registers descriptors as catalog locations. With the process's
    ``scheduler`` the location joins it at once (read again every ``refresh``); without one
    (the ``stagegraph scaffold`` command) it is read here and taken on by the schedulers
    sharing the store at their next look at the stored locations."""

    async def register(target: str, template_ref: str) -> list[str]:
        try:
            registered = await register_location(
                store,
                target,
                scheduler=scheduler,
                refresh=refresh,
                trigger=TRIGGER,
                template=template_ref,
            )
        except (IngestError, ValueError) as exc:
            raise ActionError(f"cannot register {target}: {exc}") from None
        run = registered.run
        if run is not None and run.status not in ("SUCCEEDED", "PARTIAL"):
            await remove_location(store, registered.location.id, scheduler=scheduler)
            problems = "; ".join(e.message for e in run.errors) or run.status
            raise ActionError(f"reading {target} failed, so it was not registered: {problems}")
        return registered.entity_refs

    return register
