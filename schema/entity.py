"""The ``Entity`` interface every kind implements, with ``Relation`` and ``Link``, and the
registry of kind types: a kind's GraphQL type registers itself with :func:`kind_type`, and
:func:`to_graphql` picks it by the stored kind (``GenericEntity`` for a kind without one),
so this module never imports its subtypes.

Relations are stored forward only; here both directions are shown, the inverse under its
inverse name (``ownerOf`` for an ``ownedBy`` that points at this entity). Relation fields
walk through :mod:`schema.related`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import strawberry
from strawberry.scalars import JSON

from catalog.relations import INVERSE_TYPES, RELATION_TYPES
from graph.port import StoredEntity
from schema import related
from schema.changes import EntityChange
from schema.context import Info
from schema.errors import UserInputError
from schema.inputs import page_size
from schema.related import Resolved, seen_from, then
from schema.runs import to_run

if TYPE_CHECKING:
    from schema.runs import IngestionRun

E = TypeVar("E", bound="Entity")


def global_id(ref: str) -> str:
    """The Relay global id of an entity (opaque to clients)."""
    return base64.urlsafe_b64encode(f"Entity:{ref}".encode()).decode()


def ref_from_global_id(value: str) -> str | None:
    try:
        decoded = base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, ref = decoded.partition(":")
    return ref if kind == "Entity" and ref else None


@strawberry.type(description="An external hyperlink of an entity.")
class Link:
    url: str = strawberry.field(description="The link's address.")
    title: str | None = strawberry.field(description="Its text, when the descriptor gives one.")
    icon: str | None = strawberry.field(description="An icon name (Backstage's), when given.")
    type: str | None = strawberry.field(
        description="What it points at (e.g. dashboard, runbook), when given."
    )


@strawberry.type(description="A relation seen from one entity, in either direction.")
class Relation:
    type: str = strawberry.field(description="e.g. ownedBy, or ownerOf for the inverse.")
    target_ref: str = strawberry.field(description="The ref at the other end.")

    @strawberry.field(description="The entity at the other end; null when it does not exist.")
    async def target(self, info: Info) -> Entity | None:
        stored = await info.context.loaders.entities.load(self.target_ref)
        return to_graphql(stored) if stored else None


#: Relations a page attached to an entity (:mod:`schema.planner`): by (relation name, kind
#: of the other end), the entities at the other end in key order, None where dangling.
Planned = dict[tuple[str, str | None], list[StoredEntity | None]]


@strawberry.interface(description="A catalog entity of any kind.")
class Entity:
    stored: strawberry.Private[StoredEntity]
    planned: strawberry.Private[Planned | None] = None

    @property
    def _metadata(self) -> dict[str, Any]:
        metadata = self.stored.document.get("metadata", {})
        return metadata if isinstance(metadata, dict) else {}

    @property
    def _spec(self) -> dict[str, Any]:
        spec = self.stored.document.get("spec", {})
        return spec if isinstance(spec, dict) else {}

    @strawberry.field(description="A globally unique, opaque id (Relay).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id(self.stored.ref))

    @strawberry.field(description="kind:namespace/name, kind lowercased.")
    def ref(self) -> str:
        return self.stored.ref

    @strawberry.field(description="The kind, as written in the descriptor (e.g. Component).")
    def kind(self) -> str:
        return str(self.stored.document.get("kind", self.stored.kind))

    @strawberry.field(description="metadata.namespace (default when not written).")
    def namespace(self) -> str:
        return self.stored.namespace

    @strawberry.field(description="metadata.name, as written; unique within kind and namespace.")
    def name(self) -> str:
        return self.stored.name

    @strawberry.field(description="metadata.title: a display name, when given.")
    def title(self) -> str | None:
        return self._metadata.get("title")

    @strawberry.field(description="metadata.description, when given.")
    def description(self) -> str | None:
        return self._metadata.get("description")

    @strawberry.field(description="metadata.tags (lowercase).")
    def tags(self) -> list[str]:
        return list(self._metadata.get("tags", []))

    @strawberry.field(description="metadata.labels: a JSON object of string keys and values.")
    def labels(self) -> JSON:
        return JSON(dict(self._metadata.get("labels", {})))

    @strawberry.field(description="metadata.annotations: a JSON object of string keys and values.")
    def annotations(self) -> JSON:
        return JSON(dict(self._metadata.get("annotations", {})))

    @strawberry.field(description="metadata.links.")
    def links(self) -> list[Link]:
        return [
            Link(
                url=link.get("url", ""),
                title=link.get("title"),
                icon=link.get("icon"),
                type=link.get("type"),
            )
            for link in self._metadata.get("links", [])
            if isinstance(link, dict)
        ]

    @strawberry.field(description="The whole entity as stored, in Backstage's JSON shape.")
    def document(self) -> JSON:
        return JSON(self.stored.document)

    @strawberry.field(description="The source (ingestion) this entity came from.")
    def source(self) -> str:
        return self.stored.source

    @strawberry.field(description="When its content last changed.")
    def updated_at(self) -> datetime:
        return self.stored.updated_at

    @strawberry.field(
        description="When the run that last read it started (an unchanged file is not read "
        "again: its entities keep the run that read it)."
    )
    async def ingested_at(self, info: Info) -> datetime | None:
        run = await info.context.loaders.runs.load(self.stored.run_id)
        return run.started_at if run else None

    @strawberry.field(
        description="The ingestion run that last read it (null for pushed ones). A file found "
        "unchanged is not read again, nor its entities written: they keep the run that read it."
    )
    async def last_run(
        self, info: Info
    ) -> Annotated[IngestionRun, strawberry.lazy("schema.runs")] | None:
        return to_run(await info.context.loaders.runs.load(self.stored.run_id))

    @strawberry.field(
        description="Its recorded changes (the change feed), newest first: what changed, "
        "when, by which run or push. Kept for changeRetention (default 90 days)."
    )
    async def history(self, info: Info, first: int | None = 10) -> list[EntityChange]:
        found = await info.context.loaders.history.load((self.stored.key, page_size(first, 10)))
        return [EntityChange(record=change) for change in found]

    @strawberry.field(description="Set when the source now has an invalid version of it.")
    def error(self) -> str | None:
        return self.stored.error

    def related_entities(
        self, info: Info, type_: str, kind: str | None = None
    ) -> Resolved[list[Entity]]:
        """The entities at the other end of ``type_`` relations (forward or inverse name),
        of ``kind`` when given, in ref order (see :mod:`schema.related`); from what the page
        attached when it planned this walk."""
        if self.planned is not None and (found := self.planned.get((type_, kind))) is not None:
            return [to_graphql(stored) for stored in found if stored is not None]
        return then(related.related(info, [self.stored.key], type_, kind), to_graphql_all)

    def related_entity(
        self, info: Info, type_: str, kind: str | None = None
    ) -> Resolved[Entity | None]:
        """The entity at the first of those refs; None when it is not an entity."""
        if self.planned is not None and (found := self.planned.get((type_, kind))) is not None:
            return to_graphql(found[0]) if found and found[0] is not None else None
        return then(related.related_one(info, self.stored.key, type_, kind), to_graphql_or_none)

    @strawberry.field(
        description="The owner (the ownedBy target), where the kind has one.",
        graphql_type=Optional["Entity"],
    )
    def owner(self, info: Info) -> Resolved[Entity | None]:
        return self.related_entity(info, "ownedBy")

    @strawberry.field(
        description="Relations in both directions, inverse types included; filter by type."
    )
    async def relations(self, info: Info, type: str | None = None) -> list[Relation]:
        if type is not None and type not in RELATION_TYPES and type not in INVERSE_TYPES:
            known = ", ".join(sorted([*RELATION_TYPES, *INVERSE_TYPES]))
            raise UserInputError(f"unknown relation type {type!r}; use one of: {known}")
        rows = await info.context.loaders.relations.load(self.stored.key)
        found = [
            Relation(type=seen, target_ref=other)
            for row in rows
            for seen, other in seen_from(self.stored.key, row)
            if type is None or seen == type
        ]
        return sorted(found, key=lambda r: (r.type, r.target_ref.lower()))

    @strawberry.field(description="Entities this one depends on.", graphql_type=list["Entity"])
    def depends_on(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "dependsOn")

    @strawberry.field(description="Entities that depend on this one.", graphql_type=list["Entity"])
    def dependency_of(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "dependencyOf")


@strawberry.type(description="An entity of a kind without a type of its own.")
class GenericEntity(Entity):
    @strawberry.field(description="The entity's spec, as written, as a JSON object.")
    def spec(self) -> JSON:
        return JSON(self._spec)


_KIND_TYPES: dict[str, type[Entity]] = {}


def kind_type(kind: str) -> Callable[[type[E]], type[E]]:
    """Register the decorated GraphQL type as the one for entities of ``kind`` (lowercase);
    put it above ``@strawberry.type``."""

    def register(cls: type[E]) -> type[E]:
        if kind != kind.lower() or kind in _KIND_TYPES:
            raise ValueError(f"kind {kind!r}: give each lowercase kind one type")
        _KIND_TYPES[kind] = cls
        return cls

    return register


def entity_types() -> tuple[type[Entity], ...]:
    """Every registered kind type and ``GenericEntity``, for ``strawberry.Schema(types=)``."""
    return (*_KIND_TYPES.values(), GenericEntity)


def to_graphql(stored: StoredEntity, planned: Planned | None = None) -> Entity:
    """The GraphQL object for a stored entity: its kind's type, or the generic one;
    ``planned``: the relations its page attached."""
    return _KIND_TYPES.get(stored.kind.lower(), GenericEntity)(stored=stored, planned=planned)


def to_graphql_all(found: Sequence[StoredEntity]) -> list[Entity]:
    return [to_graphql(stored) for stored in found]


def to_graphql_or_none(stored: StoredEntity | None) -> Entity | None:
    return to_graphql(stored) if stored is not None else None
