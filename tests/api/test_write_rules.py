"""Who may write what, end to end on both stores: pushes over HTTP through the real app with
static tokens and JWTs (role and scope), then the real `stagegraph ingest git` CLI on a real
git repository that defines a pushed ref."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.auth import TokenEntry, TokenScope, hash_token
from api.settings import Settings
from graph.port import GraphStore
from tests.api.server import cli
from tests.api.test_auth import AUDIENCE, ISSUER, make_jwt
from tests.gitrepo import GitRepo, component

BOT_TOKEN = "sg_bot-" + secrets.token_urlsafe(24)
FREE_TOKEN = "sg_free-" + secrets.token_urlsafe(24)
HS_SECRET = secrets.token_urlsafe(48)
UPSERT = """mutation ($source: String!, $entities: [JSON!]!) {
  upsertEntities(source: $source, entities: $entities) { ref status error } }"""
OWNER = """{ entity(ref: "component:order-service") {
  source owners: relations(type: "ownedBy") { targetRef } } }"""
RUNS = """{ ingestionRuns(source: "catalog") { edges { node { status warnings
  stats { name value } } } } }"""


def service(name: str, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner},
    }


def group(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name},
        "spec": {"type": "team", "children": []},
    }


Send = Any


@pytest.fixture
async def send(store: GraphStore, store_url: str) -> AsyncIterator[Send]:
    settings = Settings(
        store=store_url,
        tokens=[
            TokenEntry(
                name="deploy-bot",
                sha256=hash_token(BOT_TOKEN),
                role="writer",
                scope=TokenScope(sources=["bot"], kinds=["component", "api"]),
            ),
            TokenEntry(name="ops", sha256=hash_token(FREE_TOKEN), role="writer"),
        ],
        jwt_key=HS_SECRET,
        jwt_audience=AUDIENCE,
        jwt_issuer=ISSUER,
    )
    app = create_app(settings, store=store)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):

        async def post(token: str, query: str, **variables: Any) -> Any:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.json()

        yield post


async def test_a_pushed_ref_gives_way_to_the_git_source_that_defines_it(
    send: Send, store_url: str, tmp_path: Path
) -> None:
    pushed = await send(BOT_TOKEN, UPSERT, source="bot", entities=[service("order-service", "x")])
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("order-service", owner="team-a"))
    repo.commit()

    ingested = cli(store_url, "ingest", "git", str(repo.path), "--name", "catalog")
    owner = await send(FREE_TOKEN, OWNER)
    runs = await send(FREE_TOKEN, RUNS)
    again = await send(BOT_TOKEN, UPSERT, source="bot", entities=[service("order-service", "x")])

    assert pushed["data"]["upsertEntities"][0]["status"] == "CREATED"
    assert ingested.returncode == 0, ingested.stderr
    assert "already defined" not in ingested.stdout
    assert owner["data"]["entity"] == {
        "source": "catalog",
        "owners": [{"targetRef": "group:default/team-a"}],  # the writer's owner is gone
    }
    (run,) = [edge["node"] for edge in runs["data"]["ingestionRuns"]["edges"]]
    assert run["status"] == "SUCCEEDED"
    assert run["warnings"] == [
        "took over 1 entities pushed to source 'bot' (a configured (pulled) source outranks "
        "a pushed one for the same ref): component:default/order-service"
    ]
    assert {"name": "takenOverEntities", "value": 1} in run["stats"]
    (refused,) = again["data"]["upsertEntities"]
    assert refused["status"] == "FAILED"
    assert "held by the configured source 'catalog'" in refused["error"]
    assert "outranks a pushed one" in refused["error"]


async def test_a_static_tokens_scope_refuses_naming_token_rule_and_value(send: Send) -> None:
    other_source = await send(BOT_TOKEN, UPSERT, source="ops", entities=[service("a", "b")])
    other_kind = await send(BOT_TOKEN, UPSERT, source="bot", entities=[group("team-x")])
    unscoped = await send(FREE_TOKEN, UPSERT, source="ops", entities=[group("team-x")])

    assert other_source["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert other_source["errors"][0]["message"] == (
        "token 'deploy-bot' may not write to source 'ops': "
        "auth.tokens[deploy-bot].scope.sources allows only bot"
    )
    assert other_kind["data"]["upsertEntities"][0]["error"] == (
        "token 'deploy-bot' may not write kind 'group': "
        "auth.tokens[deploy-bot].scope.kinds allows only api, component"
    )
    assert unscoped["data"]["upsertEntities"][0]["status"] == "CREATED"


async def test_a_jwts_scope_claim_limits_its_pushes(send: Send) -> None:
    scoped = make_jwt(
        HS_SECRET,
        sub="alice",
        stagegraph_role="writer",
        stagegraph_scope={"sources": ["bot"], "namespaces": ["default"]},
    )
    malformed = make_jwt(
        HS_SECRET, sub="alice", stagegraph_role="writer", stagegraph_scope={"kinds": "api"}
    )

    refused = await send(scoped, UPSERT, source="ops", entities=[service("a", "b")])
    allowed = await send(scoped, UPSERT, source="bot", entities=[group("team-x")])
    bad = await send(malformed, UPSERT, source="bot", entities=[service("a", "b")])

    assert refused["errors"][0]["message"] == (
        "token 'alice' may not write to source 'ops': "
        "JWT claim stagegraph_scope.sources allows only bot"
    )
    assert allowed["data"]["upsertEntities"][0]["status"] == "CREATED"
    assert bad["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert "stagegraph_scope claim is not a scope" in bad["errors"][0]["message"]
