"""The shared run: load a source's snapshot into the store, then clean up, guarded.

Every source goes through :func:`run_ingestion`: ``fetch`` (the source's get + transform)
produces a :class:`~ingestors.snapshot.Snapshot`; the runner stamps every write with the
source name and run id, refuses refs another source holds, keeps the last good version of
entities that turned invalid, deletes what the source no longer has only when the read was
complete and the loss is plausible, and records the run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import orjson

from catalog.entity import Entity
from catalog.relations import derive_relations
from graph.port import (
    EntityFilter,
    EntityRecord,
    GraphStore,
    KindCount,
    RelationRecord,
    RunError,
    RunRecord,
    StoredEntity,
)
from ingestors.errors import IngestError
from ingestors.snapshot import Descriptor, Snapshot

#: Annotations that change with every commit; left out of the content hash so that a new
#: commit that does not touch an entity leaves it "unchanged".
VOLATILE_ANNOTATIONS = frozenset(
    {"backstage.io/managed-by-location", "backstage.io/source-location"}
)
SOURCE_PATH_ANNOTATION = "stagegraph.dev/source-path"
BATCH_SIZE = 2000

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)`` while a run works."""


@dataclass(frozen=True)
class RunPolicy:
    """How cautious cleanup is: it deletes nothing when more than ``max_delete_share`` of the
    source's entities would go."""

    max_delete_share: float = 0.5


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"


def content_hash(document: dict[str, object]) -> str:
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
        annotations = {
            k: v for k, v in metadata["annotations"].items() if k not in VOLATILE_ANNOTATIONS
        }
        document = {**document, "metadata": {**metadata, "annotations": annotations}}
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def to_record(entity: Entity) -> EntityRecord:
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


def _chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _counts(
    added: Counter[str], updated: Counter[str], unchanged: Counter[str], deleted: dict[str, int]
) -> list[KindCount]:
    kinds = sorted(set(added) | set(updated) | set(unchanged) | set(deleted))
    return [
        KindCount(
            k, added=added[k], updated=updated[k], unchanged=unchanged[k], deleted=deleted.get(k, 0)
        )
        for k in kinds
    ]


async def _entities_from_files(store: GraphStore, source: str, files: set[str]) -> list[str]:
    """Keys of this source's entities that were read from one of ``files``."""
    keys: list[str] = []
    after: str | None = None
    while True:
        page = await store.list_entities(EntityFilter(source=source), 500, after)
        for entity in page.entities:
            annotations = entity.document.get("metadata", {}).get("annotations", {})
            if annotations.get(SOURCE_PATH_ANNOTATION) in files:
                keys.append(entity.key)
        if not page.has_next:
            return keys
        after = page.last_key


async def run_ingestion(
    store: GraphStore,
    *,
    source: str,
    source_type: str,
    fetch: Callable[[], Awaitable[Snapshot]],
    trigger: str = "cli",
    policy: RunPolicy | None = None,
    progress: Progress | None = None,
) -> RunRecord:
    """Run one ingestion of ``source`` and return its (saved) record."""
    policy = policy or RunPolicy()
    report = progress or (lambda phase, done, total: None)
    run = RunRecord(
        id=new_run_id(),
        source=source,
        source_type=source_type,
        status="RUNNING",
        trigger=trigger,
        started_at=datetime.now(UTC),
    )
    await store.save_run(run)

    report("reading source", 0, 0)
    try:
        snapshot = await fetch()
    except IngestError as exc:
        run.status = "FAILED"
        run.errors = [RunError(str(exc))]
        run.cleanup = "skipped: the source could not be read, so nothing was deleted"
        run.finished_at = datetime.now(UTC)
        await store.save_run(run)
        return run

    run.commit = snapshot.commit
    run.warnings = list(snapshot.warnings)
    errors = list(snapshot.errors)

    # One entity per ref in a run: later duplicates are errors.
    unique: dict[str, Descriptor] = {}
    for item in snapshot.descriptors:
        key = item.entity.ref.key
        if key in unique:
            errors.append(
                RunError(
                    f"{item.entity.ref} is already defined at {unique[key].location}; "
                    "remove one of the two",
                    file=str(item.location),
                    entity=str(item.entity.ref),
                )
            )
            continue
        unique[key] = item

    # Refs held by another source are conflicts for this one.
    all_keys = list(unique) + [r.ref.lower() for r in snapshot.rejected]
    existing: dict[str, StoredEntity] = {}
    for key_chunk in _chunks(all_keys):
        existing.update(await store.get_entities(key_chunk))
    accepted: list[EntityRecord] = []
    relations: list[RelationRecord] = []
    added: Counter[str] = Counter()
    updated: Counter[str] = Counter()
    unchanged: Counter[str] = Counter()
    for key, item in unique.items():
        before = existing.get(key)
        if before is not None and before.source != source:
            errors.append(
                RunError(
                    f"{item.entity.ref} is already defined by source {before.source!r}; "
                    "a ref belongs to one source: rename the entity or remove it from one source",
                    file=str(item.location),
                    entity=str(item.entity.ref),
                )
            )
            continue
        record = to_record(item.entity)
        accepted.append(record)
        relations.extend(
            RelationRecord(str(r.source), r.type, str(r.target))
            for r in derive_relations(item.entity)
        )
        if before is None:
            added[record.kind] += 1
        elif before.hash != record.hash or before.error is not None:
            updated[record.kind] += 1
        else:
            unchanged[record.kind] += 1

    for done, chunk in enumerate(_chunks(accepted), start=1):
        await store.upsert_entities(source, run.id, chunk)
        report("writing entities", min(done * BATCH_SIZE, len(accepted)), len(accepted))
    for relation_chunk in _chunks(relations):
        await store.upsert_relations(source, run.id, relation_chunk)

    # Invalid entities keep their last good version, marked with the error.
    for rejected in snapshot.rejected:
        errors.append(rejected.error)
        before = existing.get(rejected.ref.lower())
        if before is not None and before.source == source:
            await store.touch(source, run.id, [before.key], rejected.error.message)
    if snapshot.keep_files:
        kept = await _entities_from_files(store, source, snapshot.keep_files)
        kept = [k for k in kept if k not in unique]
        for kept_chunk in _chunks(kept):
            await store.touch(source, run.id, kept_chunk, None)

    report("cleaning up", 0, 0)
    deleted: dict[str, int] = {}
    summary = await store.stale(source, run.id)
    if not accepted and not snapshot.rejected:
        run.cleanup = "skipped: the read found no entities, so nothing was deleted"
    elif (
        summary.stale_refs
        and len(summary.stale_refs) > policy.max_delete_share * summary.source_total
    ):
        run.cleanup = (
            f"skipped: {len(summary.stale_refs)} of {summary.source_total} entities would be "
            f"deleted, more than {policy.max_delete_share:.0%}; nothing was deleted "
            "(check the source, or delete them deliberately)"
        )
    else:
        deleted = await store.delete_stale(source, run.id)
        run.cleanup = f"done: {sum(deleted.values())} stale entities deleted"

    run.counts = _counts(added, updated, unchanged, deleted)
    run.errors = errors
    run.status = "PARTIAL" if errors else "SUCCEEDED"
    run.finished_at = datetime.now(UTC)
    await store.save_run(run)
    return run
