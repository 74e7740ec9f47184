"""The graph store port: what the rest of Stagegraph may ask of a store.

long: the records a store takes and gives back and the role protocols that use them are one
specification, read together by both adapters and every consumer; split, each half would
only make sense with the other open beside it.

Two adapters implement it, :mod:`graph.sqlite` and :mod:`graph.neo4j`; one contract test
suite (``tests/graph/test_store_contract.py``) runs unchanged on each.

The methods are grouped into roles, and :class:`GraphStore` combines them all:

- :class:`EntityWriter`: upserts, cleanup, :meth:`~EntityWriter.mutate`;
- :class:`EntityReader`: by key, listings, counts, facets;
- :class:`GraphQuestions`: traversal, impact, paths, ownership, dangling refs, orphans;
- :class:`RunLog`: ingestion run records;
- :class:`Leases`: one run per source across processes;
- :class:`Tasks`: scaffolder tasks, their events, and claiming one for exactly one process.
- :class:`Locations`: locations registered at run time (git sources kept in the store);
- :class:`Deliveries`: webhook deliveries waiting for the worker that holds their source;
- :class:`SourceFiles`: what each file of a source produced, by its git blob id;
- :class:`ChangeLog`: recorded entity changes (the change feed).

Code that needs only some of them types against those roles, so what it may ask of the
store is visible in its signature.

Keys are lowercased full refs (:attr:`catalog.refs.EntityRef.key`); refs as written are
kept for display. Every method is one or a few round trips whatever the number of keys,
so callers batch (DataLoaders do) and N+1 never reaches the store.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from catalog.changes import EntityChange
from graph.errors import StoreError


class Direction(enum.Enum):
    """Which way to follow a relation from an entity."""

    OUT = "out"  # the entity is the relation's source (forward types: ownedBy, dependsOn, ...)
    IN = "in"  # the entity is the relation's target (read as inverse types: ownerOf, ...)
    BOTH = "both"


@dataclass(frozen=True)
class EntityRecord:
    """An entity as written: identity, the full document, and a content hash.

    ``document_json``: the document as compact JSON text, when the writer has it already
    (``orjson.dumps(document)``, :class:`ingestors.records.Prepared`); a store may write
    it as it is rather than serialise the document again."""

    ref: str
    kind: str
    namespace: str
    name: str
    document: dict[str, Any]
    hash: str
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    document_json: str | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return self.ref.lower()


@dataclass(frozen=True)
class RelationRecord:
    """A forward relation as written."""

    source_ref: str
    type: str
    target_ref: str


@dataclass(frozen=True)
class StoredEntity:
    """An entity as read back, with its provenance.

    A summary (what :meth:`EntityReader.entity_page` and :meth:`GraphQuestions.owned_entities`
    give with ``summary=True``) is read without its document: every field is as stored but
    ``document``, which holds only the document's ``kind`` (as written). Read only identity,
    provenance and the kind as written from a summary."""

    ref: str
    kind: str
    namespace: str
    name: str
    document: dict[str, Any]
    hash: str
    source: str
    run_id: str
    updated_at: datetime
    error: str | None = None

    @property
    def key(self) -> str:
        return self.ref.lower()


@dataclass(frozen=True)
class EntityState:
    """What a run needs to know of an entity already stored: who holds it, its content
    hash and its error (no document, so it is cheap to read for a whole source)."""

    source: str
    hash: str
    error: str | None = None


@dataclass(frozen=True)
class StoredRelation:
    """A forward relation as read back; ``*_exists`` is False for a dangling end."""

    source_ref: str
    type: str
    target_ref: str
    source: str
    source_exists: bool = True
    target_exists: bool = True


@dataclass(frozen=True)
class FieldCondition:
    """One condition of a Backstage filter set: the entity has the dot path ``path`` (any
    case; :mod:`graph.fields` says what the paths are), with one of ``values`` unless that is
    empty. Values match case-insensitively. ``relations.<type>`` (forward or inverse type,
    any case) holds when the entity has such a relation, to one of ``values`` (refs).
    ``negated``: the condition holds exactly when it would not (``path`` absent, or none of
    ``values``)."""

    path: str
    values: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class TextFilter:
    """Backstage's full-text filter: some value at one of ``paths`` contains ``term``
    (case-insensitively)."""

    term: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class FieldOrder:
    """Order by the value at a dot path (lowercased; the smallest when the entity has
    several); entities without it come last, in either direction."""

    path: str
    descending: bool = False


@dataclass(frozen=True)
class EntityFilter:
    """Filters for listing entities; all given filters must hold. Keys are lowercase refs.

    ``owner_keys``: owned (``ownedBy``) by one of these; ``system_keys``: ``partOf`` one of
    these; ``types`` / ``lifecycles``: ``spec.type`` / ``spec.lifecycle`` is one of these;
    ``annotation``: (key, value) — the annotation exists, with that value unless None.
    ``any_of``: Backstage's filter sets — at least one set has all its conditions hold
    (empty: no condition); ``text``: the full-text filter; ``keys``: only these entities.
    """

    kinds: tuple[str, ...] = ()
    namespace: str | None = None
    owner_keys: tuple[str, ...] = ()
    tag: str | None = None
    search: str | None = None
    source: str | None = None
    types: tuple[str, ...] = ()
    lifecycles: tuple[str, ...] = ()
    system_keys: tuple[str, ...] = ()
    annotation: tuple[str, str | None] | None = None
    any_of: tuple[tuple[FieldCondition, ...], ...] = ()
    text: TextFilter | None = None
    keys: tuple[str, ...] = ()


class Order(enum.Enum):
    """Listing orders. Every order ends with the key, so positions are total and stable."""

    KEY = "key"  # ascending key
    NAME = "name"  # ascending lowercased name
    KIND = "kind"  # ascending kind
    UPDATED_AT = "updated_at"  # newest first
    RELEVANCE = "relevance"  # best search match first (needs ``EntityFilter.search``)


@dataclass(frozen=True)
class Cursor:
    """A position in a listing: the sort value of the last item seen, and its key."""

    value: str | float
    key: str


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paginated listing; pass ``last_cursor`` as the next ``after``."""

    entities: list[StoredEntity]
    has_next: bool
    cursors: list[Cursor] = field(default_factory=list)

    @property
    def last_key(self) -> str | None:
        return self.entities[-1].key if self.entities else None

    @property
    def last_cursor(self) -> Cursor | None:
        return self.cursors[-1] if self.cursors else None


#: The most :class:`RelatedPlan` one :meth:`EntityReader.entity_page` call takes.
MAX_RELATED_PLANS = 8


@dataclass(frozen=True)
class RelatedPlan:
    """One relation walk a page answers together with its entities: the entities at the
    other end of ``type`` relations (a forward name such as ``dependsOn`` or an inverse
    one such as ``dependencyOf``), of ``kind`` (lowercase) when given. ``light``: read
    only their ref, kind, namespace and name; their document is then empty and their
    provenance blank, so only fields made of those may be read from them."""

    type: str
    kind: str | None = None
    light: bool = False


def check_related_plans(plans: Sequence[RelatedPlan]) -> None:
    """Refuse more plans than one :meth:`EntityReader.entity_page` statement takes."""
    if len(plans) > MAX_RELATED_PLANS:
        raise StoreError(
            f"a page takes at most {MAX_RELATED_PLANS} relation plans, got {len(plans)}"
        )


@dataclass(frozen=True)
class RelatedPage(Page):
    """A page with the other ends of each :class:`RelatedPlan` attached: ``related[i][j]``
    holds, for ``entities[i]`` and the ``j``-th plan, the entity at each ref at the other
    end, each ref once, in key order; None where the ref is not an entity (dangling)."""

    related: list[list[list[StoredEntity | None]]] = field(default_factory=list)


#: The most order fields :meth:`EntityReader.select_entities` takes.
MAX_ORDER_FIELDS = 4

FACET_FIELDS = (
    "kind",
    "namespace",
    "spec.type",
    "spec.lifecycle",
    "metadata.tags",
    "owner",
    "source",
)


@dataclass(frozen=True)
class ImpactRow:
    """An entity that breaks when the root breaks: its shortest distance and the last hop
    (``dependsOn``: it depends on something affected; ``consumesApi``: it consumes an API
    something affected provides)."""

    key: str
    ref: str
    distance: int
    via: str


@dataclass(frozen=True)
class DanglingPage:
    """Relations with an end that is not an entity, ordered by (source, type, target) key."""

    relations: list[StoredRelation]
    has_next: bool


@dataclass(frozen=True)
class Orphan:
    """An entity of an ownable kind with no owner (``owner_ref`` None) or a missing one."""

    entity: StoredEntity
    owner_ref: str | None


#: Kinds that should have an owner (Backstage requires spec.owner on them).
OWNED_KINDS = ("component", "api", "resource", "system", "domain", "template")


@dataclass(frozen=True)
class TraversalEdge:
    """A forward edge met during a traversal: ``from_ref`` --type--> ``to_ref``."""

    from_ref: str
    to_ref: str


@dataclass(frozen=True)
class Traversal:
    """Entities reachable from a root with their shortest distance, and the edges between them.

    ``depths`` maps the key of every reached entity (the root excluded) to its shortest
    distance; ``refs`` maps keys to refs as written; ``edges`` are forward edges between
    reached entities (or the root) that the walk followed; ``entities`` holds the entities of
    the root and of every reached key, where one exists, read with the walk (a caller needs
    no second round trip with the keys).
    """

    depths: dict[str, int]
    refs: dict[str, str]
    edges: list[TraversalEdge]
    entities: dict[str, StoredEntity] = field(default_factory=dict)


@dataclass(frozen=True)
class KindCount:
    kind: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class RunError:
    """One problem met during a run: where (file, entity) and what."""

    message: str
    file: str | None = None
    entity: str | None = None


@dataclass
class RunRecord:
    """The record of one ingestion run."""

    id: str
    source: str
    source_type: str
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None = None
    commit: str | None = None
    counts: list[KindCount] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cleanup: str | None = None  # what cleanup did, or why it was skipped
    stats: dict[str, int] = field(default_factory=dict)  # API calls, quota left, ...
    skipped: list[str] = field(default_factory=list)  # passed over on purpose, with why
    # A scoped run read only these parts of its source (source paths, see :data:`Scope`);
    # None: the whole source.
    scope: list[str] | None = None


Scope = Sequence[str]
"""Parts of a source, as values of an entity's ``stagegraph.dev/source-path`` annotation: an
entity is inside when its source path is one of them or lies below one (``github:acme/pay``
holds ``github:acme/pay`` and ``github:acme/pay/actions``; ``services`` holds
``services/a/catalog-info.yaml``). Empty: the whole source."""

SOURCE_PATH_ANNOTATION = "stagegraph.dev/source-path"


@dataclass
class TaskStep:
    """One step of a scaffolder task as recorded: ``open``, ``processing``, ``completed``,
    ``failed``, ``skipped`` or ``cancelled``."""

    id: str
    name: str
    action: str
    status: str = "open"
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass
class TaskRecord:
    """A scaffolder task: ``open`` -> ``processing`` -> ``completed`` | ``failed`` |
    ``cancelled``. ``values`` never holds a secret; a task created with secrets is
    ``pinned_to`` the scheduler that holds them in memory (only it may claim the task).
    ``owner`` and ``lease_until``: who runs it, until when unless renewed."""

    id: str
    template: str
    status: str
    created_at: datetime
    created_by: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    steps: list[TaskStep] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None
    failed_step: str | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    pinned_to: str | None = None
    cancel_requested: bool = False
    ended_at: datetime | None = None
    files: list[dict[str, str]] = field(default_factory=list)  # a dry run's rendered files
    step_inputs: dict[str, Any] = field(default_factory=dict)  # a dry run's rendered inputs
    notifications: list[dict[str, Any]] = field(default_factory=list)


#: The fields a task listing can be ordered by (Backstage's ``order=<asc|desc>:<field>``).
TaskOrderField = Literal["created_at", "status", "created_by"]
TASK_ORDER_FIELDS: tuple[TaskOrderField, ...] = ("created_at", "status", "created_by")


@dataclass(frozen=True)
class TaskOrder:
    """One key of a task listing's order; a task with no ``created_by`` sorts as ``""``."""

    field: TaskOrderField
    descending: bool = False


@dataclass(frozen=True)
class TaskEvent:
    """One event of a task, numbered from 1 in order: ``log`` (a line, of a step or of the
    task), ``step`` (a step's new status), ``completion`` (the task's end), ``cancelled``."""

    task_id: str
    seq: int
    at: datetime
    type: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StaleSummary:
    """What cleanup would delete for a source: entities not stamped with the current run."""

    source_total: int
    stale_refs: list[str]
    stale_kinds: dict[str, int]


@dataclass(frozen=True)
class LocationRecord:
    """A location registered at run time (Backstage's ``POST /locations``), kept in the store
    so it outlives the process: ``type`` and ``target`` as registered, ``source`` the name
    the entities read from it carry, and what that git source reads (``url`` at ``ref``,
    limited to ``paths``). ``template``: the ref of the Template a scaffolder task made the
    location's repository from (``catalog:register``); every entity read from it is
    annotated ``backstage.io/source-template`` with it, on every read."""

    id: str
    type: str
    target: str
    source: str
    url: str
    created_at: datetime
    ref: str | None = None
    paths: tuple[str, ...] = ()
    template: str | None = None


class EntityWriter(Protocol):
    """Writing a source's entities and relations, each stamped with the source and its run
    id, and cleaning up what a run did not see. A source's writes never touch another
    source's data."""

    async def upsert_entities(
        self, source: str, run_id: str, records: Sequence[EntityRecord]
    ) -> None:
        """Insert or replace entities, stamping source, run id and time; clears any error."""
        ...

    async def upsert_relations(
        self, source: str, run_id: str, records: Sequence[RelationRecord]
    ) -> None:
        """Insert or restamp forward relations (unique on source, type, target)."""
        ...

    def bulk_load(self, expected: int) -> AbstractAsyncContextManager[bool]:
        """A context for writing ``expected`` entities at once (a first ingest): a store may
        defer the upkeep of secondary indexes to its end, when the write is large and the
        store holds no entity yet. Yields whether it did. Reads stay correct inside (only
        slower); the indexes are back when the context ends, whether it ends well, by an
        exception or by cancellation (and a store opened after a crash inside it rebuilds
        them)."""
        ...

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        """Restamp entities kept from an earlier run (and their relations) with ``run_id``,
        recording ``error`` on them: an entity that turned invalid keeps its last good version."""
        ...

    async def stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> StaleSummary:
        """What :meth:`delete_stale` would delete with the same arguments;
        ``source_total`` counts the whole source, in scope or not."""
        ...

    async def delete_stale(
        self, source: str, run_id: str, scope: Scope = (), kept: Sequence[str] = ()
    ) -> dict[str, int]:
        """Delete this source's entities neither stamped with ``run_id`` nor in ``kept``, and
        its relations not stamped with it that leave such an entity or one of its kept
        entities (a relation leaving an entity in ``kept`` stays); with a ``scope``, only
        entities inside it (and relations leaving them). ``kept``: the keys a run keeps as
        they are without writing them, the entities of the files it found unchanged and did
        not read again (their stamp stays the run that read them). Returns deleted entity
        counts per kind."""
        ...

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        """Delete the given entities of ``source`` (others' are untouched) with their
        outgoing relations; returns how many were deleted."""
        ...

    async def mutate(
        self,
        source: str,
        run_id: str,
        upserts: Sequence[EntityRecord],
        add_relations: Sequence[RelationRecord],
        remove_relations: Sequence[RelationRecord],
        delete_keys: Sequence[str],
    ) -> None:
        """All or nothing, in one transaction: upsert entities, add and remove this source's
        relations, and delete this source's entities in ``delete_keys`` (with their outgoing
        relations of this source). Another source's data is never touched."""
        ...


class EntityReader(Protocol):
    """Reading entities and relations by key, and listing, counting and faceting entities
    that match a filter."""

    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        """Entities by key; missing keys are absent from the result."""
        ...

    async def get_entity_states(self, keys: Sequence[str]) -> dict[str, EntityState]:
        """Source, hash and error of entities by key (what the runner compares a run
        with); missing keys are absent from the result."""
        ...

    async def get_relations(
        self, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
    ) -> list[StoredRelation]:
        """Forward relations whose source (OUT), target (IN) or either (BOTH) is in ``keys``."""
        ...

    async def get_entities_with_relations(
        self, keys: Sequence[str], direction: Direction = Direction.BOTH
    ) -> tuple[dict[str, StoredEntity], list[StoredRelation]]:
        """:meth:`get_entities` and :meth:`get_relations` (every type) of the same keys in
        one statement: an entity with its relations costs one round trip, not two."""
        ...

    async def list_entities(
        self,
        flt: EntityFilter,
        first: int,
        after: Cursor | str | None = None,
        order: Order = Order.KEY,
        backward: bool = False,
    ) -> Page:
        """Entities matching ``flt`` in ``order``, the page after ``after`` (a cursor from an
        earlier page, or for ``Order.KEY`` a plain key). ``Order.RELEVANCE`` without a
        search orders by key. ``backward``: the ``first`` entities just before ``after``
        (the last ``first`` when it is None), still in ``order``; ``has_next`` then says
        whether more come before them."""
        ...

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
        """The page :meth:`list_entities` gives, with the other ends of each of ``plans``
        attached to each entity (see :class:`RelatedPage`), in one statement. ``summary``:
        the page's entities are summaries (see :class:`StoredEntity`), read without their
        documents."""
        ...

    async def count_entities(self, flt: EntityFilter) -> int: ...

    async def facets(
        self, fields: Sequence[str], flt: EntityFilter, limit: int = 100
    ) -> dict[str, list[tuple[str, int]]]:
        """Value counts of each field in :data:`FACET_FIELDS` over the entities matching
        ``flt``, most frequent first (ties by value), at most ``limit`` values per field."""
        ...

    async def select_entities(
        self, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
    ) -> list[StoredEntity]:
        """Entities matching ``flt`` in ``order`` (then by key), skipping ``offset``, at
        most ``limit``: Backstage's offset pages, ordered by any dot path. At most
        :data:`MAX_ORDER_FIELDS` order fields."""
        ...

    async def select_entities_with_relations(
        self, flt: EntityFilter, order: Sequence[FieldOrder], offset: int, limit: int
    ) -> tuple[list[StoredEntity], list[StoredRelation]]:
        """:meth:`select_entities` and the relations (every type, either direction) of the
        entities it returns, as :meth:`get_relations` gives them; one statement where the
        store answers over the network."""
        ...

    async def query_entities(
        self,
        flt: EntityFilter,
        order: Sequence[FieldOrder],
        offset: int,
        limit: int,
        relations: bool,
    ) -> tuple[list[StoredEntity], list[StoredRelation] | None, int]:
        """Backstage's by-query: :meth:`select_entities` (with its relations, as
        :meth:`select_entities_with_relations` gives them, when ``relations``; else None)
        and :meth:`count_entities` of ``flt``; one statement where the store answers over
        the network."""
        ...

    async def field_facets(
        self, paths: Sequence[str], flt: EntityFilter
    ) -> dict[str, list[tuple[str, int]]]:
        """Backstage's facets: for each dot path (as :class:`FieldCondition` reads it,
        ``relations.<type>`` included), its values as written with the number of matching
        entities that have each, most frequent first (ties by value)."""
        ...


class GraphQuestions(Protocol):
    """The questions the graph answers beyond one hop: traversal, impact, paths, ownership
    and data quality (dangling relations, orphans)."""

    async def traverse(
        self, root_key: str, rel_type: str, direction: Direction, max_depth: int
    ) -> Traversal:
        """Everything reachable from the root along ``rel_type`` (OUT: forward, IN: inverse)
        within ``max_depth`` hops, each with its shortest distance; cycle-safe."""
        ...

    async def expand_groups(self, keys: Sequence[str]) -> list[str]:
        """The given keys and the keys of every group below them through ``childOf``."""
        ...

    async def impact(self, root_key: str, max_depth: int) -> list[ImpactRow]:
        """Everything that breaks when the root breaks, within ``max_depth`` hops: whatever
        depends on an affected entity, and whatever consumes an API an affected entity
        provides. The root is not included; each entity once, at its shortest distance
        (``dependsOn`` preferred over ``consumesApi`` on ties); cycle-safe."""
        ...

    async def shortest_path(
        self, from_key: str, to_key: str, rel_type: str, max_depth: int
    ) -> list[str] | None:
        """Refs along a shortest forward path of ``rel_type`` (both ends included), or None
        when there is none within ``max_depth`` hops. from == to gives ``[ref]``."""
        ...

    async def dangling(
        self, first: int, after: tuple[str, str, str] | None = None, backward: bool = False
    ) -> DanglingPage:
        """Relations whose source or target is not an entity, ordered by the position
        ``(source_key, type, target_key)``, after the position ``after``. ``backward``: the
        ``first`` just before ``after`` (the last ``first`` when it is None), still in that
        order; ``has_next`` then says whether more come before them."""
        ...

    async def orphans(
        self, first: int, after: str | None = None, backward: bool = False
    ) -> tuple[list[Orphan], bool]:
        """Entities of :data:`OWNED_KINDS` with no owner or an owner that does not exist,
        ordered by key, after the key ``after``; and whether more follow. ``backward``: the
        ``first`` just before ``after`` (the last ``first`` when it is None), still ordered
        by key; the flag then says whether more come before them."""
        ...

    async def count_dangling(self) -> int:
        """How many relations :meth:`dangling` lists in all."""
        ...

    async def count_orphans(self) -> int:
        """How many entities :meth:`orphans` lists in all."""
        ...

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        """Refs of entities owned by the owners; with ``include_subgroups``, also by every
        group below them through ``childOf``, transitively."""
        ...

    async def owned_entities(
        self, owner_keys: Sequence[str], include_subgroups: bool, summary: bool = False
    ) -> list[StoredEntity]:
        """The entities :meth:`owned_by` names, in key order, read in the same statement
        (a roll-up's thousands of entities need no second round trip with their keys).
        ``summary``: summaries (see :class:`StoredEntity`), read without their documents."""
        ...


class RunLog(Protocol):
    """The record of ingestion runs."""

    async def save_run(self, run: RunRecord) -> None:
        """Insert or replace a run record."""
        ...

    async def get_runs(
        self,
        source: str | None,
        first: int,
        after: str | None = None,
        status: str | None = None,
        backward: bool = False,
    ) -> list[RunRecord]:
        """Runs newest first (by start time, then id), after the run id ``after``; only
        those of ``source`` and with ``status`` when given. ``backward``: the ``first``
        runs just before ``after`` (newer than it; the oldest ``first`` when it is None),
        still newest first."""
        ...

    async def count_runs(self, source: str | None, status: str | None = None) -> int: ...

    async def latest_runs(
        self, sources: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, RunRecord]:
        """For each source, its newest run whose status is one of ``statuses``."""
        ...

    async def runs_by_id(self, ids: Sequence[str]) -> dict[str, RunRecord]:
        """Runs by id; unknown ids are absent."""
        ...

    async def prune_runs(self, started_before: datetime) -> int:
        """Delete finished runs that started before the given time; returns how many."""
        ...

    async def finished_runs(self, since: datetime, first: int) -> list[RunRecord]:
        """Runs that finished at or after ``since`` (any status but RUNNING), by finish time
        then id, oldest first: what the outgoing webhooks deliver as ``run.finished``."""
        ...


class Leases(Protocol):
    """Named leases with an owner and an expiry: one run per source across processes."""

    async def acquire_lease(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease ``name`` for ``owner`` until ``until``: succeeds when it is
        free, expired at ``now``, or already ``owner``'s. Atomic across processes."""
        ...

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it."""
        ...


class Tasks(Protocol):
    """Scaffolder tasks and their events. Claiming is atomic across processes: each open
    task is claimed by exactly one scheduler, which renews its lease while the task runs."""

    async def save_task(self, task: TaskRecord) -> None:
        """Insert or replace a task (its status, owner and lease included); a cancellation
        requested meanwhile is kept (``cancel_requested`` never goes back to False)."""
        ...

    async def get_tasks(self, ids: Sequence[str]) -> dict[str, TaskRecord]:
        """Tasks by id; unknown ids are absent."""
        ...

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
        """At most ``first`` tasks, ordered by ``order``'s keys in turn, then newest first
        (by creation time, then id); ``offset`` skips that many. ``status`` and
        ``created_by`` match one value or any of several. ``after`` (a task id) pages the
        default order only: with ``order`` it is a ``ValueError``, page with ``offset``.
        ``backward``: the ``first`` tasks just before ``after`` (newer than it; the oldest
        ``first`` when it is None), still newest first (default order only)."""
        ...

    async def count_tasks(
        self,
        *,
        template: str | None = None,
        status: str | Sequence[str] | None = None,
        created_by: str | Sequence[str] | None = None,
    ) -> int: ...

    async def claim_task(self, owner: str, now: datetime, until: datetime) -> TaskRecord | None:
        """The oldest open task not pinned to another owner, now ``processing`` and
        ``owner``'s until ``until``; None when there is none. Never the same task twice."""
        ...

    async def renew_task(self, task_id: str, owner: str, until: datetime) -> TaskRecord | None:
        """Extend ``owner``'s lease of a processing task; the task as stored, or None when
        ``owner`` no longer holds it."""
        ...

    async def fail_expired_tasks(self, now: datetime, reason: str) -> list[TaskRecord]:
        """Mark ``failed`` (with ``reason``) every processing task whose lease expired before
        ``now``; the tasks so marked."""
        ...

    async def request_cancel(self, task_id: str, now: datetime) -> TaskRecord | None:
        """An open task becomes ``cancelled`` at once; a processing one is marked
        ``cancel_requested`` (its owner stops it). The task as stored, None when unknown."""
        ...

    async def add_task_events(
        self, task_id: str, at: datetime, events: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[TaskEvent]:
        """Append ``(type, body)`` events, numbered after the task's last one."""
        ...

    async def get_task_events(self, task_id: str, after: int = 0) -> list[TaskEvent]:
        """The task's events numbered after ``after``, in order."""
        ...


class Locations(Protocol):
    """Locations registered at run time, unique on (type, target)."""

    async def add_location(self, location: LocationRecord) -> LocationRecord:
        """Store ``location``, unless one with the same type and target is stored already:
        returns the stored one (``location`` itself, or the one that was there)."""
        ...

    async def get_locations(self, ids: Sequence[str] | None = None) -> list[LocationRecord]:
        """Every location (``ids`` None) or those with these ids, oldest first."""
        ...

    async def delete_location(self, id: str) -> LocationRecord | None:
        """Remove the location with this id; returns it, or None when there was none."""
        ...


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery recorded for the worker that holds its source's lease.

    ``id`` is the sender's delivery id, prefixed by the sender (``github:<guid>``): a second
    delivery with the same id is a replay. ``scope`` is what to re-read (:data:`Scope`);
    empty: the whole source. ``event`` says what arrived (``push``, ``repository.deleted``).
    ``payload``: the delivery's body (JSON text) when its entities are made from it
    directly (a workflow run, a deployment), else None.
    """

    id: str
    source: str
    event: str
    received_at: datetime
    scope: tuple[str, ...] = ()
    run_id: str | None = None  # the run that took it in; None while it waits
    payload: str | None = None


class Deliveries(Protocol):
    """The inbox of webhook deliveries: a webhook records, a worker holding the source's
    lease takes them in with a run, whichever replica received them."""

    async def record_delivery(self, delivery: Delivery) -> bool:
        """Keep ``delivery`` waiting; False (and nothing kept) when its id is known already."""
        ...

    async def waiting_deliveries(self, sources: Sequence[str], first: int) -> list[Delivery]:
        """Deliveries of these sources no run has taken in yet, oldest first, at most ``first``."""
        ...

    async def take_deliveries(self, ids: Sequence[str], run_id: str) -> None:
        """Mark the deliveries as taken in by ``run_id``."""
        ...

    async def prune_deliveries(self, received_before: datetime) -> int:
        """Forget deliveries taken in and received before the given time; returns how many
        (their ids no longer count as replays)."""
        ...


@dataclass(frozen=True)
class SourceFile:
    """A file a source read, as its next run needs to know whether reading it again would
    give anything new: its git ``blob`` id, a digest of everything else its entities
    depended on (``deps``: files its placeholders read, CODEOWNERS), the keys of the
    entities it produced and the files it led the read to (``follows``: Location targets)."""

    path: str
    blob: str
    deps: str
    keys: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()


class SourceFiles(Protocol):
    """The files each source read cleanly last time (see :class:`SourceFile`)."""

    async def source_files(self, source: str) -> dict[str, SourceFile]:
        """The source's files by path."""
        ...

    async def update_source_files(
        self, source: str, upserts: Sequence[SourceFile], deletes: Sequence[str]
    ) -> None:
        """Insert or replace ``upserts`` and forget the paths in ``deletes``."""
        ...

    async def absent_keys(self, source: str, keys: Sequence[str]) -> list[str]:
        """Of ``keys``, those that are not entities of ``source`` (gone, or another
        source's): what a run checks, in one read, before it keeps the entities of the files
        it found unchanged as they are."""
        ...


class ChangeLog(Protocol):
    """The recorded entity changes (the change feed). Changes are listed in the order they
    were recorded, so a reader polls cheaply with ``after_id`` (the last id it saw)."""

    async def record_changes(self, changes: Sequence[EntityChange]) -> None:
        """Record ``changes`` in one batch (one round trip, with the entity writes)."""
        ...

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
        """Changes in recording order, oldest first, matching every given filter, after the
        change ``after_id``. ``backward``: the ``limit`` changes just before ``after_id``
        (the newest ``limit`` when it is None), still oldest first."""
        ...

    async def count_changes(
        self,
        *,
        since: datetime | None = None,
        ref: str | None = None,
        kind: str | None = None,
        source: str | None = None,
    ) -> int: ...

    async def prune_changes(self, before: datetime) -> int:
        """Forget changes recorded before ``before``; the number forgotten."""
        ...

    async def latest_changes(
        self, refs: Sequence[str], limit: int
    ) -> dict[str, list[EntityChange]]:
        """For each of ``refs`` (keys), its newest ``limit`` changes, newest first (a ref
        without any is absent); one round trip for them all."""
        ...

    async def feed_cursor(self, name: str) -> str | None:
        """The position a named reader of the feed saved (:meth:`save_feed_cursor`), or
        None when it never saved one: what an outgoing-webhook sender resumes from."""
        ...

    async def save_feed_cursor(self, name: str, position: str) -> None:
        """Save (insert or replace) a named reader's position."""
        ...


class GraphStore(
    EntityWriter,
    EntityReader,
    GraphQuestions,
    RunLog,
    Leases,
    Locations,
    Deliveries,
    SourceFiles,
    ChangeLog,
    Tasks,
    Protocol,
):
    """The graph store port: every role together, plus the store's life cycle. Adapters open
    nothing in ``__init__``; ``setup`` connects. Code that needs only some roles types against
    those (the runner: :class:`EntityWriter`, :class:`EntityReader`, :class:`RunLog`; a lease:
    :class:`Leases`; the DataLoaders: :class:`EntityReader`, :class:`RunLog`)."""

    url: str

    @property
    def query_count(self) -> int:
        """Store round trips made so far (for tracing and N+1 tests)."""
        ...

    async def setup(self) -> None:
        """Connect and create the schema (tables, constraints, indexes), idempotently."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers a trivial query."""
        ...
