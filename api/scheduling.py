"""The scheduling side of a server process: its scheduler, the schedule loop (run only where
the store lease ``scheduler`` is held, :mod:`ingestors.leadership`), and the locations
registered over the catalog API followed from the store (:mod:`ingestors.locations`), and the
outgoing webhooks (``notify:``, sent where the store lease ``notify`` is held:
:mod:`ingestors.notify`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from api.metrics import Metrics
from api.settings import Settings
from graph.port import GraphStore
from ingestors.clock import SystemClock
from ingestors.leadership import Leadership
from ingestors.locations import follow_locations, sync_locations
from ingestors.notify import delivering
from ingestors.scheduler import Scheduler, default_owner_id


@asynccontextmanager
async def scheduling(
    store: GraphStore, settings: Settings, metrics: Metrics
) -> AsyncIterator[Scheduler]:
    """A scheduler for the configured sources and the registered locations. With
    ``settings.scheduler`` on, the schedule runs while this process leads and the locations
    are followed; every process can run a source on request (``runIngestion``). At exit the
    loops end and the scheduler stops (its runs get ``shutdown_grace`` to finish)."""
    scheduler = Scheduler(
        store,
        settings.sources,
        SystemClock(),
        default_owner_id(),
        run_retention=settings.run_retention,
        change_retention=settings.change_retention,
        policy=settings.run_policy(),
        observer=metrics,
    )
    await sync_locations(store, scheduler, settings.location_refresh)
    leading: asyncio.Task[None] | None = None
    following: asyncio.Task[None] | None = None
    outgoing = AsyncExitStack()
    if settings.scheduler:
        await outgoing.enter_async_context(
            delivering(store, settings.notify, scheduler.owner_id, metrics)
        )
        leadership = Leadership(
            store, scheduler.owner_id, SystemClock(), grace_seconds=settings.shutdown_grace
        )
        leading = asyncio.create_task(leadership.run(scheduler), name="scheduler leadership")
        follow = follow_locations(store, scheduler, settings.location_refresh)
        following = asyncio.create_task(follow, name="locations")
    try:
        yield scheduler
    finally:
        await outgoing.aclose()
        if following is not None:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        await scheduler.stop(grace_seconds=settings.shutdown_grace)
        if leading is not None:
            leading.cancel()  # a follower still waiting for the lease; a leader is done
            await asyncio.gather(leading, return_exceptions=True)
