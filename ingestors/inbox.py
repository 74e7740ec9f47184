"""The webhook inbox: deliveries recorded by any replica become runs where the source's
lease can be taken.

A webhook handler never works in the request: it records a :class:`~graph.port.Delivery`
in the store and wakes the :class:`Inbox` of its own process, which takes it in at once when
the source's lease is free. The process running the schedule (the leader) also looks every
``poll`` seconds (a cheap indexed query), and a process whose run of a source ends wakes its
own inbox (:class:`~ingestors.scheduler.Scheduler` does both). So a delivery that arrives
while another process holds the source's lease is handed over through the store: the lease
holder takes it in as soon as its run ends, since it looks after giving the lease back and
the delivery was recorded before the lease was found taken. An inbox, when woken or polling:

1. waits until no delivery has arrived for ``settle`` seconds (at most :data:`MAX_SETTLE`),
   so a burst of deliveries (20 pushes to one repository) is taken in by one run;
2. reads the deliveries no run has taken yet, per source;
3. starts one run per source through its :class:`Starter` (the scheduler), scoped to the
   union of their scopes (the whole source when one asks for it). Deliveries carrying a
   payload to apply directly (a GitHub workflow run or deployment) are taken first, in a
   run of their own that writes what they say and reads nothing; the rest wait for the
   next pass (right after that run). The run starts only under
   the source's lease: a replica that cannot take it (another runs the source) leaves the
   deliveries waiting, and whoever holds the lease takes them in when its run ends;
4. marks the deliveries as taken by the run it started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from graph.port import Deliveries, Delivery, RunRecord
from ingestors.clock import Clock
from ingestors.contract import Scope

log = logging.getLogger("stagegraph.inbox")

#: deliveries read in one pass
BATCH = 500
#: the longest a burst delays its run, in seconds
MAX_SETTLE = 2.0
#: how often the leader looks for deliveries, in seconds (None: only when woken)
POLL = 0.25
#: how long taken-in deliveries are remembered (a replay within this time is refused)
REMEMBERED = timedelta(days=3)


class Starter(Protocol):
    """Starts runs under a source's lease (the scheduler)."""

    async def start_scoped(
        self, name: str, scope: Scope, trigger: str, events: Sequence[str] = ()
    ) -> str | None:
        """Start a run of ``scope`` of the source now, without waiting for it; its id, or
        None when the source runs already (here or elsewhere) or the lease is taken. With
        ``events`` (payloads), the run applies them instead of reading ``scope`` when the
        source type can."""
        ...

    async def wait(self, run_id: str) -> RunRecord | None: ...


def merged_scope(deliveries: Sequence[Delivery]) -> Scope:
    """One scope for deliveries of one source: every part any asks for, in order; empty
    (the whole source) as soon as one asks for the whole source."""
    if any(not d.scope for d in deliveries):
        return ()
    return tuple(dict.fromkeys(part for d in deliveries for part in d.scope))


class Inbox:
    """Takes the deliveries of ``sources`` in (see the module). ``run`` loops until ``stop``."""

    def __init__(
        self,
        store: Deliveries,
        starter: Starter,
        sources: Sequence[str],
        clock: Clock,
        *,
        poll: float | None = POLL,
        settle: float = 0.2,
    ) -> None:
        self._store = store
        self._starter = starter
        self._sources = list(sources)
        self._clock = clock
        self._poll = poll
        self._settle = settle
        self._woken = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def poll(self) -> float | None:
        """Seconds between looks when not woken; None: only when woken."""
        return self._poll

    @poll.setter
    def poll(self, seconds: float | None) -> None:
        self._poll = seconds
        self._woken.set()  # a loop waiting without a timer looks now, and then on time

    def wake(self) -> None:
        """A delivery was recorded, or a run ended: take deliveries in now rather than at
        the next poll."""
        self._woken.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            woken = asyncio.ensure_future(self._woken.wait())
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait(
                    {woken, stopping}, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                woken.cancel()
                stopping.cancel()
            if self._stopping.is_set():
                break
            if self._woken.is_set():
                await self._quiet()
            self._woken.clear()
            try:
                await self.take_in()
            except Exception:
                log.exception("could not take webhook deliveries in; trying again later")

    async def _quiet(self) -> None:
        """Wait until no delivery arrived for ``settle`` seconds, or :data:`MAX_SETTLE`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_SETTLE
        while (left := deadline - loop.time()) > 0:
            self._woken.clear()
            try:
                await asyncio.wait_for(self._woken.wait(), timeout=min(self._settle, left))
            except TimeoutError:
                return

    async def stop(self) -> None:
        self._stopping.set()

    async def take_in(self) -> list[str]:
        """One pass: start a run per source with waiting deliveries; the ids of the runs."""
        if not self._sources:
            return []
        waiting = await self._store.waiting_deliveries(self._sources, BATCH)
        by_source: dict[str, list[Delivery]] = {}
        for delivery in waiting:
            by_source.setdefault(delivery.source, []).append(delivery)
        started: list[str] = []
        for name, every in by_source.items():
            # payloads applied directly go first, in a run of their own (a re-read after
            # them sees the newer state); the others wait for the next pass
            direct = [d for d in every if d.payload is not None]
            deliveries = direct or every
            scope = merged_scope(deliveries)
            events = [d.payload for d in direct if d.payload is not None]
            run_id = await self._starter.start_scoped(name, scope, "webhook", events)
            if run_id is None:
                continue
            await self._store.take_deliveries([d.id for d in deliveries], run_id)
            log.info(
                "took in %d webhook deliveries (%s)",
                len(deliveries),
                ", ".join(scope) or "the whole source",
                extra={"run_id": run_id, "source": name},
            )
            started.append(run_id)
        if started:
            await self._store.prune_deliveries(self._clock.now() - REMEMBERED)
        return started
