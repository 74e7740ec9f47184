"""``require_role``: what a resolver calls before doing something a reader may not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import strawberry

from graph import open_store
from graph.port import GraphStore
from schema.access import Role, require_role
from schema.context import Context, Info
from schema.errors import MaskInternalErrors


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class Mutation:
    """Test-only mutations; the real schema's call ``require_role`` the same way."""

    @strawberry.mutation
    def write(self, info: Info) -> str:
        require_role(info, "writer")
        return info.context.role

    @strawberry.mutation
    def administer(self, info: Info) -> str:
        require_role(info, "admin")
        return info.context.role


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, extensions=[MaskInternalErrors])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GraphStore]:
    graph_store = open_store(f"sqlite:///{tmp_path / 'access.db'}")
    await graph_store.setup()
    try:
        yield graph_store
    finally:
        await graph_store.close()


@pytest.mark.parametrize(
    ("role", "field", "allowed"),
    [
        ("reader", "write", False),
        ("writer", "write", True),
        ("admin", "write", True),
        ("writer", "administer", False),
        ("admin", "administer", True),
    ],
)
async def test_require_role_lets_that_role_and_higher_through(
    store: GraphStore, role: Role, field: str, allowed: bool
) -> None:
    result = await SCHEMA.execute(
        f"mutation {{ {field} }}", context_value=Context(store, role=role)
    )

    if allowed:
        assert result.errors is None
        assert result.data == {field: role}
    else:
        assert result.data is None
        assert result.errors is not None
        error: dict[str, Any] = dict(result.errors[0].formatted)
        assert error["extensions"] == {"code": "FORBIDDEN"}
        needed = "writer" if field == "write" else "admin"
        assert error["message"].startswith(f"this operation needs the {needed} role")
        assert f"the request has {role}" in error["message"]


async def test_the_context_role_defaults_to_reader(store: GraphStore) -> None:
    result = await SCHEMA.execute("mutation { write }", context_value=Context(store))

    assert result.errors is not None
    assert dict(result.errors[0].formatted)["extensions"] == {"code": "FORBIDDEN"}
