"""Entities pushed by automation through the API (the ``upsertEntities`` and
``deleteEntities`` mutations): validated like ingested ones, all or nothing per call, and
never touching another source's data.

A pushed entity replaces its previous version and the relations that version declared;
a relation the other end also declares (a Group's ``children`` and a child's ``parent``)
stays as long as one side still declares it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.entity import Entity
from catalog.errors import CatalogError, InvalidEntityError, SourceLocation
from catalog.kinds import CORE_KINDS, SOURCE_KINDS
from catalog.refs import parse_ref
from catalog.relations import Relation, derive_relations
from catalog.validation import validate_entity
from graph.port import GraphStore, RelationRecord, StoredEntity
from ingestors.errors import IngestError
from ingestors.records import to_record

SOURCE_TYPE = "api"
MAX_ENTITIES_PER_CALL = 1000


class PushStatus(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # valid, but not written because another entity of the call failed


@dataclass(frozen=True)
class PushResult:
    index: int
    ref: str | None
    status: PushStatus
    error: str | None = None


class PushConflictError(IngestError):
    """A push would touch another source's entities; nothing was written."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(message)


def _relation_record(relation: Relation) -> RelationRecord:
    return RelationRecord(str(relation.source), relation.type, str(relation.target))


def _declared(document: dict[str, Any]) -> set[Relation]:
    """Relations a stored document declares (empty when it no longer validates)."""
    try:
        return set(derive_relations(Entity.model_validate(document)))
    except (ValueError, CatalogError):
        return set()


async def _check_source(store: GraphStore, source: str) -> None:
    runs = await store.get_runs(source, 1)
    if runs and runs[0].source_type != SOURCE_TYPE:
        raise PushConflictError(
            source,
            f"source {source!r} is ingested by a {runs[0].source_type} source; push to a "
            "source name of your own (a ref belongs to one source)",
        )


async def _removable(
    store: GraphStore,
    source: str,
    dropped: set[Relation],
    declared_now: dict[str, set[Relation]],
) -> list[RelationRecord]:
    """Of the relations no longer declared by the pushed entities, those that the other end
    (an entity of this source) does not declare either."""
    others = {
        end.key for r in dropped for end in (r.source, r.target) if end.key not in declared_now
    }
    stored = await store.get_entities(sorted(others)) if others else {}
    keep: set[Relation] = set()
    for entity in stored.values():
        if entity.source == source:
            keep |= _declared(entity.document) & dropped
    for relations in declared_now.values():
        keep |= relations & dropped
    return [_relation_record(r) for r in sorted(dropped - keep)]


async def push_entities(
    store: GraphStore, source: str, documents: Sequence[Any]
) -> list[PushResult]:
    """Validate and write ``documents`` as entities of ``source``, all or nothing."""
    if len(documents) > MAX_ENTITIES_PER_CALL:
        raise PushConflictError(
            source, f"at most {MAX_ENTITIES_PER_CALL} entities per call; split the batch"
        )
    await _check_source(store, source)
    known = {**CORE_KINDS, **SOURCE_KINDS}
    results: list[PushResult] = []
    valid: dict[str, tuple[int, Entity]] = {}
    for index, document in enumerate(documents):
        try:
            entity = validate_entity(document, SourceLocation(f"entities[{index}]"))
            if entity.kind.lower() not in known:
                raise InvalidEntityError(
                    f"unknown kind {entity.kind!r}; use one of {', '.join(known.values())}",
                    entity=str(entity.ref),
                    field="kind",
                )
        except InvalidEntityError as exc:
            label = exc.entity
            results.append(PushResult(index, label, PushStatus.FAILED, exc.describe(False)))
            continue
        key = entity.ref.key
        if key in valid:
            results.append(
                PushResult(
                    index,
                    str(entity.ref),
                    PushStatus.FAILED,
                    f"also given at entities[{valid[key][0]}]; send each entity once",
                )
            )
            continue
        valid[key] = (index, entity)

    existing = await store.get_entities(list(valid)) if valid else {}
    records = {}
    for key, (index, entity) in valid.items():
        before = existing.get(key)
        if before is not None and before.source != source:
            results.append(
                PushResult(
                    index,
                    str(entity.ref),
                    PushStatus.FAILED,
                    f"{entity.ref} belongs to source {before.source!r}; a ref belongs to one "
                    "source: use another name, or change it where it comes from",
                )
            )
            continue
        annotated = _annotate(entity, source)
        records[key] = (index, annotated, to_record(annotated), before)

    failed = any(r.status is PushStatus.FAILED for r in results)
    for index, entity, record, before in records.values():
        if failed:
            status = PushStatus.SKIPPED
        elif before is None:
            status = PushStatus.CREATED
        elif before.hash != record.hash or before.error is not None:
            status = PushStatus.UPDATED
        else:
            status = PushStatus.UNCHANGED
        results.append(PushResult(index, str(entity.ref), status))
    results.sort(key=lambda r: r.index)
    if failed or not records:
        return results

    declared_now = {
        key: set(derive_relations(entity)) for key, (_, entity, _, _) in records.items()
    }
    dropped: set[Relation] = set()
    for key, (_, _, _, before) in records.items():
        if before is not None:
            dropped |= _declared(before.document) - declared_now[key]
    remove = await _removable(store, source, dropped, declared_now)
    add = [_relation_record(r) for relations in declared_now.values() for r in sorted(relations)]
    await store.mutate(
        source,
        _run_id(),
        [record for _, _, record, _ in records.values()],
        add,
        remove,
        [],
    )
    return results


async def delete_pushed(store: GraphStore, source: str, refs: Sequence[str]) -> int:
    """Delete entities of ``source``; refs of another source make the whole call fail."""
    keys = []
    for ref in refs:
        try:
            keys.append(parse_ref(ref).key)
        except CatalogError as exc:
            raise PushConflictError(source, f"{exc}; nothing was deleted") from None
    await _check_source(store, source)
    existing = await store.get_entities(keys) if keys else {}
    foreign = sorted(e.ref for e in existing.values() if e.source != source)
    if foreign:
        raise PushConflictError(
            source,
            f"{', '.join(foreign)} belong to another source; nothing was deleted",
        )
    mine: dict[str, StoredEntity] = dict(existing)
    dropped: set[Relation] = set()
    for entity in mine.values():
        dropped |= _declared(entity.document)
    remove = await _removable(store, source, dropped, {key: set() for key in mine})
    await store.mutate(source, _run_id(), [], [], remove, list(mine))
    return len(mine)


def _annotate(entity: Entity, source: str) -> Entity:
    annotations = {
        **entity.metadata.annotations,
        "backstage.io/managed-by-location": f"api:{source}",
    }
    metadata = entity.metadata.model_copy(update={"annotations": annotations})
    return entity.model_copy(update={"metadata": metadata})


def _run_id() -> str:
    return f"push-{uuid.uuid4().hex[:12]}"
