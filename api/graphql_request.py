"""What makes an HTTP request to ``/graphql`` a GraphQL request, and the 4xx answers when it
is none.

A GraphQL request is a ``POST`` with ``Content-Type: application/json`` and a body that is a
JSON object: ``query`` (a string, required), ``variables`` (an object), ``operationName`` (a
string) and ``extensions`` (an object), each optional but the first. Anything else is a
client's mistake, answered with a GraphQL-shaped body and a message that says what to fix::

    {"errors": [{"message": "...", "extensions": {"code": "BAD_REQUEST"}}]}

- 400 ``BAD_REQUEST``: malformed JSON, a body that is not an object (``null``, ``123``, a
  string, a batch array), a field of the wrong type, no ``query``, a ``GET`` with
  parameters (operations are run by ``POST`` only; ``GET`` serves GraphiQL);
- 415 ``BAD_REQUEST``: a content type other than JSON;
- 400 ``OPERATION_RESOLUTION_FAILURE``: an ``operationName`` the document does not define,
  or a document of several operations without one.

A request that is well formed but fails before execution (syntax, validation, variables,
limits; see :mod:`schema.errors`) is answered 400 too, without ``data``
(:func:`is_request_error`); errors while executing are answered 200 beside the ``data``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.responses import JSONResponse
from strawberry.http import GraphQLRequestData

from schema.errors import BAD_REQUEST, REQUEST_ERROR_CODES

log = logging.getLogger("stagegraph.api")

_SHAPE = 'send a JSON object like {"query": "{ entities { totalCount } }", "variables": {}}'
_JSON_TYPES = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


class RequestError(HTTPException):
    """A request to ``/graphql`` that is no GraphQL request; ``reason`` says what to fix."""

    def __init__(self, reason: str, code: str = BAD_REQUEST, status: int = 400) -> None:
        super().__init__(status, reason)
        self.code = code


def error_response(error: HTTPException) -> JSONResponse:
    """The GraphQL-shaped answer to ``error`` (also strawberry's own HTTP exceptions)."""
    code = error.code if isinstance(error, RequestError) else BAD_REQUEST
    log.info("bad request to /graphql: %s (%s)", error.reason, code)
    body = {"errors": [{"message": error.reason, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=error.status_code)


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), "a value of another type")


def _decode(text: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise RequestError(f"{what} is not valid JSON ({error}): {_SHAPE}") from None


def parse_body(content_type: str, body: bytes) -> GraphQLRequestData:
    """The GraphQL request in a ``POST`` body; :class:`RequestError` when there is none."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise RequestError(
            f"the request has Content-Type {media_type or 'none'!r}: send the GraphQL "
            f"request as Content-Type: application/json; {_SHAPE}",
            status=415,
        )
    data = _decode(body, "the request body")
    if isinstance(data, list):
        raise RequestError(
            "the request body is a JSON array (a batch): batches are not supported, send one "
            "operation per request as a JSON object"
        )
    if not isinstance(data, dict):
        raise RequestError(f"the request body is {_json_type(data)}, not a JSON object: {_SHAPE}")
    return request_data(data)


def get_refusal() -> RequestError:
    """The answer to a ``GET`` with parameters: operations run by ``POST`` only."""
    return RequestError(
        "GET /graphql runs no operations (it serves GraphiQL to a browser): send the "
        f"operation with POST and Content-Type: application/json; {_SHAPE}"
    )


def request_data(data: Mapping[str, Any]) -> GraphQLRequestData:
    """The fields of a GraphQL request object, each checked for its JSON type."""
    query = data.get("query")
    extensions = data.get("extensions")
    persisted = isinstance(extensions, dict) and "persistedQuery" in extensions
    if query is None and not persisted:  # a persisted query may be sent by hash alone
        raise RequestError(f"the request has no `query`: {_SHAPE}")
    if not isinstance(query, str | None):
        raise RequestError(
            f"`query` is {_json_type(query)}: it must be a string holding the GraphQL document"
        )
    variables = data.get("variables")
    if not isinstance(variables, dict | None):
        raise RequestError(
            f"`variables` is {_json_type(variables)}: it must be an object of variable values "
            'by name, like {"ref": "component:default/x"}, or null'
        )
    operation_name = data.get("operationName")
    if not isinstance(operation_name, str | None):
        raise RequestError(
            f"`operationName` is {_json_type(operation_name)}: it must be the name of one "
            "operation in the document, or null"
        )
    if not isinstance(extensions, dict | None):
        raise RequestError(
            f"`extensions` is {_json_type(extensions)}: it must be an object, or null"
        )
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation_name, extensions=extensions
    )


def is_request_error(response: Mapping[str, Any]) -> bool:
    """Whether a processed GraphQL response is a request error: no data, and only errors
    raised before execution (no ``path``) with a code of
    :data:`schema.errors.REQUEST_ERROR_CODES`."""
    errors = response.get("errors")
    if response.get("data") is not None or not errors:
        return False
    return all(
        not error.get("path") and (error.get("extensions") or {}).get("code") in REQUEST_ERROR_CODES
        for error in errors
    )
