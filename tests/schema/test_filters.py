"""The filter arguments are written once (schema.filters) and both listing fields take them."""

from __future__ import annotations

import pytest
import strawberry
from strawberry.utils.str_converters import to_camel_case

from schema.context import Info
from schema.filters import FILTERS, FilterArguments, takes_filters
from tests.factories import record, rel
from tests.schema.conftest import Client


def test_both_listing_fields_take_every_filter(graphql_schema: strawberry.Schema) -> None:
    query = graphql_schema._schema.query_type
    assert query is not None
    names = {to_camel_case(name.rstrip("_")) for name in FILTERS}  # filter_: filter

    assert names <= set(query.fields["entities"].args)
    assert names <= set(query.fields["entityFacets"].args)


async def test_a_resolver_gets_the_filters_it_was_given_as_one() -> None:
    seen: list[FilterArguments] = []

    @takes_filters("kind")
    async def count(info: Info, filters: FilterArguments, scale: int = 1) -> int:
        seen.append(filters)
        return scale

    @strawberry.type
    class Query:
        counted: int = strawberry.field(resolver=count)

    schema = strawberry.Schema(query=Query)
    result = await schema.execute('{ counted(kind: "api", tag: "x", scale: 3) }')

    assert result.errors is None
    assert result.data == {"counted": 3}
    assert seen[0].given == {
        **{name: p.default for name, p in FILTERS.items()},
        "kind": ["api"],  # one kind coerced to a list
        "tag": "x",
    }
    arguments = list(schema._schema.query_type.fields["counted"].args)  # type: ignore[union-attr]
    assert arguments[0] == "kind" and arguments[-1] == "scale"


def test_a_resolver_may_not_declare_a_filter_itself() -> None:
    async def listing(info: Info, filters: FilterArguments, tag: str | None = None) -> int:
        return 0

    with pytest.raises(ValueError, match="declares a filter"):
        takes_filters()(listing)


async def test_one_filter_narrows_entities_and_entity_facets_alike(client: Client) -> None:
    await client.store.upsert_entities(
        "test",
        "r1",
        [
            record("group:default/team"),
            record("component:default/a", spec={"type": "service"}),
            record("component:default/b", spec={"type": "website"}),
        ],
    )
    await client.store.upsert_relations(
        "test", "r1", [rel("component:default/a", "ownedBy", "group:default/team")]
    )

    data = await client.query(
        """{ entities(owner: "team", type: "service") { edges { node { ref } } }
             entityFacets(fields: ["kind"], owner: "team", type: "service") {
               values { value count } } }"""
    )

    assert [e["node"]["ref"] for e in data["entities"]["edges"]] == ["component:default/a"]
    assert data["entityFacets"][0]["values"] == [{"value": "component", "count": 1}]
