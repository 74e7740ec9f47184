"""Source configuration, schedule slots, jitter and backoff: pure functions, no store."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from ingestors.clock import FakeClock
from ingestors.contract import Schedule, format_duration, parse_duration
from ingestors.git import GitSource
from ingestors.registry import Sources, parse_sources
from ingestors.schedule import backoff, jitter_delay, next_cron, next_slot

T0 = datetime(2030, 1, 31, 10, 7, 30, tzinfo=UTC)


class _Config(BaseModel):
    sources: Sources = ()


def _problems(raw: object) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        _Config.model_validate({"sources": raw})
    return {tuple(e["loc"]): e["msg"] for e in caught.value.errors()}


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        (600, 600),
        ("600", 600),
        ("0", 0),
    ],
)
def test_durations_read_units_and_seconds(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "30 s m", "1.5h", "m", "-5s", "30m1h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_durations_format_back_to_what_they_read() -> None:
    for text in ("90s", "30m", "1h30m", "1d2h", "0s"):
        assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
    assert format_duration(timedelta(seconds=90)) == "1m30s"


def test_a_git_source_reads_with_defaults() -> None:
    (source,) = parse_sources(
        [
            {
                "name": "acme-catalog",
                "type": "git",
                "url": "https://example.invalid/acme/catalog.git",
                "paths": ["catalog/"],
                "schedule": {"cron": "*/15  * * * *"},
                "initialDelay": "15s",
            }
        ]
    )

    assert isinstance(source, GitSource)
    assert (source.name, source.url, source.ref, source.paths) == (
        "acme-catalog",
        "https://example.invalid/acme/catalog.git",
        None,
        ("catalog/",),
    )
    assert source.schedule == Schedule(cron="*/15 * * * *")
    assert source.schedule.describe() == "cron */15 * * * *"
    assert (source.timeout, source.initial_delay, source.jitter) == (
        timedelta(minutes=10),
        timedelta(seconds=15),
        timedelta(0),
    )
    assert (source.max_retries, source.backoff, source.max_backoff) == (
        3,
        timedelta(seconds=30),
        timedelta(hours=1),
    )


def test_every_problem_is_listed_with_its_path() -> None:
    problems = _problems(
        [
            {"name": "a", "type": "git", "url": "x", "schedule": {"every": "30x"}},
            {"name": "a", "type": "git", "url": "y", "intialDelay": "3s"},
            {"name": "b b", "type": "azure", "timeout": "soon"},
            {"name": "c", "type": "git", "url": "y", "schedule": {"cron": "* * *"}},
            {"name": "d", "type": "git", "url": "y", "schedule": {"every": "5m", "cron": "@daily"}},
            {"name": "e", "type": "git", "url": "", "schedule": {"every": "5m"}, "jitter": "5m"},
            {"name": "f", "type": "git", "url": "y", "timeout": 0, "maxRetries": -1},
            {"type": "git", "url": "z"},
            "not a mapping",
        ]
    )

    assert problems == {
        ("sources", 0, "schedule", "every"): (
            "'30x' is not a duration: write a number of seconds or amounts with units, "
            "e.g. 90s, 30m, 2h, 1d, 1h30m"
        ),
        (
            "sources",
            1,
            "name",
        ): "source name 'a' is already used by source #1; names must be unique",
        ("sources", 1, "intialDelay"): "Extra inputs are not permitted",
        (
            "sources",
            2,
            "type",
        ): "unknown source type 'azure'; known types: aws, git, github, gitlab, jenkins, location",
        ("sources", 2, "name"): (
            "'b b' is not a valid source name: use 1-63 characters of [a-zA-Z0-9] with - _ . inside"
        ),
        ("sources", 2, "timeout"): (
            "'soon' is not a duration: write a number of seconds or amounts with units, "
            "e.g. 90s, 30m, 2h, 1d, 1h30m"
        ),
        ("sources", 3, "schedule", "cron"): (
            "'* * *' is not a cron expression: use 5 fields (minute hour day-of-month month "
            'day-of-week, e.g. "*/15 * * * *") or @hourly, @daily, @weekly'
        ),
        ("sources", 4, "schedule"): "give exactly one of every (e.g. every: 30m) or cron",
        ("sources", 5, "url"): "String should have at least 1 character",
        ("sources", 5, "jitter"): "must be shorter than the schedule's every",
        ("sources", 6, "timeout"): "must be longer than 0s",
        ("sources", 6, "maxRetries"): "Input should be greater than or equal to 0",
        ("sources", 7, "name"): "Field required",
        ("sources", 8): "a source must be a mapping with name, type and options",
    }


def test_sources_that_are_not_a_list_are_refused() -> None:
    assert _problems({"name": "a"}) == {
        ("sources",): "sources must be a list of sources (name, type, ...)"
    }


def test_no_sources_is_an_empty_tuple() -> None:
    assert parse_sources(None) == ()


# -- slots -----------------------------------------------------------------------------------
def test_every_starts_after_the_initial_delay_then_counts_from_the_last_start() -> None:
    every = Schedule(every=timedelta(minutes=30))

    first = next_slot(every, earliest=T0 + timedelta(minutes=1), last_start=None)
    after_run = next_slot(every, earliest=T0 + timedelta(minutes=3), last_start=first)
    after_long_run = next_slot(every, earliest=T0 + timedelta(hours=2), last_start=first)

    assert first == T0 + timedelta(minutes=1)
    assert after_run == T0 + timedelta(minutes=31)
    assert after_long_run == T0 + timedelta(hours=2)  # at once, not a burst of missed slots


def test_cron_slots_are_strictly_later_and_skip_missed_ones() -> None:
    quarter = Schedule(cron="*/15 * * * *")

    assert next_slot(quarter, earliest=T0, last_start=None) == T0.replace(minute=15, second=0)
    on_the_dot = T0.replace(minute=15, second=0)
    assert next_slot(quarter, earliest=on_the_dot, last_start=on_the_dot) == on_the_dot.replace(
        minute=30
    )
    late = T0.replace(hour=11, minute=52)
    assert next_slot(quarter, earliest=late, last_start=T0) == T0.replace(
        hour=12, minute=0, second=0
    )


def test_cron_handles_month_ends_and_leap_days() -> None:
    end_of_month = datetime(2030, 1, 31, 0, 0, tzinfo=UTC)

    assert next_cron("0 0 31 * *", end_of_month) == datetime(2030, 3, 31, tzinfo=UTC)
    assert next_cron("0 0 L * *", end_of_month) == datetime(2030, 2, 28, tzinfo=UTC)
    assert next_cron("0 12 29 2 *", end_of_month) == datetime(2032, 2, 29, 12, tzinfo=UTC)
    assert next_cron("0 0 1 * *", datetime(2030, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2031, 1, 1, tzinfo=UTC
    )


def test_cron_runs_in_utc_with_no_daylight_saving_jumps() -> None:
    # Europe changes clocks on 2030-03-31 at 01:00 UTC; UTC slots stay an hour apart.
    paris_summer = timezone(timedelta(hours=2))
    start = datetime(2030, 3, 31, 0, 30, tzinfo=UTC)
    slots = [start]
    for _ in range(4):
        slots.append(next_cron("0 * * * *", slots[-1]))

    assert slots[1:] == [datetime(2030, 3, 31, h, tzinfo=UTC) for h in (1, 2, 3, 4)]
    assert all(s.tzinfo == UTC for s in slots)
    # an aware time in another zone is read as the same instant
    assert next_cron("0 * * * *", datetime(2030, 3, 31, 3, 30, tzinfo=paris_summer)) == datetime(
        2030, 3, 31, 2, tzinfo=UTC
    )


# -- jitter and backoff ----------------------------------------------------------------------
def test_jitter_stays_within_its_bounds_and_is_seedable() -> None:
    rng = random.Random(7)
    delays = [jitter_delay(timedelta(seconds=30), rng) for _ in range(2000)]

    assert all(timedelta(0) <= d <= timedelta(seconds=30) for d in delays)
    assert max(delays) > timedelta(seconds=27) and min(delays) < timedelta(seconds=3)
    again = random.Random(7)
    assert [jitter_delay(timedelta(seconds=30), again) for _ in range(5)] == delays[:5]
    assert jitter_delay(timedelta(0), rng) == timedelta(0)


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    rng = random.Random(1)
    base, cap = timedelta(seconds=10), timedelta(minutes=1)

    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (5, 60), (80, 60)]:
        delays = [backoff(attempt, base=base, cap=cap, rng=rng) for _ in range(500)]
        assert all(timedelta(0) <= d <= timedelta(seconds=ceiling) for d in delays)
        assert max(delays) > timedelta(seconds=ceiling * 0.9)


def test_backoff_is_capped_at_the_next_slot() -> None:
    rng = random.Random(3)
    left = timedelta(seconds=45)
    base, cap = timedelta(minutes=1), timedelta(hours=1)

    delays = [backoff(6, base=base, cap=cap, rng=rng, before=left) for _ in range(500)]

    assert all(d <= left for d in delays)
    assert sum(d == left for d in delays) > 450  # up to 32m drawn: nearly always capped
    assert backoff(1, base=base, cap=cap, rng=rng, before=timedelta(0)) == timedelta(0)
    with pytest.raises(ValueError, match="attempt counts from 1"):
        backoff(0, base=timedelta(seconds=1), cap=timedelta(seconds=1), rng=rng)


# -- the fake clock --------------------------------------------------------------------------
async def test_fake_clock_wakes_sleepers_in_deadline_order_only_when_advanced() -> None:
    import asyncio

    clock = FakeClock(T0)
    woken: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 90), ("early", 30))]
    await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # real time passes; the fake clock does not

    assert woken == [] and clock.now() == T0
    assert clock.deadlines == [T0 + timedelta(seconds=30), T0 + timedelta(seconds=90)]
    await clock.advance(60)
    assert woken == [("early", T0 + timedelta(seconds=30))]
    assert clock.now() == T0 + timedelta(seconds=60)
    await clock.advance(60)
    assert woken[1] == ("late", T0 + timedelta(seconds=90))
    await asyncio.gather(*tasks)
    with pytest.raises(ValueError, match="does not go back"):
        await clock.set(T0)
