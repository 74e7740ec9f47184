"""Webhooks against a live server (``stagegraph serve`` with a config), on both stores: a
loopback GitHub with an organisation of 50 repositories (real git repositories as clone
URLs) sends signed deliveries; a push re-reads only its repository (the API calls and git
fetches are counted), the change is queryable, the others are untouched. Wrong signature,
replay, unknown event, a burst of 20 pushes, a deleted repository, and the generic git
webhook each behave as :mod:`api.webhooks` says."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from graph.port import GraphStore
from ingestors.github import github_fetcher
from ingestors.github.config import GithubSource
from ingestors.runner import run_ingestion
from ingestors.webhooks import sign
from tests.api.server import graphql, running_server
from tests.gitrepo import GitRepo, component
from tests.loopback import LoopbackServer, Request, link_pages

SECRET = "hook-secret-0123456789"
REPOS = 50


def _repo_json(name: str, url: str) -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 10**8,
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


class Org:
    """50 repositories, each a git repository with one component named after it, served
    by a loopback GitHub API; ``gone`` repositories answer 404."""

    def __init__(self, root: Path, api: LoopbackServer) -> None:
        self.api = api
        self.repos: dict[str, GitRepo] = {}
        self.gone: set[str] = set()

        def make(name: str) -> GitRepo:
            repo = GitRepo(root / name)
            repo.write("catalog-info.yaml", component(name))
            repo.commit()
            return repo

        names = [f"r{i:02d}" for i in range(REPOS)]
        with ThreadPoolExecutor(max_workers=8) as pool:  # git's start-up overlaps
            self.repos = dict(zip(names, pool.map(make, names), strict=True))
        listing = [_repo_json(n, r.url()) for n, r in self.repos.items()]
        api.route(
            "GET",
            "/orgs/acme/repos",
            link_pages(
                lambda: [r for r in listing if r["name"] not in self.gone],
                base_url=lambda: api.url,
            ),
        )
        for name, repo in self.repos.items():
            api.route("GET", f"/repos/acme/{name}", self._repo(name, repo))
            api.route("GET", f"/repos/acme/{name}/environments", {"environments": []})

    def _repo(self, name: str, repo: GitRepo) -> Callable[[Request], Any]:
        def answer(request: Request) -> Any:
            if name in self.gone:
                return 404, {}, {"message": "Not Found"}
            return 200, {}, _repo_json(name, repo.url())

        return answer

    def retitle(self, name: str, title: str) -> None:
        repo = self.repos[name]
        repo.write(
            "catalog-info.yaml",
            component(name).replace(f"name: {name}", f"name: {name}\n  title: {title}", 1),
        )
        repo.commit(f"retitle {name}")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "stagegraph.yaml"
    path.write_text(
        "sources:\n"
        "  - name: acme\n"
        "    type: github\n"
        "    org: acme\n"
        "    apiUrl: ${GITHUB_API}\n"
        "    teams: false\n"
        "    actions: false\n"
        '    webhook: {secret: "${HOOK_SECRET}"}\n'
        "  - name: services\n"
        "    type: git\n"
        "    url: ${SERVICES_REPO}\n"
        '    webhook: {secret: "${HOOK_SECRET}"}\n'
    )
    return path


def _fetch_log(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A global git config whose pack-objects hook logs the repository of every fetch
    (``git upload-pack`` runs it for each clone over ``file://``)."""
    log = tmp_path / "fetches.log"
    hook = tmp_path / "log-fetch.sh"
    hook.write_text(f'#!/bin/sh\necho "$PWD" >> {log}\nexec "$@"\n')
    hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[uploadpack]\n\tpackObjectsHook = {hook}\n")
    return {"GIT_CONFIG_GLOBAL": str(config)}, log


def _fetched(log: Path) -> list[str]:
    if not log.exists():
        return []
    paths = [Path(line) for line in log.read_text().split()]
    return [p.parent.name if p.name == ".git" else p.name for p in paths]


def _post(
    base: str,
    event: str,
    payload: dict[str, Any],
    *,
    delivery: str | None = None,
    secret: str = SECRET,
    path: str = "/webhooks/github",
    signed: bool = True,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if signed:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return httpx.post(f"{base}{path}", content=body, headers=headers, timeout=30)


def _push(name: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "ref": ref,
        "repository": {**_repo_json(name, ""), "clone_url": None},
        "organization": {"login": "acme"},
    }


def _title(base: str, ref: str) -> str | None:
    entity = graphql(base, "query($r: String!) { entity(ref: $r) { title } }", r=ref)["entity"]
    return None if entity is None else entity["title"]


def _wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


async def test_signed_deliveries_re_read_only_what_changed(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    with LoopbackServer() as api, ExitStack() as stack, ThreadPoolExecutor(1) as boot:
        git_env, fetches = _fetch_log(tmp_path)
        environ = {
            "GITHUB_API": api.url,
            "HOOK_SECRET": SECRET,
            "SERVICES_REPO": f"file://{tmp_path / 'services'}",
            "STAGEGRAPH_ANONYMOUS_READ": "true",
            **git_env,
        }
        server_log = tmp_path / "server.log"
        config = _config(tmp_path)
        # the server starts (seconds of imports) while the organisation is made and read
        booting = boot.submit(
            stack.enter_context,
            running_server(store_url, "--config", str(config), environ=environ, log=server_log),
        )
        org = Org(tmp_path / "org", api)
        services = GitRepo(tmp_path / "services")
        services.write("catalog-info.yaml", component("svc"))
        services.commit()
        source = GithubSource(name="acme", org="acme", api_url=api.url, teams=False, actions=False)
        first = await run_ingestion(
            store, source="acme", source_type="github", fetch=github_fetcher(source)
        )
        assert first.status == "SUCCEEDED", first.errors
        before = await store.get_entities([f"component:default/r{i:02d}" for i in range(REPOS)])
        base = booting.result()
        api.requests.clear()

        # a push to one repository: only it is read, the change is visible
        org.retitle("r07", "Seventh")
        sent = time.monotonic()
        answer = _post(base, "push", _push("r07"))
        assert answer.status_code == 202, answer.text
        assert answer.json()["deliveries"] == [{"source": "acme", "scope": ["github:acme/r07"]}]
        _wait_for(lambda: _title(base, "component:default/r07") == "Seventh", "the push")
        latency = time.monotonic() - sent
        assert [r.path for r in api.requests] == [
            "/repos/acme/r07",
            "/repos/acme/r07/environments",
        ]
        assert _fetched(fetches) == ["r07"]
        after = await store.get_entities(list(before))
        untouched = [k for k in before if k != "component:default/r07"]
        assert all(after[k].run_id == before[k].run_id for k in untouched)
        query = '{ ingestionRuns(source: "acme", first: 1) { edges { node { trigger scope status } } } }'

        def last_run() -> Any:
            node = graphql(base, query)["ingestionRuns"]["edges"][0]["node"]
            return node if node["status"] != "RUNNING" else None

        assert _wait_for(last_run, "the run's end") == {
            "trigger": "webhook",
            "scope": ["github:acme/r07"],
            "status": "SUCCEEDED",
        }
        assert latency < 10

        # a deployment status: the Deployment is written from the payload, nothing is read
        api.requests.clear()
        deployment = {
            "id": 9001,
            "sha": "a" * 40,
            "ref": "main",
            "environment": "production",
            "created_at": "2026-12-01T10:00:00Z",
            "creator": {"login": "deploy-bot"},
        }
        status = {"state": "success", "target_url": "https://ci.example/9001"}
        payload = {
            "action": "created",
            "deployment": deployment,
            "deployment_status": status,
            **_push("r05"),
        }
        answer = _post(base, "deployment_status", payload)
        assert answer.json()["deliveries"] == [{"source": "acme", "scope": ["github:acme/r05"]}]
        ref = "deployment:default/acme-r05-production-9001"
        changes = "query($r: String!) { changes(ref: $r) { edges { node { change runId } } } }"
        _wait_for(lambda: graphql(base, changes, r=ref)["changes"]["edges"], "the deployment")
        (change,) = graphql(base, changes, r=ref)["changes"]["edges"]
        assert change["node"]["change"] == "CREATED"
        assert api.requests == [] and _fetched(fetches) == ["r07"]
        stored = (await store.get_entities([ref]))[ref].document["spec"]
        assert (stored["component"], stored["status"]) == ("component:default/r05", "success")

        # wrong signature, unsigned: 401 and logged; nothing recorded
        wrong = _post(base, "push", _push("r07"), secret="not-the-secret-at-all")
        unsigned = _post(base, "push", _push("r07"), signed=False)
        assert (wrong.status_code, unsigned.status_code) == (401, 401)
        assert server_log.read_text().count("refused a github webhook delivery") == 2

        # a replay of a delivery: nothing done; an unknown event and a ping: nothing to do
        delivery = str(uuid.uuid4())
        assert _post(base, "push", _push("r03"), delivery=delivery).status_code == 202
        replay = _post(base, "push", _push("r03"), delivery=delivery)
        assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
        star = _post(base, "star", {"action": "created", "repository": _push("r03")["repository"]})
        assert (star.status_code, star.json()["status"]) == (202, "ignored")
        assert (
            _post(base, "ping", {"zen": "hi", "organization": {"login": "acme"}}).status_code == 200
        )
        other_branch = _post(base, "push", _push("r03", "refs/heads/feature"))
        assert other_branch.json()["status"] == "ignored"

        # a burst of 20 pushes to one repository: one read (two at most)
        _wait_for(lambda: _fetched(fetches).count("r03") == 1, "the r03 push")
        org.retitle("r12", "Twelfth")
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda _: _post(base, "push", _push("r12")), range(20)))
        assert {a.status_code for a in answers} == {202}
        _wait_for(lambda: _title(base, "component:default/r12") == "Twelfth", "the burst")
        time.sleep(1.0)  # a second read, if any, would start by now
        # one read for the burst; on a loaded machine deliveries still arriving once that
        # read has begun make one more (never one per delivery)
        assert 1 <= _fetched(fetches).count("r12") <= 2

        # a deleted repository: its entities go (1 of 50 is within the guard)
        org.gone.add("r30")
        deleted = {
            "action": "deleted",
            "repository": _push("r30")["repository"],
            "organization": {"login": "acme"},
        }
        assert _post(base, "repository", deleted).status_code == 202
        _wait_for(
            lambda: graphql(base, '{ entity(ref: "component:r30") { ref } }')["entity"] is None,
            "the deletion",
        )
        assert graphql(base, '{ entity(ref: "component:r31") { ref } }')["entity"] is not None

        # the generic git webhook re-reads a git source
        services.write(
            "catalog-info.yaml",
            component("svc").replace("name: svc", "name: svc\n  title: Service", 1),
        )
        services.commit()
        assert _post(base, "push", {}, path="/webhooks/git/services").status_code == 202
        _wait_for(lambda: _title(base, "component:svc") == "Service", "the git source")
        assert (
            _post(
                base, "push", {}, path="/webhooks/git/services", secret="wrong-secret-xyz"
            ).status_code
            == 401
        )
