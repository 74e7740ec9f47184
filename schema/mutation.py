"""The root ``Mutation``: automation pushes entities in Backstage's shape (role ``writer``)."""

from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from ingestors.push import (
    PushConflictError,
    PushForbiddenError,
    PushStatus,
    delete_pushed,
    push_entities,
)
from schema.access import ForbiddenError, require_role, require_scope
from schema.context import Info
from schema.errors import UserInputError
from schema.runs import IngestionRun, resolve_run_ingestion
from schema.tasks import Task, resolve_cancel_task, resolve_create_task


@strawberry.enum(description="What happened to one pushed entity.")
class UpsertStatus(enum.Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@strawberry.type(description="The outcome for one entity of an upsertEntities call.")
class UpsertResult:
    index: int = strawberry.field(description="Position in the `entities` argument.")
    ref: str | None = strawberry.field(
        description="The entity's ref; null when the document has none that can be read."
    )
    status: UpsertStatus = strawberry.field(description="What happened to it.")
    error: str | None = strawberry.field(description="Why it failed: field and what to fix.")


def _check_source(source: str) -> str:
    name = source.strip()
    if not name or len(name) > 100:
        raise UserInputError("source must be a name of 1 to 100 characters")
    return name


def _configured(info: Info) -> frozenset[str]:
    """Names of the configured sources: a push may not use them."""
    return frozenset(s.name for s in info.context.sources)


@strawberry.type(description="Writes: pushed entities and ingestion runs on request.")
class Mutation:
    @strawberry.mutation(
        description="Create or replace entities of `source` (descriptors in Backstage's shape), "
        "validated like ingested ones. All or nothing: if any entity fails, none is written "
        "and the others report SKIPPED. A ref held by another source is a conflict; a "
        "configured source outranks pushes. A token's scope limits sources, namespaces and "
        "kinds."
    )
    async def upsert_entities(
        self, info: Info, source: str, entities: list[JSON]
    ) -> list[UpsertResult]:
        require_role(info, "writer")
        name = _check_source(source)
        refuse = require_scope(info, name)
        try:
            results = await push_entities(
                info.context.store,
                name,
                entities,
                refuse=refuse,
                configured=_configured(info),
                kinds=info.context.kinds,
            )
        except PushConflictError as exc:
            raise UserInputError(str(exc), code="CONFLICT") from None
        return [
            UpsertResult(
                index=r.index, ref=r.ref, status=UpsertStatus(r.status.value), error=r.error
            )
            for r in results
        ]

    run_ingestion: IngestionRun = strawberry.mutation(
        resolver=resolve_run_ingestion,
        description="Run a configured source now (role admin); returns the new run, or the "
        "one already running.",
    )

    create_task: Task = strawberry.mutation(
        resolver=resolve_create_task,
        description="Run a template (role writer): the values are checked against its "
        "parameters first (every problem listed); `secrets` are never stored; `dryRun` "
        "renders the files and step inputs without publishing or registering.",
    )
    cancel_task: Task = strawberry.mutation(
        resolver=resolve_cancel_task,
        description="Cancel a task (role writer): an open one at once, a running one at its "
        "running step.",
    )

    @strawberry.mutation(
        description="Delete entities of `source`; returns how many existed. All or nothing: "
        "a ref of another source, or one outside the token's scope, fails the whole call."
    )
    async def delete_entities(self, info: Info, source: str, refs: list[str]) -> int:
        require_role(info, "writer")
        name = _check_source(source)
        refuse = require_scope(info, name)
        try:
            return await delete_pushed(
                info.context.store, name, refs, refuse=refuse, configured=_configured(info)
            )
        except PushConflictError as exc:
            raise UserInputError(str(exc), code="CONFLICT") from None
        except PushForbiddenError as exc:
            raise ForbiddenError(str(exc)) from None


__all__ = ["Mutation", "PushStatus"]
