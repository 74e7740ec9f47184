"""The Strawberry GraphQL schema of Stagegraph."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.errors import MaskInternalErrors
from schema.kinds import ALL_TYPES
from schema.query import Query


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        types=list(ALL_TYPES),
        extensions=[MaskInternalErrors(), ParserCache(maxsize=256), ValidationCache(maxsize=256)],
    )
