"""Entities pushed by automation through the API (the ``upsertEntities`` and
``deleteEntities`` mutations): validated like ingested ones, all or nothing per call, and
never touching another source's data.

A pushed entity replaces its previous version and the relations that version declared;
a relation the other end also declares (a Group's ``children`` and a child's ``parent``)
stays as long as one side still declares it.

Sources rank: a configured (pulled) source outranks a pushed one for the same ref. Pushed
entities are marked ``backstage.io/managed-by-location: api:<source>`` (:func:`is_pushed`);
a push never replaces an entity a configured source holds, never writes into a configured
source's name, and a configured source's run takes over the pushed entities it defines
(:func:`yield_to_pulled` clears what their pushed versions declared first).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from catalog.entity import Entity
from catalog.errors import CatalogError, InvalidEntityError, SourceLocation
from catalog.refs import EntityRef, parse_ref
from catalog.relations import Relation, derive_relations
from catalog.rules import KindRules
from catalog.validation import validate_entity
from graph.port import EntityReader, EntityWriter, GraphStore, RelationRecord, StoredEntity
from ingestors.changes import deleted_changes, written_changes
from ingestors.errors import IngestError
from ingestors.records import to_record

SOURCE_TYPE = "api"
MAX_ENTITIES_PER_CALL = 1000
LOCATION_ANNOTATION = "backstage.io/managed-by-location"
RANK_RULE = "a configured (pulled) source outranks a pushed one for the same ref"

RefCheck = Callable[[EntityRef], "str | None"]
"""Why the caller may not write this ref (its token's scope), or None when it may."""


class PushStore(EntityWriter, EntityReader, Protocol):
    """What giving way to a pulled source asks of the store: the pushed relations to
    remove, and the other pushed entities that may still declare them."""


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


class PushForbiddenError(IngestError):
    """The caller's scope does not allow this write; nothing was written."""


def pushed_location(source: str) -> str:
    """The ``backstage.io/managed-by-location`` of every entity pushed to ``source``."""
    return f"{SOURCE_TYPE}:{source}"


def is_pushed(entity: StoredEntity) -> bool:
    """Whether a stored entity was pushed (and not read by a configured source's run).

    Pushes mark every entity they write with ``managed-by-location: api:<source>``; runs
    never write that (the git rules set the annotation to the file read, and API sources
    build their entities' annotations themselves).
    """
    annotations = entity.document.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(LOCATION_ANNOTATION) == pushed_location(entity.source))


def _relation_record(relation: Relation) -> RelationRecord:
    return RelationRecord(str(relation.source), relation.type, str(relation.target))


def _declared(document: dict[str, Any]) -> set[Relation]:
    """Relations a stored document declares (empty when it no longer validates)."""
    try:
        return set(derive_relations(Entity.model_validate(document)))
    except (ValueError, CatalogError):
        return set()


async def _check_source(store: GraphStore, source: str, configured: Collection[str]) -> None:
    if source in configured:
        raise PushConflictError(
            source,
            f"source {source!r} is a configured source; pushes go to a source name of their "
            f"own (rule: {RANK_RULE}, and a ref belongs to one source)",
        )
    runs = await store.get_runs(source, 1)
    if runs and runs[0].source_type != SOURCE_TYPE:
        raise PushConflictError(
            source,
            f"source {source!r} is ingested by a {runs[0].source_type} source; push to a "
            f"source name of your own (rule: {RANK_RULE}, and a ref belongs to one source)",
        )


def _held_elsewhere(ref: EntityRef, holder: StoredEntity) -> str:
    """Why a push may not write ``ref``, which another source holds."""
    if not is_pushed(holder):
        return (
            f"{ref} is held by the configured source {holder.source!r} and a push may not "
            f"replace it (rule: {RANK_RULE}): change it in that source, or push another ref"
        )
    return (
        f"{ref} belongs to source {holder.source!r}; a ref belongs to one source (rule: the "
        "first pushed source keeps it): use another name, or change it where it comes from"
    )


async def _removable(
    store: EntityReader,
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


def _validated(
    documents: Sequence[Any], refuse: RefCheck | None, kinds: KindRules
) -> tuple[dict[str, tuple[int, Entity]], list[PushResult]]:
    """The valid entities by key (with their index), and a FAILED result for each other."""
    results: list[PushResult] = []
    valid: dict[str, tuple[int, Entity]] = {}
    for index, document in enumerate(documents):
        try:
            entity = validate_entity(document, SourceLocation(f"entities[{index}]"))
            if not kinds.admits(entity.kind):
                raise InvalidEntityError(
                    kinds.refusal(entity.kind),
                    entity=str(entity.ref),
                    field="kind",
                )
        except InvalidEntityError as exc:
            label = exc.entity
            results.append(PushResult(index, label, PushStatus.FAILED, exc.describe(False)))
            continue
        key = entity.ref.key
        refusal = refuse(entity.ref) if refuse is not None else None
        if refusal is not None:
            results.append(PushResult(index, str(entity.ref), PushStatus.FAILED, refusal))
        elif key in valid:
            results.append(
                PushResult(
                    index,
                    str(entity.ref),
                    PushStatus.FAILED,
                    f"also given at entities[{valid[key][0]}]; send each entity once",
                )
            )
        else:
            valid[key] = (index, entity)
    return valid, results


async def push_entities(
    store: GraphStore,
    source: str,
    documents: Sequence[Any],
    *,
    refuse: RefCheck | None = None,
    configured: Collection[str] = (),
    kinds: KindRules | None = None,
) -> list[PushResult]:
    """Validate and write ``documents`` as entities of ``source``, all or nothing.

    ``refuse`` tells which refs the caller may not write (its token's scope); ``configured``
    names the configured sources, whose names a push may not use; ``kinds`` are the kinds
    admitted (``catalog.rules``; default: the built-in kinds).
    """
    if len(documents) > MAX_ENTITIES_PER_CALL:
        raise PushConflictError(
            source, f"at most {MAX_ENTITIES_PER_CALL} entities per call; split the batch"
        )
    await _check_source(store, source, configured)
    valid, results = _validated(documents, refuse, kinds or KindRules())

    existing = await store.get_entities(list(valid)) if valid else {}
    records = {}
    for key, (index, entity) in valid.items():
        before = existing.get(key)
        if before is not None and before.source != source:
            results.append(
                PushResult(
                    index, str(entity.ref), PushStatus.FAILED, _held_elsewhere(entity.ref, before)
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
    run_id = _run_id()
    written = [record for _, _, record, _ in records.values()]
    await store.mutate(source, run_id, written, add, remove, [])
    stored = {key: b.document for key, (_, _, _, b) in records.items() if b is not None}
    await store.record_changes(
        written_changes(source=source, run_id=run_id, records=written, before=stored)
    )
    return results


async def delete_pushed(
    store: GraphStore,
    source: str,
    refs: Sequence[str],
    *,
    refuse: RefCheck | None = None,
    configured: Collection[str] = (),
) -> int:
    """Delete entities of ``source``, all or nothing: a ref of another source, or one the
    caller may not write (``refuse``), makes the whole call fail."""
    parsed: list[EntityRef] = []
    for ref in refs:
        try:
            parsed.append(parse_ref(ref))
        except CatalogError as exc:
            raise PushConflictError(source, f"{exc}; nothing was deleted") from None
    refusals = [r for r in (refuse(ref) for ref in parsed) if r] if refuse is not None else []
    if refusals:
        raise PushForbiddenError(f"{'; '.join(dict.fromkeys(refusals))}; nothing was deleted")
    await _check_source(store, source, configured)
    keys = [ref.key for ref in parsed]
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
    run_id = _run_id()
    await store.mutate(source, run_id, [], [], remove, list(mine))
    await store.record_changes(
        deleted_changes(source=source, run_id=run_id, entities=mine.values())
    )
    return len(mine)


async def yield_to_pulled(store: PushStore, run_id: str, taken: Sequence[StoredEntity]) -> None:
    """Make way for a configured source's run that takes over these pushed entities.

    Removes the relations their pushed versions declared (stamped with their pushed source),
    except those another entity of that source still declares, so nothing of a pushed
    version lingers beside the version the run writes next. The entities themselves stay
    until the run overwrites them: a run that stops in between loses nothing, and its next
    run takes them over again.
    """
    by_source: dict[str, list[StoredEntity]] = {}
    for entity in taken:
        by_source.setdefault(entity.source, []).append(entity)
    for source, entities in sorted(by_source.items()):
        dropped: set[Relation] = set()
        for entity in entities:
            dropped |= _declared(entity.document)
        remove = await _removable(store, source, dropped, {e.key: set() for e in entities})
        if remove:
            await store.mutate(source, run_id, [], [], remove, [])


def _annotate(entity: Entity, source: str) -> Entity:
    annotations = {**entity.metadata.annotations, LOCATION_ANNOTATION: pushed_location(source)}
    metadata = entity.metadata.model_copy(update={"annotations": annotations})
    return entity.model_copy(update={"metadata": metadata})


def _run_id() -> str:
    return f"push-{uuid.uuid4().hex[:12]}"
