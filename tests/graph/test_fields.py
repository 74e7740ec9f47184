"""The searchable fields of an entity (graph.fields) as rows, pair by pair, and its uid."""

from __future__ import annotations

import uuid

from graph.fields import UID_NAMESPACE, entity_field_rows, entity_fields, entity_uid


def test_the_uid_is_the_uuid5_of_the_lowercased_key() -> None:
    for key in ("component:default/a", "Group:Team-Ä/b", ""):
        assert entity_uid(key) == str(uuid.uuid5(UID_NAMESPACE, key.lower()))


def test_fields_flatten_the_document_lowercased_once_per_pair_skipping_identity() -> None:
    document = {
        "kind": "Component",
        "metadata": {"name": "ignored", "uid": "ignored", "Tags": ["Java", "java", 7]},
        "spec": {
            "owner": "Team-A",
            "deep": [{"x": None}, ["n", True, 2.0]],
            "long": "v" * 201,
        },
        "status": {"ignored": 1},
        "": "no path",
    }

    rows = entity_field_rows("component:default/a", "a", "default", document)

    assert rows == [
        ("component:default/a", "metadata.name", "a", "a"),
        ("component:default/a", "metadata.namespace", "default", "default"),
        ("component:default/a", "metadata.uid", rows[2][3], rows[2][3]),
        ("component:default/a", "kind", "component", "Component"),
        ("component:default/a", "metadata.tags", "java", "Java"),
        ("component:default/a", "metadata.tags.java", "true", "true"),
        ("component:default/a", "metadata.tags", "7", "7"),
        ("component:default/a", "spec.owner", "team-a", "Team-A"),
        ("component:default/a", "spec.deep.x", None, None),
        ("component:default/a", "spec.deep", "n", "n"),
        ("component:default/a", "spec.deep.n", "true", "true"),
        ("component:default/a", "spec.deep", "true", "true"),
        ("component:default/a", "spec.deep", "2", "2"),
        ("component:default/a", "spec.long", None, None),
    ]
    assert rows[2][3] == entity_uid("component:default/a")
    assert [
        (f.path, f.value, f.original)
        for f in entity_fields("component:default/a", "a", "default", document)
    ] == [r[1:] for r in rows]
