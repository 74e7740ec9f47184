"""Client mistakes against the real server over HTTP: every one is a 4xx with a
GraphQL-shaped JSON body whose message says what to fix, and the connection stays usable."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.server import running_server

COUNT = "{ entities { totalCount } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store_url = f"sqlite:///{tmp_path_factory.mktemp('errors') / 'store.db'}"
    with running_server(store_url, "--demo") as base:
        yield base


def post_raw(base: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    return httpx.post(
        f"{base}/graphql", content=body, headers={"Content-Type": content_type}, timeout=30
    )


def only_error(response: httpx.Response) -> dict[str, Any]:
    """The one error of a GraphQL-shaped error body (and nothing else in it)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"null", "null"), (b"123", "a number"), (b'"s"', "a string"), (b"true", "a boolean")],
)
def test_a_body_that_is_not_an_object_is_a_400_and_the_connection_stays_usable(
    server: str, body: bytes, kind: str
) -> None:
    address = urlsplit(server)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    try:
        connection.request("POST", "/graphql", body=body, headers=headers)
        bad = connection.getresponse()
        bad_body = json.loads(bad.read())
        # The same keep-alive connection answers the next request.
        connection.request("POST", "/graphql", body=json.dumps({"query": COUNT}), headers=headers)
        good = connection.getresponse()
        good_body = json.loads(good.read())
    finally:
        connection.close()

    assert bad.status == 400
    assert bad_body["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert bad_body["errors"][0]["message"].startswith(
        f"the request body is {kind}, not a JSON object: send a JSON object like"
    )
    assert good.status == 200 and good_body == {"data": {"entities": {"totalCount": 112}}}


def test_malformed_json_is_a_400_with_a_graphql_body(server: str) -> None:
    error = only_error(response := post_raw(server, b'{"query": "{ entities { totalCount } }"'))

    assert response.status_code == 400
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].startswith("the request body is not valid JSON (")


def test_a_batch_is_a_400_that_says_to_send_one_operation(server: str) -> None:
    error = only_error(response := post_raw(server, json.dumps([{"query": COUNT}]).encode()))

    assert response.status_code == 400
    assert error["message"] == (
        "the request body is a JSON array (a batch): batches are not supported, send one "
        "operation per request as a JSON object"
    )


def test_another_content_type_is_a_415(server: str) -> None:
    error = only_error(response := post_raw(server, COUNT.encode(), "application/graphql"))

    assert response.status_code == 415
    assert error["message"].startswith(
        "the request has Content-Type 'application/graphql': send the GraphQL request as "
        "Content-Type: application/json"
    )


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({}, "the request has no `query`: send a JSON object like"),
        ({"query": 1}, "`query` is a number: it must be a string holding the GraphQL document"),
        ({"query": COUNT, "variables": []}, "`variables` is an array: it must be an object"),
        ({"query": COUNT, "operationName": 5}, "`operationName` is a number: it must be the name"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400(
    server: str, request_body: dict[str, Any], message: str
) -> None:
    error = only_error(response := httpx.post(f"{server}/graphql", json=request_body, timeout=30))

    assert response.status_code == 400
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].startswith(message)


def test_an_unknown_operation_name_is_a_400_naming_it(server: str) -> None:
    request = {"query": "query a { __typename }", "operationName": "zz"}

    error = only_error(response := httpx.post(f"{server}/graphql", json=request, timeout=30))

    assert response.status_code == 400
    assert error == {
        "message": "the document has no operation named 'zz': set `operationName` to the name "
        "of one of its operations (or leave it out for a document of one)",
        "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
    }


def test_two_operations_without_an_operation_name_are_refused_not_run(server: str) -> None:
    request = {"query": "query a { __typename } query b { entities { totalCount } }"}

    error = only_error(response := httpx.post(f"{server}/graphql", json=request, timeout=30))
    named = httpx.post(f"{server}/graphql", json={**request, "operationName": "b"}, timeout=30)

    assert response.status_code == 400
    assert error["extensions"] == {"code": "OPERATION_RESOLUTION_FAILURE"}
    assert error["message"] == (
        "the document has 2 operations: set `operationName` to the name of the one to run"
    )
    assert named.json() == {"data": {"entities": {"totalCount": 112}}}


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ("query ($r: String!) { entity(ref: $r) { ref } }", {}, "Variable '$r' has invalid value"),
        (
            "query ($r: String!) { entity(ref: $r) { ref } }",
            {"r": {"$ne": 1}},
            "Variable '$r' has invalid value: String cannot represent a non string value",
        ),
        (
            "query ($f: Int) { entities(first: $f) { totalCount } }",
            {"f": 1e308},
            "Variable '$f' has invalid value: Int cannot represent non 32-bit signed integer",
        ),
    ],
)
def test_a_bad_variable_value_is_a_400_bad_user_input(
    server: str, query: str, variables: dict[str, Any], message: str
) -> None:
    request = {"query": query, "variables": variables}

    error = only_error(response := httpx.post(f"{server}/graphql", json=request, timeout=30))

    assert response.status_code == 400
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith(message)


def test_a_get_with_parameters_is_a_400_that_says_to_post(server: str) -> None:
    response = httpx.get(f"{server}/graphql", params={"query": COUNT}, timeout=30)

    assert response.status_code == 400
    assert only_error(response)["message"].startswith(
        "GET /graphql runs no operations (it serves GraphiQL to a browser): send the "
        "operation with POST"
    )


def test_a_syntax_error_is_a_400_without_data(server: str) -> None:
    error = only_error(
        response := httpx.post(f"{server}/graphql", json={"query": "{ a"}, timeout=30)
    )

    assert response.status_code == 400
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


def test_ten_thousand_operations_are_refused_with_the_cap(server: str) -> None:
    document = " ".join(f"query q{i} {{__typename}}" for i in range(10_000))
    request = {"query": document, "operationName": "q9999"}

    error = only_error(response := httpx.post(f"{server}/graphql", json=request, timeout=30))

    assert response.status_code == 400
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "length",
        "maximum": 100_000,
    }


def test_a_field_error_is_still_a_200_beside_the_data(server: str) -> None:
    response = httpx.post(
        f"{server}/graphql", json={"query": "{ entities(first: 500) { totalCount } }"}, timeout=30
    )

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["entities"]
