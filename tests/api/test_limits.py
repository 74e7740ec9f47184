"""Request limits and error hygiene against the real server over HTTP: the body cap, the
per-operation timeout, query limits, and no internals in errors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.server import running_server

MB = 1_048_576
COUNT = "{ entities { totalCount } }"


def body_of_size(size: int) -> bytes:
    """A valid GraphQL request body of exactly ``size`` bytes (padded in a variable)."""
    empty = json.dumps({"query": COUNT, "variables": {"pad": ""}}).encode()
    body = json.dumps({"query": COUNT, "variables": {"pad": "x" * (size - len(empty))}}).encode()
    assert len(body) == size
    return body


def post_bytes(base: str, body: bytes | Iterator[bytes]) -> httpx.Response:
    return httpx.post(
        f"{base}/graphql",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store_url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'store.db'}"
    with running_server(store_url, "--demo") as base:
        yield base


def test_a_body_of_1_mb_is_served(server: str) -> None:
    response = post_bytes(server, body_of_size(MB))

    assert response.status_code == 200
    assert response.json() == {"data": {"entities": {"totalCount": 112}}}


def test_a_body_over_1_mb_gets_413(server: str) -> None:
    response = post_bytes(server, body_of_size(MB + 1))

    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert error["message"].startswith("request body is over the limit of 1048576 bytes")


def test_a_chunked_body_over_1_mb_gets_413(server: str) -> None:
    body = body_of_size(MB + 1)

    def chunks() -> Iterator[bytes]:  # no Content-Length: httpx sends it chunked
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = post_bytes(server, chunks())

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


def test_a_query_over_a_limit_is_refused_over_http(server: str) -> None:
    deep = '{ entity(ref: "component:order-service") { owner { owner { owner { owner { owner { owner { owner { owner { owner { ref } } } } } } } } } } }'

    response = httpx.post(f"{server}/graphql", json={"query": deep}, timeout=30)

    assert response.status_code == 400  # refused before execution: a request error, no data
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["limit"] == "depth"


def test_a_portal_query_is_served(server: str) -> None:
    query = """{ entities(kind: "component", first: 100) {
      totalCount
      edges { node { ref title owner { ref } dependsOn { ref owner { ref } }
        ... on Component { system { ref } providesApis { ref } consumesApis { ref } } } }
      pageInfo { hasNextPage endCursor }
    } }"""

    response = httpx.post(f"{server}/graphql", json={"query": query}, timeout=30)

    assert "errors" not in response.json()
    assert len(response.json()["data"]["entities"]["edges"]) > 10


def test_an_operation_over_the_timeout_gets_a_timeout_error(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    # Any operation that awaits the store outlives a microsecond.
    environ = {"STAGEGRAPH_OPERATION_TIMEOUT": "0.000001"}

    with running_server(store_url, "--demo", environ=environ) as base:
        response = httpx.post(f"{base}/graphql", json={"query": COUNT}, timeout=30)

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert body["errors"][0]["message"].startswith("the operation ran longer than the limit of")


def test_a_store_failure_leaks_no_sql_or_stack_trace(tmp_path: Path) -> None:
    db = tmp_path / "store.db"

    with running_server(f"sqlite:///{db}", "--demo") as base:
        before = httpx.post(f"{base}/graphql", json={"query": COUNT}, timeout=30)
        with sqlite3.connect(db) as sabotage:  # the store's tables vanish under the server
            sabotage.execute("DROP TABLE entities")
        after = httpx.post(f"{base}/graphql", json={"query": COUNT}, timeout=30)

    assert before.json() == {"data": {"entities": {"totalCount": 112}}}
    assert after.status_code == 200
    body = after.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Internal error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL"}
    text = after.text.lower()
    for leak in ("select", "match", "traceback", "sqlite", "no such table", "store.db", ".py"):
        assert leak not in text, leak


def test_refusals_are_counted_in_metrics_by_limit(server: str) -> None:
    # One refused by the scan before parsing (never reaches the operation's extensions),
    # one by validation, one by the cost budget; metrics are open on loopback.
    refused = {
        "repeats": "{" + " __typename" * 31 + "}",
        "depth": '{ entity(ref: "x")' + " { owner" * 10 + " { ref }" + " }" * 11,
        "cost": "{ entities(first: 100) { edges { node { dependsOn { ref dependsOn { ref "
        "dependsOn { ref owner { ref } } } } } } } }",
    }
    before = httpx.get(f"{server}/metrics", timeout=30).text

    for limit, query in refused.items():
        response = httpx.post(f"{server}/graphql", json={"query": query}, timeout=30)
        assert response.json()["errors"][0]["extensions"]["limit"] == limit

    after = httpx.get(f"{server}/metrics", timeout=30).text
    for limit in refused:
        assert refusals(after, limit) == refusals(before, limit) + 1


def refusals(scraped: str, limit: str) -> float:
    prefix = f'stagegraph_graphql_refusals_total{{limit="{limit}"}} '
    lines = [line for line in scraped.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0
