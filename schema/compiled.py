"""Compiled completion: the objects of an answer completed by closures made once per
selection (and kept across requests, :mod:`schema.compiled_cache`), not field by field
through graphql-core's executor.

graphql-core completes every field of an answer alike: it builds a ``GraphQLResolveInfo``
and a ``Path``, looks for arguments and middleware, calls the resolver through
Strawberry's wrapper or ours (:mod:`schema.direct`) and dispatches the value on its type;
on a page of 100 components with owner and APIs that is ~850 fields and most of the
request's CPU time. Most of that work does not depend on the data: which fields, in which
order, under which response names (aliases, fragments, ``@skip``/``@include`` applied),
with which resolver and which type. :class:`CompiledExecutor` (the schema's executor
class) works it out once per object selection and completes each object with one closure
that calls the resolvers and builds the dict in selection order. A list of objects that
graphql-core would complete item by item (the answer of a field with arguments: a roll-up's
``ownedEntities``, a walk's ``nodes``) is completed in one pass too when its items'
selection compiles, the closure of an interface's concrete type kept per class.

An object selection is compiled when every field in it, at every depth, is one of:

- ``__typename``;
- a field without arguments whose resolver is a direct one (:mod:`schema.direct`: a plain
  attribute, or a synchronous method taking ``self`` and maybe ``info``).

Its values are completed as graphql-core completes them: ``coerce_output_value`` for
scalars and enums (DateTime, enums, JSON serialize exactly as before), lists item by item,
an interface's concrete type from its type resolver (checked to be a possible type), an
object type's ``is_type_of`` when it has one. A selection with anything else (arguments,
Strawberry's resolver chain, an async resolver, ``@defer``) is not compiled and graphql-core
completes it as before; its object-valued fields may still be compiled below it (the
``edges`` of a connection whose ``totalCount`` is async).

Compiled completion gives up on an object, without a trace, whenever a value is not the
plain case: an error raised, a null where the type forbids it, an awaitable (a relation
field the page did not plan, which would have to load), a resolver that reads ``info`` (it
gets an object that refuses to be read), a value of the wrong type. graphql-core then
completes that same object from the start as it always does, so errors, their paths and
null propagation are graphql-core's own; the selection (and every selection around it) is
not tried again in that request. A list gives up as a whole the same way.
The resolvers it called are then called again: a synchronous field without arguments must
be a pure read of its object (every such field is; one that writes or loads takes
arguments or is async). ``tests/schema/test_compiled.py``
compares generated selections with and without it, byte for byte, on both stores.

Off when the request's context says so (``Context.compiled``, which the tests turn off to
compare) or when an extension wraps resolvers (middleware: each field must pass through it).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.compiled_cache import SharedPlans
from schema.compiled_values import (
    NOT_COMPILED,
    Complete,
    Getter,
    NotCompiled,
    Plan,
    abstract_closure,
    getter,
    give_up,
    leaf,
    list_of,
    non_null,
    nullable,
    object_closure,
    typename,
)
from schema.context import Context


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing compiled object selections in one closure each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        context = self.context_value
        self._context = context if isinstance(context, Context) else None
        self._on = (self._context is None or self._context.compiled) and (
            manager is None or not manager.middlewares
        )
        # (type, id of the field group) -> (the group, kept alive; its plan or None)
        self._plans: dict[tuple[str, int], tuple[FieldDetailsList, Plan | None]] = {}
        self._failed: set[Complete] = set()  # closures that gave up in this request
        self._shared: SharedPlans | None = None
        self._skips: tuple[object, ...] | None = None

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._on:
            plan = self._plan(return_type.name, return_type, field_details_list)
            if plan is not None:
                data = self._run(plan, result)
                if data is not NOT_COMPILED:
                    return data
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects (or of an interface's objects) completed in one pass when its
        items' selection compiles; else, or when an item gives up, item by item as before."""
        if self._on and type(result) in (list, tuple):
            plan = self._plan(str(return_type), return_type, field_details_list)
            if plan is not None:
                data = self._run(plan, result)
                if data is not NOT_COMPILED:
                    return data
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _run(self, plan: Plan, result: Any) -> Any:
        """The plan's completion of ``result``, or NOT_COMPILED when it gave up (its closures
        are then not tried again in this request)."""
        complete, parts = plan
        failed = self._failed
        if failed and not failed.isdisjoint(parts):
            return NOT_COMPILED
        try:
            data = complete(result)
        except NotCompiled as error:
            failed.update(error.closures)
            failed.add(complete)
            if self._context is not None:
                self._context.compiled_fallbacks += 1
            return NOT_COMPILED
        if self._context is not None:
            self._context.compiled_objects += 1
        return data

    def _plan(self, name: str, type_: GraphQLOutputType, group: FieldDetailsList) -> Plan | None:
        """The plan completing ``type_`` (an object type, or a list) selected as ``group``:
        this request's, else the one shared by requests of the same selection, else new."""
        key = (name, id(group))
        known = self._plans.get(key)
        if known is not None:
            return known[1]
        shared = self._shared
        if shared is None:
            shared = self._shared = SharedPlans.of(self.schema)
            self._skips = shared.skips(self.operation, self.fragments, self.variable_values)
        plan = shared.plan(name, group, self._skips, partial(self._compile, type_, group))
        self._plans[key] = (group, plan)
        return plan

    def _compile(self, type_: GraphQLOutputType, group: FieldDetailsList) -> Plan | None:
        if isinstance(type_, GraphQLObjectType):
            return self._compile_object(type_, group)
        assert isinstance(type_, GraphQLList)
        if any(
            directive.name.value == "stream"
            for details in group
            for directive in details.node.directives or ()
        ):
            return None
        item = type_.of_type
        named = item.of_type if isinstance(item, GraphQLNonNull) else item
        if not (is_object_type(named) or is_abstract_type(named)):
            return None  # leaves: graphql-core's loop is quick enough
        parts: set[Complete] = set()
        complete = self._value(type_, group, parts)
        return None if complete is None else (complete, frozenset(parts))

    def _object(
        self, type_: GraphQLObjectType, group: FieldDetailsList, parts: set[Complete]
    ) -> Complete | None:
        """The closure completing ``type_`` selected as ``group``; None when not compiled."""
        plan = self._plan(type_.name, type_, group)
        if plan is None:
            return None
        parts.update(plan[1])
        return plan[0]

    def _compile_object(self, type_: GraphQLObjectType, group: FieldDetailsList) -> Plan | None:
        if any(details.fragment_variable_values is not None for details in group):
            return None
        grouped, defers, _ = self.collect_subfields(type_, group)
        if defers:
            return None
        fields: list[tuple[str, Getter, Complete | None]] = []
        parts: set[Complete] = set()
        for response_name, sub in grouped.items():
            node = sub[0].node
            name = node.name.value
            if name == "__typename":
                fields.append((response_name, typename(type_.name), None))
                continue
            field = self.schema.get_field(type_, name)
            if field is None:
                continue  # graphql-core leaves it out too
            get = None if node.arguments else getter(field)
            value = None if get is None else self._value(field.type, sub, parts)
            if get is None or value is None:
                return None
            fields.append((response_name, get, value))
        complete = object_closure(type_.is_type_of, fields)
        return complete, frozenset((complete, *parts))

    def _value(
        self, type_: GraphQLOutputType, group: FieldDetailsList, parts: set[Complete]
    ) -> Complete | None:
        """The closure completing a value of ``type_``; None when not compiled."""
        if isinstance(type_, GraphQLNonNull):
            if is_leaf_type(type_.of_type):
                return leaf(type_.of_type, non_null=True)
            inner = self._value(type_.of_type, group, parts)
            return None if inner is None else non_null(inner)
        if isinstance(type_, GraphQLList):
            item = self._value(type_.of_type, group, parts)
            return None if item is None else list_of(item)
        if is_leaf_type(type_):
            return leaf(type_, non_null=False)
        if is_abstract_type(type_):
            return self._abstract(type_, group, parts)
        if is_object_type(type_):
            complete = self._object(type_, group, parts)
            return None if complete is None else nullable(complete)
        return None

    def _abstract(
        self, type_: GraphQLAbstractType, group: FieldDetailsList, parts: set[Complete]
    ) -> Complete:
        """An interface's value: its concrete type by the type resolver, the closures of all
        its possible types compiled now (those that do not compile give up)."""
        by_name: dict[str, Complete] = {}
        for possible in self.schema.get_possible_types(type_):
            by_name[possible.name] = self._object(possible, group, parts) or give_up
        return abstract_closure(type_, type_.resolve_type or self.type_resolver, by_name)
