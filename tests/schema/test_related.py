"""The one relation walk (schema.related) and the kind registry (schema.entity)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from graph.port import StoredEntity, StoredRelation
from schema.entity import GenericEntity, kind_type, to_graphql
from schema.kinds import Component
from schema.related import refs_seen, related_refs
from tests.factories import record, rel
from tests.schema.conftest import Client


def _row(source: str, type_: str, target: str) -> StoredRelation:
    return StoredRelation(source, type_, target, "test", True, True)


NOW = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = "component:default/A", "component:default/b", "api:default/c"
ROWS = [
    _row(A, "dependsOn", B),
    _row(A, "providesApi", C),
    _row(B, "dependsOn", A),
    _row(A, "dependsOn", A),  # a self-relation reads both ways
]


def test_a_row_reads_forward_from_its_source_and_inverse_from_its_target() -> None:
    key = A.lower()

    assert refs_seen([key], [ROWS], "dependsOn", None) == [A, B]
    assert refs_seen([key], [ROWS], "dependencyOf", None) == [A, B]
    assert refs_seen([key], [ROWS], "providesApi", None) == [C]
    assert refs_seen(["component:default/b"], [ROWS], "dependencyOf", None) == [A]


def test_the_walk_keeps_one_kind_and_gives_each_ref_once_in_key_order() -> None:
    keys = [A.lower(), "component:default/b"]

    assert refs_seen(keys, [ROWS, ROWS], "dependsOn", "component") == [A, B]
    assert refs_seen(keys, [ROWS, ROWS], "providesApi", "component") == []
    assert refs_seen(keys, [ROWS, ROWS], "providesApi", "api") == [C]


def test_the_walk_refuses_a_relation_name_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="unknown relation type 'dependOn'"):
        related_refs(cast(Any, None), ["component:default/a"], "dependOn")


async def test_a_relation_field_keeps_the_kind_it_is_typed_for(client: Client) -> None:
    await client.store.upsert_entities(
        "test",
        "r1",
        [record("system:default/s"), record("component:default/a"), record("api:default/c")],
    )
    await client.store.upsert_relations(
        "test",
        "r1",
        [
            rel("component:default/a", "partOf", "system:default/s"),
            rel("api:default/c", "partOf", "system:default/s"),
            rel("component:default/a", "partOf", "system:default/gone"),
        ],
    )

    data = await client.query(
        """{ entity(ref: "system:default/s") { ... on System {
               components { ref } apis { ref } resources { ref } } } }"""
    )

    assert data["entity"] == {
        "components": [{"ref": "component:default/a"}],
        "apis": [{"ref": "api:default/c"}],
        "resources": [],
    }


def _stored(ref: str, kind: str) -> StoredEntity:
    return StoredEntity(ref, kind, "default", ref.rsplit("/", 1)[1], {}, "h", "test", "r1", NOW)


def test_a_kind_type_is_found_by_its_kind_and_an_unknown_kind_is_generic() -> None:
    assert type(to_graphql(_stored("component:default/a", "component"))) is Component
    assert type(to_graphql(_stored("widget:default/w", "widget"))) is GenericEntity


def test_a_kind_takes_one_type() -> None:
    with pytest.raises(ValueError, match="give each lowercase kind one type"):
        kind_type("component")(Component)
