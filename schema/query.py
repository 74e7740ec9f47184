"""The root ``Query``: entity lookups, listings with keyset cursors, dependency graphs and
ownership roll-ups (names fixed by DESIGN.md)."""

from __future__ import annotations

import base64
import enum

import strawberry

from catalog.errors import InvalidRefError
from catalog.refs import EntityRef, parse_ref
from graph.port import Direction as StoreDirection
from graph.port import EntityFilter
from schema.context import Info
from schema.entity import Entity, to_graphql
from schema.errors import UserInputError

MAX_PAGE = 100
MAX_DEPTH = 20


@strawberry.enum(description="Which way to walk dependencies.")
class Direction(enum.Enum):
    DOWNSTREAM = "DOWNSTREAM"  # follows dependsOn: what the root needs
    UPSTREAM = "UPSTREAM"  # follows dependencyOf: what needs the root


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class EntityEdge:
    cursor: str
    node: Entity


@strawberry.type
class EntityConnection:
    total_count: int
    edges: list[EntityEdge]
    page_info: PageInfo


@strawberry.type(description="A dependsOn edge: `from` depends on `to`.")
class DependencyEdge:
    from_: str = strawberry.field(name="from")
    to: str
    depth: int = strawberry.field(
        description="Shortest distance from the root of the edge's end farther from it."
    )


@strawberry.type
class DependencyGraph:
    root: Entity | None
    nodes: list[Entity]
    edges: list[DependencyEdge]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith("k:"):
        raise UserInputError(
            f"invalid cursor {cursor!r}: pass an endCursor or cursor from an earlier page"
        )
    return text[2:]


def parse_input_ref(value: str, argument: str, default_kind: str | None = None) -> EntityRef:
    try:
        return parse_ref(value, default_kind=default_kind)
    except InvalidRefError as exc:
        raise UserInputError(
            f"{argument}: {exc.reason}; write refs as kind:namespace/name, "
            "e.g. component:default/payments"
        ) from None


def check_range(value: int, argument: str, low: int, high: int) -> None:
    if not low <= value <= high:
        raise UserInputError(f"{argument} must be between {low} and {high}, got {value}")


@strawberry.type
class Query:
    @strawberry.field(description="One entity by ref (kind:namespace/name); null if unknown.")
    async def entity(self, info: Info, ref: str) -> Entity | None:
        stored = await info.context.loaders.entities.load(parse_input_ref(ref, "ref").key)
        return to_graphql(stored) if stored else None

    @strawberry.field(description="Entities matching all given filters, ordered by ref.")
    async def entities(
        self,
        info: Info,
        kind: str | None = None,
        namespace: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        first: int | None = 25,
        after: str | None = None,
    ) -> EntityConnection:
        first = 25 if first is None else first
        check_range(first, "first", 1, MAX_PAGE)
        flt = EntityFilter(
            kinds=(kind,) if kind else (),
            namespace=namespace,
            owner_keys=(parse_input_ref(owner, "owner", "group").key,) if owner else (),
            tag=tag,
            search=search,
        )
        store = info.context.store
        page = await store.list_entities(flt, first, decode_cursor(after) if after else None)
        total = await store.count_entities(flt)
        for stored in page.entities:
            info.context.loaders.entities.prime(stored.key, stored)
        edges = [EntityEdge(cursor=encode_cursor(s.key), node=to_graphql(s)) for s in page.entities]
        end = encode_cursor(page.last_key) if page.last_key else None
        return EntityConnection(
            total_count=total,
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=end),
        )

    @strawberry.field(
        description="Transitive dependencies (DOWNSTREAM) or dependents (UPSTREAM); "
        "each node once, cycle-safe."
    )
    async def dependencies(
        self,
        info: Info,
        ref: str,
        direction: Direction | None = Direction.DOWNSTREAM,
        max_depth: int | None = 10,
    ) -> DependencyGraph:
        direction = direction or Direction.DOWNSTREAM
        max_depth = 10 if max_depth is None else max_depth
        check_range(max_depth, "maxDepth", 1, MAX_DEPTH)
        root = parse_input_ref(ref, "ref")
        way = StoreDirection.OUT if direction is Direction.DOWNSTREAM else StoreDirection.IN
        walk = await info.context.store.traverse(root.key, "dependsOn", way, max_depth)
        loaders = info.context.loaders.entities
        root_entity = await loaders.load(root.key)
        order = sorted(walk.depths, key=lambda k: (walk.depths[k], k))
        found = await loaders.load_many(order)
        depth_of = {**walk.depths, root.key: 0}
        edges = []
        for edge in walk.edges:
            near, far = (
                (edge.from_ref, edge.to_ref)
                if way is StoreDirection.OUT
                else (edge.to_ref, edge.from_ref)
            )
            depth = max(depth_of[near.lower()], depth_of[far.lower()])
            edges.append(DependencyEdge(from_=edge.from_ref, to=edge.to_ref, depth=depth))
        edges.sort(key=lambda e: (e.depth, e.from_.lower(), e.to.lower()))
        return DependencyGraph(
            root=to_graphql(root_entity) if root_entity else None,
            nodes=[to_graphql(s) for s in found if s is not None],
            edges=edges,
        )

    @strawberry.field(
        description="What an owner owns; with includeSubgroups, also what every group "
        "below it (through childOf, transitively) owns."
    )
    async def owned_entities(
        self, info: Info, owner: str, include_subgroups: bool | None = False
    ) -> list[Entity]:
        owner_ref = parse_input_ref(owner, "owner", "group")
        refs = await info.context.store.owned_by([owner_ref.key], bool(include_subgroups))
        found = await info.context.loaders.entities.load_many(refs)
        return [to_graphql(s) for s in found if s is not None]
