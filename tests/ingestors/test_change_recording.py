"""Every change a run or a push makes is recorded in the change log, on both stores: new
entities as CREATED, edited ones as UPDATED with the changed dot paths, removed ones as
DELETED; unchanged entities (and unchanged files taken as they were) record nothing, and the
store calls a run makes do not grow with the number of changed entities."""

from __future__ import annotations

from pathlib import Path

from catalog.changes import ChangeType
from graph.port import GraphStore
from ingestors.git import GIT, GitSource, ingest_git
from ingestors.lookup import CatalogLookup
from ingestors.push import delete_pushed, push_entities
from ingestors.runner import RunPolicy, run_ingestion
from tests.gitrepo import GitRepo, component


def _summary(changes: list) -> set[tuple[str, str, tuple[str, ...]]]:  # type: ignore[type-arg]
    return {(c.ref, c.change.value, c.fields) for c in changes}


async def test_a_run_records_created_updated_and_deleted_entities(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for name in ("a", "b", "c"):
        repo.write(f"{name}/catalog-info.yaml", component(name))
    repo.commit()
    first = await ingest_git(store, str(repo.path), name="repo")
    created = await store.changes()
    repo.write("a/catalog-info.yaml", component("a", lifecycle="experimental"))
    repo.remove("b/catalog-info.yaml")
    repo.write("d/catalog-info.yaml", component("d", owner="team-b"))
    repo.commit()

    second = await ingest_git(store, str(repo.path), name="repo")

    assert {(c.ref, c.change, c.run_id, c.before) for c in created} == {
        (f"component:default/{n}", ChangeType.CREATED, first.id, None) for n in "abc"
    }
    assert {"spec.owner", "metadata.name", "kind"} <= set(created[0].fields)
    later = await store.changes(after_id=created[-1].id)
    assert _summary(later) == {
        ("component:default/a", "UPDATED", ("spec.lifecycle",)),
        ("component:default/b", "DELETED", tuple(sorted(created[1].fields))),
        ("component:default/d", "CREATED", tuple(sorted(created[0].fields))),
    }
    assert {c.run_id for c in later} == {second.id}
    (updated,) = [c for c in later if c.change is ChangeType.UPDATED]
    assert updated.before is not None and updated.after is not None
    assert (updated.before["spec"]["lifecycle"], updated.after["spec"]["lifecycle"]) == (
        "production",
        "experimental",
    )
    (deleted,) = [c for c in later if c.change is ChangeType.DELETED]
    assert deleted.after is None and deleted.before is not None
    assert deleted.before["metadata"]["name"] == "b"


async def test_unchanged_entities_and_unchanged_files_record_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for name in ("a", "b"):
        repo.write(f"{name}/catalog-info.yaml", component(name))
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")
    recorded = await store.count_changes()
    repo.write("README.md", "a new commit that touches no descriptor\n")
    repo.commit()

    again = await ingest_git(store, str(repo.path), name="repo")  # files unchanged: kept
    repo.write("a/catalog-info.yaml", component("a"))  # rewritten, same content
    repo.write("b/catalog-info.yaml", component("b") + "# a comment\n")
    repo.commit()
    reread = await ingest_git(store, str(repo.path), name="repo")  # files read, same entities

    assert (again.status, reread.status) == ("SUCCEEDED", "SUCCEEDED")
    assert again.stats.get("filesUnchanged") == 2
    assert recorded == 2
    assert await store.count_changes() == 2


async def test_the_store_calls_of_a_run_do_not_grow_with_its_changes(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    names = [f"svc-{i}" for i in range(12)]
    for name in names:
        repo.write(f"{name}/catalog-info.yaml", component(name))
    repo.commit()
    await ingest_git(store, str(repo.path), name="repo")

    async def queries_to_retitle(renamed: list[str], lifecycle: str) -> int:
        for name in renamed:
            repo.write(f"{name}/catalog-info.yaml", component(name, lifecycle=lifecycle))
        repo.commit()
        before = store.query_count
        await ingest_git(store, str(repo.path), name="repo")
        return store.query_count - before

    one = await queries_to_retitle(names[:1], "experimental")
    ten = await queries_to_retitle(names[2:12], "deprecated")

    assert one == ten
    assert await store.count_changes(kind="component") == 12 + 1 + 10


async def test_a_scoped_run_records_only_changes_inside_its_scope(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for path in ("services/a/a1", "services/a/a2", "services/b/b1"):
        repo.write(f"{path}/catalog-info.yaml", component(path.rsplit("/", 1)[1]))
    repo.commit()
    source = GitSource(name="repo", url=str(repo.path))
    await run_ingestion(
        store, source="repo", source_type="git", fetch=GIT.fetch(source, CatalogLookup(None))
    )
    seen = (await store.changes())[-1].id
    repo.remove("services/a/a2/catalog-info.yaml")
    repo.write("services/b/b1/catalog-info.yaml", component("b1", owner="team-z"))  # not read
    repo.commit()

    run = await run_ingestion(
        store,
        source="repo",
        source_type="git",
        fetch=GIT.fetch_scope(source, CatalogLookup(None), ("services/a",)),
        scope=("services/a",),
        policy=RunPolicy(max_delete_share=0.9),
    )

    assert run.status == "SUCCEEDED"
    assert [(c.ref, c.change.value) for c in await store.changes(after_id=seen)] == [
        ("component:default/a2", "DELETED")
    ]


def _pushed(name: str, owner: str) -> dict[str, object]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner},
    }


async def test_pushes_record_their_changes(store: GraphStore) -> None:
    await push_entities(store, "bot", [_pushed("x", "team-a"), _pushed("y", "team-a")])
    await push_entities(store, "bot", [_pushed("x", "team-b"), _pushed("y", "team-a")])
    await delete_pushed(store, "bot", ["component:default/y"])

    changes = await store.changes()

    assert [(c.ref, c.change.value, c.source) for c in changes] == [
        ("component:default/x", "CREATED", "bot"),
        ("component:default/y", "CREATED", "bot"),
        ("component:default/x", "UPDATED", "bot"),
        ("component:default/y", "DELETED", "bot"),
    ]
    assert changes[2].fields == ("spec.owner",)
    assert changes[2].run_id is not None and changes[2].run_id.startswith("push-")
