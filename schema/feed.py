"""The ``catalogChanged`` subscription (issue 13): every recorded entity change, and every
ingestion run's status change, as they happen, over ``graphql-transport-ws``.

Each event is a ``CatalogEvent``: an ``EntityChange`` or an ``IngestionRun`` (a new run, or
one whose status changed; select ``... on IngestionRun { id source status }``). ``kind``,
``ref`` and ``owner`` narrow the entity changes (owner: the entity's ``spec.owner`` before or
after the change); ``runs: false`` leaves the run events out. Events come from the store
(:mod:`ingestors.feed`), so a change made by any replica reaches every subscriber, within
about a quarter of a second.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry

from catalog.changes import EntityChange as StoredChange
from catalog.errors import InvalidRefError
from catalog.refs import parse_ref
from graph.port import RunRecord
from ingestors.feed import Feed, FeedOverflowError
from schema.changes import EntityChange
from schema.context import Info
from schema.errors import UserInputError
from schema.inputs import parse_input_ref
from schema.runs import IngestionRun
from schema.tasks import TaskEvent, follow_events

CatalogEvent = Annotated[
    EntityChange | IngestionRun,
    strawberry.union(
        "CatalogEvent",
        description="An event of the catalog feed: an entity change, or an ingestion run in "
        "its new status (started: RUNNING; finished: SUCCEEDED, PARTIAL, FAILED, ...).",
    ),
]


def _owner_key(document: dict[str, Any] | None) -> str | None:
    if not document:
        return None
    owner = (document.get("spec") or {}).get("owner")
    namespace = (document.get("metadata") or {}).get("namespace") or "default"
    if not isinstance(owner, str) or not owner:
        return None
    try:
        return parse_ref(owner, default_kind="group", default_namespace=namespace).key
    except InvalidRefError:
        return None


@dataclass(frozen=True)
class Wanted:
    """Which events a subscriber asked for."""

    kind: str | None = None
    ref: str | None = None
    owner: str | None = None
    runs: bool = True

    def change(self, change: StoredChange) -> bool:
        if self.kind is not None and change.kind != self.kind:
            return False
        if self.ref is not None and change.ref != self.ref:
            return False
        if self.owner is not None:
            return self.owner in (_owner_key(change.before), _owner_key(change.after))
        return True


async def follow_catalog(
    info: Info, wanted: Wanted
) -> AsyncGenerator[EntityChange | IngestionRun, None]:
    """The events ``wanted`` asks for, from now on, until the client stops."""
    feed = info.context.feed or Feed(info.context.store)
    async with feed.listen() as events:
        while True:
            event = await events.get()
            if isinstance(event, FeedOverflowError):
                raise UserInputError(str(event), code="FEED_OVERFLOW")
            if isinstance(event, RunRecord):
                if wanted.runs:
                    yield IngestionRun(record=event)
            elif wanted.change(event):
                yield EntityChange(record=event)


@strawberry.type(description="Streams over graphql-transport-ws (authenticated like queries).")
class Subscription:
    @strawberry.subscription(
        description="A task's log lines, step changes and end, as they happen (graphql-transport-ws)."
    )
    async def task_events(
        self, info: Info, id: strawberry.ID, after: int = 0
    ) -> AsyncGenerator[TaskEvent, None]:
        async for event in follow_events(info, id, after):
            yield event

    @strawberry.subscription(
        description="Catalog changes as they happen: every recorded entity change (narrowed "
        "by kind, ref and owner, the entity's spec.owner before or after) and, unless runs is "
        "false, every ingestion run that starts or finishes. Events recorded after the "
        "subscription starts; read earlier ones with the changes query."
    )
    async def catalog_changed(
        self,
        info: Info,
        kind: str | None = None,
        ref: str | None = None,
        owner: str | None = None,
        runs: bool = True,
    ) -> AsyncGenerator[CatalogEvent, None]:
        wanted = Wanted(
            kind=kind.lower() if kind else None,
            ref=parse_input_ref(ref, "ref").key if ref else None,
            owner=parse_input_ref(owner, "owner", default_kind="group").key if owner else None,
            runs=runs,
        )
        async for event in follow_catalog(info, wanted):
            yield event
