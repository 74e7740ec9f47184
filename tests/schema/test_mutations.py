"""upsertEntities / deleteEntities on both stores: validated, all or nothing, per source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.port import Direction
from ingestors.git import ingest_git
from tests.gitrepo import GitRepo, component
from tests.schema.conftest import Client

UPSERT = """mutation ($source: String!, $entities: [JSON!]!) {
  upsertEntities(source: $source, entities: $entities) { index ref status error } }"""
DELETE = """mutation ($source: String!, $refs: [String!]!) {
  deleteEntities(source: $source, refs: $refs) }"""


def service(name: str, owner: str = "team-a", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, **spec},
    }


def team(name: str, children: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name},
        "spec": {"type": "team", "children": children},
    }


async def _statuses(client: Client, source: str, entities: list[dict[str, Any]]) -> list[str]:
    data = await client.query(UPSERT, source=source, entities=entities)
    return [r["status"] for r in data["upsertEntities"]]


async def test_upsert_creates_updates_and_reports_unchanged(writer: Client) -> None:
    first = await _statuses(writer, "ci", [service("a"), service("b")])
    again = await _statuses(writer, "ci", [service("a"), service("b", owner="team-b")])

    assert first == ["CREATED", "CREATED"]
    assert again == ["UNCHANGED", "UPDATED"]
    owners = await writer.store.get_relations(["component:default/b"], Direction.OUT, ["ownedBy"])
    assert [r.target_ref for r in owners] == ["group:default/team-b"]
    data = await writer.query('{ entity(ref: "component:b") { source owner { ref } } }')
    assert data["entity"]["source"] == "ci"


async def test_one_invalid_entity_writes_nothing(writer: Client) -> None:
    bad = service("broken")
    del bad["spec"]["lifecycle"]

    data = await writer.query(UPSERT, source="ci", entities=[service("ok"), bad])

    results = data["upsertEntities"]
    assert [r["status"] for r in results] == ["SKIPPED", "FAILED"]
    assert results[1]["ref"] == "component:default/broken"
    assert "spec.lifecycle" in results[1]["error"]
    assert await writer.store.get_entities(["component:default/ok"]) == {}


async def test_ref_of_another_source_is_a_conflict(writer: Client) -> None:
    await _statuses(writer, "team-tool", [service("shared")])

    data = await writer.query(UPSERT, source="ci", entities=[service("shared", owner="x")])

    (result,) = data["upsertEntities"]
    assert result["status"] == "FAILED"
    assert "belongs to source 'team-tool'" in result["error"]
    stored = await writer.store.get_entities(["component:default/shared"])
    assert stored["component:default/shared"].document["spec"]["owner"] == "team-a"


async def test_readers_may_not_mutate(client: Client) -> None:
    errors = await client.errors(UPSERT, source="ci", entities=[service("a")])

    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert await client.store.get_entities(["component:default/a"]) == {}


async def test_delete_only_own_entities_all_or_nothing(writer: Client) -> None:
    await _statuses(writer, "mine", [service("a"), service("b")])
    await _statuses(writer, "theirs", [service("c")])

    refused = await writer.errors(
        DELETE, source="mine", refs=["component:default/a", "component:default/c"]
    )
    deleted = await writer.query(
        DELETE, source="mine", refs=["component:default/a", "component:default/missing"]
    )

    assert refused[0]["extensions"]["code"] == "CONFLICT"
    assert "component:default/c" in refused[0]["message"]
    assert deleted["deleteEntities"] == 1
    remaining = await writer.store.get_entities(
        ["component:default/a", "component:default/b", "component:default/c"]
    )
    assert sorted(remaining) == ["component:default/b", "component:default/c"]


async def test_git_managed_source_refuses_pushes(writer: Client, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("from-git"))
    repo.commit()
    await ingest_git(writer.store, str(repo.path), name="git-catalog")

    errors = await writer.errors(UPSERT, source="git-catalog", entities=[service("x")])

    assert errors[0]["extensions"]["code"] == "CONFLICT"
    assert "ingested by a git source" in errors[0]["message"]


async def test_relation_declared_by_both_ends_survives_one_side(writer: Client) -> None:
    child = team("child", [])
    child["spec"]["parent"] = "parent"
    await _statuses(writer, "org", [team("parent", ["child"]), child])

    await _statuses(writer, "org", [team("parent", [])])
    still = await writer.store.get_relations(["group:default/child"], Direction.OUT)
    del child["spec"]["parent"]
    await _statuses(writer, "org", [child])
    gone = await writer.store.get_relations(["group:default/child"], Direction.OUT)

    assert [(r.type, r.target_ref) for r in still] == [("childOf", "group:default/parent")]
    assert gone == []
