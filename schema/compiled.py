"""Compiled completion: the objects of an answer completed by closures made once per
request from its selection, not field by field through graphql-core's executor.

graphql-core completes every field of an answer alike: it builds a ``GraphQLResolveInfo``
and a ``Path``, looks for arguments and middleware, calls the resolver through
Strawberry's wrapper or ours (:mod:`schema.direct`) and dispatches the value on its type;
on a page of 100 components with owner and APIs that is ~850 fields and most of the
request's CPU time. Most of that work does not depend on the data: which fields, in which
order, under which response names (aliases, fragments, ``@skip``/``@include`` applied),
with which resolver and which type. :class:`CompiledExecutor` (the schema's executor
class) works it out once per object selection of the request and completes each object
with one closure that calls the resolvers and builds the dict in selection order.

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
null propagation are graphql-core's own; the selection is not tried again in that request.
The resolvers it called are then called again: a synchronous field without arguments must
be a pure read of its object (every such field is; one that writes or loads takes
arguments or is async). ``tests/schema/test_compiled.py``
compares generated selections with and without it, byte for byte, on both stores.

Off when the request's context says so (``Context.compiled``, which the tests turn off to
compare) or when an extension wraps resolvers (middleware: each field must pass through it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from inspect import isawaitable
from operator import attrgetter
from types import GeneratorType
from typing import Any, NoReturn, cast

from graphql import (
    GraphQLAbstractType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema import direct
from schema.context import Context

Complete = Callable[[Any], Any]
Getter = Callable[[Any], Any]


class NotCompiled(BaseException):
    """A value compiled completion leaves to graphql-core. A BaseException so that no
    resolver's ``except Exception`` takes it for its own."""


class _NoInfo:
    """Given to resolvers as ``info``: reading it gives the object back to graphql-core."""

    __slots__ = ()

    def __getattr__(self, name: str) -> NoReturn:
        raise NotCompiled


NO_INFO: Any = _NoInfo()


def _give_up(*_: object) -> NoReturn:
    raise NotCompiled


def _is_direct(resolve: object) -> bool:
    return getattr(resolve, "__module__", None) == direct.__name__


def getter(field: GraphQLField) -> Getter | None:
    """What the field's direct resolver (:mod:`schema.direct`) calls, as a call of the
    source alone (``info``, when the method takes it, is :data:`NO_INFO`); None when the
    field has no direct resolver or its resolver is async."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.is_async:
        return None
    if field.args or not _is_direct(field.resolve):
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return attrgetter(definition.python_name)
    function = resolver.wrapped_func
    if not callable(function):  # an unbound staticmethod or classmethod: not direct
        return None
    info = resolver.info_parameter
    if info is None:
        return cast(Getter, function)
    return partial(function, **{info.name: NO_INFO})


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
        # (type, id of the field group) -> (the group, kept alive; its closure or None)
        self._plans: dict[tuple[str, int], tuple[FieldDetailsList, Complete | None]] = {}

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
            complete = self._object(return_type, field_details_list)
            if complete is not None:
                try:
                    data = complete(result)
                except NotCompiled:
                    if self._context is not None:
                        self._context.compiled_fallbacks += 1
                else:
                    if self._context is not None:
                        self._context.compiled_objects += 1
                    return data
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _object(self, type_: GraphQLObjectType, group: FieldDetailsList) -> Complete | None:
        """The closure completing ``type_`` selected as ``group``; None when not compiled."""
        key = (type_.name, id(group))
        known = self._plans.get(key)
        if known is not None:
            return known[1]
        self._plans[key] = (group, None)
        complete = self._compile_object(type_, group, key)
        self._plans[key] = (group, complete)
        return complete

    def _compile_object(
        self, type_: GraphQLObjectType, group: FieldDetailsList, key: tuple[str, int]
    ) -> Complete | None:
        grouped, defers, _ = self.collect_subfields(type_, group)
        if defers:
            return None
        fields: list[tuple[str, Getter, Complete | None]] = []
        for response_name, sub in grouped.items():
            node = sub[0].node
            name = node.name.value
            if name == "__typename":
                fields.append((response_name, _typename(type_.name), None))
                continue
            field = self.schema.get_field(type_, name)
            if field is None:
                continue  # graphql-core leaves it out too
            get = None if node.arguments else getter(field)
            value = None if get is None else self._value(field.type, sub)
            if get is None or value is None:
                return None
            fields.append((response_name, get, value))
        return self._object_closure(type_, fields, key)

    def _object_closure(
        self,
        type_: GraphQLObjectType,
        fields: list[tuple[str, Getter, Complete | None]],
        key: tuple[str, int],
    ) -> Complete:
        is_type_of = type_.is_type_of
        plans = self._plans
        plain = _PLAIN

        def complete_object(source: Any) -> dict[str, Any]:
            try:
                if is_type_of is not None and is_type_of(source, NO_INFO) is not True:
                    raise NotCompiled
                data: dict[str, Any] = {}
                for response_name, get, complete in fields:
                    value = get(source)
                    if complete is None:
                        data[response_name] = value
                        continue
                    if type(value) not in plain and _unsettled(value):
                        raise NotCompiled
                    data[response_name] = complete(value)
                return data
            except (NotCompiled, Exception):
                # An error raised is graphql-core's to place (path, nulls): it completes
                # the object again, and this selection from now on.
                group = plans[key][0]
                plans[key] = (group, None)
                raise NotCompiled from None

        return complete_object

    def _value(self, type_: GraphQLOutputType, group: FieldDetailsList) -> Complete | None:
        """The closure completing a value of ``type_``; None when not compiled."""
        if isinstance(type_, GraphQLNonNull):
            if is_leaf_type(type_.of_type):
                return _leaf(type_.of_type, non_null=True)
            inner = self._value(type_.of_type, group)
            return None if inner is None else _non_null(inner)
        if isinstance(type_, GraphQLList):
            item = self._value(type_.of_type, group)
            return None if item is None else _list(item)
        if is_leaf_type(type_):
            return _leaf(type_, non_null=False)
        if is_abstract_type(type_):
            return self._abstract(type_, group)
        if is_object_type(type_):
            complete = self._object(type_, group)
            return None if complete is None else _nullable(complete)
        return None

    def _abstract(self, type_: GraphQLAbstractType, group: FieldDetailsList) -> Complete:
        """An interface's value: its concrete type by the type resolver, each concrete
        type's closure compiled when first met."""
        resolve_type = type_.resolve_type or self.type_resolver
        by_class = _is_direct(resolve_type)  # the type's name read off the object's class
        schema = self.schema
        closures: dict[Any, Complete] = {}

        def runtime(name: object) -> Complete:
            if not isinstance(name, str):
                _unsettled(name)  # closed, if awaitable
                raise NotCompiled
            runtime_type = schema.get_type(name)
            if not isinstance(runtime_type, GraphQLObjectType) or not schema.is_sub_type(
                type_, runtime_type
            ):
                raise NotCompiled
            return self._object(runtime_type, group) or _give_up

        def complete_abstract(value: Any) -> Any:
            if value is None or value is Undefined:
                return None
            complete = closures.get(type(value)) if by_class else None
            if complete is None:
                name = resolve_type(value, NO_INFO, type_)
                complete = runtime(name)
                if by_class and _plain_type(type(value)):
                    closures[type(value)] = complete
            return complete(value)

        return complete_abstract


def _plain_type(cls: type) -> bool:
    """Whether direct's type resolver names ``cls``'s objects by their class alone."""
    definition = getattr(cls, "__strawberry_definition__", None)
    return definition is not None and not definition.is_graphql_generic and not definition.is_input


def _typename(name: str) -> Getter:
    def resolve(source: Any) -> str:
        return name

    return resolve


#: Classes of values that are neither errors nor awaitables (graphql-core would raise or
#: await those); grown as values of new classes show up.
_PLAIN: set[type] = {type(None), str, int, float, bool, list, tuple, dict}


def _unsettled(value: object) -> bool:
    """Whether ``value`` is an error or an awaitable (closed, so that nothing warns it was
    never awaited); else its class joins :data:`_PLAIN`."""
    cls = type(value)
    if issubclass(cls, Exception):
        return True
    if isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()
        return True
    if not hasattr(cls, "__await__") and not issubclass(cls, GeneratorType):
        _PLAIN.add(cls)
    return False


def _non_null(inner: Complete) -> Complete:
    def complete_non_null(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotCompiled
        return completed

    return complete_non_null


def _nullable(complete: Complete) -> Complete:
    def complete_nullable(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        return complete(value)

    return complete_nullable


def _list(item: Complete) -> Complete:
    plain = _PLAIN

    def complete_list(value: Any) -> list[Any] | None:
        if value is None or value is Undefined:
            return None
        if type(value) is not list and type(value) is not tuple:
            raise NotCompiled
        if any([type(each) not in plain and _unsettled(each) for each in value]):
            raise NotCompiled
        return [item(each) for each in value]

    return complete_list


def _leaf(type_: GraphQLLeafType, non_null: bool) -> Complete:
    coerce = type_.coerce_output_value

    def complete_leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise NotCompiled
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise NotCompiled
        return coerced

    return complete_leaf
