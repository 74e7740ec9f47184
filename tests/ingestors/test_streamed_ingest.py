"""A first ingest of a git source is streamed (:mod:`ingestors.stream`): the runner writes
each batch of descriptors while the read goes on. What it stores equals a run over the
whole read at once (entities, relations, change log, run record), duplicates across
batches, invalid files, relations to later batches and CI pipelines included; a read that
fails mid-stream deletes nothing; the stream holds a bounded number of batches."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalog.errors import SourceLocation
from graph import open_store
from graph.port import Direction, EntityFilter, GraphStore, RunRecord
from ingestors.errors import SourceUnavailableError
from ingestors.git import git_fetch
from ingestors.git import transform as git_transform
from ingestors.git.get import read_git_source
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, Snapshot
from ingestors.stream import IN_FLIGHT, DescriptorStream, Emit
from tests.conftest import NEO4J_PASSWORD, NEO4J_USER, require_neo4j, wipe_neo4j
from tests.gitrepo import GitRepo, component, group

SOURCE = "streamed"
WORKFLOW = """\
name: build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of a few files, so a small repository makes many of them."""
    monkeypatch.setattr(git_transform, "READ_AHEAD", 4)
    monkeypatch.setattr(git_transform, "STREAM_BATCH", 3)


def make_repo(path: Path, services: int = 24, ci: bool = True) -> GitRepo:
    repo = GitRepo(path)
    for i in range(services):
        # each depends on a service of a later batch (the last ones on a missing one)
        repo.write(
            f"svc-{i:02}/catalog-info.yaml",
            component(f"svc-{i:02}", dependsOn=[f"component:svc-{i + 9:02}"]),
        )
    repo.write("teams/catalog-info.yaml", group("team-a"))
    # a duplicate of an early service, read batches later; an invalid entity; broken YAML
    repo.write("zz-dup/catalog-info.yaml", component("svc-01", owner="team-b"))
    repo.write(
        "zz-bad/catalog-info.yaml",
        component("bad-one").replace("spec:", "  tags: [Not Valid!]\nspec:"),
    )
    repo.write("zz-broken/catalog-info.yaml", "kind: Component\nmetadata: [unclosed\n")
    if ci:
        repo.write(".github/workflows/ci.yml", WORKFLOW)
    repo.commit()
    return repo


async def dump(store: GraphStore, run_id: str) -> dict[str, Any]:
    """What the run left in the store, its provenance and times aside."""
    page = await store.list_entities(EntityFilter(source=SOURCE), 1000)
    keys = [e.key for e in page.entities]
    relations = await store.get_relations(keys, Direction.OUT)
    changes = await store.changes(source=SOURCE, limit=1000)
    (run,) = await store.get_runs(SOURCE, 5)
    assert run.id == run_id
    return {
        "entities": sorted((e.key, e.hash, e.run_id) for e in page.entities),
        "documents": {e.key: e.document for e in page.entities},
        "relations": sorted((r.source_ref, r.type, r.target_ref) for r in relations),
        "changes": [(c.ref, c.run_id, c.change, c.fields, c.before, c.after) for c in changes],
        "run": run,  # its times are the test clock
    }


def clock() -> datetime:
    return datetime(2026, 12, 6, tzinfo=UTC)


async def ingest(store: GraphStore, fetch: Any) -> RunRecord:
    return await run_ingestion(
        store, source=SOURCE, source_type="git", fetch=fetch, run_id="run-1", now=clock
    )


async def empty_store(url: str, tmp_path: Path, name: str) -> GraphStore:
    """An empty store: a new SQLite file, or the test Neo4j wiped."""
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / name}"
    else:
        await require_neo4j()
        await wipe_neo4j()
    store = open_store(url, user=NEO4J_USER, password=NEO4J_PASSWORD)
    await store.setup()
    return store


@pytest.mark.parametrize("ci", [True, False], ids=["ci-files", "file-memos"])
async def test_a_streamed_first_ingest_stores_what_a_whole_read_does(
    store_url: str, tmp_path: Path, ci: bool
) -> None:
    """With CI files (their pipeline links every Component); without (the files read are
    remembered)."""
    repo = make_repo(tmp_path / "repo", ci=ci)

    async def whole() -> Snapshot:
        return await asyncio.to_thread(read_git_source, str(repo.path), None, (), {})

    store = await empty_store(store_url, tmp_path, "whole.db")
    try:
        await ingest(store, whole)
        expected = await dump(store, "run-1")
        expected_files = await store.source_files(SOURCE)
    finally:
        await store.close()

    streams: list[DescriptorStream] = []
    store = await empty_store(store_url, tmp_path, "streamed.db")
    try:
        fetch = git_fetch(str(repo.path), lookup=CatalogLookup(store), name=SOURCE)

        async def streamed() -> Snapshot | DescriptorStream:
            got = await fetch()
            assert isinstance(got, DescriptorStream)
            streams.append(got)
            return got

        run = await ingest(store, streamed)
        got = await dump(store, run.id)
        files = await store.source_files(SOURCE)
    finally:
        await store.close()

    (stream,) = streams
    assert stream.batches_taken >= 5  # the walk sent its descriptors as it went
    assert got == expected
    assert files == expected_files
    assert not files if ci else len(files) > 20  # a source with CI files keeps no file
    assert run.status == "PARTIAL"
    messages = " | ".join(e.message for e in run.errors)
    assert "component:default/svc-01 is already defined at svc-01/catalog-info.yaml" in messages
    assert "fix the YAML" in messages and "component:default/bad-one: metadata.tags" in messages
    pipelines = [k for k in got["documents"] if k.startswith("pipeline:")]
    assert len(pipelines) == (1 if ci else 0)
    if ci:
        assert len(got["documents"][pipelines[0]]["spec"]["components"]) == 25  # bad-one too
    # relations to entities of later batches reach them
    assert ("component:default/svc-00", "dependsOn", "component:default/svc-09") in got["relations"]
    assert got["documents"]["component:default/svc-09"]["metadata"]["name"] == "svc-09"


class FailAfter(Emit):
    """Sends the first batch, then the read fails as when git dies mid-read."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def expect(self, count: int) -> None:
        self.emit.expect(count)

    def put(self, batch: Sequence[Descriptor]) -> None:
        self.emit.put(batch)
        raise SourceUnavailableError("repo", "git cat-file stopped before it had sent every file")


async def test_a_read_that_fails_mid_stream_deletes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    first = await run_ingestion(
        store,
        source=SOURCE,
        source_type="git",
        fetch=git_fetch(str(repo.path), lookup=CatalogLookup(store), name=SOURCE),
    )
    before = (await store.list_entities(EntityFilter(source=SOURCE), 1000)).entities
    assert first.status == "PARTIAL" and len(before) > 20
    for i in range(3, 24):
        repo.remove(f"svc-{i:02}/catalog-info.yaml")
    repo.commit()

    async def failing() -> DescriptorStream:
        return DescriptorStream.read(
            lambda emit: read_git_source(str(repo.path), emit=FailAfter(emit))
        )

    run = await run_ingestion(store, source=SOURCE, source_type="git", fetch=failing)

    after = (await store.list_entities(EntityFilter(source=SOURCE), 1000)).entities
    assert run.status == "FAILED"
    assert "git cat-file stopped" in run.errors[0].message
    assert run.cleanup == "skipped: the source could not be read, so nothing was deleted"
    assert {e.key for e in after} == {e.key for e in before}
    (saved, _) = await store.get_runs(SOURCE, 5)
    assert saved.status == "FAILED"


def descriptors(count: int) -> list[Descriptor]:
    read = Snapshot(source_type="test")
    for i in range(count):
        read.add(
            {"kind": "Group", "metadata": {"name": f"g{i}"}, "spec": {"type": "team"}},
            SourceLocation(f"g{i}.yaml", 1),
        )
    return read.descriptors


async def test_the_stream_holds_a_bounded_number_of_batches() -> None:
    sent = threading.Event()
    puts: list[int] = []

    def reader(emit: Emit) -> Snapshot:
        emit.expect(20)
        for i in range(10):
            emit.put(descriptors(2))
            puts.append(i)
            sent.set()
        return Snapshot(source_type="test")

    stream = DescriptorStream.read(reader)
    taken = []
    async for batch in stream.batches(100):
        await asyncio.sleep(0.05)  # a slow store: the reader waits for room
        taken.append(batch)
        assert len(puts) <= len(taken) + IN_FLIGHT
    await stream.wait_closed()
    assert len(taken) == 10 and stream.batches_taken == 10
    assert stream.most_in_flight == IN_FLIGHT
    assert stream.snapshot is not None and await stream.expected() == 20


async def test_a_runner_that_stops_taking_batches_stops_the_read() -> None:
    def reader(emit: Emit) -> Snapshot:
        emit.expect(0)
        while True:
            emit.put(descriptors(1))

    stream = DescriptorStream.read(reader)
    async for _ in stream.batches(100):
        break
    await asyncio.wait_for(stream.wait_closed(), 5)  # the reader raised StreamClosed
