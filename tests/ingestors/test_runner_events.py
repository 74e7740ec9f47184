"""The runner's rules for API sources: deferred entities, event retention, stats, skipped."""

from __future__ import annotations

from typing import Any, cast

import pytest

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import Direction, GraphStore, RunRecord
from ingestors import runner
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, EventRetention, Snapshot


def _descriptor(
    kind: str,
    name: str,
    spec: dict[str, Any],
    *,
    defer: bool = False,
    api_version: str = "stagegraph.dev/v1alpha1",
) -> Descriptor:
    raw = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }
    return Descriptor(validate_entity(raw), SourceLocation(f"api/{name}"), defer=defer)


def _build(number: int) -> Descriptor:
    return _descriptor(
        "Build",
        f"app-ci-{number}",
        {
            "pipeline": "app-ci",
            "status": "completed",
            "startedAt": f"2026-11-{number:02d}T00:00:00Z",
        },
    )


async def _run(store: GraphStore, source: str, snapshot: Snapshot) -> RunRecord:
    async def fetch() -> Snapshot:
        return snapshot

    return await run_ingestion(store, source=source, source_type="test", fetch=fetch)


async def test_builds_are_kept_by_retention_not_by_the_run(store: GraphStore) -> None:
    retention = [EventRetention("build", ("pipeline",), "startedAt", keep=3)]
    pipeline = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    first = await _run(
        store,
        "ci",
        Snapshot("test", descriptors=[pipeline, *map(_build, (1, 2, 3))], events=retention),
    )
    assert first.status == "SUCCEEDED"
    # The API now returns only the two newest builds: older ones stay while within retention.
    second = await _run(
        store,
        "ci",
        Snapshot("test", descriptors=[pipeline, *map(_build, (4, 5))], events=retention),
    )
    assert second.status == "SUCCEEDED"
    keys = [f"build:default/app-ci-{n}" for n in range(1, 6)]
    present = await store.get_entities(keys)
    assert sorted(present) == [f"build:default/app-ci-{n}" for n in (3, 4, 5)]
    relations = await store.get_relations(["pipeline:default/app-ci"], Direction.IN)
    runs_of = sorted(r.source_ref for r in relations if r.type == "runOf")
    assert runs_of == [f"build:default/app-ci-{n}" for n in (3, 4, 5)]


async def test_deferred_entity_of_another_source_adds_relations_not_a_conflict(
    store: GraphStore,
) -> None:
    from_git = _descriptor("Pipeline", "app-ci", {"type": "github-actions", "path": "ci.yml"})
    assert (await _run(store, "git", Snapshot("test", descriptors=[from_git]))).status == (
        "SUCCEEDED"
    )
    from_api = _descriptor(
        "Pipeline", "app-ci", {"type": "github-actions", "components": ["app"]}, defer=True
    )
    run = await _run(
        store,
        "github",
        Snapshot(
            "test",
            descriptors=[from_api, _build(1)],
            stats={"apiCalls": 7, "rateLimitRemaining": 4993},
            skipped=["acme/empty: no catalog-info.yaml"],
        ),
    )
    assert run.status == "SUCCEEDED", run.errors
    assert run.stats == {"apiCalls": 7, "rateLimitRemaining": 4993, "deferredEntities": 1}
    assert run.skipped == ["acme/empty: no catalog-info.yaml"]
    stored = (await store.get_entities(["pipeline:default/app-ci"]))["pipeline:default/app-ci"]
    assert stored.source == "git"
    assert stored.document["spec"].get("path") == "ci.yml"
    relations = await store.get_relations(["pipeline:default/app-ci"], Direction.IN)
    assert {(r.source_ref, r.type, r.source) for r in relations} >= {
        ("component:default/app", "builtBy", "github"),
        ("build:default/app-ci-1", "runOf", "github"),
    }
    saved = (await store.get_runs("github", 1))[0]
    assert saved.stats == run.stats and saved.skipped == run.skipped

    # Without defer, the same ref from a second source is still a conflict.
    strict = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    conflict = await _run(store, "other", Snapshot("test", descriptors=[strict]))
    assert conflict.status == "PARTIAL"
    assert "already defined by source 'git'" in conflict.errors[0].message


async def test_builds_go_with_their_pipeline(store: GraphStore) -> None:
    retention = [EventRetention("build", ("pipeline",), "startedAt", keep=3)]
    app = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    other = _descriptor("Pipeline", "other-ci", {"type": "github-actions"})
    other_build = _descriptor(
        "Build", "other-ci-1", {"pipeline": "other-ci", "status": "completed"}
    )
    await _run(
        store,
        "ci",
        Snapshot("test", descriptors=[app, other, _build(1), other_build], events=retention),
    )
    # The repository of app-ci is gone: neither the pipeline nor its builds are read again.
    run = await _run(store, "ci", Snapshot("test", descriptors=[other], events=retention))
    assert run.status == "SUCCEEDED"
    present = await store.get_entities(
        ["pipeline:default/app-ci", "build:default/app-ci-1", "build:default/other-ci-1"]
    )
    assert sorted(present) == ["build:default/other-ci-1"]


async def test_builds_of_a_pipeline_held_by_another_source_are_kept(store: GraphStore) -> None:
    retention = [EventRetention("build", ("pipeline",), "startedAt", keep=3)]
    from_git = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    await _run(store, "git", Snapshot("test", descriptors=[from_git]))
    marker = _descriptor("Pipeline", "marker-ci", {"type": "github-actions"})
    await _run(store, "ci", Snapshot("test", descriptors=[marker, _build(1)], events=retention))
    # The API no longer lists app-ci's runs, but the pipeline still exists (the git source's).
    await _run(store, "ci", Snapshot("test", descriptors=[marker], events=retention))
    assert "build:default/app-ci-1" in await store.get_entities(["build:default/app-ci-1"])


async def test_pruned_events_do_not_count_against_the_delete_guard(store: GraphStore) -> None:
    pipeline = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    builds = [*map(_build, range(1, 11))]
    keep_ten = [EventRetention("build", ("pipeline",), "startedAt", keep=10)]
    await _run(store, "ci", Snapshot("test", descriptors=[pipeline, *builds], events=keep_ten))

    # buildsPerPipeline lowered to 2: 8 of the source's 11 entities are pruned.
    keep_two = [EventRetention("build", ("pipeline",), "startedAt", keep=2)]
    run = await _run(store, "ci", Snapshot("test", descriptors=[pipeline], events=keep_two))

    assert run.status == "SUCCEEDED", run.errors
    assert run.cleanup == "done: 8 stale entities deleted"
    keys = [f"build:default/app-ci-{n}" for n in range(1, 11)]
    assert sorted(await store.get_entities(keys)) == [
        "build:default/app-ci-10",
        "build:default/app-ci-9",
    ]


async def test_the_delete_guard_still_counts_the_other_kinds(store: GraphStore) -> None:
    retention = [EventRetention("build", ("pipeline",), "startedAt", keep=10)]
    pipelines = [_descriptor("Pipeline", n, {"type": "github-actions"}) for n in ("a", "b", "c")]
    builds = [*map(_build, range(1, 8))]  # app-ci's: events, live and not counted
    app = _descriptor("Pipeline", "app-ci", {"type": "github-actions"})
    await _run(
        store, "ci", Snapshot("test", descriptors=[app, *pipelines, *builds], events=retention)
    )

    # Three of the four pipelines vanish: 3 of 4 non-event entities, more than half.
    run = await _run(store, "ci", Snapshot("test", descriptors=[app, *builds], events=retention))

    assert run.cleanup is not None and run.cleanup.startswith("skipped: 3 of 4 entities")
    assert "pipeline:default/a" in await store.get_entities(["pipeline:default/a"])


class _Calls:
    """A real store, with the order of its entity and relation writes noted."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.writes: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def upsert_entities(self, source: str, run_id: str, records: Any) -> None:
        self.writes.append(("entities", len(records)))
        await self._store.upsert_entities(source, run_id, records)

    async def upsert_relations(self, source: str, run_id: str, records: Any) -> None:
        self.writes.append(("relations", len(records)))
        await self._store.upsert_relations(source, run_id, records)


async def test_relations_are_written_with_their_chunk_and_reach_later_chunks(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk's relations are written right after its entities (not all held until the
    end); a relation to an entity of a later chunk finds it once that chunk is written."""
    monkeypatch.setattr(runner, "BATCH_SIZE", 2)
    services = [
        _descriptor(
            "Component",
            f"s{i}",
            {
                "type": "service",
                "owner": "t",
                "lifecycle": "x",
                "dependsOn": [f"component:s{i + 1}"],
            },
            api_version="backstage.io/v1alpha1",
        )
        for i in range(5)
    ]
    calls = _Calls(store)

    run = await _run(cast(GraphStore, calls), "git", Snapshot("test", descriptors=services))

    assert run.status == "SUCCEEDED"
    assert calls.writes == [
        ("entities", 2),
        ("relations", 4),  # dependsOn and ownedBy of each
        ("entities", 2),
        ("relations", 4),
        ("entities", 1),
        ("relations", 2),
    ]
    relations = await store.get_relations(
        [f"component:default/s{i}" for i in range(5)], Direction.OUT, ["dependsOn"]
    )
    assert sorted((r.source_ref, r.target_ref) for r in relations) == [
        (f"component:default/s{i}", f"component:default/s{i + 1}") for i in range(5)
    ]
    assert await store.count_dangling() == 6  # to s5, which no chunk defines, and 5 to the owner
