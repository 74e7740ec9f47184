"""CatalogLookup: annotation values to refs, one paged scan per annotation."""

from __future__ import annotations

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import GraphStore
from ingestors.lookup import CatalogLookup
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, Snapshot


def _component(name: str, annotations: dict[str, str]) -> Descriptor:
    raw = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    }
    return Descriptor(validate_entity(raw), SourceLocation(f"{name}.yaml"))


async def test_refs_by_annotation(store: GraphStore) -> None:
    descriptors = [
        _component(f"svc-{i}", {"jenkins.io/job-full-name": f"Team/svc-{i % 600}"})
        for i in range(1200)
    ]
    descriptors.append(_component("plain", {}))

    async def fetch() -> Snapshot:
        return Snapshot("test", descriptors=descriptors)

    await run_ingestion(store, source="git", source_type="test", fetch=fetch)
    found = await CatalogLookup(store).refs_by_annotation("jenkins.io/job-full-name")
    assert len(found) == 600
    assert sorted(found["team/svc-7"]) == ["component:default/svc-607", "component:default/svc-7"]
    assert await CatalogLookup(store).refs_by_annotation("github.com/project-slug") == {}
    assert await CatalogLookup(None).refs_by_annotation("jenkins.io/job-full-name") == {}
