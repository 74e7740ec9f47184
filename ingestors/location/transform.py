"""The Location entity a registered location stands for, as Backstage makes it: named
``generated-<sha1 of "type:target">``, ``spec: {type, target, presence: required}``, managed
by itself. Entities read from the location have it as their parent (their ancestry).
:func:`with_source_template` marks what a location made by a scaffolder task holds. Pure."""

from __future__ import annotations

import hashlib
from typing import Any

from catalog.relations import SOURCE_TEMPLATE_ANNOTATION
from ingestors.snapshot import Descriptor, Snapshot

LOCATION_TYPE = "url"


def location_ref(target: str, type_: str = LOCATION_TYPE) -> str:
    """``location:default/generated-<sha1>``: the ref of the location's own entity."""
    return f"location:default/{_name(target, type_)}"


def _name(target: str, type_: str) -> str:
    return "generated-" + hashlib.sha1(f"{type_}:{target}".encode()).hexdigest()


def location_entity(target: str, type_: str = LOCATION_TYPE) -> dict[str, Any]:
    """The document of the location's own entity."""
    here = f"{type_}:{target}"
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": _name(target, type_),
            "namespace": "default",
            "annotations": {
                "backstage.io/managed-by-location": here,
                "backstage.io/managed-by-origin-location": here,
            },
        },
        "spec": {"type": type_, "target": target, "presence": "required"},
    }


def with_source_template(snapshot: Snapshot, template: str) -> Snapshot:
    """``snapshot`` with every entity but Locations annotated
    ``backstage.io/source-template: template``, unless it names a template itself (as
    Backstage's ``catalog:write`` adds the annotation to what a template writes)."""
    for index, item in enumerate(snapshot.descriptors):
        metadata = item.entity.metadata
        if item.entity.kind.lower() == "location" or SOURCE_TEMPLATE_ANNOTATION in (
            metadata.annotations
        ):
            continue
        annotations = {**metadata.annotations, SOURCE_TEMPLATE_ANNOTATION: template}
        entity = item.entity.model_copy(
            update={"metadata": metadata.model_copy(update={"annotations": annotations})}
        )
        snapshot.descriptors[index] = Descriptor(entity, item.location, item.defer)
    return snapshot
