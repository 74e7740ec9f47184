"""The committed ``schema.graphql`` is what the code serves, so front ends can review changes."""

from __future__ import annotations

from pathlib import Path

from schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"

    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is out of date: run `make schema` and commit the result"
    )


def test_schema_keeps_the_fixed_names() -> None:
    sdl = build_schema().as_str()

    for fixed in (
        "entity(ref: String!): Entity",
        "first: Int = 25, after: String = null): EntityConnection!",
        "dependencies(ref: String!, direction: Direction = DOWNSTREAM, maxDepth: Int = 10): DependencyGraph!",
        "ownedEntities(owner: String!, includeSubgroups: Boolean = false): [Entity!]!",
        "interface Entity",
        "type EntityConnection",
        "type DependencyEdge",
    ):
        assert fixed in sdl
