"""Time as the scheduler sees it: ``now()`` in UTC and ``sleep()``, injected so tests can
drive schedules, timeouts and leases without waiting through real minutes.

:class:`SystemClock` is the real one. :class:`FakeClock` stands still until a test calls
:meth:`FakeClock.advance`, which moves it forward and wakes, in deadline order, every
sleeper whose deadline it passes.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the scheduler gets the time and waits."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock (at once when <= 0)."""
        ...


class SystemClock:
    """The wall clock and :func:`asyncio.sleep`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(order=True)
class _Sleeper:
    deadline: datetime
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class FakeClock:
    """A clock that moves only when told; for tests.

    ``sleep`` parks the caller until :meth:`advance` (or :meth:`set`) reaches its deadline.
    Woken tasks get a few turns of the event loop before time moves on, so a task that wakes,
    computes and sleeps again without I/O is seen at every deadline it should be.
    """

    #: loop turns given to woken tasks at each deadline passed
    TURNS = 20

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._sleepers: list[_Sleeper] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sleeper = _Sleeper(self._now + timedelta(seconds=seconds), next(self._seq), future)
        self._sleepers.append(sleeper)
        try:
            await future
        finally:
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)

    @property
    def deadlines(self) -> list[datetime]:
        """Deadlines of the tasks sleeping now, earliest first."""
        return sorted(s.deadline for s in self._sleepers if not s.future.done())

    async def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``, waking sleepers deadline by deadline."""
        await self.set(self._now + timedelta(seconds=seconds))

    async def set(self, when: datetime) -> None:
        """Move forward to ``when`` (never back), waking sleepers deadline by deadline."""
        if when < self._now:
            raise ValueError(f"a FakeClock does not go back ({when} < {self._now})")
        while True:
            due = [s for s in self._sleepers if s.deadline <= when and not s.future.done()]
            if not due:
                break
            first = min(due)
            self._now = max(self._now, first.deadline)
            for sleeper in due:
                if sleeper.deadline <= self._now:
                    sleeper.future.set_result(None)
            for _ in range(self.TURNS):
                await asyncio.sleep(0)
        self._now = when
        for _ in range(self.TURNS):
            await asyncio.sleep(0)
