"""schema.hooks: each extension's hooks still run, in order, when others define none."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from graph.port import GraphStore
from schema import build_schema
from schema.context import Context

CALLS: list[str] = []


class _Quiet(SchemaExtension):
    """Defines no hook."""


class _Recording(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        CALLS.append("operation")
        yield
        CALLS.append("/operation")

    def on_parse(self) -> Iterator[None]:
        CALLS.append("parse")
        yield

    def on_validate(self) -> Iterator[None]:
        CALLS.append("validate")
        yield

    async def on_execute(self) -> None:  # type: ignore[override]
        CALLS.append("execute")


async def test_every_defined_hook_runs_once_per_request(store: GraphStore) -> None:
    schema = build_schema(extensions=[_Quiet, _Recording, _Quiet])
    CALLS.clear()

    for _ in range(2):
        result = await schema.execute("{ __typename }", context_value=Context(store))
        assert result.data == {"__typename": "Query"}

    assert CALLS == ["operation", "parse", "validate", "execute", "/operation"] * 2
