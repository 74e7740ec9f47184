"""A server with a config file keeps the catalog current: a change pushed to the git source
arrives on the next scheduled run, the run is recorded and the metrics move."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from graph.port import GraphStore
from tests.api.server import cli, graphql, running_server
from tests.gitrepo import GitRepo, component

ADMIN_TOKEN = "admin-token-for-tests-0123456789"


def _config(tmp_path: Path, repo: GitRepo, every: str = "1s") -> Path:
    path = tmp_path / "stagegraph.yaml"
    path.write_text(
        "sources:\n"
        "  - name: services\n"
        "    type: git\n"
        "    url: ${SERVICES_REPO}\n"
        "    paths: [services]\n"
        f"    schedule: {{every: {every}}}\n"
        "    timeout: 60s\n"
        "  - name: on-request\n"
        "    type: git\n"
        "    url: ${SERVICES_REPO}\n"
        "    paths: [extra]\n"
    )
    return path


def _wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _metric(base: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_scheduled_source_keeps_the_catalog_current(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/a/catalog-info.yaml", component("alpha"))
    repo.write("extra/catalog-info.yaml", component("extra-service"))
    repo.commit()
    config = _config(tmp_path, repo)
    token_hash = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    environ = {
        "SERVICES_REPO": str(repo.path),
        "STAGEGRAPH_TOKENS": f'[{{"name": "ops", "sha256": "{token_hash}", "role": "admin"}}]',
        "STAGEGRAPH_ANONYMOUS_READ": "true",
    }

    with running_server(store_url, "--config", str(config), environ=environ) as base:

        def alpha_seen() -> bool:
            data = graphql(base, '{ entity(ref: "component:alpha") { ref } }')
            return data["entity"] is not None

        _wait_for(alpha_seen, "the first scheduled run")

        def succeeded_runs() -> float:
            return _metric(
                base, "stagegraph_ingestion_runs_total", source="services", status="SUCCEEDED"
            )

        runs_before = _wait_for(succeeded_runs, "the first run to finish")
        repo.write("services/b/catalog-info.yaml", component("beta"))
        repo.commit("add beta")

        def beta_seen() -> bool:
            data = graphql(base, '{ entity(ref: "component:beta") { ref lastRun { id } } }')
            return data["entity"] is not None

        _wait_for(beta_seen, "the change to arrive")
        head = repo.git("rev-parse", "HEAD")

        def run_recorded() -> bool:
            found = graphql(base, "{ sources { lastSuccessfulRun { commit } } }")
            return any(
                (s["lastSuccessfulRun"] or {}).get("commit") == head for s in found["sources"]
            )

        _wait_for(run_recorded, "the run to be recorded")
        data = graphql(
            base,
            """{ sources { name schedule nextRunAt entityCount
                           lastSuccessfulRun { status commit } }
                 ingestionRuns(source: "services", status: SUCCEEDED, first: 50) {
                   totalCount edges { node { trigger counts { kind added } } } }
                 entity(ref: "component:beta") { source ingestedAt lastRun { source status } } }""",
        )
        runs_after = succeeded_runs()
        forbidden = httpx.post(
            f"{base}/graphql",
            json={"query": 'mutation { runIngestion(source: "on-request") { id } }'},
        ).json()
        manual = httpx.post(
            f"{base}/graphql",
            json={"query": 'mutation { runIngestion(source: "on-request") { id status } }'},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()

        def extra_seen() -> bool:
            found = graphql(base, '{ entity(ref: "component:extra-service") { source } }')
            return bool(found["entity"] == {"source": "on-request"})

        _wait_for(extra_seen, "the manual run")

    sources = {s["name"]: s for s in data["sources"]}
    assert sources["services"]["schedule"] == "every 1s"
    assert sources["services"]["entityCount"] == 2
    assert sources["services"]["lastSuccessfulRun"]["commit"] == head
    assert sources["on-request"]["schedule"] is None
    assert sources["on-request"]["nextRunAt"] is None
    runs = data["ingestionRuns"]
    assert runs["totalCount"] >= 2
    assert {e["node"]["trigger"] for e in runs["edges"]} == {"schedule"}
    assert data["entity"]["source"] == "services"
    assert data["entity"]["ingestedAt"] is not None
    assert data["entity"]["lastRun"]["source"] == "services"
    assert runs_after > runs_before >= 1
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in manual
    assert manual["data"]["runIngestion"]["status"] in ("RUNNING", "SUCCEEDED")


def test_config_check_and_ingest_by_source(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/a/catalog-info.yaml", component("alpha"))
    repo.commit()
    config = _config(tmp_path, repo, every="30m")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  - name: x\n    type: gitt\n  - name: y\n    type: git\n"
        "    url: /x\n    schedule: {every: soon}\n"
    )
    store_url = f"sqlite:///{tmp_path / 'cli.db'}"

    import os

    os.environ["SERVICES_REPO"] = str(repo.path)
    try:
        checked = cli(store_url, "config", "check", "--config", str(config))
        refused = cli(store_url, "config", "check", "--config", str(bad))
        ran = cli(store_url, "ingest", "--config", str(config), "--source", "services")
        unknown = cli(store_url, "ingest", "--config", str(config), "--source", "nope")
    finally:
        del os.environ["SERVICES_REPO"]

    assert checked.returncode == 0, checked.stderr
    assert "every 30m" in checked.stdout and "on request" in checked.stdout
    assert refused.returncode == 2
    assert f"{bad}:3: sources[0].type: unknown source type 'gitt'" in refused.stderr
    assert f"{bad}:7: sources[1].schedule.every" in refused.stderr
    assert ran.returncode == 0, ran.stderr
    assert "SUCCEEDED" in ran.stdout
    assert unknown.returncode == 2
    assert "no source named nope" in unknown.stderr
