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

    assert data == {"entities": {"totalCount": 112}}  # 90 from descriptors, 22 from CI data
    assert health.json() == {"status": "ok"}
    assert "graphiql" in page.text.lower()
    assert bad.status_code == 400  # a validation error: nothing ran
    assert bad.json()["errors"][0]["message"].startswith("String cannot represent")


CI_QUERY = """{
  pipelines: entities(kind: "Pipeline") { totalCount }
  builds: entities(kind: "Build") { totalCount }
  deployments: entities(kind: "Deployment") { totalCount }
  environments: entities(kind: "Environment") { totalCount }
  tracker: entity(ref: "component:default/shipment-tracker") {
    builtBy: relations(type: "builtBy") { targetRef }
    deployedTo: relations(type: "deployedTo") { targetRef }
    deployedBy: relations(type: "deployedBy") { targetRef }
  }
  build: entity(ref: "build:default/northwind-shipment-tracker-ci-414") {
    runOf: relations(type: "runOf") { targetRef target { ref } }
  }
}"""


def test_demo_shows_pipelines_builds_and_deployments(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'demo.db'}"

    with running_server(store_url, "--demo") as base:
        data = graphql(base, CI_QUERY)

    assert data["pipelines"] == {"totalCount": 4}
    assert data["builds"] == {"totalCount": 10}
    assert data["deployments"] == {"totalCount": 5}
    assert data["environments"] == {"totalCount": 3}
    tracker = data["tracker"]
    assert {r["targetRef"] for r in tracker["builtBy"]} == {
        "pipeline:default/northwind-shipment-tracker-ci",
        "pipeline:default/northwind-shipment-tracker-deploy",
    }
    assert {r["targetRef"] for r in tracker["deployedTo"]} == {
        "environment:default/production",
        "environment:default/staging",
    }
    assert len(tracker["deployedBy"]) == 3
    assert data["build"]["runOf"] == [
        {
            "targetRef": "pipeline:default/northwind-shipment-tracker-ci",
            "target": {"ref": "pipeline:default/northwind-shipment-tracker-ci"},
        }
    ]


def test_trace_reports_store_queries_per_response(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'trace.db'}"
    # One level of relations is planned into the page's one statement (schema/planner.py);
    # a nested one goes level by level through the loaders.
    planned = "{ entities(first: 50) { edges { node { ref owner { ref } dependsOn { ref } } } } }"
    nested = "{ entities(first: 50) { edges { node { ref dependsOn { ref owner { ref } } } } } }"

    with running_server(store_url, "--demo", environ={"STAGEGRAPH_TRACE": "1"}) as base:
        answers = [
            httpx.post(f"{base}/graphql", json={"query": query}).json()
            for query in (planned, nested)
        ]

    assert [len(a["data"]["entities"]["edges"]) for a in answers] == [50, 50]
    assert answers[0]["extensions"]["stagegraph"]["storeQueries"] == 1
    assert 3 <= answers[1]["extensions"]["stagegraph"]["storeQueries"] <= 8
