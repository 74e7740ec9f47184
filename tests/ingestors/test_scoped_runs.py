"""Scoped runs on both stores: a run of one folder of a git source reads that folder and
cleans up only inside it, under the guard of the whole source, and records its scope."""

from __future__ import annotations

from pathlib import Path

from graph.port import GraphStore
from ingestors.git import GIT, GitSource
from ingestors.lookup import CatalogLookup
from ingestors.runner import RunPolicy, run_ingestion
from tests.gitrepo import GitRepo, component


async def _keys(store: GraphStore, *names: str) -> list[str]:
    found = await store.get_entities([f"component:default/{n}" for n in names])
    return sorted(e.name for e in found.values())


async def test_a_folder_run_cleans_up_only_inside_its_folder(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for name in ("a1", "a2"):
        repo.write(f"services/a/{name}/catalog-info.yaml", component(name))
    for name in ("b1", "b2", "b3"):
        repo.write(f"services/b/{name}/catalog-info.yaml", component(name))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path))
    await run_ingestion(
        store, source="repo", source_type="git", fetch=GIT.fetch(source, CatalogLookup(None))
    )
    repo.remove("services/a/a2/catalog-info.yaml")
    repo.remove("services/b/b1/catalog-info.yaml")
    repo.write("services/a/a1/catalog-info.yaml", component("a1", lifecycle="experimental"))
    repo.commit()

    run = await run_ingestion(
        store,
        source="repo",
        source_type="git",
        fetch=GIT.fetch_scope(source, CatalogLookup(None), ("services/a",)),
        scope=("services/a",),
        policy=RunPolicy(max_delete_share=0.3),  # 1 of 5 in the source; 1 of 2 in the scope
    )

    assert (run.status, run.scope, run.cleanup) == (
        "SUCCEEDED",
        ["services/a"],
        "done: 1 stale entities deleted",
    )
    assert {(c.kind, c.updated, c.deleted) for c in run.counts} == {("component", 1, 1)}
    assert await _keys(store, "a1", "a2", "b1", "b2", "b3") == ["a1", "b1", "b2", "b3"]
    a1 = (await store.get_entities(["component:default/a1"]))["component:default/a1"]
    assert a1.document["spec"]["lifecycle"] == "experimental"


async def test_a_folder_run_that_would_delete_too_much_of_the_source_deletes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for name in ("a1", "a2", "a3"):
        repo.write(f"services/a/{name}/catalog-info.yaml", component(name))
    for name in ("b1", "b2"):
        repo.write(f"services/b/{name}/catalog-info.yaml", component(name))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path))
    await run_ingestion(
        store, source="repo", source_type="git", fetch=GIT.fetch(source, CatalogLookup(None))
    )
    repo.remove("services/a/a2/catalog-info.yaml")
    repo.remove("services/a/a3/catalog-info.yaml")
    repo.commit()

    run = await run_ingestion(
        store,
        source="repo",
        source_type="git",
        fetch=GIT.fetch_scope(source, CatalogLookup(None), ("services/a",)),
        scope=("services/a",),
        policy=RunPolicy(max_delete_share=0.3),  # 2 of the source's 5 would go
    )

    assert (run.status, run.scope) == ("SUCCEEDED", ["services/a"])
    assert run.cleanup is not None and run.cleanup.startswith("skipped: 2 of 5 entities")
    assert await _keys(store, "a1", "a2", "a3", "b1", "b2") == ["a1", "a2", "a3", "b1", "b2"]
