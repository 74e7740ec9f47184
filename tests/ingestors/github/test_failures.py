"""The GitHub source when parts of the organisation cannot be read, and when ownership
moves: the loopback GitHub of :mod:`test_ingest`, real git repositories, the store read back
(SQLite and Neo4j)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from graph.port import Direction, GraphStore
from ingestors.github.config import GithubSource
from ingestors.http import ETagCache
from tests.gitrepo import GitRepo, component
from tests.ingestors.github.test_ingest import (
    FakeSleep,
    GithubApi,
    ingest,
    make_repo,
    refs,
    repo_item,
)
from tests.loopback import LoopbackServer


@dataclass
class Org:
    server: LoopbackServer
    api: GithubApi
    payments: GitRepo
    source: GithubSource
    cache: ETagCache


def payments_descriptor() -> str:
    return component("payments", owner="").replace(
        "  name: payments\n",
        "  name: payments\n  annotations:\n    github.com/project-slug: acme/payments\n",
    )


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.setenv("ACME_GITHUB_TOKEN", "ghs_test")
    payments = make_repo(
        tmp_path / "payments",
        {
            "catalog-info.yaml": payments_descriptor(),
            ".github/CODEOWNERS": "* @acme/payments-team\n",
        },
    )
    ledger = make_repo(
        tmp_path / "ledger", {"catalog-info.yaml": component("ledger", owner="platform")}
    )
    server = LoopbackServer().start()
    api = GithubApi(
        server, [repo_item("payments", payments.url()), repo_item("ledger", ledger.url())]
    )
    api.install()
    source = GithubSource.model_validate(
        {
            "name": "acme-github",
            "org": "acme",
            "apiUrl": server.url,
            "tokenEnv": "ACME_GITHUB_TOKEN",
        }
    )
    try:
        yield Org(server, api, payments, source, ETagCache())
    finally:
        server.stop()


async def owners(store: GraphStore, ref: str) -> set[str]:
    found = await store.get_relations([ref], Direction.OUT, ["ownedBy"])
    return {r.target_ref for r in found}


async def test_a_run_reports_the_rate_limit_left(store: GraphStore, org: Org) -> None:
    run = await ingest(store, org.source, org.cache, FakeSleep())

    assert run.status == "SUCCEEDED", run.errors
    assert run.stats["rateLimitRemaining"] == 4321  # X-RateLimit-Remaining of the answers


@pytest.mark.parametrize("status", [404, 403])
async def test_unreadable_environments_keep_the_deployments(
    store: GraphStore, org: Org, status: int
) -> None:
    first = await ingest(store, org.source, org.cache, FakeSleep())
    assert first.status == "SUCCEEDED", first.errors
    deployments = await refs(store, "deployment")
    assert any(d.endswith("acme-payments-production-501") for d in deployments)
    # GitHub answers 404 (or 403) to a token without the Environments permission
    org.server.route(
        "GET", "/repos/acme/payments/environments", (status, {}, {"message": "Not Found"})
    )

    second = await ingest(store, org.source, org.cache, FakeSleep())

    assert second.status == "PARTIAL"
    assert any(
        e.file == "acme/payments" and "Environments (read)" in e.message and "kept" in e.message
        for e in second.errors
    ), second.errors
    assert await refs(store, "deployment") == deployments  # nothing cleaned up
    assert "environment:default/staging" in await refs(store, "environment")


async def test_an_empty_environments_list_cleans_up_the_deployments(
    store: GraphStore, org: Org
) -> None:
    await ingest(store, org.source, org.cache, FakeSleep())
    org.api.environments["payments"] = []  # 200 with total_count 0: truly none

    run = await ingest(store, org.source, org.cache, FakeSleep())

    assert run.status == "SUCCEEDED", run.errors
    # staging was known only through payments' environments: it and its deployment go
    assert "environment:default/staging" not in await refs(store, "environment")
    assert not {d for d in await refs(store, "deployment") if "staging" in d}


async def test_a_ghost_member_is_read_by_login_alone(store: GraphStore, org: Org) -> None:
    org.server.route("GET", "/users/linus", (404, {}, {"message": "Not Found"}))

    run = await ingest(store, org.source, org.cache, FakeSleep())

    assert run.status == "SUCCEEDED", run.errors
    assert any("user linus" in w and "HTTP 404" in w for w in run.warnings), run.warnings
    assert {"user:default/linus", "user:default/ada"} <= await refs(store, "user")
    linus = (await store.get_entities(["user:default/linus"]))["user:default/linus"]
    assert linus.document["spec"]["profile"]["displayName"] == "linus"
    assert linus.document["spec"]["memberOf"] == ["group:default/payments-team"]
    ada = (await store.get_entities(["user:default/ada"]))["user:default/ada"]
    assert ada.document["spec"]["profile"]["displayName"] == "Ada"  # others' profiles read


async def test_a_team_and_owner_change_moves_ownership(store: GraphStore, org: Org) -> None:
    first = await ingest(store, org.source, org.cache, FakeSleep())
    assert first.status == "SUCCEEDED", first.errors
    assert await owners(store, "component:default/payments") == {"group:default/payments-team"}

    # CODEOWNERS hands payments to platform; payments-team is dissolved (grace, linus leave)
    org.payments.write(".github/CODEOWNERS", "* @acme/platform\n")
    org.payments.commit("platform owns payments")
    org.api.teams = [t for t in org.api.teams if t["slug"] != "payments-team"]

    second = await ingest(store, org.source, org.cache, FakeSleep())

    assert second.status == "SUCCEEDED", second.errors
    assert await owners(store, "component:default/payments") == {"group:default/platform"}
    assert await refs(store, "group") == {"group:default/platform"}
    owned = await store.get_relations(["group:default/platform"], Direction.IN, ["ownedBy"])
    assert "component:default/payments" in {r.source_ref for r in owned}
    grace = (await store.get_entities(["user:default/grace"]))["user:default/grace"]
    assert grace.document["spec"]["memberOf"] == ["group:default/platform"]
    assert "user:default/linus" in await refs(store, "user")  # still listed under platform
