"""Depth, alias, cost and time limits: an operation over a limit is refused with an error
naming the limit before anything reaches the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import get_introspection_query, parse, validate
from graphql.language import OperationDefinitionNode

from graph import open_store
from graph.port import GraphStore
from ingestors.git import ingest_git
from schema import build_schema
from schema import limits as limits_module
from schema.context import Context
from schema.limits import (
    QueryLimits,
    limit_extensions,
    query_aliases,
    query_cost,
    query_depth,
    validation_rules,
)

DEMO = Path(__file__).resolve().parents[2] / "examples"

#: What a portal's catalog page asks for: a page of components with owners, systems, APIs
#: and dependencies (the query of test_query_counts).
PORTAL_PAGE = """query ($first: Int!) {
  entities(kind: "component", first: $first) {
    totalCount
    edges { node {
      ref owner { ref name }
      dependsOn { ref owner { ref } }
      relations(type: "consumesApi") { targetRef target { ref } }
      ... on Component { system { ref } providesApis { ref owner { ref } } consumesApis { ref } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture(scope="module")
async def demo_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('limits') / 'demo.db'}")
    await store.setup()
    run = await ingest_git(store, str(DEMO), name="demo")
    assert run.status == "SUCCEEDED", run.errors
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module")
def limited() -> strawberry.Schema:
    return build_schema()


async def run(
    schema: strawberry.Schema, store: GraphStore, document: str, **variables: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], int]:
    """Execute as one request would: (data, formatted errors, store queries it made)."""
    before = store.query_count
    result = await schema.execute(document, variable_values=variables, context_value=Context(store))
    errors = [dict(e.formatted) for e in result.errors or []]
    return result.data, errors, store.query_count - before


def nested_owners(depth: int) -> str:
    """``entity { owner { ... { ref } } }`` with ``depth`` fields on its longest path."""
    inner = "ref"
    for _ in range(depth - 2):
        inner = f"owner {{ {inner} }}"
    return f'{{ entity(ref: "component:order-service") {{ {inner} }} }}'


def operation(document: str) -> tuple[Any, OperationDefinitionNode]:
    parsed = parse(document)
    first = parsed.definitions[0]
    assert isinstance(first, OperationDefinitionNode)
    return parsed, first


def test_depth_counts_fields_on_the_longest_path() -> None:
    assert query_depth(*operation('{ entity(ref: "x") { ref } }')) == 2
    assert query_depth(*operation(nested_owners(10))) == 10


async def test_depth_10_is_served_and_11_is_refused_before_the_store(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    data, errors, _ = await run(limited, demo_store, nested_owners(10))
    _, refused, queries = await run(limited, demo_store, nested_owners(11))

    assert errors == []
    assert data is not None and data["entity"] is not None
    assert queries == 0
    assert refused[0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "depth",
        "maximum": 10,
        "measured": 11,
    }
    assert "depth is 11, over the limit of 10" in refused[0]["message"]


async def test_fragment_spreads_count_towards_depth(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    # 1 (entity) + 1 (owner) + fragment Deep: 4 owners, an inline fragment with 4 more, ref.
    document = """
    { entity(ref: "component:order-service") { owner { ...Deep } } }
    fragment Deep on Entity {
      owner { owner { owner { owner {
        ... on Group { owner { owner { owner { owner { ref } } } } }
      } } } }
    }"""

    _, errors, queries = await run(limited, demo_store, document)

    assert queries == 0
    assert errors[0]["extensions"]["limit"] == "depth"
    assert errors[0]["extensions"]["measured"] == 11


async def test_16_aliases_are_refused_and_15_served(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    def aliased(count: int) -> str:
        fields = " ".join(
            f'a{i}: entity(ref: "component:order-service") {{ ref }}' for i in range(count)
        )
        return f"{{ {fields} }}"

    data, errors, _ = await run(limited, demo_store, aliased(15))
    _, refused, queries = await run(limited, demo_store, aliased(16))

    assert errors == [] and data is not None and len(data) == 15
    assert queries == 0
    assert refused[0]["extensions"]["limit"] == "aliases"
    assert (refused[0]["extensions"]["maximum"], refused[0]["extensions"]["measured"]) == (15, 16)


async def test_aliases_in_a_fragment_count_each_time_it_is_spread(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    # 2 aliases outside, a fragment of 7 aliases spread twice: 16 aliased fields resolve.
    seven = " ".join(f"n{i}: name" for i in range(7))
    document = f"""
    {{ a: entity(ref: "component:order-service") {{ ...Names }}
       b: entity(ref: "component:customer-web") {{ ...Names }} }}
    fragment Names on Entity {{ {seven} }}"""

    _, errors, queries = await run(limited, demo_store, document)

    assert query_aliases(*operation(document)) == 16
    assert queries == 0
    assert errors[0]["extensions"]["measured"] == 16


def test_cost_multiplies_children_by_first_and_list_fields_by_the_fan_out(
    limited: strawberry.Schema,
) -> None:
    schema = limited._schema
    # dependsOn: 10 x (1 + ref) = 20; node: 1 + ref + 20 = 22; edges: 10 x (1 + 22) = 230;
    # entities: 1 + totalCount 1 + edges 230 = 232.
    page = "{ entities(first: 10) { totalCount edges { node { ref dependsOn { ref } } } } }"
    default_page = "{ entities { edges { node { ref } } } }"  # first defaults to 25
    by_variable = "query ($n: Int) { entities(first: $n) { edges { node { ref } } } }"
    by_fragment = "{ entities(first: 10) { ...Page } } fragment Page on EntityConnection { totalCount edges { node { ref dependsOn { ref } } } }"

    assert query_cost(schema, *operation(page)) == 232
    assert query_cost(schema, *operation(default_page)) == 1 + 25 * (1 + 2)
    assert query_cost(schema, *operation(by_variable), {"n": 4}) == 1 + 4 * 3
    assert query_cost(schema, *operation(by_variable), {}) == 1 + 25 * 3
    assert query_cost(schema, *operation(by_variable), {"n": 10_000}) == 1 + 100 * 3
    assert query_cost(schema, *operation(by_fragment)) == 232
    assert query_cost(schema, *operation(page), fan_out=20) == 1 + 1 + 10 * (1 + 1 + 1 + 20 * 2)


async def test_a_portal_page_of_100_fits_the_cost_budget(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    data, errors, _ = await run(limited, demo_store, PORTAL_PAGE, first=100)

    assert errors == []
    assert data is not None and data["entities"]["totalCount"] > 10
    assert query_cost(limited._schema, *operation(PORTAL_PAGE), {"first": 100}) < 20_000


async def test_a_query_over_the_cost_budget_is_refused_before_the_store(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    # 100 entities x three levels of dependsOn (10 each) x their owners: about 300,000.
    document = """{ entities(first: 100) { edges { node {
      dependsOn { ref dependsOn { ref dependsOn { ref owner { ref } } } }
    } } } }"""

    data, errors, queries = await run(limited, demo_store, document)

    assert data is None
    assert queries == 0
    extensions = errors[0]["extensions"]
    assert (extensions["code"], extensions["limit"], extensions["maximum"]) == (
        "QUERY_TOO_COMPLEX",
        "cost",
        50_000,
    )
    assert extensions["measured"] > 50_000
    assert f"cost is {extensions['measured']}, over the limit of 50000" in errors[0]["message"]


async def test_the_cost_budget_reads_first_from_the_variables(demo_store: GraphStore) -> None:
    schema = build_schema(limits=QueryLimits(max_cost=1_000))

    small, small_errors, _ = await run(schema, demo_store, PORTAL_PAGE, first=2)
    _, large_errors, queries = await run(schema, demo_store, PORTAL_PAGE, first=50)

    assert small_errors == [] and small is not None
    assert queries == 0
    assert large_errors[0]["extensions"]["limit"] == "cost"


async def test_first_over_100_keeps_its_own_error(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    _, errors, _ = await run(limited, demo_store, "{ entities(first: 1000) { totalCount } }")

    assert errors[0]["message"] == "first must be between 1 and 100, got 1000"


async def test_graphiqls_introspection_query_passes_the_limits(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    data, errors, _ = await run(limited, demo_store, get_introspection_query())

    assert errors == []
    assert data is not None and data["__schema"]["queryType"]["name"] == "Query"


async def test_deep_introspection_is_refused(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    document = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"

    _, errors, _ = await run(limited, demo_store, document)

    assert errors[0]["message"] == "Maximum introspection depth exceeded"


async def test_introspection_can_be_switched_off(demo_store: GraphStore) -> None:
    closed = build_schema(introspection=False)

    _, errors, _ = await run(closed, demo_store, "{ __schema { queryType { name } } }")
    data, served, _ = await run(
        closed, demo_store, '{ entity(ref: "component:order-service") { ref } }'
    )

    assert "introspection" in errors[0]["message"].lower()
    assert served == [] and data == {"entity": {"ref": "component:default/order-service"}}


async def test_an_operation_over_the_timeout_is_cancelled(demo_store: GraphStore) -> None:
    cancelled = asyncio.Event()

    @strawberry.type
    class Query:
        @strawberry.field
        async def slow(self) -> int:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return 1

    schema = strawberry.Schema(query=Query, extensions=limit_extensions(QueryLimits(timeout=0.05)))

    started = asyncio.get_running_loop().time()
    result = await schema.execute("{ slow }", context_value=Context(demo_store))
    elapsed = asyncio.get_running_loop().time() - started

    assert result.data is None
    assert result.errors is not None
    error: dict[str, Any] = dict(result.errors[0].formatted)
    assert error["extensions"] == {"code": "TIMEOUT", "limit": "timeout", "maximum": 0.05}
    assert "longer than the limit of 0.05 s" in error["message"]
    assert cancelled.is_set()
    assert elapsed < 5


async def test_the_schema_may_be_asked_for_once_per_operation(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    twice = "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }"
    via_fragment = "{ a: __schema { queryType { name } } ...S } fragment S on Query { __schema { queryType { name } } }"

    for document in (twice, via_fragment):
        data, errors, _ = await run(limited, demo_store, document)

        assert data is None
        assert errors[0]["message"] == (
            "query introspection is 2, over the limit of 1: ask for `__schema` once; every "
            "copy answers the whole schema"
        )


async def test_a_document_over_a_cap_is_refused_before_it_is_parsed(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    document = " ".join(f"query q{i} {{ entities {{ totalCount }} }}" for i in range(10_000))

    data, errors, queries = await run(limited, demo_store, document)

    assert data is None and queries == 0
    assert errors == [
        {
            "message": "the document has more than 100000 characters: send a shorter document; "
            "put large values in `variables`",
            "extensions": {"code": "QUERY_TOO_COMPLEX", "limit": "length", "maximum": 100_000},
        }
    ]


async def test_same_named_fields_over_the_merge_budget_are_refused(
    limited: strawberry.Schema, demo_store: GraphStore
) -> None:
    # Copies that meet through inline fragments: the scan sees one in each fragment, and
    # graphql-core's merge check compares all 290 in pairs (41,905 pairs: over the budget).
    many = (
        "{"
        + " ... on Query { __typename }" * 290
        + ' entity(ref: "component:order-service") { ref } }'
    )
    few = "{" + ' entity(ref: "component:order-service") { ref }' * 20 + "}"

    _, refused, queries = await run(limited, demo_store, many)
    data, served, _ = await run(limited, demo_store, few)

    assert queries == 0
    assert refused[0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "merges",
        "maximum": 20_000,
    }
    assert served == [] and data == {"entity": {"ref": "component:default/order-service"}}


def test_the_limit_rules_read_each_fragment_once_per_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 200 operations spreading one fragment: the fragments are gathered once, not per operation.
    document = parse(
        " ".join(f"query q{i} {{ ...F }}" for i in range(200))
        + ' fragment F on Query { entity(ref: "x") { owner { ref } } }'
    )
    gathered: list[int] = []
    original = limits_module._fragments

    def counting(doc: Any) -> Any:
        gathered.append(1)
        return original(doc)

    monkeypatch.setattr(limits_module, "_fragments", counting)

    errors = validate(build_schema()._schema, document, validation_rules(QueryLimits()))

    assert errors == []
    assert len(gathered) == 1
