"""The catalog's live feed: entity changes and ingestion-run status changes, as they are
recorded in the store, for the ``catalogChanged`` subscription.

The feed reads the store, not this process's memory, so it follows runs and pushes made by
any replica sharing the store:

- entity changes: the change log after the last change seen (recording order, so nothing is
  missed or repeated), starting from the moment the feed started;
- run status changes: the newest runs (:data:`RECENT_RUNS`), compared with the statuses seen
  last time; a new run (RUNNING) and a run whose status changed (it finished) are events.

:class:`FeedReader` does one look (:meth:`FeedReader.poll`); :class:`Feed` is the one poller
of a process: it looks every ``interval`` seconds while someone listens and hands each event
to every listener's queue. A listener that falls :data:`MAX_BACKLOG` events behind is cut off
(:class:`FeedOverflowError`); it can read what it missed with the ``changes`` query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

from catalog.changes import EntityChange
from graph.port import ChangeLog, RunLog, RunRecord

log = logging.getLogger("stagegraph.feed")

RECENT_RUNS = 50
PAGE = 500
MAX_BACKLOG = 10_000
POLL_SECONDS = 0.25

CatalogEvent = EntityChange | RunRecord
"""An event of the feed: an entity change, or a run in its new status."""


class FeedStore(ChangeLog, RunLog, Protocol):
    """What the feed reads: the change log and the run log."""


class FeedOverflowError(Exception):
    """A listener fell too far behind and was cut off."""


class FeedReader:
    """Reads what was recorded since its last look (see the module docstring)."""

    def __init__(self, store: FeedStore, since: datetime | None = None) -> None:
        self.store = store
        self.since = since or datetime.now(UTC)
        self.last_id: str | None = None
        self.statuses: dict[str, str] | None = None

    async def poll(self) -> list[CatalogEvent]:
        """The changes and run status changes recorded since the last poll (the first poll
        only notes the runs' statuses)."""
        events: list[CatalogEvent] = [*await self._changes(), *await self._runs()]
        return events

    async def _changes(self) -> list[EntityChange]:
        found: list[EntityChange] = []
        while True:
            if self.last_id is None:
                page = await self.store.changes(since=self.since, limit=PAGE)
            else:
                page = await self.store.changes(after_id=self.last_id, limit=PAGE)
            found.extend(page)
            if page:
                self.last_id = page[-1].id
            if len(page) < PAGE:
                return found

    async def _runs(self) -> list[RunRecord]:
        runs = await self.store.get_runs(None, RECENT_RUNS)
        now = {run.id: run.status for run in runs}
        if self.statuses is None:
            self.statuses = now
            return []
        changed = [run for run in reversed(runs) if self.statuses.get(run.id) != run.status]
        self.statuses = now
        return changed


class Feed:
    """The one poller of a process, shared by every listener (:meth:`listen`). It runs only
    while someone listens; :meth:`close` stops it."""

    def __init__(self, store: FeedStore, interval: float = POLL_SECONDS) -> None:
        self.store = store
        self.interval = interval
        self._queues: set[asyncio.Queue[CatalogEvent | FeedOverflowError]] = set()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[CatalogEvent | FeedOverflowError]]:
        """A queue of every event from now on (a :class:`FeedOverflowError` in it when the
        listener fell behind), until the block ends."""
        queue: asyncio.Queue[CatalogEvent | FeedOverflowError] = asyncio.Queue()
        async with self._starting:
            self._queues.add(queue)
            if self._task is None or self._task.done():
                reader = FeedReader(self.store)
                self._hand(queue, await reader.poll())  # notes the runs' statuses
                self._task = asyncio.create_task(self._run(reader), name="catalog-feed")
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            if not self._queues:
                await self.close()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, reader: FeedReader) -> None:
        while self._queues:
            await asyncio.sleep(self.interval)
            try:
                events = await reader.poll()
            except Exception:
                log.exception("could not read the catalog feed from the store; trying again")
                continue
            for queue in list(self._queues):
                self._hand(queue, events)

    def _hand(
        self, queue: asyncio.Queue[CatalogEvent | FeedOverflowError], events: list[CatalogEvent]
    ) -> None:
        if queue.qsize() + len(events) > MAX_BACKLOG:
            self._queues.discard(queue)
            queue.put_nowait(
                FeedOverflowError(
                    f"this subscription fell more than {MAX_BACKLOG} events behind and was "
                    "ended; read what it missed with the changes query (since:) and subscribe "
                    "again"
                )
            )
            return
        for event in events:
            queue.put_nowait(event)
