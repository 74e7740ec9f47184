"""`stagegraph worker` serves /healthz, /readyz and /metrics on a port of its own while it
runs the configured sources, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from graph.port import GraphStore
from tests.api.server import STAGEGRAPH, env, free_port
from tests.api.test_metrics import metric
from tests.gitrepo import GitRepo, component


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None


def _start_worker(store_url: str, config: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [STAGEGRAPH, "worker", "--config", str(config), "--port", str(port)],
        env=env(store_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_worker_serves_health_and_the_metrics_of_its_runs_on_its_own_port(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("alpha"))
    repo.commit()
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        f"sources:\n  - name: services\n    type: git\n    url: {repo.path}\n"
        "    schedule: {every: 1s}\n"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = _start_worker(store_url, config, port)
    try:
        deadline = time.monotonic() + 60
        runs: float | None = None
        while time.monotonic() < deadline and not runs:
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            scraped = _get(f"{base}/metrics")
            if scraped is not None and scraped.status_code == 200:
                runs = metric(
                    scraped.text,
                    "stagegraph_ingestion_runs_total",
                    source="services",
                    status="SUCCEEDED",
                )
            time.sleep(0.2)
        health = _get(f"{base}/healthz")
        ready = _get(f"{base}/readyz")
        graphql = _get(f"{base}/graphql")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
            output = worker.stdout.read() if worker.stdout else ""
            if worker.stdout:
                worker.stdout.close()

    assert runs is not None and runs >= 1, output
    assert health is not None and health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert ready is not None and ready.status_code == 200
    assert graphql is not None and graphql.status_code == 404  # no API on the worker's port
    assert code == 0, output
    assert f"health and metrics on http://127.0.0.1:{port}" in output
