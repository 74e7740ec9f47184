"""Summaries (entities read without their documents, :func:`schema.planner.needs_document`)
answer byte for byte as whole entities do, for the same store statements.

Generated selections of the entities page and of the walks (``ownedEntities``,
``dependencies``; :mod:`tests.schema.test_compiled`'s generators, their node leaves drawn
mostly from :data:`~schema.planner.SUMMARY_FIELDS`) run twice on the same store, with
summaries on and off (``Context.summaries``), compiled completion on and off; the JSON of
the answers (data and errors) must be the same bytes and cost the same statements.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import strawberry

from bench.questions import PAGE_GRAPHQL, ROLLUP_GRAPHQL
from graph.port import GraphStore
from schema.context import Context
from schema.planner import SUMMARY_FIELDS
from tests.schema.test_compiled import LEAVES, _json, _Selection, _walk_document
from tests.schema.test_planner import _catalog


class _Summarised(_Selection):
    """:class:`_Selection`, its nodes' leaves drawn from the summary's most of the time (85%)."""

    def _leaves(self, pool: tuple[str, ...], most: int) -> list[str]:
        if pool is LEAVES and self.rng.random() < 0.85:
            pool = tuple(sorted(SUMMARY_FIELDS))
        return super()._leaves(pool, most)


async def _both(
    schema: strawberry.Schema, store: GraphStore, document: str, variables: dict[str, Any]
) -> tuple[bytes, int]:
    """The answer with summaries (asserted the same bytes, for the same store statements,
    as without them, each with compiled completion on and off) and how many store reads
    gave summaries."""
    answers, costs, summaries = set(), set(), 0
    for summary in (True, False):
        for compiled in (True, False):
            context = Context(store, summaries=summary, compiled=compiled)
            before = store.query_count
            result = await schema.execute(
                document, variable_values=variables, context_value=context
            )
            answers.add(_json(result))
            costs.add(store.query_count - before)
            summaries += context.summary_reads if summary and compiled else 0
            assert summary or context.summary_reads == 0
    assert len(answers) == 1, document
    assert len(costs) == 1, document
    return answers.pop(), summaries


@pytest.mark.parametrize("chunk", range(2))
async def test_generated_selections_answer_as_whole_entities_do(
    graphql_schema: strawberry.Schema, store: GraphStore, chunk: int
) -> None:
    await _catalog(store)
    rng = random.Random(3100 + chunk)
    summarised = 0

    for n in range(40):
        selection = _Summarised(rng)
        document = selection.document() if n % 2 else _walk_document(rng, selection)
        variables = {"first": rng.choice([3, 10, 100]), "yes": True, "no": False}
        answer, summaries = await _both(graphql_schema, store, document, variables)

        assert b'"errors":[]' in answer, answer[:300]
        summarised += summaries
    assert summarised >= 8  # the comparison covers summaries, not only whole entities


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (PAGE_GRAPHQL, {}),
        (ROLLUP_GRAPHQL, {"owner": "group:default/group-0"}),
        ("{ entities(first: 100) { totalCount edges { node { ref kind source } } } }", {}),
    ],
)
async def test_the_bench_questions_read_summaries(
    graphql_schema: strawberry.Schema, store: GraphStore, document: str, variables: dict[str, Any]
) -> None:
    await _catalog(store)

    answer, summaries = await _both(graphql_schema, store, document, variables)

    assert summaries == 1
    assert b'"ref"' in answer


@pytest.mark.parametrize(
    "node",
    [
        "ref title",
        "ref ... on Component { type }",
        "ref links { url }",
        "ref relations { type }",
    ],
)
async def test_a_selection_that_reads_the_document_reads_whole_entities(
    graphql_schema: strawberry.Schema, store: GraphStore, node: str
) -> None:
    await _catalog(store)
    page = f'{{ entities(kind: "component", first: 3) {{ edges {{ node {{ {node} }} }} }} }}'
    rollup = f'{{ ownedEntities(owner: "group:default/group-0") {{ {node} }} }}'

    for document in (page, rollup):
        _, summaries = await _both(graphql_schema, store, document, {})

        assert summaries == 0, document
