"""What a source's ``transform`` hands to the runner: validated entities and the problems met."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from catalog.entity import Entity
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.rules import KindRules
from catalog.validation import relations_of, validate_entity
from graph.port import EntityRecord, RelationRecord, RunError, SourceFile
from ingestors.records import Prepared, to_record


class Descriptor:
    """A validated entity and where it was read.

    ``defer``: the entity may be described by another source too (a pipeline read from a
    workflow file and seen through a CI API). When another source already holds the ref,
    that is not a conflict: the other source keeps the entity, and this source adds the
    relations its version declares (stamped with this source).

    A descriptor made with :meth:`ready` holds its entity already prepared for the store
    (:class:`~ingestors.records.Prepared`, by a git source's parse workers): the runner
    writes that, and :attr:`entity` is validated again from its document only when asked.
    """

    __slots__ = ("_entity", "defer", "location", "prepared")

    def __init__(self, entity: Entity, location: SourceLocation, defer: bool = False) -> None:
        self._entity: Entity | None = entity
        self.location = location
        self.defer = defer
        self.prepared: Prepared | None = None

    @classmethod
    def ready(cls, prepared: Prepared, location: SourceLocation) -> Descriptor:
        """The descriptor of an entity validated and prepared where it was read."""
        descriptor = cls.__new__(cls)
        descriptor._entity, descriptor.location, descriptor.defer = None, location, False
        descriptor.prepared = prepared
        return descriptor

    @property
    def entity(self) -> Entity:
        if self._entity is None:
            assert self.prepared is not None
            self._entity = validate_entity(orjson.loads(self.prepared.document), self.location)
        return self._entity

    @property
    def ref(self) -> str:
        """``kind:namespace/name``, the kind lowercase (``str`` of the entity's ref)."""
        return self.prepared.ref if self.prepared is not None else str(self.entity.ref)

    @property
    def key(self) -> str:
        return self.ref.lower()

    @property
    def kind(self) -> str:
        """The kind as written."""
        return self.prepared.kind if self.prepared is not None else self.entity.kind

    def record(self) -> EntityRecord:
        """What the store writes for the entity."""
        return self.prepared.record() if self.prepared is not None else to_record(self.entity)

    def relations(self) -> list[RelationRecord]:
        """The relations the entity declares, as written."""
        if self.prepared is not None:
            return self.prepared.relation_records()
        return [
            RelationRecord(str(r.source), r.type, str(r.target)) for r in relations_of(self.entity)
        ]

    def __repr__(self) -> str:
        return f"Descriptor({self.ref!r}, {self.location!r}, defer={self.defer})"


@dataclass(frozen=True)
class EventRetention:
    """Entities of ``kind`` are events (builds, deployments): a run that does not see one
    again does not delete it. Instead, per group (the values of the ``group_by`` spec fields,
    e.g. ``("pipeline",)``), the newest ``keep`` by the ``order_by`` spec field (an ISO 8601
    timestamp) are kept and older ones are pruned by the run's cleanup."""

    kind: str
    group_by: tuple[str, ...]
    order_by: str
    keep: int


@dataclass(frozen=True)
class Rejected:
    """An invalid entity whose ref is known: it keeps its last good version in the store."""

    ref: str
    error: RunError


@dataclass
class FileMemos:
    """Which files a read took again from what they produced last time (``unchanged``: not
    read, their entities are kept as they are), which it read and may be skipped next time
    (``read``: the runner keeps those whose entities it wrote cleanly), and which known
    files it no longer has or read with problems (``forgotten``)."""

    unchanged: list[SourceFile] = field(default_factory=list)
    read: list[SourceFile] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)


@dataclass
class Snapshot:
    """The outcome of reading a source once.

    ``keep_files`` lists files that could not be read or parsed: entities this source had
    from them (by their ``stagegraph.dev/source-path`` annotation) are kept, since the run
    cannot tell whether they still exist. API sources use it the same way for a scope whose
    calls failed (an AWS region, a repository): give the entities of that scope a source
    path such as ``aws/123456789012/eu-west-1`` and list it here when the scope fails.

    ``events`` says which kinds are events, kept by retention rather than by this run.
    ``stats`` are figures the run reports (API calls made, rate-limit quota left, ...) and
    ``skipped`` what the source passed over on purpose, with why (a repository without a
    descriptor): neither is an error.

    ``files``: what the source knows of its files (:class:`FileMemos`), or None when it
    does not keep track of them.

    ``scope_gone``: a scoped read found that its scope no longer exists (a deleted
    repository), so reading nothing is the truth and its entities go (under the guard).

    ``additive``: the snapshot is what some webhook deliveries said (a workflow run, a
    deployment), not a read of a whole scope: its entities are written and nothing is
    cleaned up or pruned.
    """

    source_type: str
    commit: str | None = None
    descriptors: list[Descriptor] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keep_files: set[str] = field(default_factory=set)
    files_read: int = 0
    events: list[EventRetention] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    scope_gone: bool = False
    files: FileMemos | None = None
    additive: bool = False

    def add(
        self, raw: Mapping[str, Any], location: SourceLocation, *, defer: bool = False
    ) -> Entity | None:
        """Validate a document a transform built and add it; returns the entity.

        An invalid one is not added: it is recorded as rejected (so its last good version
        stays, marked with the error) or, when it has no ref to keep, as a run error.
        """
        try:
            entity = validate_entity(raw, location)
        except InvalidEntityError as exc:
            error = RunError(
                exc.describe(with_location=False), file=str(location), entity=exc.entity
            )
            if exc.entity:
                self.rejected.append(Rejected(exc.entity, error))
            else:
                self.errors.append(error)
            return None
        self.descriptors.append(Descriptor(entity, location, defer))
        return entity


def admit_kinds(snapshot: Snapshot, rules: KindRules) -> None:
    """Move the descriptors whose kind ``rules`` do not admit to ``snapshot.rejected``, each
    with a run error at its file and line whose message names the setting that admits it."""
    snapshot.descriptors = admit(snapshot.descriptors, rules, snapshot.rejected)


def admit(
    descriptors: Sequence[Descriptor], rules: KindRules, rejected: list[Rejected]
) -> list[Descriptor]:
    """The descriptors whose kind ``rules`` admit; each other one is added to ``rejected``
    with a run error at its file and line whose message names the setting that admits it."""
    kept: list[Descriptor] = []
    for descriptor in descriptors:
        kind = descriptor.kind
        if rules.admits(kind):
            kept.append(descriptor)
            continue
        ref = descriptor.ref
        refused = InvalidEntityError(
            rules.refusal(kind), entity=ref, field="kind", location=descriptor.location
        )
        error = RunError(
            refused.describe(with_location=False), file=str(descriptor.location), entity=ref
        )
        rejected.append(Rejected(ref, error))
    return kept
