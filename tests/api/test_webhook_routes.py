"""The webhook routes (:class:`api.webhooks.Webhooks`) over a real store, both stores, with
no scheduler behind them: each accepted delivery is only recorded (it waits in the store for
the process holding its source's lease; nothing is read in the request), with the scope each
event asks for. GitLab's ``X-Gitlab-Token`` (push, pipeline, deployment and project events;
replays by ``X-Gitlab-Event-UUID``), GitHub's repository, team and membership events, and
``/webhooks/git/{source}`` signed with the source's secret (a folder with ``?path=``).
The live server with a loopback GitHub is :mod:`tests.api.test_webhooks`."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.webhooks import Webhooks
from graph.port import GraphStore
from ingestors.contract import SourceConfig
from ingestors.git import GitSource
from ingestors.github.config import GithubSource
from ingestors.gitlab.config import GitlabSource
from ingestors.webhooks import sign

SECRET = "hook-secret-0123456789"
SOURCES: list[SourceConfig] = [
    GitlabSource(name="platform", group="acme/platform", webhook={"secret": SECRET}),
    GithubSource(name="acme", org="acme", webhook={"secret": SECRET}),
    GitSource(name="catalog", url="https://git.example/catalog.git", webhook={"secret": SECRET}),
]
PROJECT = {"path_with_namespace": "acme/platform/pay", "default_branch": "main"}


class Hooks:
    """The routes on a Starlette app; ``woken`` counts the inbox wake-ups they asked for."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.woken = 0
        routes = Webhooks(SOURCES, lambda: store, self._wake).routes()
        transport = httpx.ASGITransport(app=Starlette(routes=routes))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://hooks")

    def _wake(self) -> None:
        self.woken += 1

    async def gitlab(
        self, event: str, payload: dict[str, Any], *, token: str | None = SECRET, uuid: str = ""
    ) -> httpx.Response:
        headers = {"X-Gitlab-Event": event}
        if token is not None:
            headers["X-Gitlab-Token"] = token
        if uuid:
            headers["X-Gitlab-Event-UUID"] = uuid
        return await self.client.post("/webhooks/gitlab", json=payload, headers=headers)

    async def github(self, event: str, payload: dict[str, Any], delivery: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(SECRET, body),
            "Content-Type": "application/json",
        }
        return await self.client.post("/webhooks/github", content=body, headers=headers)

    async def waiting(self, source: str) -> list[tuple[str, str, tuple[str, ...], bool]]:
        found = await self.store.waiting_deliveries([source], 100)
        return sorted((d.id, d.event, d.scope, d.payload is not None) for d in found)


async def test_gitlab_deliveries_are_recorded_by_token_with_the_project_as_scope(
    store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = Hooks(store)
    push = {"object_kind": "push", "ref": "refs/heads/main", "project": PROJECT}
    pipeline = {"object_kind": "pipeline", "project": PROJECT, "object_attributes": {"id": 5}}
    deployment = {"object_kind": "deployment", "project": PROJECT, "deployment_id": 9}
    moved = {
        "event_name": "project_transfer",
        "path_with_namespace": "acme/platform/pay2",
        "old_path_with_namespace": "acme/platform/pay",
    }

    with caplog.at_level(logging.WARNING, logger="stagegraph.webhooks"):
        unsigned = await hooks.gitlab("Push Hook", push, token=None)
        wrong = await hooks.gitlab("Push Hook", push, token="not-the-secret-at-all")
    answers = [
        await hooks.gitlab("Push Hook", push, uuid="u-push"),
        await hooks.gitlab("Pipeline Hook", pipeline, uuid="u-pipeline"),
        await hooks.gitlab("Deployment Hook", deployment, uuid="u-deploy"),
        await hooks.gitlab("System Hook", moved, uuid="u-moved"),
    ]
    replay = await hooks.gitlab("Push Hook", push, uuid="u-push")
    branch = await hooks.gitlab("Push Hook", {**push, "ref": "refs/heads/dev"}, uuid="u-dev")
    issue = await hooks.gitlab("Issue Hook", {**push, "object_kind": "issue"}, uuid="u-issue")

    assert (unsigned.status_code, wrong.status_code) == (401, 401)
    assert caplog.text.count("refused a gitlab webhook delivery") == 2
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    assert answers[0].json() == {
        "status": "accepted",
        "deliveries": [{"source": "platform", "scope": ["gitlab/acme/platform/pay"]}],
    }
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    assert (branch.status_code, branch.json()["status"]) == (202, "ignored")
    assert (issue.status_code, issue.json()["status"]) == (202, "ignored")
    pay = ("gitlab/acme/platform/pay",)
    assert await hooks.waiting("platform") == [
        ("gitlab:u-deploy:platform", "deployment", pay, True),
        ("gitlab:u-moved:platform", "project_transfer", (*pay, "gitlab/acme/platform/pay2"), False),
        ("gitlab:u-pipeline:platform", "pipeline", pay, True),
        ("gitlab:u-push:platform", "push", pay, False),
    ]
    assert hooks.woken == 4
    assert await store.get_runs("platform", first=5) == []  # nothing ran in the requests


async def test_github_repository_and_team_events_are_recorded_for_the_org_source(
    store: GraphStore,
) -> None:
    hooks = Hooks(store)

    def repo(name: str, owner: str = "acme") -> dict[str, Any]:
        return {"name": name, "owner": {"login": owner}, "default_branch": "main"}

    acme = {"organization": {"login": "acme"}}
    transferred_out = {
        "action": "transferred",
        "repository": repo("ledger", owner="elsewhere"),
        "changes": {"owner": {"from": {"organization": {"login": "acme"}}}},
    }
    transferred_in = {
        "action": "transferred",
        "repository": repo("audit"),
        "changes": {"owner": {"from": {"user": {"login": "jane"}}}},
    }
    events = [
        ("repository", {"action": "created", "repository": repo("new"), **acme}, "d1"),
        ("repository", {"action": "archived", "repository": repo("old"), **acme}, "d2"),
        ("repository", transferred_out, "d3"),
        ("team", {"action": "created", "team": {"slug": "pay"}, **acme}, "d4"),
        ("membership", {"action": "removed", "member": {"login": "jane"}, **acme}, "d5"),
        ("repository", transferred_in, "d6"),
    ]

    answers = [await hooks.github(event, payload, d) for event, payload, d in events]

    assert [a.status_code for a in answers] == [202] * 6
    assert await hooks.waiting("acme") == [
        ("github:d1:acme", "repository.created", ("github:acme/new",), False),
        ("github:d2:acme", "repository.archived", ("github:acme/old",), False),
        ("github:d3:acme", "repository.transferred", ("github:acme/ledger",), False),
        ("github:d4:acme", "team.created", ("github:acme/teams",), False),
        ("github:d5:acme", "membership.removed", ("github:acme/teams",), False),
        ("github:d6:acme", "repository.transferred", ("github:acme/audit",), False),
    ]
    assert await store.get_runs("acme", first=5) == []


async def test_the_git_webhook_takes_only_deliveries_signed_for_its_source(
    store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = Hooks(store)
    body = b"{}"

    async def post(path: str, signature: str | None, delivery: str) -> httpx.Response:
        headers = {"X-GitHub-Delivery": delivery}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await hooks.client.post(path, content=body, headers=headers)

    with caplog.at_level(logging.WARNING, logger="stagegraph.webhooks"):
        unsigned = await post("/webhooks/git/catalog", None, "g0")
        wrong = await post("/webhooks/git/catalog", sign("another-secret-123", body), "g1")
        unknown = await post("/webhooks/git/elsewhere", sign(SECRET, body), "g2")
    whole = await post("/webhooks/git/catalog", sign(SECRET, body), "g3")
    folder = await post("/webhooks/git/catalog?path=services/pay/", sign(SECRET, body), "g4")

    assert [a.status_code for a in (unsigned, wrong, unknown)] == [401, 401, 401]
    assert caplog.text.count("refused a git webhook delivery") == 3
    assert [a.status_code for a in (whole, folder)] == [202, 202]
    assert await hooks.waiting("catalog") == [
        ("git:g3:catalog", "push", (), False),
        ("git:g4:catalog", "push", ("services/pay",), False),
    ]
    assert await store.get_runs("catalog", first=5) == []
