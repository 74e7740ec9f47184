"""``stagegraph serve --demo`` as ``make serve`` runs it, and the HTTP surface."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.server import graphql, running_server


def test_demo_server_answers_with_the_demo_catalog(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'demo.db'}"

    with running_server(store_url, "--demo") as base:
        data = graphql(base, "{ entities { totalCount } }")
        health = httpx.get(f"{base}/healthz")
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        bad = httpx.post(f"{base}/graphql", json={"query": "{ entity(ref: 1) { ref } }"})

    assert data == {"entities": {"totalCount": 90}}
    assert health.json() == {"status": "ok"}
    assert "graphiql" in page.text.lower()
    assert bad.status_code == 200
    assert bad.json()["errors"][0]["message"].startswith("String cannot represent")


def test_trace_reports_store_queries_per_response(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'trace.db'}"
    query = "{ entities(first: 50) { edges { node { ref owner { ref } dependsOn { ref } } } } }"

    with running_server(store_url, "--demo", environ={"STAGEGRAPH_TRACE": "1"}) as base:
        body = httpx.post(f"{base}/graphql", json={"query": query}).json()

    assert len(body["data"]["entities"]["edges"]) == 50
    assert 3 <= body["extensions"]["stagegraph"]["storeQueries"] <= 8
