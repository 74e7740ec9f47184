"""Snapshot.add: what every API transform uses to turn a built document into a descriptor."""

from __future__ import annotations

from catalog.errors import SourceLocation
from ingestors.snapshot import Snapshot


def test_add_keeps_valid_documents_and_rejects_invalid_ones_by_ref() -> None:
    snapshot = Snapshot("test")
    good = {
        "apiVersion": "stagegraph.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "app-ci"},
        "spec": {"type": "jenkins"},
    }
    bad = {**good, "metadata": {"name": "app-ci-2"}, "spec": {}}
    nameless = {**good, "metadata": {"title": "no name"}}

    assert snapshot.add(good, SourceLocation("jenkins:app"), defer=True) is not None
    assert snapshot.add(bad, SourceLocation("jenkins:app")) is None
    assert snapshot.add(nameless, SourceLocation("jenkins:app")) is None

    assert [(str(d.entity.ref), d.defer) for d in snapshot.descriptors] == [
        ("pipeline:default/app-ci", True)
    ]
    # The rejected one keeps its last good version in the store (the runner touches it).
    assert [r.ref for r in snapshot.rejected] == ["pipeline:default/app-ci-2"]
    assert "spec.type" in snapshot.rejected[0].error.message
    assert snapshot.rejected[0].error.file == "jenkins:app"
    # Without a name there is no ref to keep: a run error.
    assert len(snapshot.errors) == 1 and "metadata.name" in snapshot.errors[0].message
