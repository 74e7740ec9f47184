"""The Neo4j store class: :class:`graph.port.GraphStore` over a server or cluster, each
method handing its work to the module of its concern (:mod:`~graph.neo4j.writes`,
:mod:`~graph.neo4j.reads`, :mod:`~graph.neo4j.questions`, :mod:`~graph.neo4j.runs`).

long: one method per role method of :mod:`graph.port`, each a line or two handing over;
splitting the class would only scatter the delegation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from catalog.changes import EntityChange
from graph.neo4j import (
    changes,
    deliveries,
    facet_counts,
    files,
    locations,
    pages,
    quality,
    questions,
    reads,
    runs,
    schema,
    tasks,
    writes,
)
from graph.neo4j.connection import Connection
from graph.neo4j.rows import searchable_props
from graph.port import (
    Cursor,
    DanglingPage,
    Delivery,
    Direction,
    EntityFilter,
    EntityRecord,
    EntityState,
    FieldOrder,
    ImpactRow,
    LocationRecord,
    Order,
    Orphan,
    Page,
    RelatedPage,
    RelatedPlan,
    RelationRecord,
    RunRecord,
    Scope,
    SourceFile,
    StaleSummary,
    StoredEntity,
    StoredRelation,
    TaskEvent,
    TaskOrder,
    TaskRecord,
    Traversal,
)


async def _prepare(db: Connection) -> None:
    """The schema and its migrations, then the facet counts of a store without them."""
    await schema.prepare(db, searchable_props)
    await facet_counts.fill(db)


class Neo4jStore:
    """:class:`graph.port.GraphStore` over a Neo4j server or cluster (``bolt://``,
    ``neo4j://``); reads go through read transactions, so a cluster serves them from
    followers."""

    def __init__(self, url: str, *, user: str | None, password: str | None) -> None:
        self.url = url
        self._db = Connection(url, user=user, password=password)

    @property
    def query_count(self) -> int:
        return self._db.queries

    async def setup(self) -> None:
        await self._db.open(_prepare)

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> bool:
        return await self._db.ping()

    # -- writes --------------------------------------------------------------------------
    async def upsert_entities(
        self, source: str, run_id: str, records: Sequence[EntityRecord]
    ) -> None:
        await writes.upsert_entities(self._db, source, run_id, records)

    async def upsert_relations(
        self, source: str, run_id: str, records: Sequence[RelationRecord]
    ) -> None:
        await writes.upsert_relations(self._db, source, run_id, records)

    @asynccontextmanager
    async def bulk_load(self, expected: int) -> AsyncIterator[bool]:
        """Nothing deferred: Neo4j's indexes (uniqueness constraints among them) stay. A
        first ingest (more than one batch into a store with no entity) writes its entities
        through concurrent transactions (:func:`graph.neo4j.writes.bulk_writers`)."""
        if expected <= writes.BULK_BATCH_SIZE or await reads.has_entities(self._db):
            yield False
            return
        with writes.bulk_writers():
            yield False

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        await writes.touch(self._db, source, run_id, keys, error)

    async def stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> StaleSummary:
        return await writes.stale(self._db, source, run_id, scope, kept)

    async def delete_stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> dict[str, int]:
        return await writes.delete_stale(self._db, source, run_id, scope, kept)

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        return await writes.delete_entities(self._db, source, keys)

    async def mutate(
        self,
        source: str,
        run_id: str,
        upserts: Sequence[EntityRecord],
        add_relations: Sequence[RelationRecord],
        remove_relations: Sequence[RelationRecord],
        delete_keys: Sequence[str],
    ) -> None:
        await writes.mutate(
            self._db, source, run_id, upserts, add_relations, remove_relations, delete_keys
        )

    # -- reads ---------------------------------------------------------------------------
    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        return await reads.get_entities(self._db, keys)

    async def get_entity_states(self, keys: Sequence[str]) -> dict[str, EntityState]:
        return await reads.get_entity_states(self._db, keys)

    async def get_relations(
        self, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
    ) -> list[StoredRelation]:
        return await reads.get_relations(self._db, keys, direction, types)

    async def get_entities_with_relations(
        self, keys: Sequence[str], direction: Direction = Direction.BOTH
    ) -> tuple[dict[str, StoredEntity], list[StoredRelation]]:
        return await reads.get_entities_with_relations(self._db, keys, direction)

    async def list_entities(
        self,
        flt: EntityFilter,
        first: int,
        after: Cursor | str | None = None,
        order: Order = Order.KEY,
        backward: bool = False,
    ) -> Page:
        return await pages.entity_page(self._db, flt, first, (), after, order, backward)

    async def entity_page(
        self,
        flt: EntityFilter,
        first: int,
        plans: Sequence[RelatedPlan],
        after: Cursor | str | None = None,
        order: Order = Order.KEY,
        backward: bool = False,
        summary: bool = False,
    ) -> RelatedPage:
        return await pages.entity_page(self._db, flt, first, plans, after, order, backward, summary)

    async def count_entities(self, flt: EntityFilter) -> int:
        return await reads.count_entities(self._db, flt)

    async def facets(
        self, fields: Sequence[str], flt: EntityFilter, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        return await reads.facets(self._db, fields, flt, limit)

    async def select_entities(
        self, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
    ) -> list[StoredEntity]:
        return await reads.select_entities(self._db, flt, order, offset, limit)

    async def select_entities_with_relations(
        self, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
    ) -> tuple[list[StoredEntity], list[StoredRelation]]:
        return await reads.select_entities_with_relations(self._db, flt, order, offset, limit)

    async def query_entities(
        self,
        flt: EntityFilter,
        order: Sequence[FieldOrder],
        offset: int,
        limit: int,
        relations: bool,
    ) -> tuple[list[StoredEntity], list[StoredRelation] | None, int]:
        return await reads.query_entities(self._db, flt, order, offset, limit, relations)

    async def field_facets(
        self, paths: Sequence[str], flt: EntityFilter
    ) -> dict[str, list[tuple[str, int]]]:
        return await reads.field_facets(self._db, paths, flt)

    # -- graph questions -----------------------------------------------------------------
    async def traverse(
        self, root_key: str, rel_type: str, direction: Direction, max_depth: int
    ) -> Traversal:
        return await questions.traverse(self._db, root_key, rel_type, direction, max_depth)

    async def expand_groups(self, keys: Sequence[str]) -> list[str]:
        return await questions.expand_groups(self._db, keys)

    async def impact(self, root_key: str, max_depth: int) -> list[ImpactRow]:
        return await questions.impact(self._db, root_key, max_depth)

    async def shortest_path(
        self, from_key: str, to_key: str, rel_type: str, max_depth: int
    ) -> list[str] | None:
        return await questions.shortest_path(self._db, from_key, to_key, rel_type, max_depth)

    async def dangling(
        self, first: int, after: tuple[str, str, str] | None = None, backward: bool = False
    ) -> DanglingPage:
        return await quality.dangling(self._db, first, after, backward)

    async def orphans(
        self, first: int, after: str | None = None, backward: bool = False
    ) -> tuple[list[Orphan], bool]:
        return await quality.orphans(self._db, first, after, backward)

    async def count_dangling(self) -> int:
        return await quality.count_dangling(self._db)

    async def count_orphans(self) -> int:
        return await quality.count_orphans(self._db)

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        return await questions.owned_by(self._db, owner_keys, include_subgroups)

    async def owned_entities(
        self, owner_keys: Sequence[str], include_subgroups: bool, summary: bool = False
    ) -> list[StoredEntity]:
        return await questions.owned_entities(self._db, owner_keys, include_subgroups, summary)

    # -- runs ----------------------------------------------------------------------------
    async def save_run(self, run: RunRecord) -> None:
        await runs.save_run(self._db, run)

    async def get_runs(
        self,
        source: str | None,
        first: int,
        after: str | None = None,
        status: str | None = None,
        backward: bool = False,
    ) -> list[RunRecord]:
        return await runs.get_runs(self._db, source, first, after, status, backward)

    async def count_runs(self, source: str | None, status: str | None = None) -> int:
        return await runs.count_runs(self._db, source, status)

    async def latest_runs(
        self, sources: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, RunRecord]:
        return await runs.latest_runs(self._db, sources, statuses)

    async def runs_by_id(self, ids: Sequence[str]) -> dict[str, RunRecord]:
        return await runs.runs_by_id(self._db, ids)

    async def prune_runs(self, started_before: datetime) -> int:
        return await runs.prune_runs(self._db, started_before)

    async def finished_runs(self, since: datetime, first: int) -> list[RunRecord]:
        return await runs.finished_runs(self._db, since, first)

    # -- leases --------------------------------------------------------------------------
    async def acquire_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        return await runs.acquire_lease(self._db, name, owner, now, until)

    async def release_lease(self, name: str, owner: str) -> None:
        await runs.release_lease(self._db, name, owner)

    # -- scaffolder tasks ----------------------------------------------------------------
    async def save_task(self, task: TaskRecord) -> None:
        await tasks.save_task(self._db, task)

    async def get_tasks(self, ids: Sequence[str]) -> dict[str, TaskRecord]:
        return await tasks.get_tasks(self._db, ids)

    async def list_tasks(
        self,
        first: int,
        after: str | None = None,
        *,
        template: str | None = None,
        status: str | Sequence[str] | None = None,
        created_by: str | Sequence[str] | None = None,
        order: Sequence[TaskOrder] = (),
        offset: int = 0,
        backward: bool = False,
    ) -> list[TaskRecord]:
        return await tasks.list_tasks(
            self._db, first, after, template, status, created_by, order, offset, backward
        )

    async def count_tasks(
        self,
        *,
        template: str | None = None,
        status: str | Sequence[str] | None = None,
        created_by: str | Sequence[str] | None = None,
    ) -> int:
        return await tasks.count_tasks(self._db, template, status, created_by)

    async def claim_task(self, owner: str, now: datetime, until: datetime) -> TaskRecord | None:
        return await tasks.claim_task(self._db, owner, now, until)

    async def renew_task(self, task_id: str, owner: str, until: datetime) -> TaskRecord | None:
        return await tasks.renew_task(self._db, task_id, owner, until)

    async def fail_expired_tasks(self, now: datetime, reason: str) -> list[TaskRecord]:
        return await tasks.fail_expired_tasks(self._db, now, reason)

    async def request_cancel(self, task_id: str, now: datetime) -> TaskRecord | None:
        return await tasks.request_cancel(self._db, task_id, now)

    async def add_task_events(
        self, task_id: str, at: datetime, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[TaskEvent]:
        return await tasks.add_task_events(self._db, task_id, at, events)

    async def get_task_events(self, task_id: str, after: int = 0) -> list[TaskEvent]:
        return await tasks.get_task_events(self._db, task_id, after)

    # -- locations -----------------------------------------------------------------------
    async def add_location(self, location: LocationRecord) -> LocationRecord:
        return await locations.add_location(self._db, location)

    async def get_locations(self, ids: Sequence[str] | None = None) -> list[LocationRecord]:
        return await locations.get_locations(self._db, ids)

    async def delete_location(self, id: str) -> LocationRecord | None:
        return await locations.delete_location(self._db, id)

    # -- recorded entity changes -----------------------------------------------------------
    async def record_changes(self, recorded: Sequence[EntityChange]) -> None:
        await changes.record_changes(self._db, recorded)

    async def changes(
        self,
        *,
        since: datetime | None = None,
        after_id: str | None = None,
        ref: str | None = None,
        kind: str | None = None,
        source: str | None = None,
        limit: int = 100,
        backward: bool = False,
    ) -> list[EntityChange]:
        return await changes.changes(
            self._db,
            since=since,
            after_id=after_id,
            ref=ref,
            kind=kind,
            source=source,
            limit=limit,
            backward=backward,
        )

    async def count_changes(
        self,
        *,
        since: datetime | None = None,
        ref: str | None = None,
        kind: str | None = None,
        source: str | None = None,
    ) -> int:
        return await changes.count_changes(self._db, since=since, ref=ref, kind=kind, source=source)

    async def prune_changes(self, before: datetime) -> int:
        return await changes.prune_changes(self._db, before)

    async def latest_changes(
        self, refs: Sequence[str], limit: int
    ) -> dict[str, list[EntityChange]]:
        return await changes.latest_changes(self._db, refs, limit)

    async def feed_cursor(self, name: str) -> str | None:
        return await changes.feed_cursor(self._db, name)

    async def save_feed_cursor(self, name: str, position: str) -> None:
        await changes.save_feed_cursor(self._db, name, position)

    # -- source files ----------------------------------------------------------------------
    async def source_files(self, source: str) -> dict[str, SourceFile]:
        return await files.source_files(self._db, source)

    async def update_source_files(
        self, source: str, upserts: Sequence[SourceFile], deletes: Sequence[str]
    ) -> None:
        await files.update_source_files(self._db, source, upserts, deletes)

    async def absent_keys(self, source: str, keys: Sequence[str]) -> list[str]:
        return await files.absent_keys(self._db, source, keys)

    # -- webhook deliveries ----------------------------------------------------------------
    async def record_delivery(self, delivery: Delivery) -> bool:
        return await deliveries.record_delivery(self._db, delivery)

    async def waiting_deliveries(self, sources: Sequence[str], first: int) -> list[Delivery]:
        return await deliveries.waiting_deliveries(self._db, sources, first)

    async def take_deliveries(self, ids: Sequence[str], run_id: str) -> None:
        await deliveries.take_deliveries(self._db, ids, run_id)

    async def prune_deliveries(self, received_before: datetime) -> int:
        return await deliveries.prune_deliveries(self._db, received_before)
