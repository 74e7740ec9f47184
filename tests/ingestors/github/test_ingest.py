"""The GitHub source end to end: a loopback GitHub REST API serving the recorded payloads
(tests/fixtures/github/acme), real git repositories as clone URLs, and the store read back
(SQLite and Neo4j)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.port import Direction, GraphStore, RunRecord
from ingestors.errors import SourceConfigError
from ingestors.github import github_fetcher
from ingestors.github.config import GithubSource
from ingestors.http import ETagCache
from ingestors.lookup import CatalogLookup
from ingestors.registry import SOURCE_TYPES
from ingestors.runner import run_ingestion
from tests.gitrepo import GitRepo, component
from tests.loopback import (
    LoopbackServer,
    RecordedSleep,
    Reply,
    Request,
    constant,
    link_pages,
    sequence,
    with_etag,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "github" / "acme"


def _load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())


class GithubApi:
    """The recorded organisation served as GitHub serves it (paging, ETags); ``state`` can be
    changed between runs."""

    def __init__(self, server: LoopbackServer, repos: list[dict[str, Any]]) -> None:
        self.server = server
        self.repos = repos
        self.workflows: dict[str, list[dict[str, Any]]] = {}
        self.runs: dict[int, list[dict[str, Any]]] = {}
        self.environments: dict[str, list[dict[str, Any]]] = {}
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        for name in ("payments", "ledger"):
            self.workflows[name] = _load(f"repos/{name}/workflows.json")["workflows"]
            for workflow in self.workflows[name]:
                self.runs[workflow["id"]] = _load(f"repos/{name}/runs/{workflow['id']}.json")[
                    "workflow_runs"
                ]
            self.environments[name] = _load(f"repos/{name}/environments.json")["environments"]
            self.deployments[name] = _load(f"repos/{name}/deployments.json")
        self.teams = _load("teams.json")
        self.rate_remaining = 4321

    def page(self, items: Any, wrap: str | None = None, max_per_page: int = 100) -> Any:
        return with_etag(
            link_pages(
                items, wrap=wrap, base_url=lambda: self.server.url, max_per_page=max_per_page
            )
        )

    def install(self, repos_first: Reply | None = None) -> None:
        api = self.server
        listing = self.page(lambda: self.repos, max_per_page=2)
        api.route(
            "GET", "/orgs/acme/repos", sequence(repos_first, listing) if repos_first else listing
        )
        for repo in self.repos:
            name = repo["name"]
            base = f"/repos/acme/{name}"
            api.route(
                "GET",
                f"{base}/actions/workflows",
                self.page(lambda n=name: self.workflows.get(n, []), "workflows"),
            )
            for workflow in self.workflows.get(name, []):
                api.route(
                    "GET",
                    f"{base}/actions/workflows/{workflow['id']}/runs",
                    self.page(lambda w=workflow["id"]: self.runs[w], "workflow_runs"),
                )
            api.route(
                "GET",
                f"{base}/environments",
                self.page(lambda n=name: self.environments.get(n, []), "environments"),
            )
            api.route("GET", f"{base}/deployments", with_etag(self._deployments(name)))
            for deployment in self.deployments.get(name, []):
                statuses = _load(f"repos/{name}/statuses/{deployment['id']}.json")
                api.route(
                    "GET",
                    f"{base}/deployments/{deployment['id']}/statuses",
                    with_etag(constant(statuses)),
                )
        api.route(
            "GET",
            "/orgs/acme/teams",
            sequence(
                (429, {"Retry-After": "3"}, {"message": "slow"}), self.page(lambda: self.teams)
            ),
        )
        for team in self.teams:
            members = _load(f"teams/{team['slug']}/members.json")
            api.route("GET", f"/orgs/acme/teams/{team['slug']}/members", self.page(members))
            for member in members:
                user = _load(f"users/{member['login']}.json")
                api.route("GET", f"/users/{member['login']}", with_etag(constant(user)))
        for key, handler in list(api.routes.items()):
            api.routes[key] = self._rate_headers(handler)

    def _rate_headers(self, handler: Any) -> Any:
        """GitHub's primary rate limit headers on every normal answer (304s included)."""

        def wrapped(request: Request) -> Reply:
            status, headers, body = handler(request)
            if status in (200, 304):
                headers = {
                    "X-RateLimit-Limit": "5000",
                    "X-RateLimit-Remaining": str(self.rate_remaining),
                    "X-RateLimit-Reset": str(int(time.time()) + 3600),
                    "X-RateLimit-Used": str(5000 - self.rate_remaining),
                    **headers,
                }
            return status, headers, body

        return wrapped

    def _deployments(self, name: str) -> Any:
        def handler(request: Request) -> Reply:
            wanted = request.param("environment")
            found = [d for d in self.deployments.get(name, []) if d["environment"] == wanted]
            return link_pages(found)(request)

        return handler


FakeSleep = RecordedSleep


def make_repo(path: Path, files: dict[str, str]) -> GitRepo:
    repo = GitRepo(path)
    for relative, text in files.items():
        repo.write(relative, text)
    repo.commit("initial")
    return repo


def repo_item(name: str, url: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = copy.deepcopy(_load("repos.json")[0])
    base.update(
        name=name,
        full_name=f"acme/{name}",
        clone_url=url,
        html_url=f"https://github.com/acme/{name}",
        **extra,
    )
    return base


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as api:
        yield api


async def ingest(
    store: GraphStore, source: GithubSource, cache: ETagCache, sleep: FakeSleep
) -> RunRecord:
    fetch = github_fetcher(source, CatalogLookup(store), cache=cache, sleep=sleep)
    return await run_ingestion(store, source=source.name, source_type="github", fetch=fetch)


async def refs(store: GraphStore, kind: str) -> set[str]:
    from graph.port import EntityFilter

    page = await store.list_entities(EntityFilter(kinds=(kind,)), 100)
    return {e.key for e in page.entities}


async def relations_of(store: GraphStore, keys: list[str]) -> set[tuple[str, str, str]]:
    found = await store.get_relations(keys, Direction.BOTH)
    return {(r.source_ref, r.type, r.target_ref) for r in found}


async def test_github_org_end_to_end(
    store: GraphStore, server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_GITHUB_TOKEN", "ghs_test")
    payments = make_repo(
        tmp_path / "payments",
        {
            "catalog-info.yaml": component("payments", owner="", **{}).replace(
                "  name: payments\n",
                "  name: payments\n  annotations:\n    github.com/project-slug: acme/payments\n",
            ),
            ".github/CODEOWNERS": "* @acme/payments-team\n",
            ".github/workflows/ci.yml": "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n",
        },
    )
    ledger = make_repo(
        tmp_path / "ledger", {"catalog-info.yaml": component("ledger", owner="platform")}
    )
    docs = make_repo(tmp_path / "docs", {"README.md": "docs\n"})
    billing = make_repo(
        tmp_path / "billing", {"catalog-info.yaml": component("billing", owner="platform")}
    )
    repos = [
        repo_item("payments", payments.url()),
        repo_item("ledger", ledger.url()),
        repo_item("docs", docs.url()),
        repo_item("billing", billing.url()),
        repo_item("old", docs.url(), archived=True),
    ]
    api = GithubApi(server, repos)
    reset = str(int(time.time()) + 20)
    api.install(
        repos_first=(
            403,
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
            {"message": "API rate limit exceeded"},
        )
    )
    source = GithubSource.model_validate(
        {
            "name": "acme-github",
            "org": "acme",
            "apiUrl": server.url,
            "tokenEnv": "ACME_GITHUB_TOKEN",
            "buildsPerPipeline": 2,
        }
    )
    cache = ETagCache()
    sleep = FakeSleep()

    first = await ingest(store, source, cache, sleep)

    assert first.status == "SUCCEEDED", first.errors
    # rate limits honoured: the primary limit until its reset, then Retry-After on /teams
    assert len(sleep.waits) == 2 and 15 <= sleep.waits[0] <= 22 and sleep.waits[1] == 3.0
    # the repository list followed to its last page (5 repositories, 2 per page)
    assert [r.param("page") for r in server.requests_to("/orgs/acme/repos")] == [
        None,
        None,
        "2",
        "3",
    ]
    assert server.requests_to("/orgs/acme/repos")[0].headers["authorization"] == "Bearer ghs_test"
    assert "acme/docs: no catalog-info.yaml" in first.skipped
    assert "acme/old: archived (includeArchived: false)" in first.skipped
    assert first.stats["apiCalls"] > 0 and first.stats["notModified"] == 0
    assert await refs(store, "component") == {
        "component:default/payments",
        "component:default/ledger",
        "component:default/billing",
    }
    assert await refs(store, "group") == {"group:default/platform", "group:default/payments-team"}
    assert await refs(store, "pipeline") == {
        "pipeline:default/acme-payments-ci",
        "pipeline:default/acme-ledger-release",
    }
    # two newest runs per pipeline fetched (per_page), the ledger one
    assert await refs(store, "build") == {
        "build:default/acme-payments-ci-3",
        "build:default/acme-payments-ci-2",
        "build:default/acme-ledger-release-7",
    }
    found = await relations_of(
        store,
        [
            "component:default/payments",
            "group:default/payments-team",
            "environment:default/production",
        ],
    )
    assert {
        ("component:default/payments", "ownedBy", "group:default/payments-team"),  # CODEOWNERS
        ("group:default/payments-team", "childOf", "group:default/platform"),
        ("user:default/grace", "memberOf", "group:default/payments-team"),
        ("component:default/payments", "builtBy", "pipeline:default/acme-payments-ci"),
        (
            "deployment:default/acme-payments-production-501",
            "deploys",
            "component:default/payments",
        ),
        (
            "deployment:default/acme-payments-production-501",
            "deployedTo",
            "environment:default/production",
        ),
        ("component:default/payments", "deployedTo", "environment:default/production"),
        ("component:default/ledger", "deployedTo", "environment:default/production"),
    } <= found
    owner = await store.get_relations(["component:default/payments"], Direction.OUT, ["ownedBy"])
    assert [r.target_exists for r in owner] == [True]
    runs_of = await store.get_relations(
        ["pipeline:default/acme-payments-ci"], Direction.IN, ["runOf"]
    )
    assert {r.source_ref for r in runs_of} == {
        "build:default/acme-payments-ci-3",
        "build:default/acme-payments-ci-2",
    }
    pipeline = (await store.get_entities(["pipeline:default/acme-payments-ci"]))[
        "pipeline:default/acme-payments-ci"
    ]
    assert "Jobs: test." in pipeline.document["metadata"]["description"]  # the file's view
    assert pipeline.document["spec"]["url"].endswith("/.github/workflows/ci.yml")  # the API's

    # Second run, nothing changed: conditional requests answered 304.
    calls_before = len(server.requests)
    second = await ingest(store, source, cache, FakeSleep())

    assert second.status == "SUCCEEDED", second.errors
    assert (
        second.stats["notModified"]
        == second.stats["apiCalls"]
        == len(server.requests) - calls_before
    )
    assert all(c.added == c.updated == c.deleted == 0 for c in second.counts)

    # Third run: a new run beyond retention, a workflow deleted, a clone failing.
    newest = copy.deepcopy(api.runs[10100][0])
    newest.update(
        id=10100004,
        run_number=4,
        run_started_at="2026-11-23T09:00:00Z",
        updated_at="2026-11-23T09:05:00Z",
        status="completed",
        conclusion="success",
    )
    api.runs[10100].insert(0, newest)
    api.workflows["ledger"] = []
    repos[3]["clone_url"] = f"file://{tmp_path / 'gone'}"
    server.route("GET", "/repos/acme/payments/environments", (502, {}, {"message": "Bad gateway"}))

    third = await ingest(store, source, cache, FakeSleep())

    assert third.status == "PARTIAL"
    assert any(e.file == "acme/billing" and "kept" in e.message for e in third.errors)
    assert "component:default/billing" in await refs(store, "component")  # kept
    assert any(
        e.file == "acme/payments" and "HTTP 502" in e.message and "kept" in e.message
        for e in third.errors
    )
    # staging is known only through payments' deployments: kept while they cannot be read
    assert "environment:default/staging" in await refs(store, "environment")
    assert "pipeline:default/acme-ledger-release" not in await refs(store, "pipeline")  # cleaned up
    builds = await refs(store, "build")
    assert {"build:default/acme-payments-ci-4", "build:default/acme-payments-ci-3"} <= builds
    assert "build:default/acme-payments-ci-2" not in builds  # pruned: 2 per pipeline


async def test_a_source_entry_parses_and_a_missing_token_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_GITHUB_TOKEN", raising=False)
    (source,) = SOURCE_TYPES.parse(
        [
            {
                "name": "acme-github",
                "type": "github",
                "org": "acme",
                "tokenEnv": "NO_SUCH_GITHUB_TOKEN",
            }
        ]
    )
    assert isinstance(source, GithubSource)

    with pytest.raises(SourceConfigError) as caught:
        await SOURCE_TYPES.fetcher(source)()

    assert "set the environment variable NO_SUCH_GITHUB_TOKEN" in str(caught.value)


async def test_an_unknown_organisation_fails_the_run_clearly(
    store: GraphStore, server: LoopbackServer, tmp_path: Path
) -> None:
    source = GithubSource.model_validate({"name": "gh", "org": "nope", "apiUrl": server.url})

    run = await ingest(store, source, ETagCache(), FakeSleep())

    assert run.status == "FAILED"
    message = run.errors[0].message
    assert f"{server.url}/orgs/nope/repos?" in message
    assert "failed (HTTP 404): not found" in message and "check the name" in message
    assert run.cleanup is not None and run.cleanup.startswith("skipped")
