"""From a validated entity to the record a store writes: its identity, full document and
content hash.

:func:`prepare` does the same work ahead, where the entity was read (a git source's parse
workers): a :class:`Prepared` entity is its record with the document as JSON text, and its
relations, all plain values that cross a process boundary cheaply; the runner turns it into
the record when it writes (:meth:`Prepared.record`), and the store writes that JSON text as
it is instead of serialising the document again.

The hash covers the whole document except the annotations that change with every commit
(:data:`VOLATILE_ANNOTATIONS`), so a new commit that does not touch an entity leaves it
"unchanged". Ingestion runs (:mod:`ingestors.runner`) and pushes (:mod:`ingestors.push`)
both write through :func:`to_record`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from catalog.entity import Entity
from catalog.validation import relations_of
from graph.port import EntityRecord, RelationRecord

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


@dataclass(frozen=True)
class Prepared:
    """An entity turned into what the store writes, ahead of the write: its record's fields,
    ``document`` as JSON text, and its relations as (source ref, type, target ref)."""

    ref: str
    kind: str  # as written (the record's kind is lowercase)
    namespace: str
    name: str
    document: str
    hash: str
    title: str | None
    description: str | None
    tags: tuple[str, ...]
    relations: tuple[tuple[str, str, str], ...]

    @property
    def key(self) -> str:
        return self.ref.lower()

    def record(self) -> EntityRecord:
        """The store record (its document decoded; the JSON text goes along)."""
        return EntityRecord(
            ref=self.ref,
            kind=self.kind.lower(),
            namespace=self.namespace,
            name=self.name,
            document=orjson.loads(self.document),
            hash=self.hash,
            title=self.title,
            description=self.description,
            tags=self.tags,
            document_json=self.document,
        )

    def relation_records(self) -> list[RelationRecord]:
        return [RelationRecord(source, kind, target) for source, kind, target in self.relations]


def prepare(entity: Entity) -> Prepared:
    """``entity`` made ready for the store (what :func:`to_record` and its relations give)."""
    document = entity.to_document()
    ref = entity.ref
    return Prepared(
        ref=str(ref),
        kind=entity.kind,
        namespace=ref.namespace,
        name=ref.name,
        document=orjson.dumps(document).decode(),
        hash=content_hash(document),
        title=entity.metadata.title,
        description=entity.metadata.description,
        tags=tuple(entity.metadata.tags),
        relations=tuple((str(r.source), r.type, str(r.target)) for r in relations_of(entity)),
    )
