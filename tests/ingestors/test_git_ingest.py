"""The git source end to end on both stores: real repositories, the runner, the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.port import Direction, EntityFilter, FieldCondition, GraphStore, RunRecord
from graph.sqlite import SqliteStore, bulk
from graph.sqlite.schema import DEFERRED_INDEXES
from ingestors.git import ingest_git
from tests.gitrepo import GitRepo, component, group


def _count(run: RunRecord, field: str) -> int:
    return sum(getattr(c, field) for c in run.counts)


async def _refs(store: GraphStore, *refs: str) -> set[str]:
    return {e.ref for e in (await store.get_entities(list(refs))).values()}


def _catalog(repo: GitRepo, names: list[str]) -> None:
    repo.write("org/catalog-info.yaml", group("team-a"))
    for name in names:
        repo.write(f"services/{name}/catalog-info.yaml", component(name))


async def test_ingest_records_counts_commit_and_locations(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b"])
    repo.write("services/a/catalog-info.yaml", component("a", dependsOn=["component:b"]))
    repo.write("services/a/values.yaml", "not: a descriptor\n")
    commit = repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert (run.status, run.commit, run.errors) == ("SUCCEEDED", commit, [])
    assert {(c.kind, c.added) for c in run.counts} == {("component", 2), ("group", 1)}
    stored = (await store.get_entities(["component:default/a"]))["component:default/a"]
    annotations = stored.document["metadata"]["annotations"]
    assert annotations["backstage.io/managed-by-location"].endswith(
        f"@{commit}:services/a/catalog-info.yaml"
    )
    assert annotations["backstage.io/source-location"].endswith(f"@{commit}:services/a/")
    relations = await store.get_relations(["component:default/a"], Direction.OUT)
    assert {(r.type, r.target_ref) for r in relations} == {
        ("ownedBy", "group:default/team-a"),
        ("dependsOn", "component:default/b"),
    }
    saved = await store.get_runs("repo", first=1)
    assert [r.id for r in saved] == [run.id]


async def test_reingest_of_same_commit_is_all_unchanged(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.write("README.md", "a commit that touches no descriptor\n")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert (_count(run, "unchanged"), _count(run, "added"), _count(run, "updated")) == (3, 0, 0)


async def test_deleted_descriptor_is_cleaned_up(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b", "c"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.remove("services/c/catalog-info.yaml")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.cleanup == "done: 1 stale entities deleted"
    assert {(c.kind, c.deleted) for c in run.counts if c.deleted} == {("component", 1)}
    assert await _refs(store, "component:default/a", "component:default/c") == {
        "component:default/a"
    }


async def test_cleanup_refuses_to_delete_more_than_half(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b", "c", "d"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    for name in "bcd":
        repo.remove(f"services/{name}/catalog-info.yaml")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.cleanup is not None and run.cleanup.startswith("skipped: 3 of 5 entities")
    assert len(await _refs(store, *(f"component:default/{n}" for n in "abcd"))) == 4


async def test_unreadable_source_fails_and_deletes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")

    run = await ingest_git(store, str(tmp_path / "missing"), name="repo")
    clone = await ingest_git(store, "file:///nonexistent/repo.git", name="repo")

    assert run.status == clone.status == "FAILED"
    assert "no such file or folder" in run.errors[0].message
    assert "git clone failed" in clone.errors[0].message
    assert run.cleanup is not None and "nothing was deleted" in run.cleanup
    assert await _refs(store, "component:default/a") == {"component:default/a"}


async def test_entity_turned_invalid_keeps_last_good_version(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.write("services/a/catalog-info.yaml", component("a", owner=""))  # owner removed
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.status == "PARTIAL"
    (error,) = run.errors
    assert error.entity == "component:default/a"
    assert error.file == "services/a/catalog-info.yaml:1"
    assert "spec.owner" in error.message
    kept = (await store.get_entities(["component:default/a"]))["component:default/a"]
    assert kept.document["spec"]["owner"] == "team-a"
    assert kept.error is not None and "spec.owner" in kept.error
    assert len(await store.get_relations(["component:default/a"], Direction.OUT)) == 1


async def test_yaml_error_keeps_that_files_entities(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b", "c"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.write("services/a/catalog-info.yaml", "apiVersion: [unclosed\nkind: Component\n")
    repo.write("services/b/catalog-info.yaml", component("b", lifecycle="deprecated"))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.status == "PARTIAL"
    assert run.errors[0].file is not None
    assert run.errors[0].file.startswith("services/a/catalog-info.yaml:")
    assert "YAML error" in run.errors[0].message
    assert await _refs(store, "component:default/a", "component:default/b") == {
        "component:default/a",
        "component:default/b",
    }
    b = (await store.get_entities(["component:default/b"]))["component:default/b"]
    assert b.document["spec"]["lifecycle"] == "deprecated"


async def test_ref_held_by_another_source_is_a_conflict(store: GraphStore, tmp_path: Path) -> None:
    first, second = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    first.write("catalog-info.yaml", component("shared", owner="team-one"))
    first.commit()
    second.write("catalog-info.yaml", component("shared", owner="team-two"))
    second.write("other/catalog-info.yaml", component("mine"))
    second.commit()
    await ingest_git(store, str(first.path), name="one")

    run = await ingest_git(store, str(second.path), name="two")

    assert run.status == "PARTIAL"
    assert "already defined by source 'one'" in run.errors[0].message
    shared = (await store.get_entities(["component:default/shared"]))["component:default/shared"]
    assert (shared.source, shared.document["spec"]["owner"]) == ("one", "team-one")
    assert await _refs(store, "component:default/mine") == {"component:default/mine"}


async def test_clone_by_url_at_a_ref(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["old"])
    old = repo.commit("first")
    repo.git("tag", "v1")
    _catalog(repo, ["new"])
    repo.commit("second")

    at_tag = await ingest_git(store, repo.url(), name="remote", ref="v1")
    missing_ref = await ingest_git(store, repo.url(), name="remote", ref="no-such-branch")

    assert at_tag.commit == old
    assert await _refs(store, "component:default/old", "component:default/new") == {
        "component:default/old"
    }
    assert missing_ref.status == "FAILED"
    assert "ref 'no-such-branch' not found" in missing_ref.errors[0].message


async def test_codeowners_supplies_missing_owner(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write(".github/CODEOWNERS", "* @acme/platform\n/services/pay/ @acme/payments\n")
    repo.write("services/pay/catalog-info.yaml", component("pay", owner=""))
    repo.write("services/web/catalog-info.yaml", component("web", owner=""))
    repo.write("services/own/catalog-info.yaml", component("own", owner="user:jane"))
    repo.commit()

    await ingest_git(store, str(repo.path), name="repo")

    keys = ["component:default/pay", "component:default/web", "component:default/own"]
    relations = await store.get_relations(keys, Direction.OUT, ["ownedBy"])
    assert {(r.source_ref, r.target_ref) for r in relations} == {
        ("component:default/pay", "group:default/payments"),
        ("component:default/web", "group:default/platform"),
        ("component:default/own", "user:default/jane"),
    }


async def test_empty_read_deletes_nothing(store: GraphStore, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a"])
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    repo.git("rm", "-r", "--quiet", ".")
    repo.write("README.md", "moved elsewhere\n")
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert run.cleanup == "skipped: the read found no entities, so nothing was deleted"
    assert await _refs(store, "component:default/a") == {"component:default/a"}


async def test_a_first_ingest_in_bulk_reads_back_fully_with_every_index_after(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BULK_FROM", 1)  # this small catalog loads as a large one would
    repo = GitRepo(tmp_path / "repo")
    _catalog(repo, ["a", "b"])
    repo.write("services/a/catalog-info.yaml", component("a", dependsOn=["component:b"]))
    repo.commit()

    run = await ingest_git(store, str(repo.path), name="repo")

    assert (run.status, _count(run, "added")) == ("SUCCEEDED", 3)
    owned = EntityFilter(any_of=((FieldCondition("spec.owner", ("team-a",)),),))
    assert await store.count_entities(owned) == 2
    assert await store.field_facets(["kind"], EntityFilter()) == {
        "kind": [("Component", 2), ("Group", 1)]
    }
    dependents = await store.get_relations(["component:default/b"], Direction.IN)
    assert [(r.type, r.source_ref) for r in dependents] == [("dependsOn", "component:default/a")]
    assert len(await store.changes(ref="component:default/a")) == 1
    if isinstance(store, SqliteStore):
        names = await store._call(
            lambda conn: {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        )
        assert set(DEFERRED_INDEXES) <= names
