"""Helpers for running GraphQL queries against a real store, the way the server does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import strawberry

from graph.port import GraphStore
from ingestors.git import ingest_git
from schema import build_schema
from schema.access import Role
from schema.context import Context

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "backstage-examples"
DEMO = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def graphql_schema() -> strawberry.Schema:
    return build_schema()


class Client:
    """Runs operations with a fresh context per call, as one HTTP request would."""

    def __init__(self, schema: strawberry.Schema, store: GraphStore, role: Role = "reader") -> None:
        self.schema = schema
        self.store = store
        self.role: Role = role

    async def query(self, document: str, **variables: Any) -> dict[str, Any]:
        result = await self.schema.execute(
            document, variable_values=variables, context_value=Context(self.store, role=self.role)
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    async def errors(self, document: str, **variables: Any) -> list[dict[str, Any]]:
        result = await self.schema.execute(
            document, variable_values=variables, context_value=Context(self.store, role=self.role)
        )
        assert result.errors, "expected errors"
        return [dict(e.formatted) for e in result.errors]


@pytest.fixture
async def backstage(graphql_schema: strawberry.Schema, store: GraphStore) -> Client:
    """The Backstage example catalog (all.yaml + acme-corp.yaml) loaded into the store."""
    run = await ingest_git(
        store, str(FIXTURE), name="backstage", paths=["all.yaml", "acme-corp.yaml"]
    )
    assert run.status == "SUCCEEDED", run.errors
    return Client(graphql_schema, store)


@pytest.fixture
async def demo(graphql_schema: strawberry.Schema, store: GraphStore) -> Client:
    """The demo catalog of examples/ loaded into the store."""
    run = await ingest_git(store, str(DEMO), name="demo")
    assert run.status == "SUCCEEDED", run.errors
    return Client(graphql_schema, store)


@pytest.fixture
def client(graphql_schema: strawberry.Schema, store: GraphStore) -> Client:
    return Client(graphql_schema, store)


@pytest.fixture
def writer(graphql_schema: strawberry.Schema, store: GraphStore) -> Client:
    return Client(graphql_schema, store, role="writer")
