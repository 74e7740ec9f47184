"""The change feed over GraphQL on both stores: ``changes`` pages through what runs and pushes
recorded, oldest first, with its filters; ``Entity.history`` gives each entity's newest
changes, and costs the same store queries for 5 entities or 40."""

from __future__ import annotations

from pathlib import Path

from ingestors.git import ingest_git
from ingestors.push import push_entities
from tests.gitrepo import GitRepo, component
from tests.schema.conftest import Client

CHANGES = """query ($first: Int, $after: String, $kind: String, $ref: String, $source: String,
                   $since: DateTime) {
  changes(first: $first, after: $after, kind: $kind, ref: $ref, source: $source, since: $since) {
    totalCount
    edges { cursor node { id at source runId ref kind change fields before after } }
    pageInfo { hasNextPage endCursor }
  }
}"""

HISTORY = """query ($first: Int!) {
  entities(kind: "component", first: $first) {
    edges { node { ref history(first: 2) { change fields runId } } }
  }
}"""


def _pushed(name: str, owner: str, kind: str = "Component") -> dict[str, object]:
    spec: dict[str, object] = {"type": "service", "lifecycle": "production", "owner": owner}
    if kind == "Group":
        spec = {"type": "team", "children": []}
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


async def test_changes_pages_oldest_first_with_filters(client: Client, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a/catalog-info.yaml", component("a"))
    repo.commit()
    run = await ingest_git(client.store, str(repo.path), name="repo")
    await push_entities(client.store, "bot", [_pushed("x", "team-a"), _pushed("t", "", "Group")])
    await push_entities(client.store, "bot", [_pushed("x", "team-b")])

    first = (await client.query(CHANGES, first=2))["changes"]
    rest = (await client.query(CHANGES, first=2, after=first["pageInfo"]["endCursor"]))["changes"]
    by_ref = (await client.query(CHANGES, ref="Component:X"))["changes"]
    groups = (await client.query(CHANGES, kind="Group"))["changes"]
    from_repo = (await client.query(CHANGES, source="repo"))["changes"]
    later = (await client.query(CHANGES, since=rest["edges"][-1]["node"]["at"]))["changes"]

    nodes = [e["node"] for e in first["edges"] + rest["edges"]]
    assert [(n["ref"], n["change"]) for n in nodes] == [
        ("component:default/a", "CREATED"),
        ("component:default/x", "CREATED"),
        ("group:default/t", "CREATED"),
        ("component:default/x", "UPDATED"),
    ]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (4, True)
    assert rest["pageInfo"]["hasNextPage"] is False
    assert nodes[0]["runId"] == run.id and nodes[0]["source"] == "repo"
    assert nodes[0]["before"] is None and nodes[0]["after"]["metadata"]["name"] == "a"
    assert nodes[3]["fields"] == ["spec.owner"]
    assert (nodes[3]["before"]["spec"]["owner"], nodes[3]["after"]["spec"]["owner"]) == (
        "team-a",
        "team-b",
    )
    assert [e["node"]["change"] for e in by_ref["edges"]] == ["CREATED", "UPDATED"]
    assert [e["node"]["ref"] for e in groups["edges"]] == ["group:default/t"]
    assert from_repo["totalCount"] == 1
    assert [e["node"]["id"] for e in later["edges"]] == [nodes[3]["id"]]


async def test_a_bad_cursor_or_ref_says_what_to_fix(client: Client) -> None:
    errors = await client.errors(CHANGES, after="nonsense")
    assert "invalid cursor" in errors[0]["message"]
    errors = await client.errors(CHANGES, ref="component:")
    assert errors[0]["message"].startswith("ref:")


async def test_history_is_newest_first_and_costs_the_same_for_5_and_40(
    client: Client,
) -> None:
    names = [f"svc-{i:02d}" for i in range(40)]
    await push_entities(client.store, "bot", [_pushed(n, "team-a") for n in names])
    await push_entities(client.store, "bot", [_pushed(n, "team-b") for n in names[::2]])
    await push_entities(client.store, "bot", [_pushed(n, "team-c") for n in names[::2]])

    before = client.store.query_count
    small = await client.query(HISTORY, first=5)
    cost_5 = client.store.query_count - before
    before = client.store.query_count
    large = await client.query(HISTORY, first=40)
    cost_40 = client.store.query_count - before

    assert cost_5 == cost_40
    histories = {e["node"]["ref"]: e["node"]["history"] for e in large["entities"]["edges"]}
    assert len(histories) == 40 and len(small["entities"]["edges"]) == 5
    assert [h["change"] for h in histories["component:default/svc-00"]] == ["UPDATED", "UPDATED"]
    assert histories["component:default/svc-00"][0]["fields"] == ["spec.owner"]
    assert [h["change"] for h in histories["component:default/svc-01"]] == ["CREATED"]
    assert histories["component:default/svc-01"][0]["runId"].startswith("push-")
