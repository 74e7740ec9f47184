"""The change feed over GraphQL: the ``EntityChange`` type, the ``changes`` connection and
``Entity.history`` (names fixed by DESIGN.md; issue 13).

``changes`` lists recorded changes in the order they were recorded, oldest first, so a
client that keeps the last ``endCursor`` reads on from there and misses nothing (until
``changeRetention`` prunes it). ``Entity.history`` reads the newest changes of every entity
of a page through one loader (one store call per request and ``first``).
"""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from catalog.changes import EntityChange as StoredChange
from schema.context import Info
from schema.inputs import decode_cursor, encode_cursor, parse_input_ref
from schema.paging import Before, Last, PageInfo, PageRequest

CURSOR = "changes"


@strawberry.enum(name="ChangeType", description="What a recorded change did to an entity.")
class ChangeKind(enum.Enum):
    CREATED = strawberry.enum_value("CREATED", description="The entity was new.")
    UPDATED = strawberry.enum_value(
        "UPDATED", description="The entity's content changed (see fields)."
    )
    DELETED = strawberry.enum_value("DELETED", description="The entity was deleted.")


@strawberry.type(
    description="One recorded change to one entity, made by an ingestion run or a push."
)
class EntityChange:
    record: strawberry.Private[StoredChange]

    @strawberry.field(description="The change's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field(description="When it was recorded.")
    def at(self) -> datetime:
        return self.record.at

    @strawberry.field(description="The source whose run or push made it.")
    def source(self) -> str:
        return self.record.source

    @strawberry.field(
        description="The ingestion run (or push-... id of a push) that made it; null for a "
        "deletion through the REST API."
    )
    def run_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.record.run_id) if self.record.run_id else None

    @strawberry.field(description="The entity's ref (kind:namespace/name), lowercased.")
    def ref(self) -> str:
        return self.record.ref

    @strawberry.field(description="The entity's kind, lowercased.")
    def kind(self) -> str:
        return self.record.kind

    @strawberry.field(description="CREATED, UPDATED or DELETED.")
    def change(self) -> ChangeKind:
        return ChangeKind(self.record.change.value)

    @strawberry.field(
        description="The changed dot paths (spec.owner, metadata.tags), sorted; lists count "
        "as one value. For CREATED and DELETED, every path of the document."
    )
    def fields(self) -> list[str]:
        return list(self.record.fields)

    @strawberry.field(description="The entity document before the change; null for CREATED.")
    def before(self) -> JSON | None:
        return None if self.record.before is None else JSON(self.record.before)

    @strawberry.field(description="The entity document after the change; null for DELETED.")
    def after(self) -> JSON | None:
        return None if self.record.after is None else JSON(self.record.after)


@strawberry.type(description="A change and its cursor.")
class EntityChangeEdge:
    cursor: str = strawberry.field(description="Where this change is in the feed.")
    node: EntityChange = strawberry.field(description="The change.")


@strawberry.type(description="A page of recorded changes, oldest first.")
class EntityChangeConnection:
    total_count: int = strawberry.field(
        description="How many recorded changes match the filters (whatever `after` says)."
    )
    edges: list[EntityChangeEdge] = strawberry.field(description="The changes on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )


def change_cursor(change_id: str) -> str:
    return encode_cursor(CURSOR, change_id)


async def resolve_changes(
    info: Info,
    since: datetime | None = None,
    ref: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    first: int | None = 25,
    after: str | None = None,
    last: Last = None,
    before: Before = None,
) -> EntityChangeConnection:
    asked = PageRequest.of(first, after, last, before)
    size = asked.size
    position = str(decode_cursor(asked.cursor, CURSOR)[0]) if asked.cursor else None
    key = parse_input_ref(ref, "ref").key if ref else None
    wanted = kind.lower() if kind else None
    store = info.context.store
    found = await store.changes(
        since=since,
        after_id=position,
        ref=key,
        kind=wanted,
        source=source,
        limit=size + 1,
        backward=asked.backward,
    )
    total = await store.count_changes(since=since, ref=key, kind=wanted, source=source)
    page = found[-size:] if asked.backward else found[:size]  # the extra one is the farthest
    edges = [
        EntityChangeEdge(cursor=change_cursor(c.id), node=EntityChange(record=c)) for c in page
    ]
    return EntityChangeConnection(
        total_count=total, edges=edges, page_info=asked.page_info(edges, len(found) > size)
    )
