"""The whole path on both stores: a real git repo, the CLI ingesting it, the server answering
over HTTP; then a descriptor deleted, a re-ingest, and a missing source that deletes nothing."""

from __future__ import annotations

from pathlib import Path

from graph.port import GraphStore
from tests.api.server import cli, graphql, running_server
from tests.gitrepo import GitRepo, component, group

QUERY = """{
  entities(kind: "component") { totalCount edges { node { ref owner { ref } } } }
  dependencies(ref: "component:web", maxDepth: 5) { nodes { ref } edges { from to depth } }
}"""


def _refs(data: dict[str, object]) -> set[str]:
    entities = data["entities"]
    assert isinstance(entities, dict)
    return {edge["node"]["ref"] for edge in entities["edges"]}


async def test_git_to_graphql_over_http(store: GraphStore, store_url: str, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("teams/catalog-info.yaml", group("web-team"))
    repo.write(
        "web/catalog-info.yaml", component("web", owner="web-team", dependsOn=["component:api"])
    )
    repo.write(
        "api/catalog-info.yaml", component("api", owner="web-team", dependsOn=["component:db"])
    )
    repo.write("db/catalog-info.yaml", component("db", owner="web-team"))
    repo.write("cache/catalog-info.yaml", component("cache", owner="web-team"))
    repo.commit()

    first = cli(store_url, "ingest", "git", str(repo.path), "--name", "e2e")

    assert first.returncode == 0, first.stderr
    assert "SUCCEEDED" in first.stdout
    with running_server(store_url) as base:
        data = graphql(base, QUERY)
        assert _refs(data) == {
            "component:default/web",
            "component:default/api",
            "component:default/db",
            "component:default/cache",
        }
        assert data["dependencies"] == {
            "nodes": [{"ref": "component:default/api"}, {"ref": "component:default/db"}],
            "edges": [
                {"from": "component:default/web", "to": "component:default/api", "depth": 1},
                {"from": "component:default/api", "to": "component:default/db", "depth": 2},
            ],
        }

        repo.remove("cache/catalog-info.yaml")
        repo.commit("drop cache")
        second = cli(store_url, "ingest", "git", str(repo.path), "--name", "e2e")
        assert second.returncode == 0, second.stderr
        assert "1 stale entities deleted" in second.stdout
        assert "component:default/cache" not in _refs(graphql(base, QUERY))

        missing = cli(store_url, "ingest", "git", str(tmp_path / "gone"), "--name", "e2e")
        assert missing.returncode == 1
        assert "FAILED" in missing.stdout
        assert "no such file or folder" in missing.stderr
        assert len(_refs(graphql(base, QUERY))) == 3
