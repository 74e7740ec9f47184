"""Direct resolvers: graphql-core calls our field methods itself, without Strawberry's
per-field wrapper.

Strawberry wraps every field in a chain that builds an ``Info``, converts arguments, looks for
field extensions and exception handlers, and calls the resolver through two more layers; on
a page of 100 entities with owners and APIs that is ~400 fields and most of the request's
time. After the schema is built, :func:`install` replaces that chain, on the fields where it
does nothing, with one call:

- a field without a resolver (a plain attribute) is read with ``getattr``;
- a field whose resolver takes ``self`` and optionally ``info`` and nothing else (no GraphQL
  arguments, no ``root``/``parent``) is called as ``method(source)`` or
  ``method(source, info=Info(...))``.

A field with arguments, field extensions or permission classes keeps Strawberry's chain (it
converts the arguments and runs the extensions).

An interface's type resolver (which concrete type an ``Entity`` is, asked for every entity
in a response) reads the name of the object's Strawberry type straight off its class; an
object that is not a plain Strawberry type (a generic one, or a value Strawberry would
match some other way) goes to Strawberry's resolver as before. Nothing in the schema uses
``strawberry.cast``, which that resolver also honours. Results are returned as the method returns
them (a value or an awaitable); graphql-core awaits awaitables itself, and errors propagate
exactly as they did (Strawberry's chain did not catch them either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import (
    GraphQLAbstractType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLTypeResolver,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

Resolve = Callable[..., Any]


def _attribute(name: str) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    return resolve


def _method(function: Callable[..., Any]) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return function(source)

    return resolve


def _method_with_info(
    function: Callable[..., Any], parameter: str, field: StrawberryField, info_class: type[Any]
) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return function(source, **{parameter: info_class(_raw_info=info, _field=field)})

    return resolve


def direct_resolver(field: StrawberryField, info_class: type[Any]) -> Resolve | None:
    """The one-call resolver for ``field``; None when it needs Strawberry's chain."""
    if field.extensions or getattr(field, "permission_classes", None):
        return None
    resolver = field.base_resolver
    if resolver is None:
        return _attribute(field.python_name)
    if resolver.arguments or resolver.root_parameter or resolver.parent_parameter:
        return None
    if resolver.self_parameter is None:
        return None
    function = resolver.wrapped_func
    if not callable(function):  # an unbound staticmethod or classmethod
        return None
    info = resolver.info_parameter
    if info is None:
        return _method(function)
    return _method_with_info(function, info.name, field, info_class)


def type_name_resolver(fallback: GraphQLTypeResolver) -> GraphQLTypeResolver:
    """An interface's type resolver: the Strawberry type name of the object's class, else
    ``fallback`` (Strawberry's). The answer is kept per class: asking Strawberry whether a
    type is generic costs more than the rest of resolving it, once per entity of a list."""
    names: dict[type, str | None] = {}

    def name_of(cls: type) -> str | None:
        definition = getattr(cls, "__strawberry_definition__", None)
        if definition is None or definition.is_graphql_generic or definition.is_input:
            return None
        return str(definition.name)

    def resolve_type(
        value: Any, info: GraphQLResolveInfo[Any], abstract_type: GraphQLAbstractType
    ) -> Any:
        cls = type(value)
        if cls in names:
            name = names[cls]
        else:
            name = names[cls] = name_of(cls)
        return fallback(value, info, abstract_type) if name is None else name

    return resolve_type


def install(schema: strawberry.Schema) -> int:
    """Give every object type field that can have one its direct resolver, and every
    interface its type-name resolver; how many fields did."""
    info_class = schema.config.info_class
    installed = 0
    for named in schema._schema.type_map.values():
        if named.name.startswith("__"):
            continue
        if isinstance(named, GraphQLInterfaceType) and named.resolve_type is not None:
            named.resolve_type = type_name_resolver(named.resolve_type)
        if not isinstance(named, GraphQLObjectType):
            continue
        for graphql_field in named.fields.values():
            installed += _install_one(graphql_field, info_class)
    return installed


def _install_one(graphql_field: GraphQLField, info_class: type[Any]) -> int:
    field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(field, StrawberryField):
        return 0
    resolve = direct_resolver(field, info_class)
    if resolve is None:
        return 0
    graphql_field.resolve = resolve
    return 1
