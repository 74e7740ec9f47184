"""Which process runs the schedule: the one holding the store lease ``scheduler``.

``stagegraph serve --workers N`` starts N replicas of the API on one store. Each has its own
:class:`~ingestors.scheduler.Scheduler` (so ``runIngestion`` works in any of them), but the
schedule loop (:meth:`Scheduler.run`) goes on only where :meth:`Leadership.run` holds the
lease ``scheduler``:

- a process that does not hold it tries to take it every third of its TTL, so when the
  leader dies (and stops renewing) another takes over within one TTL;
- the leader renews it every third of its TTL; a leader that loses it (another process took
  it after it could not renew in time) stops its scheduler rather than risk two schedules
  (the per-source leases of :mod:`ingestors.lease` keep any one source from running twice
  even then);
- the lease is given back when the scheduler stops (at shutdown) or the task is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from graph.port import Leases
from ingestors.clock import Clock
from ingestors.scheduler import LEASE_TTL_SECONDS

log = logging.getLogger("stagegraph.scheduler")

#: the store lease that names the one process running the schedule
SCHEDULER_LEASE = "scheduler"


class Led(Protocol):
    """What runs under a leadership: a loop that runs until stopped (the scheduler, the
    outgoing webhooks' :class:`~ingestors.notify.sender.Notifier`)."""

    async def run(self) -> None: ...

    async def stop(self, grace_seconds: float = 30.0) -> None: ...


class Leadership:
    """Runs a scheduler's schedule loop (or another :class:`Led` loop, under its own
    ``lease``) while this process (``owner``) holds the lease."""

    def __init__(
        self,
        store: Leases,
        owner: str,
        clock: Clock,
        *,
        ttl: float = LEASE_TTL_SECONDS,
        grace_seconds: float = 30.0,
        lease: str = SCHEDULER_LEASE,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._store = store
        self._owner = owner
        self._clock = clock
        self._ttl = ttl
        self._grace = grace_seconds
        self._lease = lease
        self.leading = False

    async def _take(self) -> bool | None:
        """Take or renew the lease: True held, False held elsewhere, None the store failed."""
        now = self._clock.now()
        try:
            return await self._store.acquire_lease(
                self._lease, self._owner, now, now + timedelta(seconds=self._ttl)
            )
        except Exception as exc:
            log.warning("could not take or renew the %s lease: %s", self._lease, exc)
            return None

    async def run(self, scheduler: Led) -> None:
        """Wait until this process holds the lease, then run ``scheduler`` until it stops
        or the lease is lost; give the lease back at the end."""
        try:
            while not await self._take():
                await self._clock.sleep(self._ttl / 3)
            self.leading = True
            log.info("%s holds the %s lease: running it here", self._owner, self._lease)
            await self._lead(scheduler)
        finally:
            if self.leading:
                self.leading = False
                try:
                    await asyncio.shield(self._store.release_lease(self._lease, self._owner))
                except Exception:
                    log.exception(
                        "could not release the %s lease (it expires on its own)", self._lease
                    )

    async def _lead(self, scheduler: Led) -> None:
        loop = asyncio.create_task(scheduler.run(), name=self._lease)
        held_until = self._clock.now() + timedelta(seconds=self._ttl)
        try:
            while True:
                tick = asyncio.ensure_future(self._clock.sleep(self._ttl / 3))
                await asyncio.wait({loop, tick}, return_when=asyncio.FIRST_COMPLETED)
                tick.cancel()
                if loop.done():
                    return loop.result()
                now = self._clock.now()
                held = await self._take()
                if held:
                    held_until = now + timedelta(seconds=self._ttl)
                elif held is False or now >= held_until:
                    log.error(
                        "%s lost the %s lease: stopping it here (another process runs it now)",
                        self._owner,
                        self._lease,
                    )
                    await scheduler.stop(grace_seconds=self._grace)
                    await loop
                    return
        finally:
            if not loop.done():
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
