"""The schedule runs in the one process holding the lease ``scheduler``, on both stores; a
follower takes over when the leader stops renewing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from graph.port import GraphStore
from ingestors.clock import FakeClock
from ingestors.leadership import SCHEDULER_LEASE, Leadership
from ingestors.scheduler import Scheduler

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TTL = 60.0


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (real time, at most 5 s) for ``condition``: the store answers from its own
    thread or server, which the fake clock does not wait for."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)


async def test_one_leader_runs_the_schedule_and_a_follower_takes_over(
    store: GraphStore,
) -> None:
    clock = FakeClock(START)
    first, second = Scheduler(store, [], clock, "w1"), Scheduler(store, [], clock, "w2")
    leader, follower = (
        Leadership(store, "w1", clock, ttl=TTL),
        Leadership(store, "w2", clock, ttl=TTL),
    )
    leading = asyncio.create_task(leader.run(first))
    await clock.advance(0)
    await _until(lambda: leader.leading)
    following = asyncio.create_task(follower.run(second))
    await clock.advance(TTL)  # the leader renews; the follower keeps asking

    both_at_first = (leader.leading, follower.leading)
    leading.cancel()  # the leader dies without giving the lease back...
    await asyncio.gather(leading, return_exceptions=True)
    await store.acquire_lease(SCHEDULER_LEASE, "w1", clock.now(), clock.now())  # ...and expires
    await clock.advance(TTL / 3 + 1)
    await _until(lambda: follower.leading)
    after = follower.leading

    await second.stop(grace_seconds=0)
    await asyncio.wait_for(following, 5)
    assert both_at_first == (True, False)
    assert after is True
    assert await store.acquire_lease(SCHEDULER_LEASE, "w3", clock.now(), clock.now())  # given back
