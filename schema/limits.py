"""Limits on what one GraphQL operation may ask for, checked before anything reaches the store.

long: the limits are one specification (depth, aliases, cost, introspection), documented
here together so a reader sees every bound a query is held to in one place.

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
              = len(refs)         f takes a list `refs` (entitiesByRefs), capped to MAX_PAGE
              = fan_out           any other list field (dependsOn, relations, nodes, ...)
              = 1                 any other field

  ``first`` is the argument's value (a literal or a variable), else its default in the
  schema (25 for ``entities``), capped to 1..MAX_PAGE.
- **timeout**: the seconds one operation may run; past it the resolvers are cancelled and
  the answer is a ``TIMEOUT`` error.

- **introspection**: the ``__schema`` fields an operation asks for, at most one (each
  answers the whole schema, ~50 KB).
- **merges**: graphql-core's check that fields of one name can be merged compares them in
  pairs; past this budget of comparisons the document is refused instead of validated.

Before all these, the document's text is scanned for its size and shape (length, tokens,
operations, fragments, directives, nesting: :mod:`schema.scan`), so that a hostile document
is refused before the parser spends time on it.

Fragment spreads and inline fragments count where they are spread (a fragment spread twice
counts twice). Each fragment is measured once per document, however many operations spread
it, so every check is linear in the document. Introspection fields (``__schema``, ``__type``,
``__typename``) count for neither depth nor cost; graphql-core's ``MaxIntrospectionDepthRule``
bounds their nesting, and the introspection limit their number. Every refusal carries
``extensions.code = QUERY_TOO_COMPLEX``, the limit and its maximum (and for the limits of
an operation, the measured value).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
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
    ListValueNode,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    get_variable_values,
    is_list_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import ASTValidationRule, MaxIntrospectionDepthRule, ValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from schema.errors import BAD_USER_INPUT, LIMIT_CODE, TIMEOUT_CODE
from schema.inputs import MAX_PAGE
from schema.scan import DocumentCaps, scan_remembered

__all__ = ["LIMIT_CODE", "TIMEOUT_CODE", "DocumentCaps", "QueryLimits"]


@dataclass(frozen=True)
class QueryLimits:
    """The limits of one operation; the defaults are Stagegraph's."""

    max_depth: int = 10
    max_aliases: int = 15
    max_cost: int = 50_000
    fan_out: int = 10
    timeout: float = 10.0
    max_introspection: int = 1
    max_merges: int = 20_000
    document: DocumentCaps = field(default_factory=DocumentCaps)


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
    a cyclic spread counts as nothing; graphql-core rejects such documents anyway). One
    walker serves every operation of a document, so each fragment is measured once."""

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

    def count(
        self, selections: SelectionSetNode, what: str, counts: Callable[[FieldNode], bool]
    ) -> int:
        """The fields in ``selections`` (nested, fragments where spread) that ``counts``."""
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += 1 if counts(node) else 0
                total += self.count(node.selection_set, what, counts) if node.selection_set else 0
            elif isinstance(node, InlineFragmentNode):
                total += self.count(node.selection_set, what, counts)
            elif isinstance(node, FragmentSpreadNode):
                total += self.spread(
                    node.name.value, what, lambda f: self.count(f.selection_set, what, counts)
                )
        return total

    def aliases(self, selections: SelectionSetNode) -> int:
        return self.count(selections, "aliases", lambda field: field.alias is not None)

    def schema_fields(self, selections: SelectionSetNode) -> int:
        return self.count(selections, "__schema", lambda field: field.name.value == "__schema")


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

    def list_length(self, field: FieldNode, name: str) -> int:
        """How many items the list argument ``name`` holds (MAX_PAGE when unknown)."""
        for given in field.arguments or ():
            if given.name.value != name:
                continue
            if isinstance(given.value, VariableNode):
                value = self.variables.get(given.value.name.value)
                if isinstance(value, list):
                    return min(len(value), MAX_PAGE)
            elif isinstance(given.value, ListValueNode):
                return min(len(given.value.values), MAX_PAGE)
            else:
                return 1  # a single value coerced to a list of one
        return MAX_PAGE

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
        refs = self.list_length(node, "refs") if "refs" in definition.args else None
        if refs is not None:
            size = refs if is_list else 1
        elif first is not None:
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
    """Validation rules for the depth, alias and introspection limits, graphql-core's bound
    on introspection depth (introspection does not count towards depth), and its field
    merging rule with the ``max_merges`` budget. Made once per schema: the validation cache
    is keyed by the rule classes."""

    class OperationLimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.walker = _Walker(_fragments(context.document))  # one per document

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            selections = node.selection_set
            depth = self.walker.depth(selections)
            if depth > limits.max_depth:
                advice = "nest fewer fields, or split the query"
                self.report_error(limit_error("depth", limits.max_depth, depth, advice, node))
            aliases = self.walker.aliases(selections)
            if aliases > limits.max_aliases:
                advice = "use fewer aliases (for many entities, use `entities` with a filter)"
                self.report_error(limit_error("aliases", limits.max_aliases, aliases, advice, node))
            schemas = self.walker.schema_fields(selections)
            if schemas > limits.max_introspection:
                advice = "ask for `__schema` once; every copy answers the whole schema"
                self.report_error(
                    limit_error("introspection", limits.max_introspection, schemas, advice, node)
                )

    class MergeBudgetRule(OverlappingFieldsCanBeMergedRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.rule_context.remaining_complexity_budget = limits.max_merges

    return OperationLimitRule, MaxIntrospectionDepthRule, MergeBudgetRule


def _merges_error(maximum: int) -> GraphQLError:
    return GraphQLError(
        f"the document needs more than {maximum} comparisons of same-named fields to "
        "validate: give repeated fields aliases, or send fewer fields and fragments",
        extensions={"code": LIMIT_CODE, "limit": "merges", "maximum": maximum},
    )


class DocumentLimits(SchemaExtension):
    """Refuses a document over the caps of :mod:`schema.scan` before it is parsed, and
    validates with the rules of :func:`validation_rules` (in place of graphql-core's
    unbounded field merging rule)."""

    def __init__(self, limits: QueryLimits, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self.limits = limits
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        kept = [r for r in context.validation_rules if r is not OverlappingFieldsCanBeMergedRule]
        context.validation_rules = (*kept, *self.rules)
        yield

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and self.execution_context.graphql_document is None:
            scan = scan_remembered(query, self.limits.document)
            if scan.error is not None:
                raise scan.error  # answered as the request's only error, before parsing
        yield

    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors
        if errors:
            # In place: strawberry holds this list (and the validation cache may too).
            errors[:] = [
                _merges_error(self.limits.max_merges) if _aborted(e) else e for e in errors
            ]


def _aborted(error: GraphQLError) -> bool:
    """Whether ``error`` is graphql-core's abort of validation for a spent work budget."""
    return type(error) is ValidationAbortedError and error.message == "Validation aborted."


class OperationBudget(SchemaExtension):
    """Before execution, refuses variables whose values do not fit their types
    (``BAD_USER_INPUT``, one error per variable) and an operation over the cost budget;
    cancels one that runs longer than the timeout (answering with a ``TIMEOUT`` error)."""

    def __init__(self, limits: QueryLimits) -> None:
        super().__init__()
        self.limits = limits

    def _refusal(self) -> list[GraphQLError] | None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return None
        schema: GraphQLSchema = context.schema._schema
        variables = get_variable_values(
            schema, operation.variable_definitions or (), context.variables or {}, max_errors=20
        )
        if isinstance(variables, list):
            for error in variables:
                error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
            return variables
        cost = query_cost(schema, document, operation, variables.coerced, self.limits.fan_out)
        if cost <= self.limits.max_cost:
            return None
        advice = "ask for fewer items with `first`, or fewer nested lists"
        return [limit_error("cost", self.limits.max_cost, cost, advice, operation)]

    async def on_execute(self) -> AsyncIterator[None]:
        refusal = self._refusal()
        if refusal is not None:
            # A result set before execution makes strawberry skip executing the operation.
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=refusal)
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
    """The schema extensions that enforce ``limits``; give them to ``strawberry.Schema``
    before the parser cache (the scan must come before parsing)."""
    rules = validation_rules(limits)
    return [lambda: DocumentLimits(limits, rules), lambda: OperationBudget(limits)]
