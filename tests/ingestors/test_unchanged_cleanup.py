"""A run keeps the entities of the files it found unchanged as they are, without writing
them, and its cleanup still deletes exactly what a full read would: a removed file's
entities, an entity that moved to another file, under the guard and inside a scope; an
unchanged file whose entity was deleted by hand or taken by another source meanwhile is read
again next time. Both stores."""

from __future__ import annotations

from pathlib import Path

from catalog.changes import ChangeType
from graph.port import SOURCE_PATH_ANNOTATION, Direction, EntityFilter, GraphStore
from ingestors.git import GIT, GitSource, ingest_git
from ingestors.lookup import CatalogLookup
from ingestors.runner import RunPolicy, run_ingestion
from tests.factories import record
from tests.gitrepo import GitRepo, component

SOURCE = "repo"


def _repo(path: Path, count: int, folder: str = "services") -> GitRepo:
    """``count`` services, each depending on the next, one file each."""
    repo = GitRepo(path)
    for i in range(count):
        repo.write(
            f"{folder}/s{i}/catalog-info.yaml",
            component(f"s{i}", dependsOn=[f"component:s{(i + 1) % count}"]),
        )
    repo.commit()
    return repo


async def _stamps(store: GraphStore) -> dict[str, str]:
    """Name -> run id of the source's entities."""
    page = await store.list_entities(EntityFilter(source=SOURCE), 500)
    return {e.name: e.run_id for e in page.entities}


async def test_an_unchanged_re_read_writes_no_entity_and_its_calls_do_not_grow(
    store: GraphStore, tmp_path: Path
) -> None:
    async def unchanged_re_read(count: int) -> int:
        repo = _repo(tmp_path / f"repo-{count}", count)
        await store.update_source_files(SOURCE, [], list(await store.source_files(SOURCE)))
        first = await ingest_git(store, str(repo.path), name=SOURCE)
        repo.write("README.md", "a commit that touches no descriptor\n")
        repo.commit()
        before = store.query_count
        again = await ingest_git(store, str(repo.path), name=SOURCE)
        calls = store.query_count - before

        assert (again.status, again.cleanup) == ("SUCCEEDED", "done: 0 stale entities deleted")
        assert again.stats["filesUnchanged"] == count
        assert sum(c.unchanged for c in again.counts) == count
        # no entity written: each keeps the run that read it
        assert set((await _stamps(store)).values()) == {first.id}
        relations = await store.get_relations(["component:default/s0"], Direction.OUT)
        assert [r.target_ref for r in relations if r.type == "dependsOn"] == [
            "component:default/s1"
        ]
        return calls

    assert await unchanged_re_read(4) == await unchanged_re_read(40)


async def test_a_removed_file_goes_while_the_others_are_kept(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path / "repo", 6)
    first = await ingest_git(store, str(repo.path), name=SOURCE)
    repo.remove("services/s3/catalog-info.yaml")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (run.status, run.cleanup) == ("SUCCEEDED", "done: 1 stale entities deleted")
    assert run.stats["filesUnchanged"] == 5
    assert await _stamps(store) == {f"s{i}": first.id for i in (0, 1, 2, 4, 5)}
    assert await store.get_relations(["component:default/s3"], Direction.OUT) == []
    (deleted,) = [c for c in await store.changes(source=SOURCE) if c.run_id == run.id]
    assert (deleted.ref, deleted.change) == ("component:default/s3", ChangeType.DELETED)


async def test_an_entity_moved_to_another_file_stays_with_its_new_file(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path / "repo", 4)
    await ingest_git(store, str(repo.path), name=SOURCE)
    repo.remove("services/s2/catalog-info.yaml")
    repo.write("moved/catalog-info.yaml", component("s2", dependsOn=["component:s0"]))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (run.status, run.cleanup) == ("SUCCEEDED", "done: 0 stale entities deleted")
    assert run.stats["filesUnchanged"] == 3
    s2 = (await store.get_entities(["component:default/s2"]))["component:default/s2"]
    assert s2.run_id == run.id
    assert s2.document["metadata"]["annotations"][SOURCE_PATH_ANNOTATION] == (
        "moved/catalog-info.yaml"
    )
    relations = await store.get_relations(["component:default/s2"], Direction.OUT)
    assert [r.target_ref for r in relations if r.type == "dependsOn"] == ["component:default/s0"]


async def test_an_unchanged_files_entity_deleted_or_taken_meanwhile_is_read_again_next_time(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path / "repo", 6)
    await ingest_git(store, str(repo.path), name=SOURCE)
    assert await store.delete_entities(SOURCE, ["component:default/s1"]) == 1
    await store.upsert_entities("other", "x1", [record("component:default/s2")])

    run = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (run.status, run.cleanup) == ("SUCCEEDED", "done: 0 stale entities deleted")
    assert any("2 unchanged files were not taken" in w for w in run.warnings)
    assert sum(c.unchanged for c in run.counts) == 4
    taken = (await store.get_entities(["component:default/s2"]))["component:default/s2"]
    assert (taken.source, taken.run_id) == ("other", "x1")  # another source's: not touched

    again = await ingest_git(store, str(repo.path), name=SOURCE)

    assert again.stats["filesUnchanged"] == 4  # the two files were read again
    back = (await store.get_entities(["component:default/s1"]))["component:default/s1"]
    assert (back.source, back.run_id) == (SOURCE, again.id)
    assert [e.entity for e in again.errors] == ["component:default/s2"]  # a conflict


async def test_the_guard_counts_the_kept_entities_of_the_source(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = _repo(tmp_path / "repo", 10)
    first = await ingest_git(store, str(repo.path), name=SOURCE)
    for i in range(6):
        repo.remove(f"services/s{i}/catalog-info.yaml")
    repo.commit()

    guarded = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (guarded.cleanup or "").startswith("skipped: 6 of 10 entities")
    assert len(await _stamps(store)) == 10
    repo.write("services/s0/catalog-info.yaml", component("s0"))
    repo.write("services/s1/catalog-info.yaml", component("s1"))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (run.cleanup, run.stats["filesUnchanged"]) == ("done: 4 stale entities deleted", 4)
    assert await _stamps(store) == {
        "s0": run.id,
        "s1": run.id,
        **{f"s{i}": first.id for i in range(6, 10)},
    }


async def test_scoped_runs_and_whole_runs_with_unchanged_files_clean_up_alike(
    store: GraphStore, tmp_path: Path
) -> None:
    """A scoped run reads its whole scope (no file skipped) and cleans up inside it; the
    whole run after it keeps the unchanged files and cleans up the rest of the source."""
    repo = GitRepo(tmp_path / "repo")
    for path in ("services/a/a1", "services/a/a2", "services/a/a3", "services/b/b1"):
        repo.write(f"{path}/catalog-info.yaml", component(path.rsplit("/", 1)[1]))
    repo.write("services/c/catalog-info.yaml", component("c1"))
    repo.commit()
    source = GitSource(name=SOURCE, url=str(repo.path))
    lookup = CatalogLookup(store)
    first = await run_ingestion(
        store, source=SOURCE, source_type="git", fetch=GIT.fetch(source, lookup)
    )
    repo.remove("services/a/a2/catalog-info.yaml")
    repo.remove("services/b/b1/catalog-info.yaml")  # outside the scope
    repo.commit()

    scoped = await run_ingestion(
        store,
        source=SOURCE,
        source_type="git",
        fetch=GIT.fetch_scope(source, lookup, ("services/a",)),
        scope=("services/a",),
        policy=RunPolicy(max_delete_share=0.3),  # 1 of 5 in the source
    )
    whole = await run_ingestion(
        store, source=SOURCE, source_type="git", fetch=GIT.fetch(source, lookup)
    )

    assert (scoped.status, scoped.cleanup) == ("SUCCEEDED", "done: 1 stale entities deleted")
    assert "filesUnchanged" not in scoped.stats
    assert (whole.status, whole.cleanup) == ("SUCCEEDED", "done: 1 stale entities deleted")
    assert whole.stats["filesUnchanged"] == 3
    assert await _stamps(store) == {"a1": scoped.id, "a3": scoped.id, "c1": first.id}


async def test_a_relation_an_unchanged_file_declares_for_another_entity_stays(
    store: GraphStore, tmp_path: Path
) -> None:
    """A Group's ``members`` make relations leaving each User: when only the User's file
    changes, the relation stays, as in a full read (the Group's file is read every time)."""
    user = "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: u1\n"
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "groups/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g\n"
        "spec:\n  type: team\n  children: []\n  members: [u1]\n",
    )
    repo.write("users/catalog-info.yaml", user + "spec:\n  memberOf: []\n")
    repo.write("services/catalog-info.yaml", component("s1"))
    repo.commit()
    await ingest_git(store, str(repo.path), name=SOURCE)
    repo.write(
        "users/catalog-info.yaml", user + "  description: moved teams\nspec:\n  memberOf: []\n"
    )
    repo.commit()

    run = await ingest_git(store, str(repo.path), name=SOURCE)

    assert (run.status, run.stats["filesUnchanged"]) == ("SUCCEEDED", 1)  # the service only
    relations = await store.get_relations(["user:default/u1"], Direction.OUT)
    assert [(r.type, r.target_ref) for r in relations] == [("memberOf", "group:default/g")]
