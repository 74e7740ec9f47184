"""A ``repository`` ``renamed`` delivery, both stores: the scoped run it asks for reads the
old name (gone: 404) and the new one, so the component moves to the new repository's scope
(one UPDATED change, not a deletion), and the organisation's other repositories are neither
read nor touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.port import SOURCE_PATH_ANNOTATION, GraphStore
from ingestors.github import github_fetcher
from ingestors.github.config import GithubSource
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.webhooks import github_targets
from tests.gitrepo import GitRepo, component
from tests.loopback import LoopbackServer, Request, link_pages


def _repo(name: str, url: str) -> dict[str, Any]:
    return {
        "id": len(name),
        "name": name,
        "full_name": f"acme/{name}",
        "owner": {"login": "acme"},
        "clone_url": url,
        "html_url": f"https://github.example/acme/{name}",
        "default_branch": "main",
        "archived": False,
        "fork": False,
        "visibility": "private",
        "topics": [],
    }


async def test_a_renamed_repository_moves_its_entities_to_the_new_name(
    store: GraphStore, tmp_path: Path
) -> None:
    urls = {}
    for name in ("pay", "ledger"):
        repo = GitRepo(tmp_path / name)
        repo.write("catalog-info.yaml", component(name))
        repo.commit()
        urls[name] = repo.url()
    names = {"pay": "pay", "ledger": "ledger"}  # current name -> its git repository

    def answer(name: str) -> Any:
        def reply(request: Request) -> Any:
            if name not in names:
                return 404, {}, {"message": "Not Found"}
            return 200, {}, _repo(name, urls[names[name]])

        return reply

    with LoopbackServer() as api:
        listing = link_pages(
            lambda: [_repo(n, urls[g]) for n, g in names.items()], base_url=lambda: api.url
        )
        api.route("GET", "/orgs/acme/repos", listing)
        for name in ("pay", "pay2", "ledger"):
            api.route("GET", f"/repos/acme/{name}", answer(name))
            api.route("GET", f"/repos/acme/{name}/environments", {"environments": []})
        source = GithubSource(name="acme", org="acme", api_url=api.url, teams=False, actions=False)
        lookup = CatalogLookup(store)
        first = await run_ingestion(
            store, source="acme", source_type="github", fetch=github_fetcher(source, lookup)
        )
        del names["pay"]
        names["pay2"] = "pay"
        renamed = {
            "action": "renamed",
            "repository": {"name": "pay2", "owner": {"login": "acme"}, "default_branch": "main"},
            "changes": {"repository": {"name": {"from": "pay"}}},
        }
        (target,), _ = github_targets([source], "repository", renamed)
        api.requests.clear()
        run = await run_ingestion(
            store,
            source="acme",
            source_type="github",
            fetch=github_fetcher(source, lookup, scope=target.scope),
            trigger="webhook",
            scope=target.scope,
        )
        paths = sorted(r.path for r in api.requests)

    assert first.status == "SUCCEEDED", first.errors
    assert (run.status, run.scope) == ("SUCCEEDED", ["github:acme/pay", "github:acme/pay2"])
    assert paths == ["/repos/acme/pay", "/repos/acme/pay2", "/repos/acme/pay2/environments"]
    found = await store.get_entities(["component:default/pay", "component:default/ledger"])
    pay = found["component:default/pay"]
    assert pay.document["metadata"]["annotations"][SOURCE_PATH_ANNOTATION] == "github:acme/pay2"
    assert found["component:default/ledger"].run_id == first.id
    changes = await store.changes(source="acme", since=run.started_at, limit=10)
    assert [(c.ref, c.change, c.run_id) for c in changes] == [
        ("component:default/pay", "UPDATED", run.id)
    ]
