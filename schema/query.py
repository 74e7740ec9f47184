"""The root ``Query`` (names fixed by DESIGN.md); resolvers live beside their types."""

from __future__ import annotations

import strawberry

from schema.changes import EntityChangeConnection, resolve_changes
from schema.context import Info
from schema.entity import Entity, ref_from_global_id, to_graphql
from schema.inputs import parse_input_ref
from schema.listing import (
    EntityConnection,
    Facet,
    resolve_entities,
    resolve_entities_by_refs,
    resolve_entity_facets,
)
from schema.quality import (
    DanglingRelationConnection,
    OrphanConnection,
    resolve_dangling,
    resolve_orphans,
)
from schema.questions import (
    DependencyGraph,
    Impact,
    resolve_dependencies,
    resolve_impact,
    resolve_owned_entities,
    resolve_path,
)
from schema.runs import IngestionRunConnection, Source, resolve_runs, resolve_sources
from schema.tasks import Task, TaskConnection, resolve_task, resolve_tasks


@strawberry.type(description="What can be asked of the catalog.")
class Query:
    @strawberry.field(description="One entity by ref (kind:namespace/name); null if unknown.")
    async def entity(self, info: Info, ref: str) -> Entity | None:
        stored = await info.context.loaders.entities.load(parse_input_ref(ref, "ref").key)
        return to_graphql(stored) if stored else None

    @strawberry.field(description="An entity by its global id (Relay); null if unknown.")
    async def node(self, info: Info, id: strawberry.ID) -> Entity | None:
        ref = ref_from_global_id(str(id))
        if ref is None:
            return None
        stored = await info.context.loaders.entities.load(ref)
        return to_graphql(stored) if stored else None

    entities_by_refs: list[Entity | None] = strawberry.field(
        resolver=resolve_entities_by_refs,
        description="Entities by ref (at most 100), in the order asked; null for a ref that "
        "names no entity. One store call for them all.",
    )
    entities: EntityConnection = strawberry.field(
        resolver=resolve_entities,
        description="Entities matching all given filters; search is full text over name, "
        "title, description and tags.",
    )
    entity_facets: list[Facet] = strawberry.field(
        resolver=resolve_entity_facets,
        description="Value counts over the entities matching the filters, most frequent "
        "first (at most 100 per field): kind, namespace, spec.type, spec.lifecycle, "
        "metadata.tags, owner or source, or any dot path as Backstage's facets "
        "(metadata.labels.x, metadata.annotations.x, relations.ownedBy, spec.*).",
    )
    dependencies: DependencyGraph = strawberry.field(
        resolver=resolve_dependencies,
        description="Transitive dependencies (DOWNSTREAM) or dependents (UPSTREAM); "
        "each node once, cycle-safe.",
    )
    impact: Impact = strawberry.field(
        resolver=resolve_impact,
        description="Everything that breaks if this entity breaks: transitive dependents "
        "and consumers of the APIs they provide, with distances and owners to notify.",
    )
    path: list[Entity] | None = strawberry.field(
        resolver=resolve_path,
        description="A shortest dependsOn path from one entity to another; null when none.",
    )
    owned_entities: list[Entity] = strawberry.field(
        resolver=resolve_owned_entities,
        description="What an owner owns; with includeSubgroups, also what every group "
        "below it (through childOf, transitively) owns.",
    )
    dangling_relations: DanglingRelationConnection = strawberry.field(
        resolver=resolve_dangling,
        description="Relations that point at (or come from) a ref that is not an entity.",
    )
    sources: list[Source] = strawberry.field(
        resolver=resolve_sources,
        description="The configured sources, their schedules and latest runs.",
    )
    ingestion_runs: IngestionRunConnection = strawberry.field(
        resolver=resolve_runs,
        description="Ingestion runs, newest first.",
    )
    changes: EntityChangeConnection = strawberry.field(
        resolver=resolve_changes,
        description="Recorded entity changes (every change an ingestion run or a push made), "
        "oldest first, matching every given filter: since (recorded at or after), ref, kind, "
        "source. Keep the last endCursor and pass it as `after` to read on.",
    )
    task: Task | None = strawberry.field(
        resolver=resolve_task, description="A scaffolder task by id; null if unknown."
    )
    tasks: TaskConnection = strawberry.field(
        resolver=resolve_tasks, description="Scaffolder tasks, newest first."
    )
    orphans: OrphanConnection = strawberry.field(
        resolver=resolve_orphans,
        description="Entities that should have an owner but have none, or a missing one.",
    )
