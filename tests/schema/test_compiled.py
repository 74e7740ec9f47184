"""Compiled completion (:mod:`schema.compiled`) answers byte for byte as graphql-core does.

Generated selections of the entities page (random subsets of the node's leaves and planned
relations, aliases, variables, named and inline fragments, ``@skip``/``@include``,
``totalCount``/``pageInfo``, ``__typename`` at every level) run twice on the same store,
with compiled completion on and off (``Context.compiled``); the JSON of the two answers
(data and errors) must be the same bytes and cost the same store statements. The catalog is
the planner's (every planned walk, dangling ends, every kind).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from bench.peer_questions import PAGE_WITH_DEPENDENCIES_GRAPHQL
from bench.questions import PAGE_GRAPHQL
from graph.port import GraphStore
from schema import build_schema
from schema.compiled_cache import SharedPlans
from schema.context import Context
from tests.factories import record
from tests.schema.test_planner import _catalog

LEAVES = (
    "id", "ref", "kind", "namespace", "name", "title", "description", "tags", "labels",
    "annotations", "source", "updatedAt", "error", "__typename",
)  # fmt: skip
KIND_LEAVES = {
    "Component": ("type", "lifecycle"),
    "API": ("type", "lifecycle", "definition"),
    "Group": ("type", "profile"),
    "Resource": ("type",),
}
RELATIONS = ("owner", "dependsOn", "dependencyOf")
KIND_RELATIONS = {
    "Component": ("providesApis", "consumesApis", "system", "subcomponents"),
    "API": ("providers", "consumers", "system"),
    "Group": ("members", "parent", "children"),
    "User": ("memberOf",),
    "System": ("components", "domain"),
}
RELATION_LEAVES = ("__typename", "id", "ref", "namespace", "name", "title", "kind", "tags")
CONDITIONS = ("@include(if: $yes)", "@skip(if: $no)", "@skip(if: $yes)", "@include(if: false)")


class _Selection:
    """One random document of the entities page."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.aliases = 0
        self.fragments: list[str] = []

    def _field(self, name: str, inner: str = "") -> str:
        rng = self.rng
        text = name
        if name != "__typename" and rng.random() < 0.2:
            self.aliases += 1
            text = f"a{self.aliases}: {name}"
        if rng.random() < 0.15:
            text += " " + rng.choice(CONDITIONS)
        return f"{text} {{ {inner} }}" if inner else text

    def _leaves(self, pool: tuple[str, ...], most: int) -> list[str]:
        return [self._field(name) for name in self.rng.sample(pool, self.rng.randint(1, most))]

    def _relation(self, name: str) -> str:
        leaves = " ".join(self._leaves(RELATION_LEAVES, 4))
        return self._field(name, leaves)

    def node(self) -> str:
        rng = self.rng
        parts = self._leaves(LEAVES, 6)
        parts += [self._relation(name) for name in RELATIONS if rng.random() < 0.4]
        for kind in rng.sample(sorted(KIND_RELATIONS), rng.randint(0, 3)):
            inner = [self._field(name) for name in KIND_LEAVES.get(kind, ()) if rng.random() < 0.5]
            inner += [self._relation(name) for name in KIND_RELATIONS[kind] if rng.random() < 0.4]
            if inner:
                parts.append(f"... on {kind} {{ {' '.join(inner)} }}")
        if rng.random() < 0.3:
            cut = rng.randint(0, len(parts))
            name = f"Bits{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on Entity {{ ref {' '.join(parts[cut:])} }}")
            parts = [*parts[:cut], f"...{name}"]
        return " ".join(parts)

    def document(self) -> str:
        rng = self.rng
        connection = [
            f"edges {{ {'cursor ' if rng.random() < 0.5 else ''}node {{ {self.node()} }} }}"
        ]
        if rng.random() < 0.3:
            connection.append("totalCount")
        if rng.random() < 0.4:
            connection.append("pageInfo { hasNextPage hasPreviousPage startCursor endCursor }")
        if rng.random() < 0.3:
            connection.insert(0, "__typename")
        kind = rng.choice(['kind: "component", ', 'kind: "api", ', "", ""])
        field = self._field(f"entities({kind}first: $first)", " ".join(connection))
        root = f"{field} __typename" if rng.random() < 0.2 else field
        body = f"{{ {root} }} {' '.join(self.fragments)}"
        names = {"$first": "Int", "$yes": "Boolean!", "$no": "Boolean!"}
        declared = ", ".join(f"{v}: {t}" for v, t in names.items() if v in body)
        return f"query Page({declared}) {body}" if declared else f"query Page {body}"


def _json(result: Any) -> bytes:
    errors = [error.formatted for error in result.errors or []]
    return orjson.dumps({"data": result.data, "errors": errors})


async def _run(
    schema: strawberry.Schema, store: GraphStore, document: str, compiled: bool, **variables: Any
) -> tuple[bytes, int, Context]:
    context = Context(store, compiled=compiled)
    before = store.query_count
    result = await schema.execute(document, variable_values=variables, context_value=context)
    return _json(result), store.query_count - before, context


async def _both(
    schema: strawberry.Schema,
    store: GraphStore,
    document: str,
    variables: dict[str, Any] | None = None,
    same_cost: bool = True,
) -> tuple[bytes, int, Context]:
    """The answer with compiled completion (asserted the same bytes, for the same store
    statements unless ``same_cost`` is off, as without it), its cost and its context."""
    fast, fast_cost, context = await _run(schema, store, document, True, **(variables or {}))
    slow, slow_cost, plain = await _run(schema, store, document, False, **(variables or {}))
    assert fast == slow, document
    assert fast_cost == slow_cost or not same_cost, document
    assert plain.compiled_objects == plain.compiled_fallbacks == 0
    return fast, fast_cost, context


@pytest.mark.parametrize("chunk", range(3))
async def test_generated_selections_answer_as_graphql_core_does(
    graphql_schema: strawberry.Schema, store: GraphStore, chunk: int
) -> None:
    await _catalog(store)
    rng = random.Random(1400 + chunk)
    compiled = 0

    for _ in range(40):
        document = _Selection(rng).document()
        variables = {"first": rng.choice([3, 10, 100]), "yes": True, "no": False}
        answer, _, context = await _both(graphql_schema, store, document, variables)

        assert b'"errors":[]' in answer, answer[:300]
        compiled += context.compiled_objects
        assert context.compiled_fallbacks == 0, document
    assert compiled > 0


@pytest.mark.parametrize("document", [PAGE_GRAPHQL, PAGE_WITH_DEPENDENCIES_GRAPHQL])
async def test_the_bench_pages_complete_in_one_closure_from_one_statement(
    graphql_schema: strawberry.Schema, store: GraphStore, document: str
) -> None:
    await _catalog(store)

    answer, cost, context = await _both(graphql_schema, store, document)

    assert cost == 1
    assert (context.compiled_objects, context.compiled_fallbacks) == (1, 0)  # the connection
    assert answer.count(b'"node"') == 3


async def test_a_relation_the_page_did_not_plan_is_completed_by_graphql_core(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    nested = (
        '{ entities(kind: "component", first: 3) { edges { node { ref '
        "owner { ref owner { ref } } } } } }"
    )

    answer, cost, context = await _both(graphql_schema, store, nested)

    assert cost > 1  # not planned: listing, then loaders
    # Tried once per object selection that reads an unplanned relation (the connection,
    # and the owners with an owner), then left to graphql-core for the rest of the request.
    assert context.compiled_fallbacks == 2
    assert b'"owner":{"ref":"' in answer


async def test_a_field_with_arguments_is_never_compiled(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    document = (
        '{ entities(kind: "component", first: 3) { edges { node { ref '
        'relations(type: "ownedBy") { type targetRef } } } } }'
    )

    answer, _, context = await _both(graphql_schema, store, document)

    # Only the lists of relations (plain attributes) are compiled, each in one pass. The
    # connection was tried once: the nodes' concrete type (and its field with arguments)
    # shows only at run time.
    assert answer.count(b'"targetRef"') > 3
    assert context.compiled_objects == answer.count(b'"relations"') == 3
    assert context.compiled_fallbacks == 1


async def test_an_error_raised_while_completing_is_placed_as_graphql_core_places_it(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    broken = record("component:default/broken", title="B")
    broken.document["metadata"]["annotations"] = "not an object"
    broken.document["metadata"]["tags"] = 7
    await store.upsert_entities("src", "r2", [broken])
    document = (
        'query { entities(kind: "component", first: 5) { edges { node { ref '
        'annotations owner { ref } } } } other: entities(kind: "api", first: 2) '
        "{ edges { node { tags ref } } } }"
    )
    lists = '{ entities(kind: "component", first: 2) { edges { node { ref tags } } } }'

    # an error in one root field cancels its sibling, whose statement may or may not have
    # been sent by then: the cost is not compared here
    answer, _, context = await _both(graphql_schema, store, document, same_cost=False)
    listed, _, _ = await _both(graphql_schema, store, lists)

    assert b'"path":["entities","edges",0,"node","annotations"]' in answer
    assert context.compiled_fallbacks == 1  # the broken page (the error may cancel the other)
    assert b'"path":["entities","edges",0,"node","tags"]' in listed


class _Shout(SchemaExtension):
    """A middleware: every resolver's string comes back upper-cased."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_every_field_still_passes_through_a_middleware(store: GraphStore) -> None:
    await _catalog(store)
    schema = build_schema(extensions=[_Shout])
    context = Context(store)

    result = await schema.execute(
        '{ entities(kind: "api", first: 1) { edges { node { name } } } }', context_value=context
    )

    assert result.data == {"entities": {"edges": [{"node": {"name": "API-0"}}]}}
    assert context.compiled_objects == 0


def _walk_document(rng: random.Random, selection: _Selection | None = None) -> str:
    """A roll-up or a dependencies walk, its items selected at random (relations the walk
    does not plan included: those load, and leave their list to graphql-core) by
    ``selection`` (a fresh one when not given)."""
    selection = selection or _Selection(rng)
    if rng.random() < 0.5:
        include = rng.choice(["true", "false"])
        field = selection._field(
            f'ownedEntities(owner: "group:default/group-0", includeSubgroups: {include})',
            selection.node(),
        )
    else:
        direction = rng.choice(["DOWNSTREAM", "UPSTREAM"])
        parts = [selection._field("nodes", selection.node())]
        if rng.random() < 0.5:
            parts.append(selection._field("root", selection.node()))
        if rng.random() < 0.5:
            edges = rng.sample(["from", "to", "depth", "__typename"], rng.randint(1, 4))
            parts.append(selection._field("edges", " ".join(edges)))
        field = selection._field(
            f'dependencies(ref: "component:default/component-{rng.randint(0, 2)}", '
            f"direction: {direction}, maxDepth: {rng.randint(1, 3)})",
            " ".join(parts),
        )
    body = f"{{ {field} }} {' '.join(selection.fragments)}"
    declared = ", ".join(f"{v}: Boolean!" for v in ("$yes", "$no") if v in body)
    return f"query Walk({declared}) {body}" if declared else f"query Walk {body}"


@pytest.mark.parametrize("chunk", range(2))
async def test_generated_walks_answer_as_graphql_core_does(
    graphql_schema: strawberry.Schema, store: GraphStore, chunk: int
) -> None:
    await _catalog(store)
    rng = random.Random(2600 + chunk)
    compiled = 0

    for _ in range(30):
        document = _walk_document(rng)
        answer, _, context = await _both(
            graphql_schema, store, document, {"yes": True, "no": False}
        )

        assert b'"errors":[]' in answer, answer[:300]
        compiled += context.compiled_objects
    assert compiled > 0


@pytest.mark.parametrize(
    "document",
    [
        '{ ownedEntities(owner: "group:default/group-0", includeSubgroups: true) { ref kind } }',
        '{ dependencies(ref: "component:default/component-0", maxDepth: 3) { nodes { __typename ref kind } } }',
    ],
)
async def test_a_walks_list_of_entities_completes_in_one_closure(
    graphql_schema: strawberry.Schema, store: GraphStore, document: str
) -> None:
    await _catalog(store)

    answer, _, context = await _both(graphql_schema, store, document)

    assert answer.count(b'"ref"') > 2
    assert (context.compiled_objects, context.compiled_fallbacks) == (1, 0)  # the list


async def test_a_second_request_of_the_same_document_reuses_its_plans(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    shared = SharedPlans.of(graphql_schema._schema)
    document = '{ ownedEntities(owner: "group:default/group-0") { ref kind __typename } }'

    first, _, _ = await _both(graphql_schema, store, document)
    compiled = shared.misses
    second, _, context = await _both(graphql_schema, store, document)

    assert second == first
    assert context.compiled_objects == 1
    assert shared.misses == compiled  # nothing compiled again
    assert shared.hits > 0


async def test_skip_and_include_variables_select_their_own_plans(
    graphql_schema: strawberry.Schema, store: GraphStore
) -> None:
    await _catalog(store)
    document = (
        "query($a: Boolean!, $b: Boolean!) { ownedEntities("
        'owner: "group:default/group-0", includeSubgroups: true) @include(if: true) { ref '
        "title @include(if: $a) ... on Component { kind @skip(if: $b) } } }"
    )
    answers = set()

    for a, b in [(True, True), (False, True), (True, False), (True, True), (False, False)]:
        answer, _, context = await _both(graphql_schema, store, document, {"a": a, "b": b})
        assert (b'"title"' in answer) is a
        assert (b'"kind"' in answer) is not b
        assert context.compiled_objects == 1
        answers.add(answer)

    assert len(answers) == 4
