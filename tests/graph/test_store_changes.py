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


async def test_prune_forgets_only_older_changes(store: GraphStore) -> None:

    await store.record_changes([_change(1), _change(2), _change(3)])
    assert await store.prune_changes(AT + timedelta(minutes=2)) == 1
    assert [c.id for c in await store.changes()] == ["c2", "c3"]
