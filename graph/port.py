"""The graph store port: what the rest of Stagegraph may ask of a store.

Two adapters implement it, :mod:`graph.sqlite_store` and :mod:`graph.neo4j_store`; one
contract test suite (``tests/graph/test_store_contract.py``) runs unchanged on each.

Keys are lowercased full refs (:attr:`catalog.refs.EntityRef.key`); refs as written are
kept for display. Every method is one or a few round trips whatever the number of keys,
so callers batch (DataLoaders do) and N+1 never reaches the store.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Direction(enum.Enum):
    """Which way to follow a relation from an entity."""

    OUT = "out"  # the entity is the relation's source (forward types: ownedBy, dependsOn, ...)
    IN = "in"  # the entity is the relation's target (read as inverse types: ownerOf, ...)
    BOTH = "both"


@dataclass(frozen=True)
class EntityRecord:
    """An entity as written: identity, the full document, and a content hash."""

    ref: str
    kind: str
    namespace: str
    name: str
    document: dict[str, Any]
    hash: str
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()

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
    """An entity as read back, with its provenance."""

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
class StoredRelation:
    """A forward relation as read back; ``*_exists`` is False for a dangling end."""

    source_ref: str
    type: str
    target_ref: str
    source: str
    source_exists: bool = True
    target_exists: bool = True


@dataclass(frozen=True)
class EntityFilter:
    """Filters for listing entities; all given filters must hold. Keys are lowercase refs."""

    kinds: tuple[str, ...] = ()
    namespace: str | None = None
    owner_keys: tuple[str, ...] = ()
    tag: str | None = None
    search: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paginated listing; ``after`` of the next page is ``last_key``."""

    entities: list[StoredEntity]
    has_next: bool

    @property
    def last_key(self) -> str | None:
        return self.entities[-1].key if self.entities else None


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
    reached entities (or the root) that the walk followed.
    """

    depths: dict[str, int]
    refs: dict[str, str]
    edges: list[TraversalEdge]


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


@dataclass(frozen=True)
class StaleSummary:
    """What cleanup would delete for a source: entities not stamped with the current run."""

    source_total: int
    stale_refs: list[str]
    stale_kinds: dict[str, int]


class GraphStore(Protocol):
    """The graph store port. Adapters open nothing in ``__init__``; ``setup`` connects."""

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

    # -- writes --------------------------------------------------------------------------
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

    async def touch(self, source: str, run_id: str, keys: Sequence[str], error: str | None) -> None:
        """Restamp entities kept from an earlier run (and their relations) with ``run_id``,
        recording ``error`` on them: an entity that turned invalid keeps its last good version."""
        ...

    async def stale(self, source: str, run_id: str) -> StaleSummary:
        """What :meth:`delete_stale` would delete."""
        ...

    async def delete_stale(self, source: str, run_id: str) -> dict[str, int]:
        """Delete this source's entities and relations not stamped with ``run_id``;
        returns deleted entity counts per kind."""
        ...

    async def delete_entities(self, source: str, keys: Sequence[str]) -> int:
        """Delete the given entities of ``source`` (others' are untouched) with their
        outgoing relations; returns how many were deleted."""
        ...

    # -- reads ---------------------------------------------------------------------------
    async def get_entities(self, keys: Sequence[str]) -> dict[str, StoredEntity]:
        """Entities by key; missing keys are absent from the result."""
        ...

    async def get_relations(
        self, keys: Sequence[str], direction: Direction, types: Sequence[str] | None = None
    ) -> list[StoredRelation]:
        """Forward relations whose source (OUT), target (IN) or either (BOTH) is in ``keys``."""
        ...

    async def list_entities(self, flt: EntityFilter, first: int, after: str | None = None) -> Page:
        """Entities matching ``flt`` ordered by key, the page after the key ``after``."""
        ...

    async def count_entities(self, flt: EntityFilter) -> int: ...

    async def traverse(
        self, root_key: str, rel_type: str, direction: Direction, max_depth: int
    ) -> Traversal:
        """Everything reachable from the root along ``rel_type`` (OUT: forward, IN: inverse)
        within ``max_depth`` hops, each with its shortest distance; cycle-safe."""
        ...

    async def owned_by(self, owner_keys: Sequence[str], include_subgroups: bool) -> list[str]:
        """Refs of entities owned by the owners; with ``include_subgroups``, also by every
        group below them through ``childOf``, transitively."""
        ...

    # -- runs ----------------------------------------------------------------------------
    async def save_run(self, run: RunRecord) -> None:
        """Insert or replace a run record."""
        ...

    async def get_runs(
        self, source: str | None, first: int, after: str | None = None
    ) -> list[RunRecord]:
        """Runs newest first (by start time, then id), after the run id ``after``."""
        ...
