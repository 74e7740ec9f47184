"""The shared run: load a source's snapshot into the store, then clean up, guarded.

Every source goes through :func:`run_ingestion`: ``fetch`` (the source's get + transform)
produces a :class:`~ingestors.snapshot.Snapshot`; the runner stamps every write with the
source name and run id, refuses refs another source holds, keeps the last good version of
entities that turned invalid, deletes what the source no longer has only when the read was
complete and the loss is plausible, and records the run.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import orjson

from catalog.entity import Entity
from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from catalog.validation import relations_of
from graph.port import (
    EntityFilter,
    EntityReader,
    EntityRecord,
    EntityState,
    EntityWriter,
    KindCount,
    RelationRecord,
    RunError,
    RunLog,
    RunRecord,
)
from ingestors.errors import IngestError
from ingestors.snapshot import Descriptor, EventRetention, Snapshot

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

log = logging.getLogger("stagegraph.runner")


class RunStore(EntityWriter, EntityReader, RunLog, Protocol):
    """What a run asks of the store: its writes, the reads it compares them with (who holds
    a ref, what a source stored before), and its run record."""


@dataclass(frozen=True)
class RunPolicy:
    """How cautious cleanup is: it deletes nothing when more than ``max_delete_share`` of the
    source's entities would go."""

    max_delete_share: float = 0.5


@dataclass(frozen=True)
class Cancellation:
    """How a run that gets cancelled is recorded: its final status and the reason (its error).

    Whoever cancels a run says why through ``run_ingestion(on_cancel=...)``: a scheduler
    records ``TIMED_OUT`` for a run past its timeout, ``FAILED`` for one stopped at shutdown.
    """

    status: str = "FAILED"
    reason: str = "the run was cancelled before it finished"


def _utcnow() -> datetime:
    return datetime.now(UTC)


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


def _relation_records(entity: Entity) -> list[RelationRecord]:
    return [RelationRecord(str(r.source), r.type, str(r.target)) for r in relations_of(entity)]


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


async def _entities_from_files(store: EntityReader, source: str, files: set[str]) -> list[str]:
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


async def _events_to_keep(
    store: EntityReader, source: str, retention: EventRetention, seen: set[str]
) -> list[str]:
    """Keys of this source's ``retention.kind`` entities that the retention keeps.

    Per group, the newest ``retention.keep``; and only while every entity the group hangs
    off (its pipeline; its component and environment) is alive: read or kept by this run
    (``seen``), or held by another source. The builds of a pipeline whose repository or job
    is gone go with it.
    """
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    after: str | None = None
    while True:
        page = await store.list_entities(
            EntityFilter(kinds=(retention.kind,), source=source), 500, after
        )
        for entity in page.entities:
            spec = entity.document.get("spec") or {}
            namespace = entity.document.get("metadata", {}).get("namespace") or "default"
            group = tuple(_group_key(spec.get(f), f, namespace) for f in retention.group_by)
            groups.setdefault(group, []).append(
                (str(spec.get(retention.order_by) or ""), entity.key)
            )
        if not page.has_next:
            break
        after = page.last_key
    targets = {ref for group in groups for ref in group if ref and ref not in seen}
    alive = set(seen)
    for chunk in _chunks(sorted(targets)):
        states = await store.get_entity_states(chunk)
        alive.update(key for key, state in states.items() if state.source != source)
    keep: list[str] = []
    for group, members in groups.items():
        if not all(ref in alive for ref in group):
            continue
        members.sort(reverse=True)
        keep.extend(key for _, key in members[: retention.keep])
    return keep


def _group_key(value: object, field: str, namespace: str) -> str:
    """The key of the entity a spec field names (``pipeline: app-ci`` -> ``pipeline:default/app-ci``)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return parse_ref(value, default_kind=field, default_namespace=namespace).key
    except InvalidRefError:
        return value.lower()


async def run_ingestion(
    store: RunStore,
    *,
    source: str,
    source_type: str,
    fetch: Callable[[], Awaitable[Snapshot]],
    trigger: str = "cli",
    policy: RunPolicy | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    now: Callable[[], datetime] = _utcnow,
    on_start: Callable[[RunRecord], None] | None = None,
    on_cancel: Callable[[], Cancellation] | None = None,
) -> RunRecord:
    """Run one ingestion of ``source`` and return its (saved) record.

    ``run_id`` names the run (default: a new id); ``now`` stamps its start and end;
    ``on_start`` gets the record before it is first saved (the runner keeps updating that
    same object until the run ends).

    Cancelling the task cancels the run: it is recorded as ``on_cancel()`` says (default
    FAILED) and the cancellation goes on. Cleanup is the run's last store write and one
    transaction: a cancellation that arrives before it deletes nothing; one that arrives
    while it is under way cannot stop it, so the run waits for it, records what it deleted
    (with a warning), and then lets the cancellation through. Any other exception is
    recorded as FAILED and raised again.
    """
    run = RunRecord(
        id=run_id or new_run_id(),
        source=source,
        source_type=source_type,
        status="RUNNING",
        trigger=trigger,
        started_at=now(),
    )
    if on_start is not None:
        on_start(run)
    try:
        await store.save_run(run)
        await _ingest(store, run, fetch, policy or RunPolicy(), progress, now)
    except asyncio.CancelledError:
        if run.finished_at is None:
            cancellation = on_cancel() if on_cancel is not None else Cancellation()
            _finish_unclean(run, cancellation.status, cancellation.reason, now())
            await _save_last(store, run)
        raise
    except Exception as exc:
        if run.finished_at is None:
            _finish_unclean(run, "FAILED", f"the run stopped on an unexpected error: {exc}", now())
            await _save_last(store, run)
        raise
    return run


def _finish_unclean(run: RunRecord, status: str, reason: str, when: datetime) -> None:
    run.status = status
    run.errors = [RunError(reason)]
    run.cleanup = "skipped: the run did not finish, so nothing was deleted"
    run.finished_at = when


async def _save_final(store: RunLog, run: RunRecord) -> None:
    """Save the finished record; a cancellation arriving meanwhile waits for it, then goes on
    (so a run that finished is never recorded as cancelled)."""
    saving = asyncio.ensure_future(store.save_run(run))
    try:
        await asyncio.shield(saving)
    except asyncio.CancelledError:
        await saving
        raise


async def _save_last(store: RunLog, run: RunRecord) -> None:
    """Save the final record even while the task is being cancelled (again)."""
    try:
        await asyncio.shield(store.save_run(run))
    except asyncio.CancelledError:
        pass  # cancelled once more: the shielded save carries on; the caller raises anyway
    except Exception:
        log.exception("could not record the end of run %s", run.id, extra={"run_id": run.id})


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic garbage collection while a source is read: a read builds hundreds of
    thousands of objects that all live on, and each full collection rescanned them all to
    find nothing (16 collections, 380 objects freed, 30% of a 100k-entity git read). The
    process's other garbage waits for the end of the read."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


async def _ingest(
    store: RunStore,
    run: RunRecord,
    fetch: Callable[[], Awaitable[Snapshot]],
    policy: RunPolicy,
    progress: Progress | None,
    now: Callable[[], datetime],
) -> None:
    report = progress or (lambda phase, done, total: None)
    report("reading source", 0, 0)
    try:
        with _collector_paused():
            snapshot = await fetch()
    except IngestError as exc:
        run.status = "FAILED"
        run.errors = [RunError(str(exc))]
        run.cleanup = "skipped: the source could not be read, so nothing was deleted"
        run.finished_at = now()
        await _save_final(store, run)
        return
    # The snapshot lives as long as the run: frozen, the garbage collector stops rescanning
    # its objects on every collection (which cost about a third of the runner's own time).
    gc.collect()  # what the read left as garbage is not frozen with the snapshot
    gc.freeze()
    try:
        await _load(store, run, snapshot, policy, report, now)
    finally:
        gc.unfreeze()


async def _load(
    store: RunStore,
    run: RunRecord,
    snapshot: Snapshot,
    policy: RunPolicy,
    report: Progress,
    now: Callable[[], datetime],
) -> None:
    """Write a snapshot that was read, then clean up (guarded) and record the run."""
    source = run.source
    run.commit = snapshot.commit
    run.warnings = list(snapshot.warnings)
    run.stats = dict(snapshot.stats)
    run.skipped = list(snapshot.skipped)
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

    # Refs held by another source are conflicts for this one. Only what the store holds of
    # each ref (source, hash, error) is read, up front; entities are then converted and
    # written chunk by chunk, each chunk's write running while the next one is converted.
    keys = list(unique)
    states: dict[str, EntityState] = {}
    for key_chunk in _chunks([*keys, *(r.ref.lower() for r in snapshot.rejected)]):
        states.update(await store.get_entity_states(key_chunk))
    accepted = 0
    relations: list[RelationRecord] = []
    added: Counter[str] = Counter()
    updated: Counter[str] = Counter()
    unchanged: Counter[str] = Counter()
    deferred = 0
    writing: asyncio.Future[None] | None = None
    try:
        for start in range(0, len(keys), BATCH_SIZE):
            chunk = keys[start : start + BATCH_SIZE]
            records: list[EntityRecord] = []
            for key in chunk:
                item = unique[key]
                before = states.get(key)
                if before is not None and before.source != source and item.defer:
                    # Another source holds it: theirs stays, this source adds its relations.
                    deferred += 1
                    relations.extend(_relation_records(item.entity))
                    continue
                if before is not None and before.source != source:
                    errors.append(
                        RunError(
                            f"{item.entity.ref} is already defined by source "
                            f"{before.source!r}; a ref belongs to one source: rename the "
                            "entity or remove it from one source",
                            file=str(item.location),
                            entity=str(item.entity.ref),
                        )
                    )
                    continue
                record = to_record(item.entity)
                records.append(record)
                relations.extend(_relation_records(item.entity))
                if before is None:
                    added[record.kind] += 1
                elif before.hash != record.hash or before.error is not None:
                    updated[record.kind] += 1
                else:
                    unchanged[record.kind] += 1
            if writing is not None:
                await writing
                writing = None
            if records:
                writing = asyncio.ensure_future(store.upsert_entities(source, run.id, records))
            accepted += len(records)
            report("writing entities", start + len(chunk), len(keys))
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
    for relation_chunk in _chunks(relations):
        await store.upsert_relations(source, run.id, relation_chunk)
    if deferred:
        run.stats["deferredEntities"] = deferred

    # Invalid entities keep their last good version, marked with the error.
    for rejected in snapshot.rejected:
        errors.append(rejected.error)
        key = rejected.ref.lower()
        before = states.get(key)
        if before is not None and before.source == source:
            await store.touch(source, run.id, [key], rejected.error.message)
    seen = set(unique) | {r.ref.lower() for r in snapshot.rejected}
    if snapshot.keep_files:
        kept = await _entities_from_files(store, source, snapshot.keep_files)
        kept = [k for k in kept if k not in unique]
        seen.update(kept)
        for kept_chunk in _chunks(kept):
            await store.touch(source, run.id, kept_chunk, None)

    event_kinds = {r.kind.lower() for r in snapshot.events}
    live_events = {k for k in seen if k.split(":", 1)[0] in event_kinds}
    for retention in snapshot.events:
        keep = await _events_to_keep(store, source, retention, seen)
        keep = [k for k in keep if k not in unique]
        live_events.update(keep)
        for keep_chunk in _chunks(keep):
            await store.touch(source, run.id, keep_chunk, None)

    report("cleaning up", 0, 0)
    deleted: dict[str, int] = {}
    cancelled_in_cleanup = False
    summary = await store.stale(source, run.id)
    # Pruned events (builds, deployments past retention) do not count: a lower retention or
    # a removed repository with many builds must not block all cleanup.
    stale = [k for k in summary.stale_refs if k.split(":", 1)[0] not in event_kinds]
    stale_events = len(summary.stale_refs) - len(stale)
    guarded_total = summary.source_total - stale_events - len(live_events)
    if not accepted and not snapshot.rejected:
        run.cleanup = "skipped: the read found no entities, so nothing was deleted"
    elif stale and len(stale) > policy.max_delete_share * guarded_total:
        run.cleanup = (
            f"skipped: {len(stale)} of {guarded_total} entities (events not counted) would be "
            f"deleted, more than {policy.max_delete_share:.0%}; nothing was deleted "
            "(check the source, or delete them deliberately)"
        )
    else:
        # The last store write, one transaction. Once sent it cannot be called back, so a
        # cancellation arriving meanwhile waits for it and is let through after the record.
        deleting = asyncio.ensure_future(store.delete_stale(source, run.id))
        try:
            deleted = await asyncio.shield(deleting)
        except asyncio.CancelledError:
            deleted = await deleting
            cancelled_in_cleanup = True
            run.warnings.append(
                "the run was cancelled while its cleanup was being written; "
                "cleanup completed and is recorded here"
            )
        run.cleanup = f"done: {sum(deleted.values())} stale entities deleted"

    run.counts = _counts(added, updated, unchanged, deleted)
    run.errors = errors
    run.status = "PARTIAL" if errors else "SUCCEEDED"
    run.finished_at = now()
    await _save_final(store, run)
    if cancelled_in_cleanup:
        raise asyncio.CancelledError
