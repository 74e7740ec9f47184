"""Every type and field of the schema says what it is, so schema.graphql reads as the API's
reference (GraphiQL shows the same text)."""

from __future__ import annotations

from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from schema import build_schema


def undescribed() -> list[str]:
    """``Type`` or ``Type.field`` for every type and field without a description."""
    missing = []
    for name, type_ in sorted(build_schema()._schema.type_map.items()):
        if name.startswith("__"):
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, d in type_.fields.items() if not d.description]
    return missing


def test_every_type_and_field_has_a_description() -> None:
    assert undescribed() == [], "give these a description= (strawberry.type / strawberry.field)"
