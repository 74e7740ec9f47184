"""The Strawberry GraphQL schema of Stagegraph."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from schema import direct
from schema.compiled import CompiledExecutor
from schema.errors import MaskInternalErrors, log_errors
from schema.feed import Subscription
from schema.hooks import HookRunner
from schema.kinds import ALL_TYPES
from schema.limits import QueryLimits, limit_extensions
from schema.mutation import Mutation
from schema.query import Query
from schema.tracing import StoreTrace


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors as :func:`schema.errors.log_errors` does (one line
    for a client's mistake, a traceback only for a server fault)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = execution_context.operation_name if execution_context else None
        log_errors(errors, operation)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return HookRunner(execution_context=execution_context, extensions=extensions)


def build_schema(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    trace: bool = False,
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """The schema; with ``introspection=False`` introspection queries are rejected and error
    messages suggest no field or type names.
    ``limits`` (depth, aliases, cost, timeout) default to :class:`QueryLimits`'s; with
    ``trace`` every response reports ``extensions.stagegraph.storeQueries``; ``extensions``
    adds factories of more schema extensions (the app's metrics)."""
    # The limits come before the parser cache: their scan refuses a document before parsing.
    chain: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaskInternalErrors(suggestions=introspection),
        *limit_extensions(limits or QueryLimits()),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if not introspection:
        chain.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    if trace:
        chain.append(StoreTrace)
    chain.extend(extensions)
    built = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(ALL_TYPES),
        extensions=chain,
        execution_context_class=CompiledExecutor,
    )
    direct.install(built)  # graphql-core calls our methods without Strawberry's wrapper
    return built
