"""Errors the API shows to clients, the codes they carry, their log lines, and the masking of
everything else.

Every error a client gets carries ``extensions.code``:

==============================  ===============================================  ==========
code                            when                                             HTTP
==============================  ===============================================  ==========
``GRAPHQL_PARSE_FAILED``        the document is not GraphQL (a syntax error)     400
``GRAPHQL_VALIDATION_FAILED``   the document does not fit the schema             400
``BAD_USER_INPUT``              a variable's value does not fit its type         400
                                (no ``path``); a resolver's :class:`UserInputError`
                                (with a ``path``: bad ref, ``first`` out of range) 200
``QUERY_TOO_COMPLEX``           a limit of :mod:`schema.limits` or :mod:`schema.scan`  400
``OPERATION_RESOLUTION_FAILURE`` which operation to run is unclear (``api.app``)  400
``BAD_REQUEST``                 the HTTP request is no GraphQL request (``api.app``) 400
``FORBIDDEN``, ``CONFLICT``     a resolver's :class:`UserInputError` with that code 200
``TIMEOUT``                     the operation ran out of time                    200
``INTERNAL``                    anything else: the message becomes               200
                                ``Internal error``, so no stack trace, SQL or
                                Cypher ever leaves the server
==============================  ===============================================  ==========

Client errors are logged as one line without a traceback (``info``; ``warning`` for refusals:
limits, ``FORBIDDEN``, ``TIMEOUT``); only ``INTERNAL`` errors are logged at ``error`` with
their traceback. With introspection off, messages suggest no names ("Did you mean ...").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionResult

log = logging.getLogger("stagegraph.api")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
LIMIT_CODE = "QUERY_TOO_COMPLEX"
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
BAD_REQUEST = "BAD_REQUEST"
TIMEOUT_CODE = "TIMEOUT"
INTERNAL = "INTERNAL"

#: Codes of errors that stop a request before it executes (no ``data``): HTTP 400.
REQUEST_ERROR_CODES = frozenset(
    {
        PARSE_FAILED,
        VALIDATION_FAILED,
        BAD_USER_INPUT,
        LIMIT_CODE,
        OPERATION_RESOLUTION_FAILURE,
        BAD_REQUEST,
    }
)
#: Client errors logged at ``warning`` (refusals an operator may want to see) rather than ``info``.
_WARNING_CODES = frozenset({LIMIT_CODE, "FORBIDDEN", TIMEOUT_CODE})
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class UserInputError(Exception):
    """The request asked for something invalid; the message says what and how to fix it."""

    def __init__(self, message: str, code: str = BAD_USER_INPUT) -> None:
        super().__init__(message)
        self.extensions = {"code": code}


def is_fault(error: GraphQLError) -> bool:
    """Whether ``error`` is the server's fault (masked, logged with its traceback) rather
    than the client's: an exception that is neither a GraphQL error nor a
    :class:`UserInputError`, raised while resolving."""
    code = (error.extensions or {}).get("code")
    if code is not None:
        return bool(code == INTERNAL)
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | UserInputError)


def error_code(error: GraphQLError) -> str | None:
    """The code ``error`` carries, or the one it gets (None for an uncoded field error)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if is_fault(error):
        return INTERNAL
    if error.path is None:  # before execution: validation
        return VALIDATION_FAILED
    return None


def log_errors(errors: Iterable[GraphQLError], operation: str | None) -> None:
    """One line per client error; a traceback only for a server fault."""
    name = operation or "anonymous operation"
    for error in errors:
        code = error_code(error)
        if code == INTERNAL:
            log.error("internal error in %s at %s", name, error.path, exc_info=error.original_error)
            continue
        level = logging.WARNING if code in _WARNING_CODES else logging.INFO
        where = f" at {'.'.join(map(str, error.path))}" if error.path else ""
        log.log(level, "client error in %s%s: %s (%s)", name, where, error.message, code)


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean ...?" hints, which name fields and
    types (they would describe the schema with introspection off)."""
    return _SUGGESTION.sub("", message)


class MaskInternalErrors(MaskErrors):
    """Masks server faults as ``Internal error`` (code ``INTERNAL``), gives every other error
    its code, and with ``suggestions=False`` removes name suggestions from messages."""

    def __init__(self, suggestions: bool = True) -> None:
        super().__init__(should_mask_error=is_fault, error_message="Internal error")
        self.suggestions = suggestions

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL}
        return masked

    def _finish(self, error: GraphQLError) -> None:
        code = error_code(error)
        if code is not None and (error.extensions or {}).get("code") != code:
            error.extensions = {**(error.extensions or {}), "code": code}
        if not self.suggestions:
            error.message = without_suggestions(error.message)

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:  # raised before execution (parse, scan): answered as is
            self._finish(error)
            raise
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            self._process_result(result)
            for each in result.errors:
                self._finish(each)
