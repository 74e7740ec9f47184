"""The catalog's data-quality lists: relations that point nowhere, and entities without a
(real) owner."""

from __future__ import annotations

import strawberry

from catalog.relations import RELATION_TYPES
from graph.port import Orphan as StoredOrphan
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.inputs import decode_cursor, encode_cursor
from schema.paging import Before, Last, PageInfo, PageRequest


@strawberry.type(description="A relation with an end that is not an entity.")
class DanglingRelation:
    source_ref: str = strawberry.field(
        description="The ref the relation starts at (its forward direction)."
    )
    type: str = strawberry.field(description="The forward relation type, e.g. ownedBy.")
    target_ref: str = strawberry.field(description="The ref the relation points at.")
    missing: str = strawberry.field(description="source, target or both")
    origin: str = strawberry.field(description="The ingestion source that declared it.")

    @strawberry.field(description="The declaring entity, when it exists.")
    async def source_entity(self, info: Info) -> Entity | None:
        stored = await info.context.loaders.entities.load(self.source_ref)
        return to_graphql(stored) if stored else None

    @strawberry.field(description="The inverse name, as seen from the target.")
    def inverse_type(self) -> str:
        return RELATION_TYPES[self.type]


@strawberry.type(description="A dangling relation and its cursor.")
class DanglingRelationEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: DanglingRelation = strawberry.field(description="The dangling relation.")


async def _dangling_count(info: Info) -> int:
    """Counted only when asked for."""
    return await info.context.store.count_dangling()


async def _orphan_count(info: Info) -> int:
    """Counted only when asked for."""
    return await info.context.store.count_orphans()


@strawberry.type(description="A page of dangling relations.")
class DanglingRelationConnection:
    total_count: int = strawberry.field(
        resolver=_dangling_count, description="How many dangling relations there are in all."
    )
    edges: list[DanglingRelationEdge] = strawberry.field(description="The relations on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )


@strawberry.type(description="An entity that should have an owner and has none that exists.")
class Orphan:
    entity: Entity = strawberry.field(description="The entity without a usable owner.")
    owner_ref: str | None = strawberry.field(description="The missing owner, if one is named.")
    reason: str = strawberry.field(
        description="Why it counts: no owner named, or the owner is not an entity."
    )


@strawberry.type(description="An orphan and its cursor.")
class OrphanEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: Orphan = strawberry.field(description="The orphan.")


@strawberry.type(description="A page of orphans.")
class OrphanConnection:
    total_count: int = strawberry.field(
        resolver=_orphan_count, description="How many orphans there are in all."
    )
    edges: list[OrphanEdge] = strawberry.field(description="The orphans on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )


async def resolve_dangling(
    info: Info,
    first: int | None = 25,
    after: str | None = None,
    last: Last = None,
    before: Before = None,
) -> DanglingRelationConnection:
    asked = PageRequest.of(first, after, last, before)
    position = None
    if asked.cursor:
        source, type_, target = decode_cursor(asked.cursor, "dangling")
        position = (str(source), str(type_), str(target))
    page = await info.context.store.dangling(asked.size, position, asked.backward)
    edges = []
    for row in page.relations:
        missing = [
            end
            for end, ok in (("source", row.source_exists), ("target", row.target_exists))
            if not ok
        ]
        cursor = encode_cursor("dangling", row.source_ref.lower(), row.type, row.target_ref.lower())
        edges.append(
            DanglingRelationEdge(
                cursor=cursor,
                node=DanglingRelation(
                    source_ref=row.source_ref,
                    type=row.type,
                    target_ref=row.target_ref,
                    missing=" and ".join(missing) if len(missing) < 2 else "both",
                    origin=row.source,
                ),
            )
        )
    return DanglingRelationConnection(edges=edges, page_info=asked.page_info(edges, page.has_next))


def _orphan(item: StoredOrphan) -> Orphan:
    reason = "no owner" if item.owner_ref is None else f"owner {item.owner_ref} does not exist"
    return Orphan(entity=to_graphql(item.entity), owner_ref=item.owner_ref, reason=reason)


async def resolve_orphans(
    info: Info,
    first: int | None = 25,
    after: str | None = None,
    last: Last = None,
    before: Before = None,
) -> OrphanConnection:
    asked = PageRequest.of(first, after, last, before)
    position = str(decode_cursor(asked.cursor, "orphans")[0]) if asked.cursor else None
    items, more = await info.context.store.orphans(asked.size, position, asked.backward)
    edges = [
        OrphanEdge(cursor=encode_cursor("orphans", item.entity.key), node=_orphan(item))
        for item in items
    ]
    return OrphanConnection(edges=edges, page_info=asked.page_info(edges, more))
