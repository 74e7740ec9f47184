"""The graph questions: dependencies, impact, shortest paths and ownership roll-ups."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from graph.port import Direction as StoreDirection
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.inputs import MAX_DEPTH, check_range, parse_input_ref
from schema.planner import needs_document


@strawberry.enum(description="Which way to walk dependencies.")
class Direction(enum.Enum):
    DOWNSTREAM = "DOWNSTREAM"  # follows dependsOn: what the root needs
    UPSTREAM = "UPSTREAM"  # follows dependencyOf: what needs the root


@strawberry.type(description="A dependsOn edge: `from` depends on `to`.")
class DependencyEdge:
    from_: str = strawberry.field(name="from", description="The ref that depends on `to`.")
    to: str = strawberry.field(description="The ref depended on.")
    depth: int = strawberry.field(
        description="Shortest distance from the root of the edge's end farther from it."
    )


@strawberry.type(
    description="What a dependencies walk found: the root, every entity reached once, and the edges between them."
)
class DependencyGraph:
    root: Entity | None = strawberry.field(
        description="The entity the walk started at; null when it does not exist."
    )
    nodes: list[Entity] = strawberry.field(
        description="Every entity reached (the root not included), each once."
    )
    edges: list[DependencyEdge] = strawberry.field(
        description="The dependsOn edges walked, in the dependsOn direction."
    )


@strawberry.type(description="An entity that breaks when the root breaks.")
class ImpactedEntity:
    entity: Entity = strawberry.field(description="The affected entity.")
    distance: int = strawberry.field(description="Hops from the root (1 = directly).")
    via: str = strawberry.field(
        description="dependsOn: it depends on something affected; consumesApi: it consumes "
        "an API something affected provides."
    )


@strawberry.type(description="What breaks when an entity breaks, and whom to tell.")
class Impact:
    root: Entity | None = strawberry.field(
        description="The entity that breaks; null when it does not exist."
    )
    affected: list[ImpactedEntity] = strawberry.field(
        description="Every entity affected, nearest first."
    )
    owners: list[Entity] = strawberry.field(
        description="The distinct owners of the affected entities: who to notify."
    )


def _depth(max_depth: int | None) -> int:
    depth = 10 if max_depth is None else max_depth
    check_range(depth, "maxDepth", 1, MAX_DEPTH)
    return depth


async def resolve_dependencies(
    info: Info,
    ref: str,
    direction: Direction | None = Direction.DOWNSTREAM,
    max_depth: int | None = 10,
) -> DependencyGraph:
    depth = _depth(max_depth)
    root = parse_input_ref(ref, "ref")
    way = StoreDirection.IN if direction is Direction.UPSTREAM else StoreDirection.OUT
    walk = await info.context.store.traverse(root.key, "dependsOn", way, depth)
    order = sorted(walk.depths, key=lambda k: (walk.depths[k], k))
    root_entity = walk.entities.get(root.key)
    found = [walk.entities.get(key) for key in order]
    depth_of = {**walk.depths, root.key: 0}
    edges = [
        DependencyEdge(
            from_=edge.from_ref,
            to=edge.to_ref,
            depth=max(depth_of[edge.from_ref.lower()], depth_of[edge.to_ref.lower()]),
        )
        for edge in walk.edges
    ]
    edges.sort(key=lambda e: (e.depth, e.from_.lower(), e.to.lower()))
    return DependencyGraph(
        root=to_graphql(root_entity) if root_entity else None,
        nodes=[to_graphql(s) for s in found if s is not None],
        edges=edges,
    )


async def resolve_impact(info: Info, ref: str, max_depth: int | None = 10) -> Impact:
    depth = _depth(max_depth)
    root = parse_input_ref(ref, "ref")
    rows = await info.context.store.impact(root.key, depth)
    loaders = info.context.loaders
    root_entity, *found = await loaders.entities.load_all([root.key, *(r.key for r in rows)])
    affected = [
        ImpactedEntity(entity=to_graphql(stored), distance=row.distance, via=row.via)
        for row, stored in zip(rows, found, strict=True)
        if stored is not None
    ]
    owners_of = await loaders.owners.load_many([a.entity.stored.key for a in affected])
    owner_refs = dict.fromkeys(ref.lower() for refs in owners_of for ref in refs)
    owners = await loaders.entities.load_many(list(owner_refs))
    return Impact(
        root=to_graphql(root_entity) if root_entity else None,
        affected=affected,
        owners=sorted((to_graphql(o) for o in owners if o), key=lambda e: e.stored.key),
    )


async def resolve_path(
    info: Info,
    from_: Annotated[str, strawberry.argument(name="from")],
    to: str,
    max_depth: int | None = 10,
) -> list[Entity] | None:
    depth = _depth(max_depth)
    start = parse_input_ref(from_, "from")
    goal = parse_input_ref(to, "to")
    refs = await info.context.store.shortest_path(start.key, goal.key, "dependsOn", depth)
    if refs is None:
        return None
    found = await info.context.loaders.entities.load_many(refs)
    if any(s is None for s in found):
        return None  # the path ends at a ref that is not an entity
    return [to_graphql(s) for s in found if s is not None]


async def resolve_owned_entities(
    info: Info, owner: str, include_subgroups: bool | None = False
) -> list[Entity]:
    owner_ref = parse_input_ref(owner, "owner", "group")
    summary = info.context.summaries and not any(
        needs_document(field.selections) for field in info.selected_fields
    )
    info.context.summary_reads += summary
    found = await info.context.store.owned_entities(
        [owner_ref.key], bool(include_subgroups), summary
    )
    return [to_graphql(s) for s in found]
