"""Entities in Backstage's JSON (:mod:`api.catalog.entities`)."""

from __future__ import annotations

from api.catalog.entities import relations_by_key
from graph.port import StoredRelation


def test_relations_by_key_lists_both_directions_only_for_the_keys_asked_for() -> None:
    relations = [
        StoredRelation("component:default/A", "ownedBy", "group:default/t", "src"),
        StoredRelation("component:default/b", "dependsOn", "component:default/A", "src"),
        StoredRelation("component:default/b", "ownedBy", "group:default/t", "src"),
    ]

    every = relations_by_key(relations)
    asked = relations_by_key(relations, {"component:default/a"})

    assert asked == {
        "component:default/a": [
            {"type": "dependencyOf", "targetRef": "component:default/b"},
            {"type": "ownedBy", "targetRef": "group:default/t"},
        ]
    }
    assert asked["component:default/a"] == every["component:default/a"]
    assert set(every) == {"component:default/a", "component:default/b", "group:default/t"}
