"""Fields without arguments are called by graphql-core directly (schema.direct), and answer
as before."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType

from schema import build_schema


def _resolver_module(type_name: str, field: str) -> str:
    named = build_schema()._schema.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    resolve = named.fields[field].resolve
    assert resolve is not None
    return str(resolve.__module__)


def test_scalar_and_relation_fields_skip_strawberrys_wrapper() -> None:
    assert _resolver_module("Component", "ref") == "schema.direct"
    assert _resolver_module("Component", "owner") == "schema.direct"  # takes info
    assert _resolver_module("EntityEdge", "cursor") == "schema.direct"  # a plain attribute


def test_fields_with_arguments_keep_strawberrys_conversion() -> None:
    assert _resolver_module("Component", "relations") != "schema.direct"


def test_the_entity_interface_resolves_types_by_class_name() -> None:
    entity = build_schema()._schema.type_map["Entity"]
    assert isinstance(entity, GraphQLInterfaceType)
    assert entity.resolve_type is not None
    assert entity.resolve_type.__module__ == "schema.direct"
