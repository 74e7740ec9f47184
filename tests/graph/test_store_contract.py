"""The store contract: every test here runs unchanged on SQLite and on Neo4j."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from graph.fields import entity_uid
from graph.neo4j.store import Neo4jStore
from graph.port import (
    SOURCE_PATH_ANNOTATION,
    Delivery,
    Direction,
    EntityFilter,
    EntityRecord,
    EntityState,
    FieldCondition,
    FieldOrder,
    GraphStore,
    KindCount,
    LocationRecord,
    Order,
    RunError,
    RunRecord,
    SourceFile,
)
from tests.factories import record, rel


async def test_upsert_and_read_by_refs_case_insensitively(store: GraphStore) -> None:
    await store.upsert_entities(
        "src", "run1", [record("component:default/Payments", title="Payments", tags=("java",))]
    )

    found = await store.get_entities(["component:default/payments", "component:default/missing"])

    assert list(found) == ["component:default/payments"]
    entity = found["component:default/payments"]
    assert (entity.ref, entity.kind, entity.namespace, entity.name) == (
        "component:default/Payments",
        "component",
        "default",
        "Payments",
    )
    assert (entity.source, entity.run_id, entity.error) == ("src", "run1", None)
    assert entity.document["metadata"]["title"] == "Payments"


async def test_unchanged_upsert_keeps_updated_at_and_restamps_run(store: GraphStore) -> None:
    await store.upsert_entities("src", "run1", [record("component:default/a")])
    first = (await store.get_entities(["component:default/a"]))["component:default/a"]

    await store.upsert_entities("src", "run2", [record("component:default/a")])
    await store.upsert_entities("src", "run2", [record("component:default/b")])
    second = (await store.get_entities(["component:default/a"]))["component:default/a"]

    assert second.updated_at == first.updated_at
    assert second.run_id == "run2"


async def test_upsert_of_an_unchanged_entity_restamps_it_and_clears_its_error(
    store: GraphStore,
) -> None:
    await store.upsert_entities("src", "run1", [record("component:default/a", title="A")])
    await store.touch("src", "run1", ["component:default/a"], "spec.owner: is required")
    first = (await store.get_entities(["component:default/a"]))["component:default/a"]
    moved = record("component:default/a", title="A", annotations={"x.io/at": "commit-2"})
    same_hash = dataclasses.replace(moved, hash=first.hash)  # as for volatile annotations

    await store.upsert_entities("src", "run2", [record("component:default/a", title="A")])
    restamped = (await store.get_entities(["component:default/a"]))["component:default/a"]
    await store.upsert_entities("src", "run3", [same_hash])
    rewritten = (await store.get_entities(["component:default/a"]))["component:default/a"]

    assert (first.error, restamped.error, restamped.run_id) == (
        "spec.owner: is required",
        None,
        "run2",
    )
    assert restamped.updated_at == first.updated_at
    assert rewritten.run_id == "run3"
    assert rewritten.document["metadata"]["annotations"] == {"x.io/at": "commit-2"}
    assert rewritten.updated_at == first.updated_at
    found = await store.list_entities(EntityFilter(search="A"), 10)
    assert [e.ref for e in found.entities] == ["component:default/a"]


async def test_relations_both_directions_with_dangling_ends(store: GraphStore) -> None:
    await store.upsert_entities(
        "src", "r", [record("component:default/a"), record("group:default/team")]
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("component:default/a", "ownedBy", "group:default/team"),
            rel("component:default/a", "dependsOn", "resource:default/ghost"),
        ],
    )

    out = await store.get_relations(["component:default/A"], Direction.OUT)
    into = await store.get_relations(["group:default/team"], Direction.IN)
    typed = await store.get_relations(["component:default/a"], Direction.BOTH, ["dependsOn"])

    assert {(r.source_ref, r.type, r.target_ref, r.target_exists) for r in out} == {
        ("component:default/a", "ownedBy", "group:default/team", True),
        ("component:default/a", "dependsOn", "resource:default/ghost", False),
    }
    assert [(r.source_ref, r.type) for r in into] == [("component:default/a", "ownedBy")]
    assert [r.target_ref for r in typed] == ["resource:default/ghost"]


async def test_entities_with_relations_are_the_two_reads_in_one_statement(
    store: GraphStore,
) -> None:
    await store.upsert_entities(
        "src", "r", [record("component:default/a"), record("group:default/team")]
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("component:default/a", "ownedBy", "group:default/team"),
            rel("component:default/a", "dependsOn", "resource:default/ghost"),
            rel("component:default/b", "dependsOn", "component:default/a"),
        ],
    )
    keys = ["component:default/A", "resource:default/ghost", "component:default/none"]

    for direction in Direction:
        before = store.query_count
        entities, relations = await store.get_entities_with_relations(keys, direction)
        statements = store.query_count - before

        assert entities == await store.get_entities(keys)
        assert relations == await store.get_relations(keys, direction)
        assert statements == (1 if isinstance(store, Neo4jStore) else 2)
    entities, relations = await store.get_entities_with_relations(keys)
    assert list(entities) == ["component:default/a"]
    assert [(r.source_ref, r.type, r.target_ref) for r in relations] == [
        ("component:default/a", "dependsOn", "resource:default/ghost"),
        ("component:default/a", "ownedBy", "group:default/team"),
        ("component:default/b", "dependsOn", "component:default/a"),
    ]
    assert await store.get_entities_with_relations([]) == ({}, [])


async def test_a_selected_page_comes_with_its_relations_in_one_statement(
    store: GraphStore,
) -> None:
    names = ["a", "b", "c", "d"]
    await store.upsert_entities(
        "src", "r", [record(f"component:default/{n}") for n in names] + [record("group:default/t")]
    )
    await store.upsert_relations(
        "src",
        "r",
        [rel(f"component:default/{n}", "ownedBy", "group:default/t") for n in names]
        + [
            rel("component:default/b", "dependsOn", "component:default/c"),
            rel("component:default/d", "dependsOn", "resource:default/ghost"),
        ],
    )
    flt = EntityFilter(any_of=((FieldCondition("kind", ("component",)),),))
    order = [FieldOrder("metadata.name", descending=True)]

    before = store.query_count
    page, relations = await store.select_entities_with_relations(flt, order, 1, 2)
    statements = store.query_count - before
    empty = await store.select_entities_with_relations(EntityFilter(search="zzz"), [], 0, 5)

    assert [e.name for e in page] == ["c", "b"]
    assert page == await store.select_entities(flt, order, 1, 2)
    assert relations == await store.get_relations([e.key for e in page], Direction.BOTH)
    assert [(r.source_ref[-1], r.type, r.target_ref[-1]) for r in relations] == [
        ("b", "dependsOn", "c"),
        ("b", "ownedBy", "t"),
        ("c", "ownedBy", "t"),
    ]
    assert statements == (1 if isinstance(store, Neo4jStore) else 2)
    assert empty == ([], [])


async def test_a_page_by_name_of_kinds_orders_names_case_insensitively(
    store: GraphStore,
) -> None:
    # the catalog page: kind conditions alone (answered by the kinds) in metadata.name order
    # (read from the name on Neo4j, not from the searchable fields)
    await store.upsert_entities(
        "src",
        "r",
        [
            record("component:default/beta"),
            record("component:default/Alpha", spec={"type": "service"}),
            record("api:default/alpha-api"),
            record("component:other/CHARLIE", spec={"type": "service"}),
            record("group:default/aaa"),
        ],
    )
    kinds = EntityFilter(
        any_of=(
            (FieldCondition("kind", ("Component",)),),
            (FieldCondition("kind", ("api",)),),
        )
    )
    services = EntityFilter(
        any_of=(
            (FieldCondition("kind", ("component",)), FieldCondition("spec.type", ("service",))),
        )
    )
    by_name = [FieldOrder("metadata.name")]

    listed = await store.select_entities(kinds, by_name, 0, 10)
    backwards = await store.select_entities(kinds, [FieldOrder("metadata.name", True)], 1, 2)
    typed, _, total = await store.query_entities(services, by_name, 0, 10, False)

    assert [e.name for e in listed] == ["Alpha", "alpha-api", "beta", "CHARLIE"]
    assert [e.name for e in backwards] == ["beta", "alpha-api"]
    assert ([e.name for e in typed], total) == (["Alpha", "CHARLIE"], 2)


async def test_relation_to_missing_entity_resolves_when_it_arrives(store: GraphStore) -> None:
    await store.upsert_entities("src", "r", [record("component:default/a")])
    await store.upsert_relations(
        "src", "r", [rel("component:default/a", "dependsOn", "component:default/b")]
    )
    await store.upsert_entities("src", "r", [record("component:default/b")])

    (relation,) = await store.get_relations(["component:default/a"], Direction.OUT)

    assert relation.target_exists


async def test_list_filters_and_keyset_pages(store: GraphStore) -> None:
    records = [record(f"component:default/svc-{i:02d}", tags=("go",)) for i in range(7)]
    records.append(record("api:default/svc-api", title="Payments API", description="Charges"))
    records.append(record("component:other/svc-x", tags=("java",)))
    await store.upsert_entities("src", "r", [*records, record("group:default/team")])
    await store.upsert_relations(
        "src", "r", [rel("component:default/svc-03", "ownedBy", "group:default/team")]
    )

    components = EntityFilter(kinds=("Component",), namespace="default")
    page1 = await store.list_entities(components, first=3)
    page2 = await store.list_entities(components, first=3, after=page1.last_cursor)
    page3 = await store.list_entities(components, first=3, after=page2.last_cursor)

    assert [e.name for e in page1.entities] == ["svc-00", "svc-01", "svc-02"]
    assert [e.name for e in page2.entities] == ["svc-03", "svc-04", "svc-05"]
    assert [e.name for e in page3.entities] == ["svc-06"]
    assert (page1.has_next, page2.has_next, page3.has_next) == (True, True, False)
    assert await store.count_entities(components) == 7
    owned = await store.list_entities(EntityFilter(owner_keys=("group:default/team",)), 10)
    assert [e.name for e in owned.entities] == ["svc-03"]
    tagged = await store.list_entities(EntityFilter(tag="java"), 10)
    assert [e.ref for e in tagged.entities] == ["component:other/svc-x"]
    found = await store.list_entities(EntityFilter(search="payme"), 10)
    assert [e.ref for e in found.entities] == ["api:default/svc-api"]
    assert await store.count_entities(EntityFilter(search="charges")) == 1
    assert await store.count_entities(EntityFilter(search="') OR 1=1 --")) == 0


async def test_traverse_is_cycle_safe_with_shortest_depths(store: GraphStore) -> None:
    # a -> b -> c -> d, c -> a (cycle), a -> c (shortcut)
    names = "abcd"
    await store.upsert_entities("src", "r", [record(f"component:default/{n}") for n in names])
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("c", "a"), ("a", "c")]
    await store.upsert_relations(
        "src",
        "r",
        [rel(f"component:default/{x}", "dependsOn", f"component:default/{y}") for x, y in edges],
    )

    down = await store.traverse("component:default/a", "dependsOn", Direction.OUT, 10)
    shallow = await store.traverse("component:default/a", "dependsOn", Direction.OUT, 1)
    up = await store.traverse("component:default/d", "dependsOn", Direction.IN, 10)

    assert down.depths == {
        "component:default/b": 1,
        "component:default/c": 1,
        "component:default/d": 2,
    }
    assert {(e.from_ref[-1], e.to_ref[-1]) for e in down.edges} == set(edges)
    assert sorted(down.entities) == [f"component:default/{n}" for n in names]  # root too
    assert down.entities["component:default/d"].document["metadata"]["name"] == "d"
    assert shallow.depths == {"component:default/b": 1, "component:default/c": 1}
    assert sorted(shallow.entities) == [
        "component:default/a",
        "component:default/b",
        "component:default/c",
    ]
    assert {(e.from_ref[-1], e.to_ref[-1]) for e in shallow.edges} == {("a", "b"), ("a", "c")}
    assert up.depths == {
        "component:default/c": 1,
        "component:default/a": 2,
        "component:default/b": 2,
    }


async def test_traverse_of_a_dense_graph_walks_nodes_not_paths(store: GraphStore) -> None:
    # n00 -> n01..n05, n01 -> n02..n06, ...: over 5^10 paths within depth 10 (enumerating
    # them took seconds on Neo4j), n<j> at depth ceil(j / 5)
    refs = [f"component:default/n{i:02}" for i in range(51)]
    await store.upsert_entities("src", "r", [record(ref) for ref in refs])
    await store.upsert_relations(
        "src",
        "r",
        [
            rel(refs[i], "dependsOn", refs[j])
            for i in range(51)
            for j in range(i + 1, i + 6)
            if j < 51
        ],
    )

    down = await asyncio.wait_for(store.traverse(refs[0], "dependsOn", Direction.OUT, 10), 5)
    up = await asyncio.wait_for(store.traverse(refs[50], "dependsOn", Direction.IN, 10), 5)

    assert down.depths == {refs[j]: -(-j // 5) for j in range(1, 51)}
    assert down.refs == {ref: ref for ref in refs[1:]}
    assert len(down.edges) == 5 * 46  # every edge leaving n00..n45 (depth < 10)
    assert up.depths == {refs[j]: -(-(50 - j) // 5) for j in range(50)}


async def test_owned_by_rolls_up_through_child_groups(store: GraphStore) -> None:
    await store.upsert_entities(
        "src",
        "r",
        [
            record("group:default/org"),
            record("group:default/dept"),
            record("group:default/team"),
            record("component:default/top"),
            record("component:default/deep"),
        ],
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("group:default/dept", "childOf", "group:default/org"),
            rel("group:default/team", "childOf", "group:default/dept"),
            rel("component:default/top", "ownedBy", "group:default/org"),
            rel("component:default/deep", "ownedBy", "group:default/team"),
        ],
    )

    direct = await store.owned_by(["group:default/org"], include_subgroups=False)
    rolled = await store.owned_by(["group:default/org"], include_subgroups=True)
    entities = await store.owned_entities(["GROUP:default/org"], include_subgroups=True)
    none = await store.owned_entities(["group:default/nobody"], include_subgroups=True)

    assert direct == ["component:default/top"]
    assert sorted(rolled) == ["component:default/deep", "component:default/top"]
    assert [e.ref for e in entities] == ["component:default/deep", "component:default/top"]
    assert entities[1].document["metadata"]["name"] == "top"
    assert entities[1].source == "src"
    assert none == []


async def test_cleanup_is_scoped_to_source_and_run(store: GraphStore) -> None:
    await store.upsert_entities(
        "git-a", "r1", [record("component:default/keep"), record("component:default/gone")]
    )
    await store.upsert_entities("git-b", "x1", [record("component:default/other")])
    await store.upsert_relations(
        "git-a", "r1", [rel("component:default/gone", "dependsOn", "component:default/keep")]
    )
    await store.upsert_entities("git-a", "r2", [record("component:default/keep")])

    summary = await store.stale("git-a", "r2")
    deleted = await store.delete_stale("git-a", "r2")

    assert (summary.source_total, summary.stale_refs) == (2, ["component:default/gone"])
    assert deleted == {"component": 1}
    remaining = await store.get_entities(
        ["component:default/keep", "component:default/gone", "component:default/other"]
    )
    assert sorted(remaining) == ["component:default/keep", "component:default/other"]
    assert await store.get_relations(["component:default/keep"], Direction.BOTH) == []


async def test_touch_keeps_entity_and_relations_through_cleanup(store: GraphStore) -> None:
    await store.upsert_entities(
        "src", "r1", [record("component:default/a"), record("group:default/t")]
    )
    await store.upsert_relations(
        "src", "r1", [rel("component:default/a", "ownedBy", "group:default/t")]
    )
    await store.upsert_entities("src", "r2", [record("group:default/t")])

    await store.touch("src", "r2", ["component:default/a"], "spec.owner: is required")
    await store.delete_stale("src", "r2")

    kept = (await store.get_entities(["component:default/a"]))["component:default/a"]
    assert kept.error == "spec.owner: is required"
    assert len(await store.get_relations(["component:default/a"], Direction.OUT)) == 1


async def test_entity_states_give_source_hash_and_error_by_key(store: GraphStore) -> None:
    payments = record("component:default/Payments", title="Payments")
    await store.upsert_entities("git-a", "r1", [payments, record("group:default/team")])
    await store.upsert_entities("git-b", "r1", [record("api:default/orders")])
    await store.touch("git-a", "r1", ["group:default/team"], "spec.type: is required")
    await store.upsert_relations(
        "git-a", "r1", [rel("component:default/payments", "dependsOn", "resource:default/ghost")]
    )

    states = await store.get_entity_states(
        [
            "Component:default/PAYMENTS",
            "group:default/team",
            "api:default/orders",
            "resource:default/ghost",  # only a relation's end: not an entity
            "component:default/missing",
        ]
    )

    assert states == {
        "component:default/payments": EntityState("git-a", payments.hash, None),
        "group:default/team": EntityState(
            "git-a", record("group:default/team").hash, "spec.type: is required"
        ),
        "api:default/orders": EntityState("git-b", record("api:default/orders").hash, None),
    }
    assert await store.get_entity_states([]) == {}


async def test_delete_entities_touches_only_own_source(store: GraphStore) -> None:
    await store.upsert_entities("mine", "r", [record("component:default/a")])
    await store.upsert_entities("theirs", "r", [record("component:default/b")])

    deleted = await store.delete_entities("mine", ["component:default/a", "component:default/b"])

    assert deleted == 1
    assert list(await store.get_entities(["component:default/b"])) == ["component:default/b"]


async def test_runs_newest_first_with_pages(store: GraphStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        await store.save_run(
            RunRecord(
                id=f"run-{i}",
                source="a" if i % 2 == 0 else "b",
                source_type="git",
                status="SUCCEEDED",
                trigger="cli",
                started_at=start + timedelta(minutes=i),
                finished_at=start + timedelta(minutes=i, seconds=3),
                counts=[KindCount("component", added=i)],
                errors=[RunError("bad", file="x.yaml", entity="component:default/x")],
            )
        )

    page1 = await store.get_runs(None, first=2)
    page2 = await store.get_runs(None, first=2, after=page1[-1].id)
    only_a = await store.get_runs("a", first=10)

    assert [r.id for r in page1] == ["run-4", "run-3"]
    assert [r.id for r in page2] == ["run-2", "run-1"]
    assert [r.id for r in only_a] == ["run-4", "run-2", "run-0"]
    assert page1[0].counts == [KindCount("component", added=4)]
    assert page1[0].errors[0].file == "x.yaml"
    assert page1[0].finished_at == start + timedelta(minutes=4, seconds=3)


async def test_reads_cost_the_same_for_one_key_or_many(store: GraphStore) -> None:
    await store.upsert_entities("src", "r", [record(f"component:default/c{i}") for i in range(60)])
    keys = [f"component:default/c{i}" for i in range(60)]

    before = store.query_count
    await store.get_entities(keys[:1])
    await store.get_relations(keys[:1], Direction.BOTH)
    one = store.query_count - before
    before = store.query_count
    await store.get_entities(keys)
    await store.get_relations(keys, Direction.BOTH)
    many = store.query_count - before

    assert one == many


async def test_runs_filter_by_status_count_and_prune(store: GraphStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["SUCCEEDED", "FAILED", "SUCCEEDED", "RUNNING"]
    for i, status in enumerate(statuses):
        await store.save_run(
            RunRecord(f"run-{i}", "a", "git", status, "schedule", start + timedelta(hours=i))
        )

    failed = await store.get_runs("a", 10, status="FAILED")
    counted = await store.count_runs("a", "SUCCEEDED"), await store.count_runs(None)
    pruned = await store.prune_runs(start + timedelta(hours=3, minutes=30))

    assert [r.id for r in failed] == ["run-1"]
    assert counted == (2, 4)
    assert pruned == 3
    assert [r.id for r in await store.get_runs(None, 10)] == ["run-3"]


async def test_lease_is_exclusive_until_it_expires(store: GraphStore) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    minute = timedelta(minutes=1)

    first = await store.acquire_lease("source:a", "worker-1", now, now + minute)
    second = await store.acquire_lease("source:a", "worker-2", now + minute / 2, now + 2 * minute)
    renewed = await store.acquire_lease("source:a", "worker-1", now + minute / 2, now + 2 * minute)
    other = await store.acquire_lease("source:b", "worker-2", now, now + minute)
    taken_over = await store.acquire_lease(
        "source:a", "worker-2", now + 3 * minute, now + 4 * minute
    )
    await store.release_lease("source:a", "worker-1")  # no longer its lease: no effect
    still = await store.acquire_lease("source:a", "worker-1", now + 3 * minute, now + 4 * minute)
    await store.release_lease("source:a", "worker-2")
    free = await store.acquire_lease("source:a", "worker-1", now + 3 * minute, now + 4 * minute)

    assert (first, second, renewed, other) == (True, False, True, True)
    assert (taken_over, still, free) == (True, False, True)


async def test_latest_runs_per_source_and_runs_by_id(store: GraphStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [("a", "SUCCEEDED"), ("a", "FAILED"), ("b", "PARTIAL"), ("a", "SKIPPED")]
    for i, (source, status) in enumerate(rows):
        await store.save_run(
            RunRecord(f"run-{i}", source, "git", status, "schedule", start + timedelta(hours=i))
        )

    last = await store.latest_runs(["a", "b", "c"], ["SUCCEEDED", "PARTIAL", "FAILED"])
    good = await store.latest_runs(["a", "b"], ["SUCCEEDED", "PARTIAL"])
    by_id = await store.runs_by_id(["run-2", "nope"])

    assert {k: v.id for k, v in last.items()} == {"a": "run-1", "b": "run-2"}
    assert {k: v.id for k, v in good.items()} == {"a": "run-0", "b": "run-2"}
    assert list(by_id) == ["run-2"]
    assert by_id["run-2"].status == "PARTIAL"


async def test_finished_runs_by_finish_time_from_a_moment(store: GraphStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # run-0 started first but finished last; run-2 is still running; run-3 finished before.
    finishes = {"run-0": 30, "run-1": 10, "run-2": None, "run-3": -5, "run-4": 10}
    for i, (run_id, minutes) in enumerate(finishes.items()):
        await store.save_run(
            RunRecord(
                run_id,
                "a",
                "git",
                "RUNNING" if minutes is None else "SUCCEEDED",
                "schedule",
                start + timedelta(minutes=i),
                finished_at=None if minutes is None else start + timedelta(minutes=minutes),
            )
        )
    running = RunRecord("run-5", "b", "git", "RUNNING", "schedule", start, finished_at=start)
    await store.save_run(running)  # a RUNNING record with a time set is not finished

    found = await store.finished_runs(start, 10)
    first = await store.finished_runs(start, 1)
    later = await store.finished_runs(start + timedelta(minutes=11), 10)

    assert [r.id for r in found] == ["run-1", "run-4", "run-0"]
    assert [r.id for r in first] == ["run-1"]
    assert [r.id for r in later] == ["run-0"]


async def test_source_facet_counts_entities_per_source(store: GraphStore) -> None:
    await store.upsert_entities("one", "r", [record("component:default/a")])
    await store.upsert_entities(
        "two", "r", [record("component:default/b"), record("component:default/c")]
    )

    facets = await store.facets(["source"], EntityFilter())

    assert facets["source"] == [("two", 2), ("one", 1)]


async def test_backstage_filter_sets_are_an_or_of_ands_over_dot_paths(store: GraphStore) -> None:
    await store.upsert_entities(
        "src",
        "r",
        [
            record(
                "component:default/a",
                tags=("java",),
                annotations={"backstage.io/orphan": "true"},
                spec={"type": "Service", "lifecycle": "production"},
            ),
            record("component:default/b", spec={"type": "website"}),
            record("api:default/c", spec={"type": "openapi"}),
            record("group:default/team"),
        ],
    )
    await store.upsert_relations(
        "src",
        "r",
        [
            rel("component:default/a", "ownedBy", "group:default/team"),
            rel("component:default/a", "dependsOn", "component:default/b"),
        ],
    )

    async def refs(*sets: tuple[FieldCondition, ...]) -> list[str]:
        page = await store.list_entities(EntityFilter(any_of=sets), 10)
        assert await store.count_entities(EntityFilter(any_of=sets)) == len(page.entities)
        return [e.ref for e in page.entities]

    kind, spec_type = "KIND", "spec.Type"
    assert await refs((FieldCondition(kind, ("component",)), FieldCondition(spec_type, ("SERVICE",)))) == ["component:default/a"]  # fmt: skip
    assert await refs(
        (FieldCondition(kind, ("component",)), FieldCondition(spec_type, ("service",))),
        (FieldCondition(kind, ("api",)),),
    ) == ["api:default/c", "component:default/a"]
    assert await refs((FieldCondition(kind, ("component", "group")),)) == [
        "component:default/a",
        "component:default/b",
        "group:default/team",
    ]
    assert await refs((FieldCondition("spec.type"), FieldCondition(kind, ("component",)))) == [
        "component:default/a",
        "component:default/b",
    ]
    assert await refs((FieldCondition("metadata.tags.java"),)) == ["component:default/a"]
    assert await refs((FieldCondition("metadata.tags", ("JAVA",)),)) == ["component:default/a"]
    orphan = FieldCondition("metadata.annotations.backstage.io/orphan", ("true",))
    assert await refs((orphan,)) == ["component:default/a"]
    owned = FieldCondition("relations.ownedby", ("group:default/TEAM",))
    assert await refs((owned,)) == ["component:default/a"]
    owner_of = FieldCondition("relations.ownerOf", ("component:default/a",))
    assert await refs((owner_of,)) == ["group:default/team"]
    assert await refs((FieldCondition("relations.dependencyof"),)) == ["component:default/b"]
    assert await refs((FieldCondition("relations.nosuchtype"),)) == []
    assert await refs((FieldCondition("metadata.uid", (entity_uid("api:default/c"),)),)) == [
        "api:default/c"
    ]
    assert await refs((FieldCondition("metadata.namespace", ("DEFAULT",)),)) == [
        "api:default/c",
        "component:default/a",
        "component:default/b",
        "group:default/team",
    ]
    assert await refs((FieldCondition(kind, ("component' OR 1=1 --",)),)) == []
    assert await refs((FieldCondition("spec.type", ("website",)), FieldCondition("nope"))) == []


async def test_listing_pages_backward_in_every_order(store: GraphStore) -> None:
    records = [
        record(f"component:default/c{i}", title=f"c{i}", description="shared word")
        for i in range(7)
    ]
    records += [record(f"api:default/a{i}", description="shared word") for i in range(3)]
    await store.upsert_entities("test", "r1", records)
    flt = EntityFilter(search="shared")

    for order in Order:
        whole = (await store.list_entities(flt, 100, None, order)).entities
        walked: list[str] = []
        before = None
        while True:
            page = await store.list_entities(flt, 3, before, order, backward=True)
            walked = [e.key for e in page.entities] + walked
            if not page.has_next:
                break
            before = page.cursors[0]

        assert walked == [e.key for e in whole], order
        middle = (await store.list_entities(flt, 4, None, order)).cursors[-1]
        back = await store.list_entities(flt, 2, middle, order, backward=True)
        assert [e.key for e in back.entities] == [e.key for e in whole[1:3]], order
        assert back.has_next


async def test_locations_are_kept_unique_on_type_and_target_and_deleted_by_id(
    store: GraphStore,
) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = LocationRecord(
        id="a1",
        type="url",
        target="https://github.com/acme/x/blob/main/catalog-info.yaml",
        source="location-a1",
        url="https://github.com/acme/x",
        created_at=at,
        ref="main",
        paths=("catalog-info.yaml",),
    )
    second = LocationRecord(
        id="b2",
        type="url",
        target="file:///srv/y",
        source="location-b2",
        url="file:///srv/y",
        created_at=at + timedelta(seconds=1),
        template="template:default/example-nodejs-template",
    )

    assert await store.add_location(first) == first
    assert await store.add_location(second) == second
    again = dataclasses.replace(first, id="c3", source="location-c3")
    assert await store.add_location(again) == first  # same type and target: the stored one

    assert await store.get_locations() == [first, second]
    assert await store.get_locations(["b2", "nope"]) == [second]
    assert await store.delete_location("a1") == first
    assert await store.delete_location("a1") is None
    assert await store.get_locations() == [second]


def _at(ref: str, path: str) -> EntityRecord:
    return record(ref, annotations={SOURCE_PATH_ANNOTATION: path})


async def test_scoped_cleanup_deletes_only_inside_the_scope(store: GraphStore) -> None:
    await store.upsert_entities(
        "gh",
        "r1",
        [
            _at("component:default/pay", "github:acme/pay"),
            _at("pipeline:default/pay-ci", "github:acme/pay/actions"),
            _at("component:default/payroll", "github:acme/payroll"),
            _at("component:default/ledger", "github:acme/ledger"),
        ],
    )
    await store.upsert_relations(
        "gh",
        "r1",
        [
            rel("component:default/pay", "dependsOn", "component:default/ledger"),
            rel("component:default/ledger", "dependsOn", "component:default/pay"),
        ],
    )
    await store.upsert_entities("gh", "r2", [_at("component:default/pay", "github:acme/pay")])

    summary = await store.stale("gh", "r2", ["github:acme/pay"])
    deleted = await store.delete_stale("gh", "r2", ["github:acme/pay"])

    assert (summary.source_total, summary.stale_refs) == (4, ["pipeline:default/pay-ci"])
    assert deleted == {"pipeline": 1}
    remaining = await store.get_entities(
        [
            "component:default/pay",
            "pipeline:default/pay-ci",
            "component:default/payroll",
            "component:default/ledger",
        ]
    )
    assert sorted(remaining) == [
        "component:default/ledger",
        "component:default/pay",
        "component:default/payroll",
    ]
    relations = await store.get_relations(["component:default/pay"], Direction.BOTH)
    assert [(r.source_ref, r.target_ref) for r in relations] == [
        ("component:default/ledger", "component:default/pay")
    ]


async def test_deliveries_are_kept_once_per_id_until_a_run_takes_them(store: GraphStore) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    first = Delivery("github:1", "gh", "push", at, ("github:acme/pay",))
    replay = Delivery("github:1", "gh", "push", at + timedelta(seconds=1))
    other = Delivery(
        "github:2", "gh", "workflow_run", at + timedelta(seconds=2), payload='{"a": "\u00e9"}'
    )
    elsewhere = Delivery("gitlab:3", "gl", "push", at)

    recorded = [await store.record_delivery(d) for d in (first, replay, other, elsewhere)]
    waiting = await store.waiting_deliveries(["gh"], 10)
    await store.take_deliveries(["github:1"], "run-1")
    after = await store.waiting_deliveries(["gh", "gl"], 10)
    pruned = await store.prune_deliveries(at + timedelta(minutes=1))

    assert recorded == [True, False, True, True]
    assert waiting == [first, other]
    assert [d.id for d in after] == ["gitlab:3", "github:2"]
    assert pruned == 1
    assert await store.record_delivery(first) is True


async def test_cleanup_keeps_the_kept_keys_unwritten_with_the_relations_leaving_them(
    store: GraphStore,
) -> None:
    a, b, c, d = (f"component:default/{name}" for name in "abcd")
    await store.upsert_entities("src", "r1", [record(a), record(b), record(d)])
    await store.upsert_entities("other", "x1", [record(c)])
    await store.upsert_relations(
        "src", "r1", [rel(a, "dependsOn", b), rel(b, "dependsOn", a), rel(d, "dependsOn", a)]
    )
    await store.touch("src", "r1", [a], "spec.owner: is required")
    await store.upsert_entities("src", "r2", [record(b)])  # b read again, without its relation
    kept = [a, c, "component:default/gone"]

    summary = await store.stale("src", "r2", (), kept)
    deleted = await store.delete_stale("src", "r2", (), kept)

    assert (summary.source_total, summary.stale_refs, deleted) == (3, [d], {"component": 1})
    found = await store.get_entities([a, c, d])
    assert sorted(found) == [a, c]
    # kept as it was: the run that last read it, its error
    assert (found[a].run_id, found[a].error) == ("r1", "spec.owner: is required")
    assert found[c].run_id == "x1"
    relations = await store.get_relations([a, b], Direction.OUT)
    assert [(r.source_ref, r.target_ref) for r in relations] == [(a, b)]


async def test_scoped_cleanup_keeps_the_kept_keys_inside_the_scope(store: GraphStore) -> None:
    pay, ci, docs = "component:default/pay", "pipeline:default/pay-ci", "api:default/pay-docs"
    ledger = "component:default/ledger"
    await store.upsert_entities(
        "gh",
        "r1",
        [
            _at(pay, "github:acme/pay"),
            _at(ci, "github:acme/pay/actions"),
            _at(docs, "github:acme/pay/docs"),
            _at(ledger, "github:acme/ledger"),
        ],
    )
    await store.upsert_relations(
        "gh", "r1", [rel(docs, "dependsOn", ledger), rel(ci, "dependsOn", ledger)]
    )
    await store.upsert_entities("gh", "r2", [_at(pay, "github:acme/pay")])

    summary = await store.stale("gh", "r2", ["github:acme/pay"], [docs])
    deleted = await store.delete_stale("gh", "r2", ["github:acme/pay"], [docs])

    assert (summary.source_total, summary.stale_refs, deleted) == (4, [ci], {"pipeline": 1})
    assert sorted(await store.get_entities([pay, ci, docs, ledger])) == [docs, ledger, pay]
    relations = await store.get_relations([docs], Direction.OUT)
    assert [(r.source_ref, r.target_ref) for r in relations] == [(docs, ledger)]


async def test_absent_keys_are_those_not_held_by_the_source(store: GraphStore) -> None:
    await store.upsert_entities("src", "r1", [record("component:default/a")])
    await store.upsert_entities("other", "x1", [record("component:default/c")])

    absent = await store.absent_keys(
        "src", ["component:default/a", "component:default/c", "component:default/gone"]
    )

    assert sorted(absent) == ["component:default/c", "component:default/gone"]
    assert await store.absent_keys("src", []) == []


async def test_source_files_are_kept_per_source_and_path(store: GraphStore) -> None:
    a = SourceFile("a/catalog-info.yaml", "b1", "d1", ("component:default/a",), ("a/api.yaml",))
    b = SourceFile("b/catalog-info.yaml", "b2", "d1", ("component:default/b",))
    await store.update_source_files("src", [a, b], [])
    await store.update_source_files("other", [a], [])
    changed = dataclasses.replace(a, blob="b3", keys=())

    await store.update_source_files("src", [changed], ["b/catalog-info.yaml"])

    assert await store.source_files("src") == {"a/catalog-info.yaml": changed}
    assert await store.source_files("other") == {"a/catalog-info.yaml": a}
    assert await store.source_files("none") == {}


async def test_unfiltered_type_and_lifecycle_facets_follow_inserts_updates_and_deletes(
    store: GraphStore,
) -> None:
    def svc(name: str, type_: str, lifecycle: str) -> Any:
        return record(f"component:default/{name}", spec={"type": type_, "lifecycle": lifecycle})

    await store.upsert_entities(
        "s",
        "r1",
        [
            svc("a", "service", "production"),
            svc("b", "service", "beta"),
            svc("c", "website", "beta"),
        ],
    )
    await store.upsert_entities("s", "r2", [svc("a", "library", "production")])  # a changes type
    await store.delete_entities("s", ["component:default/c"])

    facets = await store.facets(["spec.type", "spec.lifecycle"], EntityFilter())
    filtered = await store.facets(["spec.type"], EntityFilter(kinds=("component",)))

    assert facets["spec.type"] == [("library", 1), ("service", 1)]
    assert facets["spec.lifecycle"] == [("beta", 1), ("production", 1)]
    assert filtered["spec.type"] == facets["spec.type"]


async def test_runs_page_backward_newest_first(store: GraphStore) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        await store.save_run(
            RunRecord(f"run-{i}", "a", "git", "SUCCEEDED", "cli", start + timedelta(minutes=i))
        )

    oldest = await store.get_runs(None, 2, backward=True)
    newer = await store.get_runs(None, 2, after=oldest[0].id, backward=True)
    newest = await store.get_runs(None, 2, after=newer[0].id, backward=True)

    assert [r.id for r in oldest] == ["run-1", "run-0"]
    assert [r.id for r in newer] == ["run-3", "run-2"]
    assert [r.id for r in newest] == ["run-4"]


async def test_writes_inside_a_bulk_load_read_back_inside_and_after_it(store: GraphStore) -> None:
    services = EntityFilter(any_of=((FieldCondition("spec.type", ("service",)),),))
    async with store.bulk_load(100_000):
        await store.upsert_entities(
            "s",
            "r",
            [
                record("component:default/a", spec={"type": "service"}),
                record("component:default/b", spec={"type": "library"}),
            ],
        )
        await store.upsert_relations(
            "s", "r", [rel("component:default/a", "dependsOn", "component:default/b")]
        )
        inside = await store.count_entities(services)

    assert inside == 1
    assert await store.count_entities(services) == 1
    assert await store.field_facets(["spec.type"], EntityFilter()) == {
        "spec.type": [("library", 1), ("service", 1)]
    }
    relations = await store.get_relations(["component:default/a"], Direction.OUT)
    assert [r.target_ref for r in relations] == ["component:default/b"]
