"""The scheduler: runs each configured source on its schedule or on request, one run per
source at a time across processes and machines.

long: schedules, leases, retries, timeouts and graceful stop share one loop per source;
split, the rule that two runs of a source never overlap would be spread over modules.

One run per source: a run starts only under the store lease ``source:<name>``, taken for
``lease_ttl`` seconds and renewed every third of it while the run lives; it is released when
the run ends (:mod:`ingestors.lease` carries one run out; :mod:`ingestors.history` reads the
source's run records; :mod:`ingestors.schedule` computes times). A worker that dies stops renewing; once its lease expires another worker takes
the source over and marks the dead worker's RUNNING run FAILED. A worker that cannot renew
its lease in time cancels its own run (recorded FAILED) rather than risk two at once. Clocks
of workers sharing a store must agree to well within the TTL.

When the lease is held elsewhere:

- a scheduled run or retry is skipped and only logged (with N replicas, every slot would
  otherwise add N-1 records); the next slot is computed from the other worker's run;
- a requested run (:meth:`Scheduler.trigger`, :meth:`Scheduler.run_once`) answers with the id
  of the run going on elsewhere, or, when none is recorded (its worker is starting or died
  and its lease has not expired yet), records a SKIPPED run saying why and answers with that.

A scheduled slot is also skipped when a run that started at or after the slot already
succeeded (another replica did it). Within one process, a request for a source that is
running answers with that run's id, and a scheduled slot that finds it running is skipped.

Cancellation: a run past its ``timeout`` is cancelled and recorded TIMED_OUT; at
:meth:`Scheduler.stop`, runs get ``grace_seconds`` to finish, then are cancelled and
recorded FAILED. Either way the lease is released. The runner makes cleanup its last store
write, in one transaction: a cancellation before it deletes nothing (see
:func:`ingestors.runner.run_ingestion` for one that lands while cleanup is being written).

A scheduled run (trigger ``schedule``) that ends FAILED is retried (trigger ``retry``) up to
``maxRetries`` times with full-jitter exponential backoff; a retry that would reach the
next slot is not made (that slot's run is the retry). PARTIAL
(entity errors) and TIMED_OUT runs are not retried, nor are requested runs.

Webhook deliveries (:mod:`ingestors.inbox`): an inbox takes in the deliveries of sources
with a ``webhook`` and starts scoped runs under the lease (:meth:`Scheduler.start_scoped`).
:meth:`Scheduler.wake` (a delivery was just recorded in this process) starts it in any
process; while :meth:`Scheduler.run` goes it also polls every ``inbox_poll`` seconds; and
every run of such a source that ends here wakes it, so deliveries that waited for the
lease this process held are taken in at once.

Every log line about a run carries ``extra={"run_id": ..., "source": ...}``; metrics hook
in through a :class:`RunObserver`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from graph.port import GraphStore, RunRecord
from ingestors.clock import Clock
from ingestors.contract import Scope, SourceConfig, format_duration
from ingestors.errors import IngestError
from ingestors.history import RECENT, fail_orphans, last_start, record_skipped, slot_done
from ingestors.inbox import POLL, Inbox
from ingestors.lease import LeasedRun, RunObserver, SourceLease
from ingestors.lookup import CatalogLookup
from ingestors.registry import SOURCE_TYPES, SourceTypes
from ingestors.runner import Cancellation, RunPolicy
from ingestors.schedule import backoff, jitter_delay, next_slot

__all__ = [
    "RunObserver",
    "Scheduler",
    "SchedulerStoppedError",
    "UnknownSourceError",
    "default_owner_id",
    "lease_name",
]

log = logging.getLogger("stagegraph.scheduler")

LEASE_TTL_SECONDS = 60.0
DEFAULT_RUN_RETENTION = timedelta(days=30)
DEFAULT_CHANGE_RETENTION = timedelta(days=90)
_REMEMBERED = 200


def lease_name(source: str) -> str:
    """The store lease of a source (see :class:`ingestors.lease.SourceLease`)."""
    return f"source:{source}"


def default_owner_id() -> str:
    """``host:pid:random``: unique per scheduler, readable in the store."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class UnknownSourceError(IngestError):
    """No configured source has this name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"no source is named {name!r}; configured sources: {names}")


class SchedulerStoppedError(IngestError):
    """The scheduler is stopping or stopped and starts no new runs."""

    def __init__(self) -> None:
        super().__init__("the scheduler is shutting down and starts no new runs")


class _Active(NamedTuple):
    run: LeasedRun
    task: asyncio.Task[RunRecord | None]


class Scheduler:
    """Runs ``sources`` on their schedules (:meth:`run`) and on request (:meth:`trigger`).

    ``owner_id`` names this scheduler in leases; it must differ between processes
    (:func:`default_owner_id`). Nothing happens until :meth:`run` or :meth:`trigger` is
    awaited; :meth:`stop` ends both. A scheduler is used once: it does not restart.
    """

    def __init__(
        self,
        store: GraphStore,
        sources: Iterable[SourceConfig],
        clock: Clock,
        owner_id: str,
        *,
        source_types: SourceTypes = SOURCE_TYPES,
        lease_ttl: float = LEASE_TTL_SECONDS,
        run_retention: timedelta | None = DEFAULT_RUN_RETENTION,
        change_retention: timedelta | None = DEFAULT_CHANGE_RETENTION,
        policy: RunPolicy | None = None,
        observer: RunObserver | None = None,
        rng: random.Random | None = None,
        inbox_poll: float = POLL,
        inbox_settle: float = 0.2,
    ) -> None:
        self._store = store
        self._sources: dict[str, SourceConfig] = {}
        for source in sources:
            if source.name in self._sources:
                raise ValueError(f"two sources are named {source.name!r}")
            if source.type not in source_types.names():
                raise ValueError(f"source {source.name!r} has an unknown type {source.type!r}")
            self._sources[source.name] = source
        self._clock = clock
        self._owner = owner_id
        self._types = source_types
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        self._lease_ttl = lease_ttl
        self._retention = run_retention
        self._change_retention = change_retention
        self._policy = policy
        self._observer = observer
        self._rng = rng or random.Random()
        self._locks = {name: asyncio.Lock() for name in self._sources}
        self._active: dict[str, _Active] = {}
        self._finished: OrderedDict[str, RunRecord] = OrderedDict()
        self._next: dict[str, datetime] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._started = False
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        hooked = [s.name for s in self._sources.values() if s.webhook is not None]
        self._inbox = Inbox(store, self, hooked, clock, poll=None, settle=inbox_settle)
        self._inbox_poll = inbox_poll
        self._hooked = bool(hooked)
        self._inbox_task: asyncio.Task[None] | None = None

    # -- asking ----------------------------------------------------------------------------
    @property
    def sources(self) -> tuple[SourceConfig, ...]:
        return tuple(self._sources.values())

    @property
    def owner_id(self) -> str:
        return self._owner

    def next_run_at(self, name: str) -> datetime | None:
        """When this scheduler next runs the source (slot plus jitter, or a retry); None
        when it has no schedule, :meth:`run` is not going, or a run is going on now."""
        self._source(name)
        return self._next.get(name)

    def active_run(self, name: str) -> str | None:
        """The id of the source's run going on in this process, if any."""
        self._source(name)
        active = self._active.get(name)
        return active.run.id if active is not None else None

    # -- running on request ----------------------------------------------------------------
    async def trigger(self, name: str, trigger: str = "manual") -> str:
        """Start a run of the source now and return its id; or the id of the run already
        going on (here or in another worker); or the id of a SKIPPED record when another
        worker holds the source's lease without a recorded run."""
        source = self._source(name)
        async with self._locks[name]:
            if self._stopping.is_set():
                raise SchedulerStoppedError
            current = self._active.get(name)
            if current is not None:
                return current.run.id
            now = self._clock.now()
            if not await self._lease(name).acquire(now):
                return await self._held_elsewhere(source, trigger, now)
            await self._claim(source, now, None)
            return self._start(source, trigger, now).run.id

    async def run_once(self, name: str, trigger: str = "cli") -> RunRecord:
        """Run the source now and return its final record (or the RUNNING record of the run
        another worker is carrying out, or a SKIPPED record)."""
        run_id = await self.trigger(name, trigger)
        record = await self.wait(run_id)
        if record is not None:
            return record
        for run in await self._store.get_runs(name, first=RECENT):
            if run.id == run_id:
                return run
        raise IngestError(f"run {run_id} of source {name!r} is not recorded")

    async def wait(self, run_id: str) -> RunRecord | None:
        """The final record of a run of this scheduler, once it ends; None for other ids."""
        for active in list(self._active.values()):
            if active.run.id == run_id:
                await asyncio.wait({active.task})
                return active.task.result()
        return self._finished.get(run_id)

    async def start_scoped(
        self, name: str, scope: Scope, trigger: str = "webhook", events: Sequence[str] = ()
    ) -> str | None:
        """Start a run of ``scope`` of the source (the whole source when empty) and return
        its id, without waiting for it; None when it runs already, here or in another worker
        (whoever holds the lease), or the scheduler is stopping. With ``events`` (webhook
        payloads), the run applies them directly when the source type can."""
        source = self._source(name)
        async with self._locks[name]:
            if self._stopping.is_set() or name in self._active:
                return None
            now = self._clock.now()
            if not await self._lease(name).acquire(now):
                return None
            if not await self._claim(source, now, None):
                return None
            return self._start(source, trigger, now, scope, events).run.id

    def wake(self) -> None:
        """A webhook delivery was just recorded (or a run of a source ended): take the
        waiting deliveries in now, in this process, whether or not :meth:`run` goes."""
        if self._hooked and not self._stopping.is_set():
            self._start_inbox()
            self._inbox.wake()

    def _start_inbox(self) -> None:
        if self._inbox_task is None:
            self._inbox_task = asyncio.create_task(self._inbox.run(), name="webhook inbox")

    # -- running on schedule ---------------------------------------------------------------
    async def run(self) -> None:
        """Run sources on their schedules until :meth:`stop` (cancelling this stops at once)."""
        if self._started:
            raise RuntimeError("a Scheduler runs once; make a new one")
        self._started = True
        started = self._clock.now()
        scheduled = [s for s in self._sources.values() if s.schedule is not None]
        self._loops = {s.name: self._schedule(s, started) for s in scheduled}
        if self._hooked:
            self._start_inbox()
            self._inbox.poll = self._inbox_poll
        log.info(
            "scheduler %s started: %d sources, %d on a schedule",
            self._owner,
            len(self._sources),
            len(scheduled),
        )
        try:
            await self._stopped.wait()
        except asyncio.CancelledError:
            await self.stop(grace_seconds=0)
            raise

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Start no new runs; give running ones ``grace_seconds`` (on the clock) to finish,
        then cancel them (recorded FAILED); release their leases; end :meth:`run`."""
        self._stopping.set()
        await self._inbox.stop()
        for lock in self._locks.values():  # let runs being admitted right now start first
            async with lock:
                pass
        running = list(self._active.values())
        tasks = {a.task for a in running}
        if tasks:
            log.info("stopping: waiting up to %ss for %d run(s)", grace_seconds, len(tasks))
            timer = asyncio.ensure_future(self._clock.sleep(grace_seconds))
            all_done = asyncio.ensure_future(asyncio.wait(tasks))
            await asyncio.wait({timer, all_done}, return_when=asyncio.FIRST_COMPLETED)
            timer.cancel()
            all_done.cancel()
            for active in running:
                active.run.cancel(
                    Cancellation(
                        "FAILED",
                        f"the scheduler stopped and the run was still going after the grace "
                        f"period of {grace_seconds:g}s; it was cancelled and nothing was deleted",
                    )
                )
            await asyncio.wait(tasks)
        loops = [*self._loops.values(), *([self._inbox_task] if self._inbox_task else [])]
        if loops:
            await asyncio.gather(*loops, return_exceptions=True)
        self._next.clear()
        self._stopped.set()
        log.info("scheduler %s stopped", self._owner)

    # -- sources taken on and let go at run time -------------------------------------------
    def add_source(self, source: SourceConfig) -> None:
        """Take on ``source`` (a location registered at run time): it runs on request from
        now on and, while :meth:`run` is going and it has a schedule, on its schedule (its
        first slot counts from now plus its ``initialDelay``)."""
        if source.name in self._sources:
            raise ValueError(f"a source is already named {source.name!r}")
        if source.type not in self._types.names():
            raise ValueError(f"source {source.name!r} has an unknown type {source.type!r}")
        if self._stopping.is_set():
            raise SchedulerStoppedError
        self._sources[source.name] = source
        self._locks[source.name] = asyncio.Lock()
        if self._started and source.schedule is not None:
            self._loops[source.name] = self._schedule(source, self._clock.now())

    async def remove_source(self, name: str) -> None:
        """Let go of the source: its schedule ends, and a run of it going on in this process
        is cancelled (recorded FAILED; it deletes nothing) and waited for. Afterwards no run
        of it starts here, so its data can be deleted safely."""
        self._source(name)
        async with self._locks[name]:
            del self._sources[name]
            loop = self._loops.pop(name, None)
            if loop is not None:
                loop.cancel()
            active = self._active.get(name)
            if active is not None:
                active.run.cancel(
                    Cancellation(
                        "FAILED",
                        "the source was removed while this run went on; it was cancelled and "
                        "deleted nothing",
                    )
                )
        waiting = {t for t in (loop, active.task if active else None) if t is not None}
        if waiting:
            await asyncio.wait(waiting)
        self._next.pop(name, None)
        self._locks.pop(name, None)

    def _schedule(self, source: SourceConfig, started: datetime) -> asyncio.Task[None]:
        return asyncio.create_task(
            self._source_loop(source, started), name=f"schedule {source.name}"
        )

    async def _source_loop(self, source: SourceConfig, started: datetime) -> None:
        schedule = source.schedule
        assert schedule is not None
        name = source.name
        slot = next_slot(
            schedule,
            earliest=started + source.initial_delay,
            last_start=await last_start(self._store, name),
        )
        while True:
            due = slot + jitter_delay(source.jitter, self._rng)
            self._next[name] = due
            if not await self._sleep_until(due):
                return
            self._next.pop(name, None)
            try:
                record = await self._attempt(source, "schedule", slot)
                now = self._clock.now()
                following = next_slot(
                    schedule, earliest=now, last_start=await last_start(self._store, name) or slot
                )
                attempt = 0
                while record is not None and record.status == "FAILED":
                    if attempt >= source.max_retries:
                        break
                    attempt += 1
                    wait = backoff(
                        attempt,
                        base=source.backoff,
                        cap=source.max_backoff,
                        rng=self._rng,
                        before=following - now,
                    )
                    if now + wait >= following:
                        break  # the next slot comes first; it is the retry
                    retry_at = now + wait
                    log.info(
                        "run failed; retry %d of %d at %s",
                        attempt,
                        source.max_retries,
                        retry_at.isoformat(),
                        extra={"run_id": record.id, "source": name},
                    )
                    self._next[name] = retry_at
                    if not await self._sleep_until(retry_at):
                        return
                    self._next.pop(name, None)
                    record = await self._attempt(source, "retry", None)
                    now = self._clock.now()
            except Exception:
                log.exception("scheduling the source failed", extra={"source": name})
                following = next_slot(schedule, earliest=self._clock.now(), last_start=slot)
            slot = following

    async def _attempt(
        self, source: SourceConfig, trigger: str, slot: datetime | None
    ) -> RunRecord | None:
        """One scheduled run or retry, waited for; None when it was skipped."""
        name = source.name
        async with self._locks[name]:
            if self._stopping.is_set():
                return None
            current = self._active.get(name)
            if current is not None:
                log.info(
                    "skipped the %s run: this run is still going",
                    trigger,
                    extra=current.run.log_extra,
                )
                return None
            now = self._clock.now()
            if not await self._lease(name).acquire(now):
                log.info(
                    "skipped the %s run: another worker holds the lease",
                    trigger,
                    extra={"source": name},
                )
                return None
            if not await self._claim(source, now, slot):
                return None
            active = self._start(source, trigger, now)
        await asyncio.wait({active.task})
        return active.task.result()

    async def _sleep_until(self, when: datetime) -> bool:
        """Sleep on the clock until ``when``; False when :meth:`stop` came first."""
        delay = (when - self._clock.now()).total_seconds()
        if delay > 0 and not self._stopping.is_set():
            sleeper = asyncio.ensure_future(self._clock.sleep(delay))
            stopper = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                stopper.cancel()
        return not self._stopping.is_set()

    # -- one run -----------------------------------------------------------------------------
    def _lease(self, name: str) -> SourceLease:
        return SourceLease(self._store, name, self._owner, self._lease_ttl)

    async def _claim(self, source: SourceConfig, now: datetime, slot: datetime | None) -> bool:
        """With the lease just taken: record runs left by dead workers as FAILED, and give the
        lease back (False) when ``slot`` is already done. On any error the lease goes back."""
        try:
            await fail_orphans(self._store, source.name, self._owner, now)
            if slot is not None and await slot_done(self._store, source.name, slot):
                log.info(
                    "skipped the scheduled run: one since %s succeeded",
                    slot.isoformat(),
                    extra={"source": source.name},
                )
                await self._lease(source.name).release()
                return False
        except BaseException:
            await self._lease(source.name).release()
            raise
        return True

    def _start(
        self,
        source: SourceConfig,
        trigger: str,
        leased_at: datetime,
        scope: Scope = (),
        events: Sequence[str] = (),
    ) -> _Active:
        """Start a run (of ``scope`` of the source, or applying ``events``) under the lease
        just taken."""
        lookup = CatalogLookup(self._store)
        fetch = (
            self._types.event_fetcher(source, lookup, scope, events)
            if events
            else self._types.fetcher(source, lookup, scope)
        )
        run = LeasedRun(
            self._lease(source.name),
            source,
            fetch,
            scope=scope,
            trigger=trigger,
            leased_at=leased_at,
            clock=self._clock,
            policy=(self._policy or RunPolicy()).for_source(source.name, source.rules),
            observer=self._observer,
        )
        active = _Active(run, asyncio.create_task(self._carry_out(run), name=f"run {run.id}"))
        self._active[source.name] = active
        return active

    async def _carry_out(self, run: LeasedRun) -> RunRecord | None:
        try:
            record = await run.execute()
        finally:
            del self._active[run.source.name]
        if run.source.webhook is not None:
            self.wake()  # deliveries that waited while this process held the lease
        if record is not None:
            self._remember(record)
            await self._prune(run.log_extra)
        return record

    def _remember(self, record: RunRecord) -> None:
        self._finished[record.id] = record
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)

    async def _prune(self, extra: dict[str, str]) -> None:
        await self._prune_changes(extra)
        if self._retention is None:
            return
        try:
            pruned = await self._store.prune_runs(self._clock.now() - self._retention)
        except Exception:
            log.exception("could not prune old runs", extra=extra)
            return
        if pruned:
            log.info(
                "pruned %d runs older than %s",
                pruned,
                format_duration(self._retention),
                extra=extra,
            )

    async def _prune_changes(self, extra: dict[str, str]) -> None:
        if self._change_retention is None:
            return
        try:
            pruned = await self._store.prune_changes(self._clock.now() - self._change_retention)
        except Exception:
            log.exception("could not prune old entity changes", extra=extra)
            return
        if pruned:
            log.info(
                "pruned %d entity changes older than %s",
                pruned,
                format_duration(self._change_retention),
                extra=extra,
            )

    async def _held_elsewhere(self, source: SourceConfig, trigger: str, now: datetime) -> str:
        running = await self._store.get_runs(source.name, first=1, status="RUNNING")
        if running:
            log.info(
                "run requested (%s): another worker is running the source",
                trigger,
                extra={"run_id": running[0].id, "source": source.name},
            )
            return running[0].id
        record = await record_skipped(
            self._store, source.name, source.type, trigger, now, self._lease_ttl
        )
        self._remember(record)
        if self._observer is not None:
            try:
                self._observer.run_finished(record)
            except Exception:
                log.exception("the run observer failed", extra={"run_id": record.id})
        return record.id

    def _source(self, name: str) -> SourceConfig:
        try:
            return self._sources[name]
        except KeyError:
            raise UnknownSourceError(name, self._sources) from None
