"""From a validated entity to the record a store writes: its identity, full document and
content hash.

The hash covers the whole document except the annotations that change with every commit
(:data:`VOLATILE_ANNOTATIONS`), so a new commit that does not touch an entity leaves it
"unchanged". Ingestion runs (:mod:`ingestors.runner`) and pushes (:mod:`ingestors.push`)
both write through :func:`to_record`.
"""

from __future__ import annotations

import hashlib

import orjson

from catalog.entity import Entity
from graph.port import EntityRecord

#: Annotations that change with every commit; left out of the content hash so that a new
#: commit that does not touch an entity leaves it "unchanged".
VOLATILE_ANNOTATIONS = frozenset(
    {
        "backstage.io/managed-by-location",
        "backstage.io/managed-by-origin-location",
        "backstage.io/source-location",
    }
)


def content_hash(document: dict[str, object]) -> str:
    """SHA-256 of the document (keys sorted), volatile annotations left out."""
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
        annotations = {
            k: v for k, v in metadata["annotations"].items() if k not in VOLATILE_ANNOTATIONS
        }
        document = {**document, "metadata": {**metadata, "annotations": annotations}}
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def to_record(entity: Entity) -> EntityRecord:
    """The store record of ``entity``."""
    document = entity.to_document()
    ref = entity.ref
    return EntityRecord(
        ref=str(ref),
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
        document=document,
        hash=content_hash(document),
        title=entity.metadata.title,
        description=entity.metadata.description,
        tags=tuple(entity.metadata.tags),
    )
