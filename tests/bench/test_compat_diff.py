"""The pure normalise/diff of ``make compat`` (bench/compat_diff.py)."""

from __future__ import annotations

from bench.compat_diff import MISSING, PLACEHOLDER, diff, normalise


def _entity(name: str, **extra: object) -> dict[str, object]:
    metadata: dict[str, object] = {"name": name, "uid": f"uid-{name}", "etag": f"etag-{name}"}
    metadata["annotations"] = {"backstage.io/managed-by-location": f"file:/{name}", "a": "b"}
    return {"kind": "Component", "metadata": metadata, **extra}


def test_uids_etags_and_location_annotations_do_not_count() -> None:
    ours, theirs = _entity("x"), _entity("x")
    theirs["metadata"]["uid"] = "other"  # type: ignore[index]
    theirs["metadata"]["annotations"]["backstage.io/managed-by-location"] = "url:y"  # type: ignore[index]
    assert diff(normalise(ours), normalise(theirs)) == []
    assert normalise(ours)["metadata"]["uid"] == PLACEHOLDER


def test_relations_compare_as_a_set() -> None:
    a = {"type": "ownedBy", "targetRef": "group:default/a"}
    b = {"type": "partOf", "targetRef": "system:default/s"}
    assert (
        diff(normalise(_entity("x", relations=[a, b])), normalise(_entity("x", relations=[b, a])))
        == []
    )
    found = diff(normalise(_entity("x", relations=[a])), normalise(_entity("x", relations=[a, b])))
    assert [(d.path, d.ours) for d in found] == [("$.relations[partOf system:default/s]", MISSING)]


def test_entity_lists_match_by_ref_and_order_counts_only_when_asked() -> None:
    ours = [_entity("a"), _entity("b")]
    theirs = [_entity("b"), _entity("a"), _entity("c")]
    unordered = diff(normalise(ours), normalise(theirs), ordered=False)
    assert [d.path for d in unordered] == ["$[component:default/c]"]
    ordered = diff(normalise(ours), normalise(theirs), ordered=True)
    assert [d.path for d in ordered] == ["$[component:default/c]", "$(order)"]


def test_cursors_and_error_messages_are_placeholders() -> None:
    ours = {"pageInfo": {"nextCursor": "abc"}, "error": {"name": "NotFoundError", "message": "x"}}
    theirs = {"pageInfo": {"nextCursor": "zzz"}, "error": {"name": "NotFoundError", "message": "y"}}
    assert diff(normalise(ours), normalise(theirs)) == []
    assert diff(
        normalise({"pageInfo": {}}),
        normalise(theirs["pageInfo"] and {"pageInfo": {"nextCursor": "q"}}),
    )
