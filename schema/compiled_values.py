"""The pieces of compiled completion (:mod:`schema.compiled`): how a field's value is read
off its object without ``info``, and closures completing leaves, lists, non-null and
nullable values as graphql-core completes them (or giving the object up to it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from inspect import isawaitable
from operator import attrgetter
from types import GeneratorType
from typing import Any, NoReturn, cast

from graphql import GraphQLAbstractType, GraphQLField, GraphQLLeafType, Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema import direct

Complete = Callable[[Any], Any]
Getter = Callable[[Any], Any]
#: A compiled completion and the closures it calls (itself included)
Plan = tuple[Complete, frozenset[Complete]]


class NotCompiled(BaseException):
    """A value compiled completion leaves to graphql-core. A BaseException so that no
    resolver's ``except Exception`` takes it for its own. ``closures``: the object closures
    it went through (the executor does not try them again in the request)."""

    def __init__(self) -> None:
        super().__init__()
        self.closures: list[Complete] = []


#: What the executor's completion gives when the plan gave up.
NOT_COMPILED: Any = object()


class _NoInfo:
    """Given to resolvers as ``info``: reading it gives the object back to graphql-core."""

    __slots__ = ()

    def __getattr__(self, name: str) -> NoReturn:
        raise NotCompiled


NO_INFO: Any = _NoInfo()


def give_up(*_: object) -> NoReturn:
    raise NotCompiled


def is_direct(resolve: object) -> bool:
    return getattr(resolve, "__module__", None) == direct.__name__


def getter(field: GraphQLField) -> Getter | None:
    """What the field's direct resolver (:mod:`schema.direct`) calls, as a call of the
    source alone (``info``, when the method takes it, is :data:`NO_INFO`); None when the
    field has no direct resolver or its resolver is async."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.is_async:
        return None
    if field.args or not is_direct(field.resolve):
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


def plain_type(cls: type) -> bool:
    """Whether direct's type resolver names ``cls``'s objects by their class alone."""
    definition = getattr(cls, "__strawberry_definition__", None)
    return definition is not None and not definition.is_graphql_generic and not definition.is_input


def typename(name: str) -> Getter:
    def resolve(source: Any) -> str:
        return name

    return resolve


#: Classes of values that are neither errors nor awaitables (graphql-core would raise or
#: await those); grown as values of new classes show up.
PLAIN: set[type] = {type(None), str, int, float, bool, list, tuple, dict}


def unsettled(value: object) -> bool:
    """Whether ``value`` is an error or an awaitable (closed, so that nothing warns it was
    never awaited); else its class joins :data:`PLAIN`."""
    cls = type(value)
    if issubclass(cls, Exception):
        return True
    if isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()
        return True
    if not hasattr(cls, "__await__") and not issubclass(cls, GeneratorType):
        PLAIN.add(cls)
    return False


def non_null(inner: Complete) -> Complete:
    def complete_non_null(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotCompiled
        return completed

    return complete_non_null


def nullable(complete: Complete) -> Complete:
    def complete_nullable(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        return complete(value)

    return complete_nullable


def list_of(item: Complete) -> Complete:
    plain = PLAIN

    def complete_list(value: Any) -> list[Any] | None:
        if value is None or value is Undefined:
            return None
        if type(value) is not list and type(value) is not tuple:
            raise NotCompiled
        if any([type(each) not in plain and unsettled(each) for each in value]):
            raise NotCompiled
        return [item(each) for each in value]

    return complete_list


def leaf(type_: GraphQLLeafType, non_null: bool) -> Complete:
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


def object_closure(
    is_type_of: Callable[..., Any] | None, fields: list[tuple[str, Getter, Complete | None]]
) -> Complete:
    """An object's completion: ``fields`` read off it (response name, getter, completion of
    the value or None for ``__typename``), in order."""
    plain = PLAIN

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
                if type(value) not in plain and unsettled(value):
                    raise NotCompiled
                data[response_name] = complete(value)
            return data
        except NotCompiled as error:
            error.closures.append(complete_object)
            raise
        except Exception:
            # An error raised is graphql-core's to place (path, nulls): it completes the
            # object again, and this selection for the rest of the request.
            given_up = NotCompiled()
            given_up.closures.append(complete_object)
            raise given_up from None

    return complete_object


def abstract_closure(
    type_: GraphQLAbstractType, resolve_type: Callable[..., Any], by_name: dict[str, Complete]
) -> Complete:
    """An interface's value: its concrete type's name by ``resolve_type``, then that type's
    closure from ``by_name`` (its possible types); the closure is kept by the value's class
    when the name is read off the class alone."""
    by_class = is_direct(resolve_type)
    closures: dict[Any, Complete] = {}

    def complete_abstract(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        cls = type(value)
        complete = closures.get(cls) if by_class else None
        if complete is None:
            name = resolve_type(value, NO_INFO, type_)
            if not isinstance(name, str):
                unsettled(name)  # closed, if awaitable
                raise NotCompiled
            complete = by_name.get(name)
            if complete is None:
                raise NotCompiled
            if by_class and plain_type(cls):
                closures[cls] = complete
        return complete(value)

    return complete_abstract
