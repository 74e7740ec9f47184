"""The outgoing webhooks: every configured receiver (``notify:``) gets each event it asked
for, read from the store, signed, retried with backoff and, past its bound, dropped.

Events come from the store, not from this process: ``entity.changed`` from the change log
(recording order), ``run.finished`` from the run log (finish time, :meth:`finished_runs`),
so runs and pushes made by any replica are delivered. Each receiver has its own position,
saved in the store as a feed cursor (``notify:<url>``, see :class:`Position`), so:

- deliveries survive restarts: a process that starts (or takes over) resumes where the
  last one saved; a receiver never seen before starts from the moment it is first followed;
- delivery is at least once: the position is saved after each page of events, so a process
  that dies mid-page sends that page again; every attempt at one event carries the same
  ``X-Stagegraph-Delivery`` id for receivers to deduplicate on;
- receivers are independent: one that is down delays only its own events;
- the outcomes are counted in the position too (:attr:`Position.counts`, saved with it after
  each page, and every :data:`COUNTS_SAVE_SECONDS` while a receiver is retried), so every process reads the same totals for ``/metrics``
  (:func:`saved_counts`), whichever delivers, and they go on from there after a restart or
  a takeover.

Only the process holding the store lease ``notify`` delivers (:data:`NOTIFY_LEASE`, taken by
:class:`ingestors.leadership.Leadership` as the scheduler's lease is): replicas never send an
event twice at once, and another takes over within a lease TTL when the holder dies.

Per event: a POST with a 2xx answer is delivered. A connection error, a timeout, 408, 429 or
a 5xx is retried after ``backoff`` seconds, then twice that, and so on (at most
:data:`MAX_BACKOFF`), up to ``attempts`` tries in all; any other answer (a redirect, a 4xx)
is final at once. An event not delivered is dropped: logged, counted
(:class:`DeliveryObserver`), and passed over so the receiver's next events still go.

Runs are found by finish time, which the finishing process stamps: a run recorded late with
an earlier finish (another replica's clock, a slow write) is still found while it lies within
:data:`RUN_OVERLAP` of the newest finish delivered (the position keeps the ids delivered in
that window so none is sent twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import orjson

from graph.port import ChangeLog, RunLog, RunRecord
from ingestors.notify.config import NotifyTarget
from ingestors.notify.events import Event, change_event, headers, run_event

log = logging.getLogger("stagegraph.notify")

NOTIFY_LEASE = "notify"
POLL_SECONDS = 0.5
PAGE = 200
MAX_BACKOFF = 300.0
RUN_OVERLAP = timedelta(seconds=5)
RETRIED_STATUSES = frozenset({408, 429})
#: a page whose deliveries take longer (a receiver retrying) saves its counts this often
COUNTS_SAVE_SECONDS = 1.0


class NotifyStore(ChangeLog, RunLog, Protocol):
    """What the sender reads: the change log (and its cursors) and the run log."""


class DeliveryObserver(Protocol):
    """Told of each outcome, by the receiver's host and the event name (metrics)."""

    def delivered(self, host: str, event: str) -> None: ...

    def retried(self, host: str, event: str) -> None: ...

    def dropped(self, host: str, event: str) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Position:
    """Where one receiver's deliveries stand: changes recorded after ``change`` (or, before
    the first, from ``changes_since``), runs finished from ``runs_since`` on except those in
    ``runs`` (already sent), for the ``events`` it was following; ``counts``: the outcomes
    so far, ``(outcome, event, number)`` sorted."""

    events: tuple[str, ...]
    changes_since: datetime
    change: str | None = None
    runs_since: datetime = field(default_factory=_now)
    runs: frozenset[str] = frozenset()
    counts: tuple[tuple[str, str, int], ...] = ()

    def dump(self) -> str:
        return orjson.dumps(
            {
                "events": list(self.events),
                "changesSince": self.changes_since.isoformat(),
                "change": self.change,
                "runsSince": self.runs_since.isoformat(),
                "runs": sorted(self.runs),
                "counts": [list(count) for count in self.counts],
            }
        ).decode()

    @classmethod
    def load(cls, text: str) -> Position:
        data: dict[str, Any] = orjson.loads(text)
        return cls(
            events=tuple(data["events"]),
            changes_since=datetime.fromisoformat(data["changesSince"]),
            change=data.get("change"),
            runs_since=datetime.fromisoformat(data["runsSince"]),
            runs=frozenset(data.get("runs", ())),
            counts=tuple((str(o), str(e), int(n)) for o, e, n in data.get("counts", ())),
        )

    def following(self, events: Sequence[str], now: datetime) -> Position:
        """This position for a receiver now following ``events``: an event it did not follow
        before starts from ``now`` (nothing older is sent)."""
        position = self
        if "entity.changed" in events and "entity.changed" not in self.events:
            position = _replace(position, changes_since=now, change=None)
        if "run.finished" in events and "run.finished" not in self.events:
            position = _replace(position, runs_since=now, runs=frozenset())
        return _replace(position, events=tuple(events))


def _replace(position: Position, **changes: Any) -> Position:
    return Position(**{**position.__dict__, **changes})


Outcomes = Counter[tuple[str, str]]
"""Outcomes by ``(outcome, event)``: ``delivered``, ``retried`` or ``dropped``."""


async def saved_counts(
    store: ChangeLog, targets: Sequence[NotifyTarget]
) -> dict[tuple[str, str, str], int]:
    """The outcomes saved in the store for ``targets``, by ``(outcome, host, event)``
    (receivers on one host added up, as the metrics label them): what any process reports,
    whichever holds the ``notify`` lease (one store read per receiver)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for target in targets:
        saved = await store.feed_cursor(target.cursor)
        try:
            counts = Position.load(saved).counts if saved is not None else ()
        except (ValueError, KeyError, TypeError):
            continue  # unreadable: the sender starts it again (see Notifier._start)
        for outcome, event, number in counts:
            found[(outcome, target.host, event)] += number
    return dict(found)


class Notifier:
    """Delivers to every target (:meth:`run`) until :meth:`stop`."""

    def __init__(
        self,
        store: NotifyStore,
        targets: Sequence[NotifyTarget],
        *,
        observer: DeliveryObserver | None = None,
        interval: float = POLL_SECONDS,
        now: Callable[[], datetime] = _now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.targets = tuple(targets)
        self._observer = observer
        self._interval = interval
        self._now = now
        self._sleep = sleep
        self._transport = transport
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._counts: dict[str, Outcomes] = {}  # by target cursor, saved with the position
        self._saved_at: dict[str, float] = {}  # when each target's counts were last saved

    async def run(self) -> None:
        """Follow every target until :meth:`stop` (undelivered events stay for the next
        process: nothing is saved past them)."""
        if self._stopping or not self.targets:
            return
        async with httpx.AsyncClient(transport=self._transport, follow_redirects=False) as client:
            self._tasks = [
                asyncio.create_task(self._follow(client, target), name=f"notify {target.host}")
                for target in self.targets
            ]
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self, grace_seconds: float = 0.0) -> None:
        """Stop delivering now (``grace_seconds`` is not waited: an event cut short is sent
        again by the next holder of the lease)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, client: httpx.AsyncClient, target: NotifyTarget) -> None:
        position: Position | None = None
        while not self._stopping:
            more = False
            try:
                if position is None:
                    position = await self._start(target)
                events, after = await self.read(target, position)
                self._saved_at[target.cursor] = time.monotonic()
                for event in events:
                    await self._deliver(client, target, event, position)
                    await self._save_counts(target, position)
                after = _replace(after, counts=self._counted(target))
                if after != position:
                    await self.store.save_feed_cursor(target.cursor, after.dump())
                position, more = after, len(events) >= PAGE
            except Exception:
                log.exception(
                    "notify %s: could not read or save its position in the store; trying again",
                    target.host,
                )
            if not more:
                await self._sleep(self._interval)

    async def _start(self, target: NotifyTarget) -> Position:
        """The saved position (adjusted to the events followed now), or one from now."""
        now = self._now()
        saved = await self.store.feed_cursor(target.cursor)
        position: Position | None = None
        if saved is not None:
            try:
                position = Position.load(saved)
            except (ValueError, KeyError, TypeError):
                log.warning(
                    "notify %s: its saved position is unreadable; starting now", target.host
                )
        if position is None:
            position = Position(events=(), changes_since=now, runs_since=now)
        resumed = position.following(target.events, now)
        if resumed != position or saved is None:
            await self.store.save_feed_cursor(target.cursor, resumed.dump())
        self._counts[target.cursor] = Counter({(o, e): n for o, e, n in resumed.counts})
        return resumed

    async def read(self, target: NotifyTarget, position: Position) -> tuple[list[Event], Position]:
        """The events after ``position`` (a page at most of each kind), and the position
        past them."""
        events: list[Event] = []
        after = position
        runs: list[RunRecord] = []
        if "run.finished" in target.events:
            # Runs first: a run's changes are recorded before it finishes, so every change
            # of a run read here is read below, and goes out before the run's own event.
            runs = await self.store.finished_runs(position.runs_since - RUN_OVERLAP, PAGE)
        if "entity.changed" in target.events:
            if position.change is None:
                changes = await self.store.changes(since=position.changes_since, limit=PAGE)
            else:
                changes = await self.store.changes(after_id=position.change, limit=PAGE)
            events.extend(change_event(c) for c in changes)
            if changes:
                after = _replace(after, change=changes[-1].id)
            if len(changes) >= PAGE:
                runs = []  # more changes to send first: the runs wait for the next page
        fresh = [r for r in runs if r.id not in position.runs and r.finished_at is not None]
        if fresh:
            events.extend(run_event(r) for r in fresh)
            since = max(position.runs_since, *(r.finished_at for r in fresh if r.finished_at))
            sent = position.runs | {r.id for r in fresh}
            window = since - RUN_OVERLAP
            kept = {
                r.id for r in runs if r.id in sent and r.finished_at and r.finished_at >= window
            }
            after = _replace(after, runs_since=since, runs=frozenset(kept))
        return events, after

    async def _save_counts(self, target: NotifyTarget, page: Position) -> None:
        """In a slow page (a receiver retrying), save the counts so far, at the position the
        page started from, every :data:`COUNTS_SAVE_SECONDS`."""
        if time.monotonic() - self._saved_at.get(target.cursor, 0.0) < COUNTS_SAVE_SECONDS:
            return
        counted = _replace(page, counts=self._counted(target))
        await self.store.save_feed_cursor(target.cursor, counted.dump())
        self._saved_at[target.cursor] = time.monotonic()

    async def _deliver(
        self, client: httpx.AsyncClient, target: NotifyTarget, event: Event, page: Position
    ) -> None:
        head = headers(target.url, target.secret.get_secret_value(), event)
        wait = target.backoff
        for attempt in range(1, target.attempts + 1):
            problem, retry = await self._post(client, target, event, head)
            if problem is None:
                self._tell("delivered", target, event)
                return
            if not retry or attempt == target.attempts:
                break
            log.info(
                "notify %s: %s %s failed (%s); retrying in %.3gs (try %d of %d)",
                target.host,
                event.name,
                event.id,
                problem,
                wait,
                attempt + 1,
                target.attempts,
            )
            self._tell("retried", target, event)
            await self._save_counts(target, page)
            await self._sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF)
        log.warning(
            "notify %s: dropped %s %s after %d tries: %s",
            target.host,
            event.name,
            event.id,
            attempt,
            problem,
        )
        self._tell("dropped", target, event)

    async def _post(
        self,
        client: httpx.AsyncClient,
        target: NotifyTarget,
        event: Event,
        head: dict[str, str],
    ) -> tuple[str | None, bool]:
        """``(None, _)`` when delivered, else what went wrong and whether to retry."""
        try:
            answer = await client.post(
                target.url, content=event.body, headers=head, timeout=target.timeout
            )
        except httpx.HTTPError as exc:  # connection, timeout, protocol: worth another try
            return f"{type(exc).__name__} {exc}".strip(), True
        if answer.is_success:
            return None, False
        status = answer.status_code
        return f"answered {status}", status >= 500 or status in RETRIED_STATUSES

    def _outcomes(self, target: NotifyTarget) -> Outcomes:
        return self._counts.setdefault(target.cursor, Counter())

    def _counted(self, target: NotifyTarget) -> tuple[tuple[str, str, int], ...]:
        return tuple(sorted((o, e, n) for (o, e), n in self._outcomes(target).items()))

    def _tell(self, outcome: str, target: NotifyTarget, event: Event) -> None:
        self._outcomes(target)[(outcome, event.name)] += 1
        observer = self._observer
        if observer is None:
            return
        tell = {
            "delivered": observer.delivered,
            "retried": observer.retried,
            "dropped": observer.dropped,
        }[outcome]
        tell(target.host, event.name)
