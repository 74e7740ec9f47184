"""The shared run: load a source's snapshot into the store, then clean up, guarded.

long: the run's phases read top to bottom in this one module, each safety rule one
function; split across modules, the order they must run in would be hidden.

Every source goes through :func:`run_ingestion`: ``fetch`` (the source's get + transform)
produces a :class:`~ingestors.snapshot.Snapshot`, or a
:class:`~ingestors.stream.DescriptorStream` of one still being read (a git source's first
ingest), and :func:`_load` writes it in phases. Phases 0-3 run batch by batch as the
descriptors come (a duplicate is checked against the keys taken so far, so a later
duplicate is an error as in a whole read), the rest once the read has ended; a read that
fails mid-stream keeps what its batches wrote and deletes nothing:

0. ``admit_kinds``: entities of kinds the rules do not admit (``catalog.rules`` and the
   source's ``rules``: ``RunPolicy.kinds``) are refused, each an error at its file and line.
1. ``_dedupe``: one entity per ref; later duplicates are errors.
2. ``_take_over_pushed``: entities it defines that were pushed become this source's (a
   configured source outranks a pushed one), and the run says so.
3. ``_write_entities``: every write stamped with the source name and run id; refs another
   configured source holds are conflicts.
4. ``_keep_previous_versions``: an invalid entity keeps its last good version (marked with
   the error), and what an unreadable file held is kept.
5. ``_keep_events``: builds and deployments are kept by their retention;
   ``_keep_unchanged_files``: the entities of files the read found unchanged (not read
   again, :mod:`ingestors.git.memo`) are kept as they are, not written (their run stamp
   stays the run that read their file: an entity's run is the one that last read it), and
   ``_remember_files`` keeps, for the next run, the files whose entities this run wrote
   cleanly.
6. ``_cleanup``: what the source no longer has (neither written nor kept by this run) is
   deleted only when the read found something and the loss is plausible
   (``RunPolicy.max_delete_share`` of the whole source). A scoped run (``scope``: parts of the source by source path, e.g. one
   repository of an organisation) read only those parts and deletes only inside them.
7. ``_finish``: the run is recorded.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import uuid
from collections import Counter
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Container,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from catalog.errors import InvalidRefError
from catalog.locations import reached_files, target_paths
from catalog.refs import parse_ref
from catalog.rules import KindRule, KindRules
from graph.errors import StoreError
from graph.port import SOURCE_PATH_ANNOTATION as SOURCE_PATH_ANNOTATION
from graph.port import (
    ChangeLog,
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
    Scope,
    SourceFiles,
    StoredEntity,
)
from ingestors.changes import deleted_changes, read_before, written_changes
from ingestors.errors import IngestError
from ingestors.push import RANK_RULE, is_pushed, yield_to_pulled
from ingestors.snapshot import Descriptor, EventRetention, FileMemos, Rejected, Snapshot, admit
from ingestors.stream import DescriptorStream

BATCH_SIZE = 2000
#: descriptors from which a read's snapshot is frozen out of garbage collection during the run
FREEZE_FROM = 2000
_LINE_SUFFIX = re.compile(r"(:\d+){1,2}$")
LISTED_REFS = 20  # refs a warning names before it says "and N more"

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)`` while a run works."""

log = logging.getLogger("stagegraph.runner")


class RunStore(EntityWriter, EntityReader, RunLog, SourceFiles, ChangeLog, Protocol):
    """What a run asks of the store: its writes, the reads it compares them with (who holds
    a ref, what a source stored before), its run record, what its files produced, and the
    change log it records what it changed in."""


@dataclass(frozen=True)
class RunPolicy:
    """How cautious cleanup is: it deletes nothing when more than ``max_delete_share`` of the
    source's entities would go; and which kinds a run admits (``kinds``)."""

    max_delete_share: float = 0.5
    kinds: KindRules = field(default_factory=KindRules)

    def for_source(self, source: str, rules: tuple[KindRule, ...]) -> RunPolicy:
        """This policy for a run of ``source``, whose own ``rules`` admit more kinds."""
        return replace(self, kinds=self.kinds.for_source(source, rules))


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


async def _take_over_pushed(
    store: RunStore,
    run: RunRecord,
    keys: Sequence[str],
    states: dict[str, EntityState],
    pushed: list[StoredEntity],
) -> dict[str, dict[str, Any]]:
    """Sources rank: of ``keys`` (what this run read), those a pushed source holds become
    this source's. Their pushed relations go first (:func:`~ingestors.push.yield_to_pulled`)
    and they leave ``states`` (so the run writes and counts them as added); they are added
    to ``pushed`` (:func:`_warn_taken_over` names them at the end). Returns the pushed
    documents by key (what the run's changes compare with)."""
    held = [k for k in keys if (s := states.get(k)) is not None and s.source != run.source]
    found: list[StoredEntity] = []
    for chunk in _chunks(held):
        stored = await store.get_entities(chunk)
        found.extend(entity for entity in stored.values() if is_pushed(entity))
    if not found:
        return {}
    await yield_to_pulled(store, run.id, found)
    for entity in found:
        del states[entity.key]
    pushed.extend(found)
    return {entity.key: entity.document for entity in found}


def _warn_taken_over(run: RunRecord, pushed: Sequence[StoredEntity]) -> None:
    """The run's warnings name the entities it took over with the source they were pushed
    to; ``stats.takenOverEntities`` counts them."""
    if not pushed:
        return
    by_source: dict[str, list[str]] = {}
    for entity in pushed:
        by_source.setdefault(entity.source, []).append(entity.ref)
    for holder, refs in sorted(by_source.items()):
        refs.sort()
        shown = ", ".join(refs[:LISTED_REFS])
        more = f" and {len(refs) - LISTED_REFS} more" if len(refs) > LISTED_REFS else ""
        run.warnings.append(
            f"took over {len(refs)} entities pushed to source {holder!r} ({RANK_RULE}): "
            f"{shown}{more}"
        )
    run.stats["takenOverEntities"] = len(pushed)


async def _entities_from_files(
    store: EntityReader, source: str, files: set[str], read: Container[str]
) -> dict[str, str]:
    """Keys of this source's entities that were read from one of ``files``, or from a file
    that a stored Location of theirs targeted, transitively (what an unreadable file reached
    before), each with the file of ``files`` it is kept for. A Location this run ``read``
    (by key) is not followed: its current targets were."""
    by_file: dict[str, list[str]] = {}
    targets: dict[str, list[str]] = {}
    after: str | None = None
    while True:
        page = await store.list_entities(EntityFilter(source=source), 500, after)
        for entity in page.entities:
            annotations = entity.document.get("metadata", {}).get("annotations", {})
            path = annotations.get(SOURCE_PATH_ANNOTATION)
            if not isinstance(path, str):
                continue
            by_file.setdefault(path, []).append(entity.key)
            if entity.kind == "location" and entity.key not in read:
                found = target_paths(entity.document.get("spec"), path)
                targets.setdefault(path, []).extend(found)
        if not page.has_next:
            break
        after = page.last_key
    reached = reached_files(files, targets, by_file)
    return {key: root for path, root in sorted(reached.items()) for key in by_file.get(path, ())}


def _kept_because(errors: Sequence[RunError]) -> dict[str, str]:
    """File -> the error entities kept for that file are marked with: the first run error
    naming it (as ``path`` or ``path:line[:column]``)."""
    reasons: dict[str, str] = {}
    for error in errors:
        if error.file is not None:
            reasons.setdefault(
                _LINE_SUFFIX.sub("", error.file),
                f"not refreshed, last version kept: {error.file}: {error.message}",
            )
    return reasons


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
    fetch: Callable[[], Awaitable[Snapshot | DescriptorStream]],
    trigger: str = "cli",
    policy: RunPolicy | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    now: Callable[[], datetime] = _utcnow,
    on_start: Callable[[RunRecord], None] | None = None,
    on_cancel: Callable[[], Cancellation] | None = None,
    scope: Scope = (),
) -> RunRecord:
    """Run one ingestion of ``source`` and return its (saved) record.

    ``scope`` (source paths, see :data:`graph.port.Scope`) says ``fetch`` reads only those
    parts of the source: cleanup stays inside them, and the record carries the scope.

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
        scope=list(scope) or None,
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
    except StoreError as exc:  # the store is what failed the run: say so, no traceback
        log.error("could not record the end of run %s: %s", run.id, exc, extra={"run_id": run.id})
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
    fetch: Callable[[], Awaitable[Snapshot | DescriptorStream]],
    policy: RunPolicy,
    progress: Progress | None,
    now: Callable[[], datetime],
) -> None:
    report = progress or (lambda phase, done, total: None)
    report("reading source", 0, 0)
    freeze = False
    try:
        with _collector_paused():
            got = await fetch()
            # A large snapshot lives as long as the run: frozen, the garbage collector
            # stops rescanning its objects on every collection (which cost about a third
            # of the runner's own time). Frozen before the collector runs again and with
            # no collection first: the read leaves next to no cyclic garbage (a few hundred
            # objects, freed after the run by unfreezing), and each full collection of a
            # 100k-entity snapshot cost over a second (one on resuming the collector, one
            # before freezing). A small snapshot (a webhook's scoped run, an unchanged
            # re-read) is not frozen, nor is a stream (it holds a few batches at a time).
            freeze = isinstance(got, Snapshot) and len(got.descriptors) >= FREEZE_FROM
            if freeze:
                gc.freeze()
    except IngestError as exc:
        await _failed_read(store, run, exc, now)
        return
    streamed = isinstance(got, DescriptorStream)
    stream = got if isinstance(got, DescriptorStream) else DescriptorStream.of(got)
    try:
        # A stream is read while it is written: no automatic collection meanwhile either
        # (each would rescan what the read keeps: the tree, the files' memos), only the
        # young generations after each batch (:func:`_load`), where its garbage is.
        with _collector_paused() if streamed else nullcontext():
            await _load(store, run, stream, policy, report, now)
    except IngestError as exc:  # a streamed read that failed after some batches were written
        await _failed_read(store, run, exc, now)
    finally:
        stream.close()  # a read still going (the run failed or was cancelled) stops
        if freeze:
            gc.unfreeze()


async def _failed_read(
    store: RunStore, run: RunRecord, exc: IngestError, now: Callable[[], datetime]
) -> None:
    """Record a run whose source could not be read (whole): FAILED, nothing deleted."""
    run.status = "FAILED"
    run.errors = [RunError(str(exc))]
    run.cleanup = "skipped: the source could not be read, so nothing was deleted"
    run.finished_at = now()
    await _save_final(store, run)


@dataclass
class _Written:
    """What the write phase did: entities written (``accepted``), per kind how many were
    new, changed or the same, and how many another source keeps (``deferred``)."""

    accepted: int = 0
    added: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    deferred: int = 0


@dataclass
class _Seen:
    """What the run keeps of each entity it took, once written (not the entity: a streamed
    read of a million entities holds a few batches of them at a time).

    ``at``: each key taken, with where it was defined first; ``deferred``: the keys taken
    from ``defer`` descriptors; ``foreign``: those another source held (a conflict, or
    deferred to it); ``mine``: those this source held before the run.
    """

    at: dict[str, str] = field(default_factory=dict)
    deferred: set[str] = field(default_factory=set)
    foreign: set[str] = field(default_factory=set)
    mine: set[str] = field(default_factory=set)
    duplicates: list[RunError] = field(default_factory=list)
    conflicts: list[RunError] = field(default_factory=list)
    refused: list[Rejected] = field(default_factory=list)
    pushed: list[StoredEntity] = field(default_factory=list)

    def take(
        self, batch: dict[str, Descriptor], states: dict[str, EntityState], source: str
    ) -> None:
        """Note a batch's entities as taken, with how the store held them."""
        for key, item in batch.items():
            self.at[key] = str(item.location)
            if item.defer:
                self.deferred.add(key)
            before = states.get(key)
            if before is not None:
                (self.mine if before.source == source else self.foreign).add(key)

    def written_by_run(self, key: str) -> bool:
        """Whether the run wrote the key as this source's (not a duplicate, deferred, or
        another source's)."""
        return key in self.at and key not in self.deferred and key not in self.foreign


async def _load(
    store: RunStore,
    run: RunRecord,
    stream: DescriptorStream,
    policy: RunPolicy,
    report: Progress,
    now: Callable[[], datetime],
) -> None:
    """Write a read (batch by batch as it comes), then clean up (guarded) and record the
    run. What needs the whole read (the stored state of rejected entities, what unchanged
    and unreadable files keep, events, cleanup) comes after the last batch."""
    seen = _Seen()
    written = _Written()
    expected = await stream.expected()
    # a first ingest into an empty store builds some indexes once at the end (graph.port)
    async with store.bulk_load(expected):
        writer = _Writer(store, run, written, seen, now)
        try:
            async for batch in stream.batches(BATCH_SIZE):
                await _write_batch(store, run, policy, batch, seen, writer)
                if not gc.isenabled():
                    gc.collect(1)
                report("writing entities", len(seen.at), max(expected, len(seen.at)))
            await writer.drain()
        finally:
            writer.cancel()
    snapshot = stream.snapshot
    assert snapshot is not None
    _warn_taken_over(run, seen.pushed)
    if written.deferred:
        run.stats["deferredEntities"] = written.deferred
    run.commit = snapshot.commit
    run.warnings = [*snapshot.warnings, *run.warnings]
    run.stats = {**snapshot.stats, **run.stats}
    run.skipped = list(snapshot.skipped)
    errors = [*snapshot.errors, *seen.duplicates, *seen.conflicts]
    rejected = [*snapshot.rejected, *seen.refused]
    kept = await _keep_unchanged_files(store, run, snapshot.files, seen.at, written)
    mine = await _held_by_source(store, run.source, rejected, seen)
    alive = await _keep_previous_versions(store, run, snapshot, rejected, mine, seen.at, errors)
    live_events = await _keep_events(store, run, snapshot, seen.at, alive)
    report("cleaning up", 0, 0)
    read_nothing = not written.accepted and not rejected and not snapshot.scope_gone
    deleted, cancelled = await _cleanup(
        store, run, policy, read_nothing, snapshot, live_events, kept, now
    )
    if snapshot.files is not None and not cancelled:
        await _remember_files(store, run, snapshot.files, seen)
    await _finish(store, run, written, deleted, errors, now())
    if cancelled:
        raise asyncio.CancelledError


async def _write_batch(
    store: RunStore,
    run: RunRecord,
    policy: RunPolicy,
    batch: Sequence[Descriptor],
    seen: _Seen,
    writer: _Writer,
) -> None:
    """Take one batch of the read: its admitted kinds, its refs not taken before, how the
    store holds them (pushed ones taken over), then write it."""
    admitted = admit(batch, policy.kinds, seen.refused)
    unique = _dedupe(admitted, seen.at, seen.duplicates)
    states = await _stored_states(store, list(unique))
    if any(state.source != run.source for state in states.values()):
        await writer.drain()  # taking over rewrites relations: after the writes before it
    taken_over = await _take_over_pushed(store, run, list(unique), states, seen.pushed)
    seen.take(unique, states, run.source)
    await writer.write(unique, states, taken_over)


async def _held_by_source(
    store: RunStore, source: str, rejected: Sequence[Rejected], seen: _Seen
) -> set[str]:
    """The keys of ``rejected`` entities this source held before the run: of those taken
    too (another definition), as the store held them then; of the others, as it holds
    them now (the run wrote none of them)."""
    keys = [r.ref.lower() for r in rejected]
    held = {key for key in keys if key in seen.mine}
    others = [key for key in dict.fromkeys(keys) if key not in seen.at]
    states = await _stored_states(store, others)
    held.update(key for key, state in states.items() if state.source == source)
    return held


def _dedupe(
    descriptors: Sequence[Descriptor], taken: dict[str, str], errors: list[RunError]
) -> dict[str, Descriptor]:
    """One entity per ref in a run: of ``descriptors``, those whose ref is not ``taken``
    yet (by the run's earlier batches, or earlier in this one); later duplicates are errors."""
    unique: dict[str, Descriptor] = {}
    for item in descriptors:
        key = item.key
        first = unique[key].location if key in unique else taken.get(key)
        if first is not None:
            errors.append(
                RunError(
                    f"{item.ref} is already defined at {first}; remove one of the two",
                    file=str(item.location),
                    entity=item.ref,
                )
            )
            continue
        unique[key] = item
    return unique


async def _stored_states(store: RunStore, keys: Sequence[str]) -> dict[str, EntityState]:
    """What the store holds of each key (source, hash, error), read up front in chunks."""
    states: dict[str, EntityState] = {}
    for key_chunk in _chunks(keys):
        states.update(await store.get_entity_states(key_chunk))
    return states


class _Writer:
    """Writes the run's entities and their relations batch by batch, stamped with the
    source and run, and records what changed (:func:`_write_chunk`); each batch's write
    runs while the next one is read and converted.

    Refs another configured source holds are conflicts for this one (or, for a ``defer``
    entity, that source keeps the entity and this one adds its relations).
    """

    def __init__(
        self,
        store: RunStore,
        run: RunRecord,
        written: _Written,
        seen: _Seen,
        now: Callable[[], datetime],
    ) -> None:
        self.store, self.run, self.written, self.seen, self.now = store, run, written, seen, now
        self.writing: asyncio.Future[None] | None = None

    async def write(
        self,
        unique: dict[str, Descriptor],
        states: dict[str, EntityState],
        taken_over: dict[str, dict[str, Any]],
    ) -> None:
        """Convert a batch (``taken_over``: the pushed documents of the entities this run
        took over, which its changes compare with) and write it once the one before is
        written; ``states``: how the store held each key."""
        source, written = self.run.source, self.written
        for chunk in _chunks(list(unique)):
            records: list[EntityRecord] = []
            relations: list[RelationRecord] = []
            changed: list[str] = []  # keys whose stored document differs: read for the diff
            for key in chunk:
                item = unique[key]
                before = states.get(key)
                if before is not None and before.source != source and item.defer:
                    # Another source holds it: theirs stays, this source adds its relations.
                    written.deferred += 1
                    relations.extend(item.relations())
                    continue
                if before is not None and before.source != source:
                    self.seen.conflicts.append(_conflict(item, before))
                    continue
                record = item.record()
                records.append(record)
                relations.extend(item.relations())
                if before is None:
                    written.added[record.kind] += 1
                elif before.hash != record.hash or before.error is not None:
                    written.updated[record.kind] += 1
                    if before.hash != record.hash:
                        changed.append(key)
                else:
                    written.unchanged[record.kind] += 1
            await self.drain()
            if records or relations:
                self.writing = asyncio.ensure_future(
                    _write_chunk(
                        self.store,
                        self.run,
                        records,
                        relations,
                        changed,
                        states,
                        taken_over,
                        self.now(),
                    )
                )
            written.accepted += len(records)

    async def drain(self) -> None:
        """Wait for the write under way."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await writing

    def cancel(self) -> None:
        if self.writing is not None and not self.writing.done():
            self.writing.cancel()


async def _write_chunk(
    store: RunStore,
    run: RunRecord,
    records: Sequence[EntityRecord],
    relations: Sequence[RelationRecord],
    changed: Sequence[str],
    states: dict[str, EntityState],
    taken_over: dict[str, dict[str, Any]],
    at: datetime,
) -> None:
    """Write one chunk's entities and relations and record its changes: the stored
    documents of ``changed`` keys are read first (one call; new entities need none,
    unchanged ones record nothing), the changes recorded after the write (one call), so a
    reader of the change log finds the entity already written. A relation to an entity of
    a later chunk points at a placeholder until that chunk turns it into the entity."""
    stored = await read_before(store, changed)
    before: dict[str, dict[str, Any] | None] = {**taken_over, **stored}
    news = (r for r in records if r.key in before or r.key not in states)
    if records:
        await store.upsert_entities(run.source, run.id, records)
    await _write_relations(store, run, relations)
    if records:
        await store.record_changes(
            written_changes(source=run.source, run_id=run.id, records=news, before=before, at=at)
        )


async def _write_relations(
    store: RunStore, run: RunRecord, relations: Sequence[RelationRecord]
) -> None:
    """Write the relations of one chunk of entities, in batches."""
    for relation_chunk in _chunks(relations):
        await store.upsert_relations(run.source, run.id, relation_chunk)


async def _keep_unchanged_files(
    store: RunStore,
    run: RunRecord,
    files: FileMemos | None,
    unique: Container[str],
    written: _Written,
) -> list[str]:
    """The keys of the entities of the files the read found unchanged, which the run keeps
    as they are, counted as unchanged: not written at all (their stamp stays the run that
    read their file), only left out of cleanup (with the relations leaving them). A key
    read again from another file this time, or no longer in the store as this source's,
    is not kept: its file is forgotten (read again next time) and the run says so."""
    if files is None or not files.unchanged:
        return []
    owner: dict[str, str] = {}
    redefined: set[str] = set()
    for memo in files.unchanged:
        for key in memo.keys:
            if key in unique or key in owner:
                redefined.add(memo.path)
            else:
                owner[key] = memo.path
    absent = set(await store.absent_keys(run.source, list(owner)))
    kept = [key for key in owner if key not in absent]
    for key in kept:
        written.unchanged[key.split(":", 1)[0]] += 1
    written.accepted += len(kept)
    missing = {owner[key] for key in absent}
    if missing or redefined:
        files.forgotten.extend(sorted(missing | redefined))
        run.warnings.append(
            f"{len(missing | redefined)} unchanged files were not taken as they were (an "
            "entity of theirs is defined again elsewhere, or is no longer this source's); "
            "they are read again on the next run"
        )
    run.stats["filesUnchanged"] = len(files.unchanged)
    return kept


async def _remember_files(store: RunStore, run: RunRecord, files: FileMemos, seen: _Seen) -> None:
    """Keep, for the next run, the files read whose every entity this run wrote as this
    source's (none a duplicate, deferred, or held by another source); forget the others."""
    keep = [memo for memo in files.read if all(seen.written_by_run(key) for key in memo.keys)]
    kept = {memo.path for memo in keep}
    forget = [*files.forgotten, *(m.path for m in files.read if m.path not in kept)]
    await store.update_source_files(run.source, keep, forget)


def _conflict(item: Descriptor, holder: EntityState) -> RunError:
    """The error for a ref another configured source already holds."""
    return RunError(
        f"{item.ref} is already defined by source {holder.source!r}; a ref belongs "
        "to one source (of two configured sources, the first keeps it): rename the entity "
        "or remove it from one source",
        file=str(item.location),
        entity=item.ref,
    )


async def _keep_previous_versions(
    store: RunStore,
    run: RunRecord,
    snapshot: Snapshot,
    rejected: Sequence[Rejected],
    mine: Container[str],
    taken: Collection[str],
    errors: list[RunError],
) -> set[str]:
    """Keep what this run could not read: an invalid entity (``rejected``) keeps its last
    good version when this source held it (``mine``), marked with the error; the entities
    of files that could not be read are kept as they were. Returns the keys the run saw
    (``taken`` or rejected) or kept (cleanup leaves them)."""
    source = run.source
    for item in rejected:
        errors.append(item.error)
        key = item.ref.lower()
        if key in mine:
            await store.touch(source, run.id, [key], item.error.message)
    seen = set(taken) | {r.ref.lower() for r in rejected}
    if snapshot.keep_files:
        kept_for = await _entities_from_files(store, source, snapshot.keep_files, taken)
        reasons = _kept_because(errors)
        kept_by_error: dict[str | None, list[str]] = {}
        for key, file in kept_for.items():
            if key not in taken:
                kept_by_error.setdefault(reasons.get(file), []).append(key)
        for error, kept in kept_by_error.items():
            seen.update(kept)
            for kept_chunk in _chunks(kept):
                await store.touch(source, run.id, kept_chunk, error)
    return seen


async def _keep_events(
    store: RunStore,
    run: RunRecord,
    snapshot: Snapshot,
    unique: Container[str],
    seen: set[str],
) -> set[str]:
    """Keep the events (builds, deployments) their retention keeps; returns the live events
    (seen or kept), which the cleanup guard does not count."""
    event_kinds = _event_kinds(snapshot)
    live_events = {k for k in seen if k.split(":", 1)[0] in event_kinds}
    for retention in snapshot.events:
        keep = await _events_to_keep(store, run.source, retention, seen)
        keep = [k for k in keep if k not in unique]
        live_events.update(keep)
        for keep_chunk in _chunks(keep):
            await store.touch(run.source, run.id, keep_chunk, None)
    return live_events


def _event_kinds(snapshot: Snapshot) -> set[str]:
    return {r.kind.lower() for r in snapshot.events}


async def _cleanup(
    store: RunStore,
    run: RunRecord,
    policy: RunPolicy,
    read_nothing: bool,
    snapshot: Snapshot,
    live_events: set[str],
    kept: Sequence[str] = (),
    now: Callable[[], datetime] = _utcnow,
) -> tuple[dict[str, int], bool]:
    """Delete what the source no longer has (neither written by this run nor ``kept``, the
    entities of its unchanged files), under the guard: nothing when the read found
    nothing, or when more than ``policy.max_delete_share`` of the source would go (pruned
    events not counted). Records what it did in ``run.cleanup``; returns the deleted counts
    per kind, and whether a cancellation arrived while the deletion was being written."""
    if snapshot.additive:
        run.cleanup = "skipped: a direct update from webhook deliveries deletes nothing"
        return {}, False
    event_kinds = _event_kinds(snapshot)
    scope = run.scope or ()
    summary = await store.stale(run.source, run.id, scope, kept)
    # Pruned events (builds, deployments past retention) do not count: a lower retention or
    # a removed repository with many builds must not block all cleanup.
    stale = [k for k in summary.stale_refs if k.split(":", 1)[0] not in event_kinds]
    stale_events = len(summary.stale_refs) - len(stale)
    guarded_total = summary.source_total - stale_events - len(live_events)
    if read_nothing:
        run.cleanup = "skipped: the read found no entities, so nothing was deleted"
        return {}, False
    if stale and len(stale) > policy.max_delete_share * guarded_total:
        run.cleanup = (
            f"skipped: {len(stale)} of {guarded_total} entities (events not counted) would be "
            f"deleted, more than {policy.max_delete_share:.0%}; nothing was deleted "
            "(check the source, or delete them deliberately)"
        )
        return {}, False
    going = await _stored(store, [ref.lower() for ref in summary.stale_refs])
    # The last store write, one transaction. Once sent it cannot be called back, so a
    # cancellation arriving meanwhile waits for it (and for its changes to be recorded) and
    # is let through after the record.
    cancelled = False
    deleting = asyncio.ensure_future(_delete_stale(store, run, scope, kept, going, now))
    try:
        deleted = await asyncio.shield(deleting)
    except asyncio.CancelledError:
        deleted = await deleting
        cancelled = True
        run.warnings.append(
            "the run was cancelled while its cleanup was being written; "
            "cleanup completed and is recorded here"
        )
    run.cleanup = f"done: {sum(deleted.values())} stale entities deleted"
    return deleted, cancelled


async def _stored(store: RunStore, keys: Sequence[str]) -> list[StoredEntity]:
    """The stored entities of ``keys`` (what cleanup's changes record as deleted)."""
    found: list[StoredEntity] = []
    for chunk in _chunks(keys):
        found.extend((await store.get_entities(chunk)).values())
    return found


async def _delete_stale(
    store: RunStore,
    run: RunRecord,
    scope: Scope,
    kept: Sequence[str],
    going: Sequence[StoredEntity],
    now: Callable[[], datetime],
) -> dict[str, int]:
    """Delete the stale entities, then record each one ``going`` (read just before, under
    the source's lease) as deleted, one call per chunk."""
    deleted = await store.delete_stale(run.source, run.id, scope, kept)
    if sum(deleted.values()):
        for chunk in _chunks(going):
            await store.record_changes(
                deleted_changes(source=run.source, run_id=run.id, entities=chunk, at=now())
            )
    return deleted


async def _finish(
    store: RunStore,
    run: RunRecord,
    written: _Written,
    deleted: dict[str, int],
    errors: list[RunError],
    when: datetime,
) -> None:
    """Record the run's counts, errors and status (PARTIAL with any error) and save it."""
    run.counts = _counts(written.added, written.updated, written.unchanged, deleted)
    run.errors = errors
    run.status = "PARTIAL" if errors else "SUCCEEDED"
    run.finished_at = when
    await _save_final(store, run)
