"""The ``Entity`` interface every kind implements, with ``Relation`` and ``Link``.

Relations are stored forward only; here both directions are shown, the inverse under its
inverse name (``ownerOf`` for an ``ownedBy`` that points at this entity).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeAlias, TypeVar

import strawberry
from strawberry.scalars import JSON

from catalog.relations import INVERSE_TYPES, RELATION_TYPES
from graph.port import StoredEntity, StoredRelation
from schema.context import Info
from schema.errors import UserInputError

if TYPE_CHECKING:
    from schema.runs import IngestionRun

T = TypeVar("T")
Resolved: TypeAlias = T | Awaitable[T]
"""What a resolver that answers at once when it can returns: the value, or an awaitable."""


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
    url: str
    title: str | None
    icon: str | None
    type: str | None


@strawberry.type(description="A relation seen from one entity, in either direction.")
class Relation:
    type: str = strawberry.field(description="e.g. ownedBy, or ownerOf for the inverse.")
    target_ref: str = strawberry.field(description="The ref at the other end.")

    @strawberry.field(description="The entity at the other end; null when it does not exist.")
    async def target(self, info: Info) -> Entity | None:
        stored = await info.context.loaders.entities.load(self.target_ref)
        return to_graphql(stored) if stored else None


def _seen_from(key: str, row: StoredRelation) -> list[tuple[str, str]]:
    """(type as seen from ``key``, the other end's ref); a self-relation gives both."""
    seen = []
    if row.source_ref.lower() == key:
        seen.append((row.type, row.target_ref))
    if row.target_ref.lower() == key:
        seen.append((RELATION_TYPES[row.type], row.source_ref))
    return seen


@strawberry.interface(description="A catalog entity of any kind.")
class Entity:
    stored: strawberry.Private[StoredEntity]

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

    @strawberry.field
    def namespace(self) -> str:
        return self.stored.namespace

    @strawberry.field
    def name(self) -> str:
        return self.stored.name

    @strawberry.field
    def title(self) -> str | None:
        return self._metadata.get("title")

    @strawberry.field
    def description(self) -> str | None:
        return self._metadata.get("description")

    @strawberry.field
    def tags(self) -> list[str]:
        return list(self._metadata.get("tags", []))

    @strawberry.field
    def labels(self) -> JSON:
        return JSON(dict(self._metadata.get("labels", {})))

    @strawberry.field
    def annotations(self) -> JSON:
        return JSON(dict(self._metadata.get("annotations", {})))

    @strawberry.field
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

    @strawberry.field(description="When the run that last read it started.")
    async def ingested_at(self, info: Info) -> datetime | None:
        run = await info.context.loaders.runs.load(self.stored.run_id)
        return run.started_at if run else None

    @strawberry.field(description="The ingestion run that last read it (null for pushed ones).")
    async def last_run(
        self, info: Info
    ) -> Annotated[IngestionRun, strawberry.lazy("schema.runs")] | None:
        from schema.runs import to_run

        return to_run(await info.context.loaders.runs.load(self.stored.run_id))

    @strawberry.field(description="Set when the source now has an invalid version of it.")
    def error(self) -> str | None:
        return self.stored.error

    async def _related(self, info: Info, type_: str) -> list[str]:
        """Refs at the other end of relations of ``type_`` (forward or inverse name)."""
        rows = await info.context.loaders.relations.load(self.stored.key)
        return [
            other
            for row in rows
            for seen, other in _seen_from(self.stored.key, row)
            if seen == type_
        ]

    def _related_now(self, info: Info, type_: str) -> list[str] | None:
        """:meth:`_related` when this entity's relations are loaded already, else None."""
        loaded = info.context.loaders.relations.peek(self.stored.key)
        if loaded is None:
            return None
        key = self.stored.key
        return [
            other
            for row in loaded.result()
            for seen, other in _seen_from(key, row)
            if seen == type_
        ]

    def related_entities(
        self, info: Info, type_: str, kind: str | None = None
    ) -> Resolved[list[Entity]]:
        """The entities at the other end of ``type_`` relations (of ``kind`` when given):
        at once when a listing preloaded them (:func:`preload_related`), else awaited."""
        refs = self._related_now(info, type_)
        if refs is not None:
            entities = info.context.loaders.entities
            found: list[Entity] = []
            for ref in refs:
                if kind is not None and ref.split(":", 1)[0].lower() != kind:
                    continue
                loaded = entities.peek(ref)
                if loaded is None:
                    break
                stored = loaded.result()
                if stored is not None:
                    found.append(to_graphql(stored))
            else:
                return found
        return self._load_related_entities(info, type_, kind)

    async def _load_related_entities(
        self, info: Info, type_: str, kind: str | None
    ) -> list[Entity]:
        refs = [
            r
            for r in await self._related(info, type_)
            if kind is None or r.split(":", 1)[0].lower() == kind
        ]
        found = await info.context.loaders.entities.load_many(refs)
        return [to_graphql(s) for s in found if s is not None]

    @strawberry.field(
        description="The owner (the ownedBy target), where the kind has one.",
        graphql_type=Optional["Entity"],
    )
    def owner(self, info: Info) -> Resolved[Entity | None]:
        refs = self._related_now(info, "ownedBy")
        if refs is not None:
            if not refs:
                return None
            loaded = info.context.loaders.entities.peek(refs[0])
            if loaded is not None:
                stored = loaded.result()
                return to_graphql(stored) if stored else None
        return self._load_owner(info)

    async def _load_owner(self, info: Info) -> Entity | None:
        refs = await self._related(info, "ownedBy")
        if not refs:
            return None
        stored = await info.context.loaders.entities.load(refs[0])
        return to_graphql(stored) if stored else None

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
            for seen, other in _seen_from(self.stored.key, row)
            if type is None or seen == type
        ]
        return sorted(found, key=lambda r: (r.type, r.target_ref.lower()))

    @strawberry.field(description="Entities this one depends on.", graphql_type=list["Entity"])
    def depends_on(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "dependsOn")

    @strawberry.field(description="Entities that depend on this one.", graphql_type=list["Entity"])
    def dependency_of(self, info: Info) -> Resolved[list[Entity]]:
        return self.related_entities(info, "dependencyOf")


async def preload_related(info: Info, keys: list[str]) -> None:
    """Load the relations of ``keys`` and the entities their forward relations point at, in
    two batches: the fields of a page's entities then answer without awaiting (each awaited
    field costs the executor a task, and a page has hundreds)."""
    loaders = info.context.loaders
    rows_of = await loaders.relations.load_many(keys)
    targets = {
        row.target_ref.lower()
        for key, rows in zip(keys, rows_of, strict=True)
        for row in rows
        if row.source_ref.lower() == key.lower()
    }
    await loaders.entities.load_many(sorted(targets))


def to_graphql(stored: StoredEntity) -> Entity:
    """The GraphQL object for a stored entity: its kind's type, or the generic one."""
    from schema.kinds import type_for_kind

    return type_for_kind(stored.kind)(stored=stored)
