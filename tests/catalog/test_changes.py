from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from catalog.changes import ChangeType, changed_fields, entity_change

AT = datetime(2026, 12, 5, tzinfo=UTC)


def _doc(owner: str = "team-a", tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "svc", "tags": tags or ["python"]},
        "spec": {"owner": owner, "type": "service"},
    }


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> Any:
    return entity_change(
        change_id="c1",
        at=AT,
        source="git",
        run_id="r1",
        ref="component:default/svc",
        kind="Component",
        before=before,
        after=after,
    )


def test_changed_fields_names_nested_dot_paths() -> None:
    assert changed_fields(_doc(), _doc(owner="team-b", tags=["go"])) == [
        "metadata.tags",
        "spec.owner",
    ]


def test_a_key_added_or_removed_counts_even_when_none() -> None:
    assert changed_fields({"spec": {"a": None}}, {"spec": {}}) == ["spec.a"]
    assert changed_fields({"spec": {}}, {"spec": {"a": 1}}) == ["spec.a"]


def test_equal_documents_make_no_change() -> None:
    assert _change(_doc(), _doc()) is None


def test_updated_created_deleted() -> None:
    updated = _change(_doc(), _doc(owner="team-b"))
    assert updated.change is ChangeType.UPDATED and updated.fields == ("spec.owner",)
    created = _change(None, _doc())
    assert created.change is ChangeType.CREATED and "spec.owner" in created.fields
    deleted = _change(_doc(), None)
    assert deleted.change is ChangeType.DELETED and deleted.after is None


def test_neither_side_is_an_error_naming_the_ref() -> None:
    with pytest.raises(ValueError, match="component:default/svc"):
        _change(None, None)


def test_created_and_deleted_name_every_leaf_as_a_comparison_with_nothing_would() -> None:
    document = {
        "b": None,
        "a": {"z": [1], "empty": {}, "y": {"x": "v"}},
        "A": 1,
        "spec": {},
    }
    expected = changed_fields({}, document)
    assert expected == ["A", "a.y.x", "a.z", "b"]
    assert _change(None, document).fields == tuple(expected)
    assert _change(document, None).fields == tuple(changed_fields(document, {}))
