"""GET /metrics: who may scrape it (open on loopback, a token otherwise, or as configured),
and the ingestion series of an API replica that runs no scheduler, read from the run
records in the store."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import hash_token
from api.config import build_settings
from api.metrics import scrape_open
from api.settings import Settings
from graph.port import GraphStore
from tests.api.server import cli, running_server
from tests.gitrepo import GitRepo, component

READER = "sg_reader-" + secrets.token_urlsafe(24)
TOKENS = json.dumps([{"name": "prometheus", "sha256": hash_token(READER), "role": "reader"}])


def metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.parametrize(
    ("mode", "host", "is_open"),
    [
        ("auto", "127.0.0.1", True),
        ("auto", "::1", True),
        ("auto", "localhost", True),
        ("auto", "0.0.0.0", False),
        ("auto", "10.0.0.5", False),
        ("open", "0.0.0.0", True),
        ("token", "127.0.0.1", False),
    ],
)
def test_metrics_are_open_on_loopback_and_need_a_token_elsewhere(
    mode: str, host: str, is_open: bool
) -> None:
    assert scrape_open(mode, host) is is_open  # type: ignore[arg-type]


def test_metrics_behind_a_token_refuse_anonymous_scrapes_even_with_anonymous_read(
    tmp_path: Path,
) -> None:
    environ = {
        "STAGEGRAPH_METRICS_AUTH": "token",
        "STAGEGRAPH_TOKENS": TOKENS,
        "STAGEGRAPH_ANONYMOUS_READ": "true",
    }
    with running_server(f"sqlite:///{tmp_path / 's.db'}", environ=environ) as base:
        anonymous = httpx.get(f"{base}/metrics")
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {READER}"})
        graphql = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"})

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert scraped.status_code == 200
    assert "stagegraph_graphql_requests_total" in scraped.text
    assert graphql.status_code == 200  # anonymous read still reads the catalog


def test_metrics_on_a_non_loopback_address_need_a_token_by_default(tmp_path: Path) -> None:
    environ = {"STAGEGRAPH_TOKENS": TOKENS}
    url = f"sqlite:///{tmp_path / 's.db'}"
    with running_server(url, "--host", "0.0.0.0", environ=environ) as base:
        anonymous = httpx.get(f"{base}/metrics")
        scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {READER}"})
    with running_server(url, environ=environ) as base:
        on_loopback = httpx.get(f"{base}/metrics")

    assert anonymous.status_code == 401
    assert scraped.status_code == 200
    assert on_loopback.status_code == 200


async def test_a_replica_without_scheduler_exports_the_runs_recorded_in_the_store(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("alpha"))
    repo.commit()
    first = cli(store_url, "ingest", "git", str(repo.path), "--name", "services")
    assert first.returncode == 0, first.stderr
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        f"sources:\n  - name: services\n    type: git\n    url: {repo.path}\n"
        "    schedule: {every: 1h}\n"
    )

    with running_server(store_url, "--config", str(config), "--no-scheduler") as base:
        before = httpx.get(f"{base}/metrics").text
        repo.write("b/catalog-info.yaml", component("beta"))
        repo.commit("add beta")
        again = cli(store_url, "ingest", "git", str(repo.path), "--name", "services")
        assert again.returncode == 0, again.stderr
        after = httpx.get(f"{base}/metrics").text
        scraped_twice = httpx.get(f"{base}/metrics").text

    runs = {"source": "services", "status": "SUCCEEDED"}
    assert metric(before, "stagegraph_ingestion_runs_total", **runs) == 1
    assert metric(after, "stagegraph_ingestion_runs_total", **runs) == 2
    assert metric(scraped_twice, "stagegraph_ingestion_runs_total", **runs) == 2
    assert metric(before, "stagegraph_ingestion_entities", source="services", kind="component") == 1
    assert metric(after, "stagegraph_ingestion_entities", source="services", kind="component") == 2
    assert metric(after, "stagegraph_ingestion_running", source="services") == 0
    assert metric(after, "stagegraph_ingestion_duration_seconds_count", source="services") == 2
    since = metric(after, "stagegraph_ingestion_seconds_since_last_success", source="services")
    assert since is not None and 0 <= since < 60


def test_metrics_auth_and_worker_port_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "stagegraph.yaml"
    config.write_text("metrics:\n  auth: token\nworker:\n  port: 9101\n")

    settings = build_settings(Settings, config, {})

    assert isinstance(settings, Settings)
    assert (settings.metrics_auth, settings.worker_port) == ("token", 9101)
    assert Settings(metrics_auth="open").worker_port == 8001


async def test_each_operation_is_counted_under_its_name_and_errors_only_when_it_had_some(
    tmp_path: Path,
) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path / 'm.db'}", anonymous_read=True)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://x") as client,
    ):
        for _ in range(3):
            await client.post("/graphql", json={"query": "query Names { __typename }"})
        await client.post("/graphql", json={"query": "query Broken { entity(ref: 1) { ref } }"})
        await client.post("/graphql", json={"query": "{ entities { totalCount } }"})
        scraped = (await client.get("/metrics")).text

    def count(name: str, operation: str) -> float | None:
        return metric(scraped, name, operation=operation)

    assert count("stagegraph_graphql_requests_total", "Names") == 3
    assert count("stagegraph_graphql_duration_seconds_count", "Names") == 3
    assert count("stagegraph_graphql_store_queries_count", "Names") == 3
    assert count("stagegraph_graphql_requests_total", "Broken") == 1
    assert count("stagegraph_graphql_errors_total", "Broken") == 1
    assert count("stagegraph_graphql_errors_total", "Names") is None  # no series without one
    assert count("stagegraph_graphql_requests_total", "anonymous") == 1
    assert (count("stagegraph_graphql_store_queries_sum", "anonymous") or 0) >= 1
