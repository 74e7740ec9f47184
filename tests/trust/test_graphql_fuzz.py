"""GraphQL fuzzing against the real server over HTTP, with the demo catalog loaded: queries
and mutations generated from the live schema (hypothesis-graphql, valid and one-violation
forms) and hand-made malformed requests (bad JSON, non-object JSON, wrong content types,
huge variables, batches, NUL bytes, GET with parameters).

Goal: no 5xx, no internal error, no traceback in any body, and the server healthy after.
A few hundred cases in `make test` (derandomized); 10,000 under `make fuzz`
(``STAGEGRAPH_FUZZ=long``), printing the requests made and the responses by status.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    GraphQLSchema,
    NameNode,
    ObjectFieldNode,
    build_client_schema,
    get_introspection_query,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis_graphql import Mode, mutations, nodes, queries

from api.auth import hash_token
from tests.api.server import running_server
from tests.trust.scale import LONG, scaled

# Hypothesis keeps caches (and its example database, off here) in a home folder: not in the
# repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "stagegraph-hypothesis")

WRITER_TOKEN = "sg_fuzz-writer-token"
COUNT = "{ entities { totalCount } }"
LEAKS = ("Traceback", 'File "', "sqlite3.", "neo4j.exceptions", "MATCH (", "SELECT ")

#: Cases per test: short in `make test`, 10,000 in all under `make fuzz`.
QUERIES = scaled(120, 4_000)
MUTATIONS = scaled(60, 2_000)
MALFORMED = scaled(120, 4_000)


def fuzz_settings(cases: int) -> settings:
    return settings(
        max_examples=cases,
        deadline=None,
        database=None,  # nothing written into the repository
        derandomize=not LONG,  # the same cases every `make test`
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
    )


@dataclass
class Tally:
    """The figures of the run: requests made and responses by status."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)


@dataclass
class Target:
    base: str
    client: httpx.Client
    schema: GraphQLSchema
    tally: Tally
    log: Path

    def send(self, request: httpx.Request) -> httpx.Response:
        response = self.client.send(request)
        self.tally.requests += 1
        self.tally.statuses[response.status_code] += 1
        check(response)
        try:
            body = response.json()
        except ValueError:
            return response
        for error in body.get("errors") or [] if isinstance(body, dict) else []:
            self.tally.codes[str((error.get("extensions") or {}).get("code"))] += 1
        return response


def check(response: httpx.Response) -> None:
    """No 5xx, no internal error, nothing of the server's insides in the body."""
    request = response.request
    sent = request.content[:300]
    assert response.status_code < 500, (response.status_code, sent, response.text[:500])
    for leak in LEAKS:
        assert leak not in response.text, (leak, sent, response.text[:500])
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict), body
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code is not None, (sent, error)
            assert code != "INTERNAL", (sent, error)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    work = tmp_path_factory.mktemp("fuzz")
    tokens = orjson.dumps([{"name": "fuzz", "sha256": hash_token(WRITER_TOKEN), "role": "writer"}])
    environ = {"STAGEGRAPH_TOKENS": tokens.decode()}
    log = work / "server.log"
    with (
        running_server(
            f"sqlite:///{work / 'store.db'}", "--demo", environ=environ, log=log
        ) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        introspection = client.post("/graphql", json={"query": get_introspection_query()})
        schema = build_client_schema(introspection.json()["data"])
        tally = Tally()
        yield Target(base, client, schema, tally, log)
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
    codes = ", ".join(f"{code}: {n}" for code, n in tally.codes.most_common())
    print(f"\nGraphQL fuzzing: {tally.requests} requests; responses by status: {statuses}")
    print(f"GraphQL fuzzing: errors by code: {codes}")


def post_json(target: Target, body: object, token: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = target.client.build_request(
        "POST", "/graphql", content=orjson.dumps(body), headers=headers
    )
    return target.send(request)


# Values for the schema's custom scalars, as literals in generated documents.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _json_node(value: object) -> Any:
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    assert isinstance(value, dict)
    fields = [
        ObjectFieldNode(name=NameNode(value=k), value=_json_node(v)) for k, v in value.items()
    ]
    return nodes.Object(fields)


CUSTOM_SCALARS = {
    "JSON": JSON_VALUES.map(_json_node),
    "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat() + "Z"))
    | st.text(max_size=30).map(nodes.String),
}


@st.composite
def generated(draw: st.DrawFn, schema: GraphQLSchema, kind: str) -> tuple[str, str | None]:
    mode = draw(st.sampled_from([Mode.POSITIVE, Mode.POSITIVE, Mode.NEGATIVE]))
    make = queries if kind == "query" else mutations
    document = draw(make(schema, custom_scalars=CUSTOM_SCALARS, mode=mode))
    token = draw(st.sampled_from([None, WRITER_TOKEN])) if kind == "mutation" else None
    return str(document), token


def test_generated_queries_get_no_server_error(target: Target) -> None:
    @fuzz_settings(QUERIES)
    @given(case=generated(target.schema, "query"))
    def run(case: tuple[str, str | None]) -> None:
        document, _ = case
        post_json(target, {"query": document})

    run()


def test_generated_mutations_get_no_server_error(target: Target) -> None:
    @fuzz_settings(MUTATIONS)
    @given(case=generated(target.schema, "mutation"))
    def run(case: tuple[str, str | None]) -> None:
        document, token = case
        post_json(target, {"query": document}, token=token)

    run()


JSON_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
REQUEST_KEYS = st.sampled_from(["query", "variables", "operationName", "extensions"])
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "application/json;\tcharset=x",
        "ä/ö",  # sent as Latin-1 bytes (obs-text); a NUL no HTTP/1.1 client can send
    ]
)
DOCUMENTS = st.sampled_from(
    [
        COUNT,
        "query ($r: String!) { entity(ref: $r) { ref } }",
        "query ($f: Int) { entities(first: $f) { totalCount } }",
        'mutation ($e: [JSON!]!) { upsertEntities(source: "fuzz", entities: $e) { status } }',
        "query a { __typename } query b { __typename }",
    ]
) | st.text(max_size=200)


def _nested(depth: int) -> bytes:
    return (
        b'{"query": "query ($v: JSON) { __typename }", "variables": {"v": '
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


def _dumps(value: object) -> bytes:
    """JSON as any client may send it: integers past 64 bits and ``Infinity`` included
    (orjson refuses both; the server must not)."""
    return json.dumps(value).encode()


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, URL path and query, headers, body) of a request that is mostly not right."""
    kind = draw(
        st.sampled_from(
            ["bytes", "non-object", "object", "content-type", "huge", "batch", "nul", "get", "deep"]
        )
    )
    headers = {"Content-Type": "application/json"}
    if kind == "bytes":
        return "POST", "/graphql", headers, draw(st.binary(max_size=300))
    if kind == "non-object":
        value = draw(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
        )
        return "POST", "/graphql", headers, _dumps(value)
    if kind == "object":
        body = draw(st.dictionaries(REQUEST_KEYS, JSON_ANY | DOCUMENTS, max_size=4))
        if draw(st.booleans()):
            body["query"] = draw(DOCUMENTS)
        return "POST", "/graphql", headers, _dumps(body)
    if kind == "content-type":
        headers = {"Content-Type": draw(CONTENT_TYPES)}
        return "POST", "/graphql", headers, _dumps({"query": draw(DOCUMENTS)})
    if kind == "huge":
        size = draw(st.sampled_from([10_000, 500_000, 1_000_000, 1_100_000]))
        variables = {"r": "x" * size, "f": draw(JSON_ANY)}
        return (
            "POST",
            "/graphql",
            headers,
            _dumps({"query": draw(DOCUMENTS), "variables": variables}),
        )
    if kind == "batch":
        items = draw(st.lists(st.fixed_dictionaries({"query": DOCUMENTS}), max_size=5))
        return "POST", "/graphql", headers, _dumps(items)
    if kind == "nul":
        document = draw(DOCUMENTS)
        at = draw(st.integers(0, len(document)))
        raw = _dumps({"query": document[:at] + "\x00" + document[at:]})
        if draw(st.booleans()):
            raw = raw.replace(b"{", b"{\x00", 1)
        return "POST", "/graphql", headers, raw
    if kind == "deep":
        return (
            "POST",
            "/graphql",
            headers,
            _nested(draw(st.sampled_from([100, 600, 2_000, 50_000]))),
        )
    params = draw(
        st.dictionaries(REQUEST_KEYS | st.text(max_size=5), st.text(max_size=50), max_size=3)
    )
    accept = draw(st.sampled_from(["application/json", "text/html", "*/*", ""]))
    query = str(httpx.QueryParams(params))
    return "GET", f"/graphql?{query}" if query else "/graphql", {"Accept": accept}, None


def test_malformed_requests_get_a_4xx_with_a_graphql_body(target: Target) -> None:
    @fuzz_settings(MALFORMED)
    @given(case=malformed())
    def run(case: tuple[str, str, dict[str, str], bytes | None]) -> None:
        method, path, headers, body = case
        raw_headers = {n.encode(): v.encode("latin-1") for n, v in headers.items()}
        request = target.client.build_request(method, path, headers=raw_headers, content=body)
        response = target.send(request)
        if response.status_code >= 400 and response.status_code != 413:
            assert response.headers["content-type"].startswith("application/json"), response.text
            errors = response.json()["errors"]
            assert errors and all(e["message"] for e in errors)

    run()


def test_the_server_is_healthy_after(target: Target) -> None:
    health = target.client.get("/healthz")
    answer = post_json(target, {"query": COUNT})

    assert health.json() == {"status": "ok"}
    # 112 demo entities, and whatever the writer's generated mutations pushed.
    assert answer.status_code == 200
    assert answer.json()["data"]["entities"]["totalCount"] >= 112
    faults = [line for line in target.log.read_text().splitlines() if '"level":"error"' in line]
    assert faults == [], faults[:3]
