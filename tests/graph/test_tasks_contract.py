"""The task role of the store port (:class:`graph.port.Tasks`), on both stores: saving and
listing tasks, claiming each open task exactly once, renewing, expiry, cancellation, and
numbered events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from graph.port import GraphStore, TaskRecord, TaskStep

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def task(
    task_id: str, minute: int = 0, by: str = "user:default/guest", pinned_to: str | None = None
) -> TaskRecord:
    return TaskRecord(
        id=task_id,
        template="template:default/example",
        status="open",
        created_at=T0 + timedelta(minutes=minute),
        created_by=by,
        values={"name": "x"},
        steps=[TaskStep("fetch", "Fetch", "fetch:template")],
        pinned_to=pinned_to,
    )


async def test_tasks_are_saved_read_and_listed_newest_first(store: GraphStore) -> None:
    for index in range(3):
        await store.save_task(task(f"t{index}", index))
    await store.save_task(task("other", 9, by="user:default/jo"))

    got = await store.get_tasks(["t1", "missing"])
    listed = await store.list_tasks(2, created_by="user:default/guest")
    rest = await store.list_tasks(5, listed[-1].id, created_by="user:default/guest")

    assert list(got) == ["t1"]
    assert got["t1"].steps == [TaskStep("fetch", "Fetch", "fetch:template")]
    assert got["t1"].values == {"name": "x"} and got["t1"].created_at == T0 + timedelta(minutes=1)
    assert [t.id for t in listed] == ["t2", "t1"] and [t.id for t in rest] == ["t0"]
    assert await store.count_tasks(status="open") == 4
    assert await store.count_tasks(template="template:default/none") == 0


async def test_each_open_task_is_claimed_once_oldest_first(store: GraphStore) -> None:
    for index in range(6):
        await store.save_task(task(f"t{index}", index))
    await store.save_task(task("pinned", -1, pinned_to="elsewhere"))
    until = T0 + timedelta(minutes=5)

    claims = await asyncio.gather(*(store.claim_task(f"owner{i % 3}", T0, until) for i in range(9)))

    claimed = [c.id for c in claims if c is not None]
    assert sorted(claimed) == [f"t{i}" for i in range(6)]
    assert all(c.status == "processing" and c.owner for c in claims if c is not None)
    assert await store.claim_task("owner0", T0, until) is None
    mine = await store.claim_task("elsewhere", T0, until)
    assert mine is not None and mine.id == "pinned"


async def test_renewal_expiry_and_cancellation(store: GraphStore) -> None:
    for name in ("a", "b", "c"):
        await store.save_task(task(name))
    a = await store.claim_task("w1", T0, T0 + timedelta(seconds=30))
    b = await store.claim_task("w2", T0, T0 + timedelta(seconds=30))
    assert a is not None and b is not None

    renewed = await store.renew_task(a.id, "w1", T0 + timedelta(minutes=10))
    stolen = await store.renew_task(a.id, "w2", T0 + timedelta(minutes=10))
    failed = await store.fail_expired_tasks(T0 + timedelta(minutes=1), "its worker stopped")
    cancelled_open = await store.request_cancel("c", T0)
    cancelled_running = await store.request_cancel(a.id, T0)

    assert renewed is not None and stolen is None
    assert [(t.id, t.status, t.error) for t in failed] == [(b.id, "failed", "its worker stopped")]
    assert cancelled_open is not None and cancelled_open.status == "cancelled"
    assert cancelled_running is not None
    assert (cancelled_running.status, cancelled_running.cancel_requested) == ("processing", True)
    assert await store.request_cancel("missing", T0) is None
    assert await store.renew_task(b.id, "w2", T0 + timedelta(minutes=10)) is None


async def test_events_are_numbered_in_order(store: GraphStore) -> None:
    await store.save_task(task("t"))

    first = await store.add_task_events("t", T0, [("log", {"message": "a"}), ("step", {"id": "x"})])
    second = await store.add_task_events("t", T0, [("completion", {"status": "completed"})])

    assert [e.seq for e in [*first, *second]] == [1, 2, 3]
    assert [(e.seq, e.type) for e in await store.get_task_events("t", 1)] == [
        (2, "step"),
        (3, "completion"),
    ]
    assert (await store.get_task_events("t"))[0].body == {"message": "a"}
    assert await store.add_task_events("missing", T0, [("log", {})]) == []


async def test_tasks_page_backward_newest_first(store: GraphStore) -> None:
    for index in range(5):
        await store.save_task(task(f"t{index}", index))

    oldest = await store.list_tasks(2, backward=True)
    newer = await store.list_tasks(2, oldest[0].id, backward=True)
    newest = await store.list_tasks(2, newer[0].id, backward=True)

    assert [t.id for t in oldest] == ["t1", "t0"]
    assert [t.id for t in newer] == ["t3", "t2"]
    assert [t.id for t in newest] == ["t4"]
