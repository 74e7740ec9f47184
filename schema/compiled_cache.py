"""Compiled plans kept across requests (:mod:`schema.compiled`).

A plan depends only on the selection: the field nodes of the parsed document (which
Strawberry's ``ParserCache`` gives every request of the same text), the fragments of that
document and which fields ``@skip``/``@include`` leave in. So plans are kept by the ids of
the selection's field nodes (the nodes kept alive with the plan, so that no other node can
take their ids) and the values of the variables those directives read; the closures hold
nothing of the request they were compiled in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from graphql import (
    DirectiveNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails
from graphql.execution.values import VariableValues

from schema.compiled_values import Plan


class _SkipVariables(Visitor):
    """The variables ``@skip``/``@include`` read in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


class SharedPlans:
    """The plans of one schema, for every request of it; the oldest go past ``MAXSIZE``."""

    MAXSIZE: ClassVar[int] = 4096
    _by_schema: ClassVar[WeakKeyDictionary[GraphQLSchema, SharedPlans]] = WeakKeyDictionary()

    def __init__(self) -> None:
        self._plans: dict[tuple[Any, ...], tuple[tuple[FieldNode, ...], Plan | None]] = {}
        self._skip_names: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
        self.hits = 0  # plans found (tests read them)
        self.misses = 0  # plans compiled

    @classmethod
    def of(cls, schema: GraphQLSchema) -> SharedPlans:
        shared = cls._by_schema.get(schema)
        if shared is None:
            shared = cls._by_schema[schema] = cls()
        return shared

    def skips(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
    ) -> tuple[object, ...]:
        """The values of the variables ``@skip``/``@include`` read in the operation (and
        its document's fragments), in a fixed order."""
        known = self._skip_names.get(id(operation))
        if known is None or known[0] is not operation:
            visitor = _SkipVariables()
            visit(operation, visitor)
            for fragment in fragments.values():
                visit(fragment.definition, visitor)
            known = (operation, tuple(sorted(visitor.names)))
            _bound(self._skip_names)
            self._skip_names[id(operation)] = known
        coerced = variables.coerced
        return tuple(coerced.get(name) for name in known[1])

    def plan(
        self,
        name: str,
        group: FieldDetailsList,
        skips: tuple[object, ...] | None,
        compile: Callable[[], Plan | None],
    ) -> Plan | None:
        """The plan of type ``name`` selected as ``group``: kept, else ``compile``'s."""
        nodes = tuple(details.node for details in group)
        key = (name, tuple(map(id, nodes)), skips)
        known = self._plans.get(key)
        if known is not None:
            self.hits += 1
            return known[1]
        self.misses += 1
        self._plans[key] = (nodes, None)  # a selection met again while compiled: not compiled
        plan = compile()
        _bound(self._plans)
        self._plans[key] = (nodes, plan)
        return plan


def _bound(entries: dict[Any, Any]) -> None:
    while len(entries) >= SharedPlans.MAXSIZE:
        del entries[next(iter(entries))]
