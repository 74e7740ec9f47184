"""The ChangeLog role on both stores (see graph.port.ChangeLog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalog.changes import ChangeType, EntityChange
from graph.port import GraphStore

AT = datetime(2026, 12, 5, tzinfo=UTC)


def _change(n: int, ref: str = "component:default/a", kind: str = "Component") -> EntityChange:
    return EntityChange(
        id=f"c{n}",
        at=AT + timedelta(minutes=n),
        source="git",
        run_id="r1",
        ref=ref,
        kind=kind,
        change=ChangeType.UPDATED,
        fields=("spec.owner",),
        before={"spec": {"owner": "a"}},
        after={"spec": {"owner": "b"}},
    )


async def test_changes_round_trip_in_recording_order_in_one_round_trip(
    store: GraphStore,
) -> None:

    recorded = [_change(1), _change(2, ref="group:default/g", kind="Group"), _change(3)]
    before = store.query_count
    await store.record_changes(recorded)
    assert store.query_count - before == 1
    assert await store.changes() == recorded
    assert [c.id for c in await store.changes(after_id="c1")] == ["c2", "c3"]
    assert [c.id for c in await store.changes(kind="Group")] == ["c2"]
    assert [c.id for c in await store.changes(ref="component:default/a", limit=1)] == ["c1"]
    assert [c.id for c in await store.changes(since=AT + timedelta(minutes=2))] == ["c2", "c3"]
    assert await store.count_changes(source="git") == 3


async def test_a_change_recorded_again_is_kept_once(store: GraphStore) -> None:
    """A write retried after its first attempt committed (Neo4j's managed transactions
    retry when the connection fails after the commit) records the same changes again."""
    await store.record_changes([_change(1), _change(2)])
    await store.record_changes([_change(2), _change(3)])
    assert [c.id for c in await store.changes()] == ["c1", "c2", "c3"]
    assert await store.count_changes() == 3


async def test_prune_forgets_only_older_changes(store: GraphStore) -> None:

    await store.record_changes([_change(1), _change(2), _change(3)])
    assert await store.prune_changes(AT + timedelta(minutes=2)) == 1
    assert [c.id for c in await store.changes()] == ["c2", "c3"]


async def test_a_cursor_whose_change_was_pruned_reads_what_is_left(store: GraphStore) -> None:
    """A poller whose last-seen change aged out of retention still moves on: everything kept
    is newer than what was pruned."""

    await store.record_changes([_change(1), _change(2), _change(3)])
    await store.prune_changes(AT + timedelta(minutes=2))
    assert [c.id for c in await store.changes(after_id="c1")] == ["c2", "c3"]


async def test_latest_changes_of_many_refs_newest_first_in_one_round_trip(
    store: GraphStore,
) -> None:
    a, g = "component:default/a", "group:default/g"
    await store.record_changes([_change(1), _change(2, ref=g), _change(3), _change(4)])

    before = store.query_count
    latest = await store.latest_changes([a, g, "component:default/none"], 2)

    assert store.query_count - before == 1
    assert {ref: [c.id for c in found] for ref, found in latest.items()} == {
        a: ["c4", "c3"],
        g: ["c2"],
    }
    assert await store.latest_changes([], 5) == {}


async def test_a_feed_cursor_is_saved_and_replaced(store: GraphStore) -> None:
    assert await store.feed_cursor("notify:a") is None

    await store.save_feed_cursor("notify:a", "c1")
    await store.save_feed_cursor("notify:a", "c2")
    await store.save_feed_cursor("notify:b", "c9")

    assert (await store.feed_cursor("notify:a"), await store.feed_cursor("notify:b")) == (
        "c2",
        "c9",
    )


async def test_changes_page_backward_oldest_first(store: GraphStore) -> None:
    await store.record_changes([_change(n) for n in range(1, 6)])

    newest = await store.changes(limit=2, backward=True)
    before = await store.changes(after_id=newest[0].id, limit=2, backward=True)
    first = await store.changes(after_id=before[0].id, limit=2, backward=True)

    assert [c.id for c in newest] == ["c4", "c5"]
    assert [c.id for c in before] == ["c2", "c3"]
    assert [c.id for c in first] == ["c1"]
