"""One run of a source under the source's store lease.

The lease ``source:<name>`` (:class:`SourceLease`) is what keeps two workers, in one process
or many, from running a source at once. A :class:`LeasedRun` starts once its scheduler holds
the lease and then, until the ingestion ends:

- renews the lease every third of its TTL, and cancels the ingestion (recorded FAILED) if
  the lease is lost or cannot be renewed before it expires;
- cancels the ingestion past the source's ``timeout`` (recorded TIMED_OUT);
- can be cancelled from outside with a reason (:meth:`LeasedRun.cancel`, e.g. at shutdown);
- gives the lease back, whatever happened.

Every log line carries ``extra={"run_id": ..., "source": ...}``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from graph.port import Leases, RunRecord
from ingestors.clock import Clock
from ingestors.contract import Fetch, Scope, SourceConfig, format_duration
from ingestors.runner import Cancellation, RunPolicy, RunStore, new_run_id, run_ingestion

log = logging.getLogger("stagegraph.scheduler")


class LeasedStore(Leases, RunStore, Protocol):
    """The store of a leased run: the lease itself, and the run carried out under it."""


class RunObserver(Protocol):
    """Told about every run a scheduler carries out (metrics hook in here).

    ``run_started`` gets the RUNNING record; ``run_finished`` the final one, also for SKIPPED
    records (which have no start). Exceptions raised here are logged and ignored.
    """

    def run_started(self, run: RunRecord) -> None: ...

    def run_finished(self, run: RunRecord) -> None: ...


@dataclass(frozen=True)
class SourceLease:
    """The store lease of one source, as held by ``owner`` for ``ttl`` seconds at a time."""

    store: LeasedStore
    source: str
    owner: str
    ttl: float

    @property
    def name(self) -> str:
        return f"source:{self.source}"

    async def acquire(self, now: datetime) -> bool:
        """Take or renew it until ``now + ttl``; False when another owner holds it."""
        until = now + timedelta(seconds=self.ttl)
        return await self.store.acquire_lease(self.name, self.owner, now, until)

    async def release(self) -> None:
        """Give it back (even while being cancelled); a failure is logged: it expires anyway."""
        try:
            await asyncio.shield(self.store.release_lease(self.name, self.owner))
        except Exception:
            log.exception(
                "could not release the lease (it expires on its own)",
                extra={"source": self.source},
            )


class LeasedRun:
    """A run started under a lease just taken; :meth:`execute` carries it out."""

    def __init__(
        self,
        lease: SourceLease,
        source: SourceConfig,
        fetch: Fetch,
        *,
        trigger: str,
        leased_at: datetime,
        clock: Clock,
        policy: RunPolicy | None = None,
        observer: RunObserver | None = None,
        scope: Scope = (),
    ) -> None:
        self.id = new_run_id()
        self.scope = scope
        self.source = source
        self.trigger = trigger
        self._lease = lease
        self._lease_until = leased_at + timedelta(seconds=lease.ttl)
        self._fetch = fetch
        self._clock = clock
        self._policy = policy
        self._observer = observer
        self._record: RunRecord | None = None  # the runner's record, kept up to date by it
        self._cancellation: Cancellation | None = None
        self._ingest: asyncio.Task[RunRecord] | None = None

    @property
    def log_extra(self) -> dict[str, str]:
        return {"run_id": self.id, "source": self.source.name}

    def cancel(self, cancellation: Cancellation) -> None:
        """Cancel the ingestion, to be recorded as ``cancellation`` says (the first reason wins)."""
        if self._cancellation is None:
            self._cancellation = cancellation
        if self._ingest is not None and not self._ingest.done():
            self._ingest.cancel()

    async def execute(self) -> RunRecord | None:
        """Run the ingestion to its end and give the lease back; the final record (None only
        if the run never started)."""
        source = self.source
        log.info("run started (trigger %s)", self.trigger, extra=self.log_extra)
        ingest = asyncio.create_task(
            run_ingestion(
                self._lease.store,
                source=source.name,
                source_type=source.type,
                fetch=self._fetch,
                trigger=self.trigger,
                policy=self._policy,
                run_id=self.id,
                now=self._clock.now,
                on_start=self._started,
                on_cancel=lambda: self._cancellation or Cancellation(),
                scope=self.scope,
            )
        )
        self._ingest = ingest
        renewing = asyncio.create_task(self._keep_lease())
        timer = asyncio.ensure_future(self._clock.sleep(source.timeout.total_seconds()))
        try:
            await asyncio.wait({ingest, timer}, return_when=asyncio.FIRST_COMPLETED)
            if not ingest.done():
                timeout = format_duration(source.timeout)
                log.warning(
                    "run exceeded its timeout of %s: cancelling it", timeout, extra=self.log_extra
                )
                self.cancel(
                    Cancellation(
                        "TIMED_OUT",
                        f"the run took longer than its timeout of {timeout} and was cancelled; "
                        "nothing was deleted",
                    )
                )
            await asyncio.wait({ingest})
        finally:
            timer.cancel()
            renewing.cancel()
            if not ingest.done():  # this task itself was cancelled
                self.cancel(Cancellation("FAILED", "the run's worker was cancelled"))
                await asyncio.wait({ingest})
            await self._lease.release()
        return self._finished(ingest)

    def _started(self, record: RunRecord) -> None:
        self._record = record
        if self._observer is not None:
            try:
                self._observer.run_started(record)
            except Exception:
                log.exception("the run observer failed", extra=self.log_extra)

    def _finished(self, ingest: asyncio.Task[RunRecord]) -> RunRecord | None:
        record = self._record
        if ingest.cancelled():
            reason = (self._cancellation or Cancellation()).reason
            if record is not None and record.status in ("SUCCEEDED", "PARTIAL"):
                reason = "the cancellation arrived while cleanup was being written; it completed"
            log.warning("run cancelled: %s", reason, extra=self.log_extra)
        elif (error := ingest.exception()) is not None:
            log.error("run stopped on an unexpected error", exc_info=error, extra=self.log_extra)
        else:
            record = ingest.result()
        if record is None:
            return None
        seconds = ((record.finished_at or self._clock.now()) - record.started_at).total_seconds()
        log.info(
            "run ended %s in %.1fs: %d added, %d updated, %d deleted, %d errors; cleanup %s",
            record.status,
            seconds,
            sum(c.added for c in record.counts),
            sum(c.updated for c in record.counts),
            sum(c.deleted for c in record.counts),
            len(record.errors),
            record.cleanup,
            extra=self.log_extra,
        )
        if self._observer is not None:
            try:
                self._observer.run_finished(record)
            except Exception:
                log.exception("the run observer failed", extra=self.log_extra)
        return record

    async def _keep_lease(self) -> None:
        """Renew the lease every third of its TTL; cancel the run if it is lost."""
        while True:
            await self._clock.sleep(self._lease.ttl / 3)
            now = self._clock.now()
            held: bool | None
            try:
                held = await self._lease.acquire(now)
            except Exception as exc:
                log.warning("could not renew the lease: %s", exc, extra=self.log_extra)
                held = None
            if held:
                self._lease_until = now + timedelta(seconds=self._lease.ttl)
                continue
            if held is False or now >= self._lease_until:
                log.error("lost the lease: cancelling the run", extra=self.log_extra)
                self.cancel(
                    Cancellation(
                        "FAILED",
                        "the run lost its lease (it could not be renewed in time) and was "
                        "cancelled so that two runs never overlap; nothing was deleted",
                    )
                )
                return
