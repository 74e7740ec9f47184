"""``stagegraph serve`` with ``notify:`` configured, on both stores: a run made by another
process (the ``stagegraph ingest`` CLI) is posted to the receivers by the server, which holds
the ``notify`` lease, and GET /metrics counts what was delivered and what was dropped; a
``stagegraph worker`` posts its scheduled runs and counts them on its own port."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import orjson
import pytest

from graph.port import GraphStore
from tests.api.server import STAGEGRAPH, cli, env, free_port, running_server
from tests.api.test_metrics import metric
from tests.gitrepo import GitRepo, component
from tests.loopback import LoopbackServer


@pytest.mark.timeout(300)  # a server on Neo4j starts slowly on a loaded machine
def test_the_server_posts_a_run_made_elsewhere_and_counts_deliveries_and_drops(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("payments"))
    repo.commit()
    with LoopbackServer() as up, LoopbackServer() as down:
        up.route("POST", "/hook", {"ok": True})
        down.route("POST", "/hook", (500, {}, None))
        notify = [
            {"url": f"{up.url}/hook", "secret": "secret-one", "events": ["run.finished"]},
            {"url": f"{down.url}/hook", "secret": "secret-two", "attempts": 2, "backoff": 0.01},
        ]
        with running_server(store.url, environ={"STAGEGRAPH_NOTIFY": json.dumps(notify)}) as base:
            time.sleep(1.5)  # the server takes the lease and saves where each receiver starts
            ingested = cli(store.url, "ingest", "git", str(repo.path), "--name", "repo")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                not up.requests_to("/hook", "POST") or len(down.requests_to("/hook", "POST")) < 4
            ):
                time.sleep(0.1)
            scraped = httpx.get(f"{base}/metrics").text
        to_up, to_down = up.requests_to("/hook", "POST"), down.requests_to("/hook", "POST")

    assert ingested.returncode == 0, ingested.stderr
    assert [(r.headers["x-stagegraph-event"], orjson.loads(r.body)["source"]) for r in to_up] == [
        ("run.finished", "repo")
    ]
    assert [r.headers["x-stagegraph-event"] for r in to_down] == ["entity.changed"] * 2 + [
        "run.finished"
    ] * 2, [(r.headers["x-stagegraph-delivery"], r.body[:100]) for r in to_down]
    up_host, down_host = up.url.removeprefix("http://"), down.url.removeprefix("http://")
    delivered = "stagegraph_notify_delivered_total"
    dropped = "stagegraph_notify_dropped_total"
    assert metric(scraped, delivered, host=up_host, event="run.finished") == 1.0
    assert metric(scraped, dropped, host=down_host, event="entity.changed") == 1.0
    assert metric(scraped, dropped, host=down_host, event="run.finished") == 1.0
    assert (
        metric(scraped, "stagegraph_notify_retried_total", host=down_host, event="run.finished")
        == 1.0
    )


@pytest.mark.timeout(300)
def test_a_worker_posts_its_scheduled_runs_and_counts_them_on_its_metrics_port(
    store: GraphStore, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("alpha"))
    repo.commit()
    with LoopbackServer() as receiver:
        receiver.route("POST", "/hook", {"ok": True})
        config = tmp_path / "stagegraph.yaml"
        config.write_text(
            f"sources:\n  - name: services\n    type: git\n    url: {repo.path}\n"
            "    schedule: {every: 1s}\n"
            f"notify:\n  - url: {receiver.url}/hook\n    secret: worker-secret\n"
            "    events: [run.finished]\n"
        )
        port = free_port()
        worker = subprocess.Popen(
            [STAGEGRAPH, "worker", "--config", str(config), "--port", str(port)],
            env=env(store.url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not receiver.requests_to("/hook", "POST"):
                time.sleep(0.2)
            time.sleep(0.5)  # the counter follows the answer
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            finally:
                if worker.poll() is None:
                    worker.kill()
        received = receiver.requests_to("/hook", "POST")

    assert received, "the worker posted nothing"
    body = orjson.loads(received[0].body)
    assert (body["source"], body["status"]) == ("services", "SUCCEEDED")
    host = receiver.url.removeprefix("http://")
    delivered = metric(
        scraped, "stagegraph_notify_delivered_total", host=host, event="run.finished"
    )
    assert delivered is not None and delivered >= 1
