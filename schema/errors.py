"""Errors the API shows to clients, and the masking of everything else.

A :class:`UserInputError` (bad ref, ``first`` out of range, unknown type) reaches the client
with its message and ``extensions.code = BAD_USER_INPUT``. Any other exception raised while
resolving is replaced by ``Internal error`` with code ``INTERNAL`` (and logged), so no stack
trace, SQL or Cypher ever leaves the server.
"""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("stagegraph.api")


class UserInputError(Exception):
    """The request asked for something invalid; the message says what and how to fix it."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.extensions = {"code": code}


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, UserInputError):
        return False
    log.error("internal error while resolving %s", error.path, exc_info=original)
    return True


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_mask, error_message="Internal error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked
