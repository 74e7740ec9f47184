"""The Strawberry GraphQL schema of Stagegraph."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, SchemaExtension, ValidationCache

from schema.errors import MaskInternalErrors
from schema.kinds import ALL_TYPES
from schema.query import Query


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema; with ``introspection=False`` introspection queries are rejected."""
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        MaskInternalErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        types=list(ALL_TYPES),
        extensions=extensions,
    )
