"""Limits on what one GraphQL operation may ask for, checked before anything reaches the store.

- **depth**: the most fields nested inside each other. ``{ entity(ref: "x") { owner { ref } } }``
  has depth 3. Checked while validating the document.
- **aliases**: the number of aliased fields (``a: entity(...)``). Checked while validating.
- **cost**: an estimate of the work an operation asks for, from its shape and its ``first``
  arguments, checked just before execution (it needs the variables)::

      cost(selections) = sum over fields f of  size(f) * (1 + cost(selections of f))

      size(f) = first             f takes `first` and returns a list
              = 1                 f takes `first` and returns a connection object
                                  (its `edges`/`nodes` lists are then `first` long)
              = first of parent   f is a list inside such a connection (edges, nodes)
              = fan_out           any other list field (dependsOn, relations, nodes, ...)
              = 1                 any other field

  ``first`` is the argument's value (a literal or a variable), else its default in the
  schema (25 for ``entities``), capped to 1..MAX_PAGE.
- **timeout**: the seconds one operation may run; past it the resolvers are cancelled and
  the answer is a ``TIMEOUT`` error.

Fragment spreads and inline fragments count where they are spread (a fragment spread twice
counts twice). Introspection fields (``__schema``, ``__type``, ``__typename``) count for
neither depth nor cost; graphql-core's ``MaxIntrospectionDepthRule`` bounds them instead.
Depth, aliases and cost errors carry ``extensions.code = QUERY_TOO_COMPLEX`` and the limit,
its maximum and the measured value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import ASTValidationRule, MaxIntrospectionDepthRule, ValidationRule
from strawberry.extensions import AddValidationRules, SchemaExtension

from schema.inputs import MAX_PAGE

LIMIT_CODE = "QUERY_TOO_COMPLEX"
TIMEOUT_CODE = "TIMEOUT"


@dataclass(frozen=True)
class QueryLimits:
    """The limits of one operation; the defaults are Stagegraph's."""

    max_depth: int = 10
    max_aliases: int = 15
    max_cost: int = 50_000
    fan_out: int = 10
    timeout: float = 10.0


def limit_error(
    limit: str, maximum: int, measured: int, advice: str, node: OperationDefinitionNode
) -> GraphQLError:
    """A ``QUERY_TOO_COMPLEX`` error naming the limit, its maximum and the measured value."""
    return GraphQLError(
        f"query {limit} is {measured}, over the limit of {maximum}: {advice}",
        nodes=[node],
        extensions={"code": LIMIT_CODE, "limit": limit, "maximum": maximum, "measured": measured},
    )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Walker:
    """Measures selection sets, expanding fragment spreads once each (memoised, cycle-safe:
    a cyclic spread counts as nothing; graphql-core rejects such documents anyway)."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._memo: dict[tuple[str, object], int] = {}
        self._open: set[tuple[str, object]] = set()

    def spread(
        self, name: str, key: object, measure: Callable[[FragmentDefinitionNode], int]
    ) -> int:
        memo_key = (name, key)
        if memo_key in self._memo:
            return self._memo[memo_key]
        fragment = self.fragments.get(name)
        if fragment is None or memo_key in self._open:
            return 0
        self._open.add(memo_key)
        try:
            value = measure(fragment)
        finally:
            self._open.discard(memo_key)
        self._memo[memo_key] = value
        return value

    def depth(self, selections: SelectionSetNode) -> int:
        deepest = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                if node.name.value.startswith("__"):
                    continue
                below = self.depth(node.selection_set) if node.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(node, InlineFragmentNode):
                deepest = max(deepest, self.depth(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                found = self.spread(node.name.value, "depth", lambda f: self.depth(f.selection_set))
                deepest = max(deepest, found)
        return deepest

    def aliases(self, selections: SelectionSetNode) -> int:
        count = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                count += 1 if node.alias else 0
                count += self.aliases(node.selection_set) if node.selection_set else 0
            elif isinstance(node, InlineFragmentNode):
                count += self.aliases(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                count += self.spread(
                    node.name.value, "aliases", lambda f: self.aliases(f.selection_set)
                )
        return count


def query_depth(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    """The depth of ``operation``: the most fields on one path from the root."""
    return _Walker(_fragments(document)).depth(operation.selection_set)


def query_aliases(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    """The aliased fields ``operation`` would resolve, fragments counted where spread."""
    return _Walker(_fragments(document)).aliases(operation.selection_set)


class _CostWalker(_Walker):
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        fan_out: int,
    ) -> None:
        super().__init__(_fragments(document))
        self.schema = schema
        self.fan_out = fan_out
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = _int_literal(definition.default_value)

    def page_size(self, field: FieldNode, argument: GraphQLArgument) -> int:
        value: object = None
        for given in field.arguments or ():
            if given.name.value != "first":
                continue
            if isinstance(given.value, VariableNode):
                value = self.variables.get(given.value.name.value)
            else:
                value = _int_literal(given.value)
        if value is None:
            value = argument.default_value
        if not isinstance(value, int) or isinstance(value, bool):
            return MAX_PAGE
        return min(max(value, 1), MAX_PAGE)

    def cost(self, selections: SelectionSetNode, parent: GraphQLNamedType, page: int | None) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self.field_cost(node, parent, page)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(node.selection_set, inner or parent, page)
            elif isinstance(node, FragmentSpreadNode):
                total += self.spread(
                    node.name.value,
                    page,
                    lambda f: self.cost(
                        f.selection_set,
                        self.schema.get_type(f.type_condition.name.value) or parent,
                        page,
                    ),
                )
        return total

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        if node.name.value.startswith("__"):
            return 0
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0
        is_list = is_list_type(get_nullable_type(definition.type))
        first = definition.args.get("first")
        child_page = None
        if first is not None:
            n = self.page_size(node, first)
            size = n if is_list else 1
            child_page = None if is_list else n
        elif is_list:
            size = page if page is not None else self.fan_out
        else:
            size = 1
        below = 0
        if node.selection_set:
            below = self.cost(node.selection_set, get_named_type(definition.type), child_page)
        return size * (1 + below)


def _int_literal(node: object) -> int | None:
    return int(node.value) if isinstance(node, IntValueNode) else None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
    fan_out: int = QueryLimits.fan_out,
) -> int:
    """The estimated cost of ``operation`` (see the module docstring for the formula)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walker = _CostWalker(schema, document, operation, variables or {}, fan_out)
    return walker.cost(operation.selection_set, root, None)


def validation_rules(limits: QueryLimits) -> tuple[type[ASTValidationRule], ...]:
    """Validation rules for the depth and alias limits (plus graphql-core's bound on
    introspection depth, since introspection does not count towards depth)."""

    class DepthLimitRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = query_depth(self.context.document, node)
            if depth > limits.max_depth:
                advice = "nest fewer fields, or split the query"
                self.report_error(limit_error("depth", limits.max_depth, depth, advice, node))

    class AliasLimitRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            aliases = query_aliases(self.context.document, node)
            if aliases > limits.max_aliases:
                advice = "use fewer aliases (for many entities, use `entities` with a filter)"
                self.report_error(limit_error("aliases", limits.max_aliases, aliases, advice, node))

    return DepthLimitRule, AliasLimitRule, MaxIntrospectionDepthRule


class OperationBudget(SchemaExtension):
    """Rejects an operation over the cost budget before it runs, and cancels one that runs
    longer than the timeout (answering with a ``TIMEOUT`` error)."""

    def __init__(self, limits: QueryLimits) -> None:
        super().__init__()
        self.limits = limits

    def _over_budget(self) -> GraphQLError | None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return None
        schema: GraphQLSchema = context.schema._schema
        cost = query_cost(schema, document, operation, context.variables, self.limits.fan_out)
        if cost <= self.limits.max_cost:
            return None
        advice = "ask for fewer items with `first`, or fewer nested lists"
        return limit_error("cost", self.limits.max_cost, cost, advice, operation)

    async def on_execute(self) -> AsyncIterator[None]:
        rejection = self._over_budget()
        if rejection is not None:
            # A result set before execution makes strawberry skip executing the operation.
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[rejection])
            yield
            return
        deadline = asyncio.timeout(self.limits.timeout)
        try:
            async with deadline:
                yield
        except TimeoutError:
            if not deadline.expired():
                raise
            raise GraphQLError(
                f"the operation ran longer than the limit of {self.limits.timeout:g} s and "
                "was cancelled: ask for less, or narrow the filters",
                extensions={
                    "code": TIMEOUT_CODE,
                    "limit": "timeout",
                    "maximum": self.limits.timeout,
                },
            ) from None


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions that enforce ``limits``; give them to ``strawberry.Schema``."""
    rules = list(validation_rules(limits))
    return [lambda: AddValidationRules(rules), lambda: OperationBudget(limits)]
