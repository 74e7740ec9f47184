"""The Strawberry GraphQL schema of Stagegraph."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, SchemaExtension, ValidationCache

from schema.errors import MaskInternalErrors
from schema.kinds import ALL_TYPES
from schema.limits import QueryLimits, limit_extensions
from schema.mutation import Mutation
from schema.query import Query
from schema.tracing import StoreTrace


def build_schema(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    trace: bool = False,
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """The schema; with ``introspection=False`` introspection queries are rejected.
    ``limits`` (depth, aliases, cost, timeout) default to :class:`QueryLimits`'s; with
    ``trace`` every response reports ``extensions.stagegraph.storeQueries``; ``extensions``
    adds factories of more schema extensions (the app's metrics)."""
    chain: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        MaskInternalErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        *limit_extensions(limits or QueryLimits()),
    ]
    if not introspection:
        chain.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    if trace:
        chain.append(StoreTrace)
    chain.extend(extensions)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=list(ALL_TYPES),
        extensions=chain,
    )
