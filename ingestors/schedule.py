"""When a source runs next: schedule slots, jitter and retry backoff. Pure functions of
their arguments (randomness comes from the ``rng`` passed in, so tests seed it).

- ``every``: the first slot is the scheduler's start plus ``initialDelay`` (or, when the
  store shows a run that started less than one interval before, that run's start plus the
  interval); each later slot is the previous run's start plus the interval, and never in the
  past: a run that lasted longer than the interval is followed at once, never by a burst.
- ``cron``: the first match strictly after the scheduler's start plus ``initialDelay``, then
  the first match strictly after the previous run; evaluated in UTC (no DST), slots missed
  while a run went on are skipped, not caught up.
- A run starts at its slot plus a random jitter in ``[0, jitter]``.
- Retry ``n`` of a failed run waits a random time in ``[0, min(backoff * 2^(n-1),
  maxBackoff)]`` ("full jitter"), capped at the time left before the next slot: a retry
  that would reach the next slot is not made (that slot's run is the retry).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from croniter import croniter

from ingestors.contract import Schedule


def next_cron(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that matches ``expression``, in UTC."""
    start = after.astimezone(UTC)
    found = croniter(expression, start).get_next(datetime)
    if found <= start:  # croniter works in whole seconds: never hand back the same instant
        found = croniter(expression, start + timedelta(seconds=1)).get_next(datetime)
    return found.astimezone(UTC)


def next_slot(schedule: Schedule, *, earliest: datetime, last_start: datetime | None) -> datetime:
    """The next slot no earlier than ``earliest`` (strictly later, for cron).

    ``last_start`` is when the source's previous run started (any worker's), if known; an
    ``every`` schedule counts from it.
    """
    if schedule.every is not None:
        if last_start is None:
            return earliest
        return max(earliest, last_start + schedule.every)
    assert schedule.cron is not None  # a Schedule has exactly one of the two
    return next_cron(schedule.cron, earliest)


def jitter_delay(jitter: timedelta, rng: random.Random) -> timedelta:
    """A random delay in ``[0, jitter]``."""
    if jitter <= timedelta(0):
        return timedelta(0)
    return timedelta(seconds=rng.uniform(0.0, jitter.total_seconds()))


def backoff(
    attempt: int,
    *,
    base: timedelta,
    cap: timedelta,
    rng: random.Random,
    before: timedelta | None = None,
) -> timedelta:
    """How long retry ``attempt`` (1, 2, ...) waits: a random time up to
    ``min(base * 2^(attempt-1), cap)`` (full jitter), then capped at ``before`` (the time left
    until the next scheduled run) when given. A delay equal to ``before`` means: no retry,
    the next scheduled run comes first."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    ceiling = min(base.total_seconds() * 2.0 ** min(attempt - 1, 64), cap.total_seconds())
    delay = (
        timedelta(seconds=min(rng.uniform(0.0, ceiling), ceiling)) if ceiling > 0 else timedelta(0)
    )
    if before is not None:
        delay = max(timedelta(0), min(delay, before))
    return delay
