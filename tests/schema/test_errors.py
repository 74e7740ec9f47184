"""Error codes, masking and logging (schema.errors): every error a client gets has a code,
client mistakes are logged as one line without a traceback, server faults at error with it,
and with introspection off no message suggests a name."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import strawberry

from graph import open_store
from graph.port import GraphStore
from ingestors.git import ingest_git
from schema import build_schema
from schema.access import Role
from schema.context import Context

DEMO = Path(__file__).resolve().parents[2] / "examples"
REF_QUERY = "query ($ref: String!) { entity(ref: $ref) { ref } }"
PAGE_QUERY = "query ($first: Int) { entities(first: $first) { totalCount } }"


@pytest.fixture(scope="module")
async def demo_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('errors') / 'demo.db'}")
    await store.setup()
    run = await ingest_git(store, str(DEMO), name="demo")
    assert run.status == "SUCCEEDED", run.errors
    try:
        yield store
    finally:
        await store.close()


async def errors_of(
    schema: strawberry.Schema,
    store: GraphStore | None,
    document: str,
    role: Role = "reader",
    **variables: Any,
) -> list[dict[str, Any]]:
    context = Context(store, role=role) if store is not None else None
    result = await schema.execute(document, variable_values=variables, context_value=context)
    assert result.errors, "expected errors"
    return [dict(e.formatted) for e in result.errors]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "Variable '$ref' has invalid value: Expected a value of non-null type 'String!'"),
        ({"ref": {"$ne": 1}}, "Variable '$ref' has invalid value: String cannot represent"),
    ],
)
async def test_a_bad_variable_value_is_bad_user_input_not_internal(
    demo_store: GraphStore, variables: dict[str, Any], message: str
) -> None:
    errors = await errors_of(build_schema(), demo_store, REF_QUERY, **variables)

    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert errors[0]["message"].startswith(message)


async def test_a_number_too_large_for_int_is_bad_user_input(demo_store: GraphStore) -> None:
    errors = await errors_of(build_schema(), demo_store, PAGE_QUERY, first=1e308)

    assert errors == [
        {
            "message": "Variable '$first' has invalid value: Int cannot represent non 32-bit "
            "signed integer value: 1e+308",
            "locations": [{"line": 1, "column": 8}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


async def test_syntax_and_validation_errors_carry_their_codes(demo_store: GraphStore) -> None:
    schema = build_schema()

    syntax = await errors_of(schema, demo_store, "{ entities {")
    invalid = await errors_of(schema, demo_store, "{ entitie { totalCount } }")

    assert syntax[0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert invalid[0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_with_introspection_off_no_message_suggests_a_name(demo_store: GraphStore) -> None:
    closed = build_schema(introspection=False)

    field = await errors_of(closed, demo_store, "{ entitie { totalCount } }")
    argument = await errors_of(closed, demo_store, '{ entities(kindd: "x") { totalCount } }')
    enum = await errors_of(
        closed, demo_store, '{ dependencies(ref: "x", direction: DOWNSTREM) { nodes { ref } } }'
    )
    type_name = await errors_of(
        closed, demo_store, '{ entity(ref: "x") { ... on Componen { ref } } }'
    )

    messages = [e["message"] for e in field + argument + enum + type_name]
    assert messages == [
        "Cannot query field 'entitie' on type 'Query'.",
        "Unknown argument 'kindd' on field 'Query.entities'.",
        "Value 'DOWNSTREM' does not exist in 'Direction' enum.",
        "Unknown type 'Componen'.",
    ]


async def test_with_introspection_on_messages_still_suggest(demo_store: GraphStore) -> None:
    errors = await errors_of(build_schema(), demo_store, "{ entitie { totalCount } }")

    assert "Did you mean 'entities'" in errors[0]["message"]


def client_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    return [
        (r.levelno, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.name.startswith(("stagegraph", "strawberry"))
    ]


async def test_client_errors_are_one_line_without_a_traceback(
    demo_store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    schema = build_schema()
    caplog.set_level(logging.DEBUG)

    await errors_of(schema, demo_store, 'mutation { deleteEntities(source: "bot", refs: []) }')
    await errors_of(
        schema,
        demo_store,
        'mutation { deleteEntities(source: "bot", refs: ["component:default/order-service"]) }',
        role="writer",
    )
    await errors_of(schema, demo_store, "{ entities(first: 500) { totalCount } }")
    await errors_of(schema, demo_store, REF_QUERY)
    await errors_of(schema, demo_store, "{ entitie { totalCount } }")
    await errors_of(schema, demo_store, " ".join(f"query q{i} {{ __typename }}" for i in range(21)))

    lines = client_lines(caplog)
    assert [(level, traceback) for level, _, traceback in lines] == [
        (logging.WARNING, False),
        (logging.INFO, False),
        (logging.INFO, False),
        (logging.INFO, False),
        (logging.INFO, False),
        (logging.WARNING, False),
    ]
    codes = [message.rsplit("(", 1)[1] for _, message, _ in lines]
    assert codes == [
        "FORBIDDEN)",
        "CONFLICT)",
        "BAD_USER_INPUT)",
        "BAD_USER_INPUT)",
        "GRAPHQL_VALIDATION_FAILED)",
        "QUERY_TOO_COMPLEX)",
    ]
    assert lines[0][1].startswith("client error in anonymous operation at deleteEntities: ")


async def test_a_server_fault_is_masked_and_logged_at_error_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    # No context: the resolver fails reading its loaders, a fault of the server's.
    errors = await errors_of(build_schema(), None, '{ entity(ref: "component:x") { ref } }')

    assert errors[0]["message"] == "Internal error"
    assert errors[0]["extensions"] == {"code": "INTERNAL"}
    lines = client_lines(caplog)
    assert [(level, traceback) for level, _, traceback in lines] == [(logging.ERROR, True)]
    assert lines[0][1] == "internal error in anonymous operation at ['entity']"
