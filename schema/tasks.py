"""Scaffolder tasks over GraphQL: the ``Task`` type, ``task``/``tasks``, ``createTask`` and
``cancelTask`` (role ``writer``), and the ``taskEvents`` subscription.

A task created here runs in whichever process with a scheduler claims it (this one when it
runs one, at once). The subscription reads the task's stored events, so it follows a task
run by any process sharing the store; it ends after the task's completion event.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graph.port import TaskEvent as StoredEvent
from graph.port import TaskRecord
from scaffolder.errors import ScaffolderError
from scaffolder.tasks import UnknownTaskError, cancel_task, create_task
from schema.access import require_role
from schema.context import Info
from schema.errors import UserInputError
from schema.inputs import decode_cursor, encode_cursor
from schema.paging import Before, Last, PageInfo, PageRequest

#: How often a subscription looks for new events.
EVENT_POLL_SECONDS = 0.2


@strawberry.enum(
    description="Where a task is: open -> processing -> completed | failed | cancelled."
)
class TaskStatus(enum.Enum):
    OPEN = "open"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.type(description="One step of a task.")
class TaskStep:
    id: str = strawberry.field(description="The step's id in the template.")
    name: str = strawberry.field(description="The step's name in the template.")
    action: str = strawberry.field(
        description="The action it runs (fetch:template, publish:github, ...)."
    )
    status: str = strawberry.field(
        description="open, processing, completed, failed, skipped or cancelled."
    )
    started_at: datetime | None = strawberry.field(description="When it started; null until then.")
    ended_at: datetime | None = strawberry.field(description="When it ended; null until then.")


@strawberry.type(description="A link of a task's output.")
class TaskOutputLink:
    title: str | None = strawberry.field(description="The link's title.")
    url: str | None = strawberry.field(
        description="Where it points (a URL), or null for an entity link."
    )
    entity_ref: str | None = strawberry.field(
        description="The entity it points to, or null for a URL."
    )
    icon: str | None = strawberry.field(description="An icon name for front ends.")


@strawberry.type(description="What a finished task gives back (the template's output, rendered).")
class TaskOutput:
    links: list[TaskOutputLink] = strawberry.field(
        description="The template's `output.links`, rendered."
    )
    text: JSON | None = strawberry.field(description="The template's `output.text`, rendered.")


@strawberry.type(description="A file a dry run rendered.")
class DryRunFile:
    path: str = strawberry.field(description="The file's path in the workspace.")
    content: str = strawberry.field(description="The rendered content.")


@strawberry.type(description="A log line of a task.")
class TaskLogLine:
    seq: int = strawberry.field(
        description="Its number in the task's log (pass it as `after` to read on)."
    )
    at: datetime = strawberry.field(description="When it was written.")
    step_id: str | None = strawberry.field(
        description="The step that wrote it; null for the task's own lines."
    )
    message: str = strawberry.field(description="The line (secrets redacted).")


@strawberry.type(description="An event of a task: a log line, a step's new status, its end.")
class TaskEvent:
    seq: int = strawberry.field(description="Its number in the task's events.")
    at: datetime = strawberry.field(description="When it happened.")
    type: str = strawberry.field(description="log, cancelled or completion.")
    step_id: str | None = strawberry.field(
        description="The step it concerns; null for the task itself."
    )
    status: str | None = strawberry.field(
        description="The step's or task's new status, for a status change."
    )
    message: str | None = strawberry.field(
        description="The log line, for a log event (secrets redacted)."
    )

    @classmethod
    def from_stored(cls, event: StoredEvent) -> TaskEvent:
        body = event.body
        return cls(
            seq=event.seq,
            at=event.at,
            type=event.type,
            step_id=body.get("stepId"),
            status=body.get("status"),
            message=body.get("message"),
        )


def _links(output: dict[str, Any]) -> list[TaskOutputLink]:
    links = output.get("links") or []
    return [
        TaskOutputLink(
            title=link.get("title"),
            url=link.get("url"),
            entity_ref=link.get("entityRef"),
            icon=link.get("icon"),
        )
        for link in links
        if isinstance(link, dict)
    ]


@strawberry.type(description="A run of a template.")
class Task:
    record: strawberry.Private[TaskRecord]

    @strawberry.field(description="The task's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field(description="The template's ref.")
    def template(self) -> str:
        return self.record.template

    @strawberry.field(description="open, processing, completed, failed or cancelled.")
    def status(self) -> TaskStatus:
        return TaskStatus(self.record.status)

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(
        description="Who created it (the token's name or the JWT subject); null when anonymous."
    )
    def created_by(self) -> str | None:
        return self.record.created_by

    @strawberry.field(description="When it ended; null while open or processing.")
    def ended_at(self) -> datetime | None:
        return self.record.ended_at

    @strawberry.field(
        description="Whether it is a dry run (renders, publishes and registers nothing)."
    )
    def dry_run(self) -> bool:
        return self.record.dry_run

    @strawberry.field(description="The values it runs with (secrets are never kept).")
    def values(self) -> JSON:
        return JSON(self.record.values)

    @strawberry.field(description="Why it failed or was cancelled.")
    def error(self) -> str | None:
        return self.record.error

    @strawberry.field(description="Its steps, in order, with their status.")
    def steps(self) -> list[TaskStep]:
        return [
            TaskStep(
                id=s.id,
                name=s.name,
                action=s.action,
                status=s.status,
                started_at=s.started_at,
                ended_at=s.ended_at,
            )
            for s in self.record.steps
        ]

    @strawberry.field(description="Its log lines, after the line numbered `after`.")
    async def log(self, info: Info, after: int = 0) -> list[TaskLogLine]:
        events = await info.context.store.get_task_events(self.record.id, after)
        return [
            TaskLogLine(
                seq=e.seq,
                at=e.at,
                step_id=e.body.get("stepId"),
                message=str(e.body.get("message", "")),
            )
            for e in events
            if e.type == "log"
        ]

    @strawberry.field(description="The rendered output; null until it completes.")
    def output(self) -> TaskOutput | None:
        if self.record.status != "completed":
            return None
        return TaskOutput(
            links=_links(self.record.output), text=JSON(self.record.output.get("text"))
        )

    @strawberry.field(description="A dry run's rendered files.")
    def dry_run_files(self) -> list[DryRunFile]:
        return [DryRunFile(path=f["path"], content=f["content"]) for f in self.record.files]


@strawberry.type(description="A task and its cursor.")
class TaskEdge:
    cursor: str = strawberry.field(description="Where this task is in the listing.")
    node: Task = strawberry.field(description="The task.")


@strawberry.type(description="A page of tasks.")
class TaskConnection:
    total_count: int = strawberry.field(description="How many tasks match.")
    edges: list[TaskEdge] = strawberry.field(description="The tasks on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )


async def resolve_task(info: Info, id: strawberry.ID) -> Task | None:
    found = (await info.context.store.get_tasks([str(id)])).get(str(id))
    return Task(record=found) if found else None


async def resolve_tasks(
    info: Info,
    template: str | None = None,
    status: TaskStatus | None = None,
    created_by: str | None = None,
    first: int | None = 25,
    after: str | None = None,
    last: Last = None,
    before: Before = None,
) -> TaskConnection:
    asked = PageRequest.of(first, after, last, before)
    size = asked.size
    position = str(decode_cursor(asked.cursor, "tasks")[0]) if asked.cursor else None
    wanted = status.value if status else None
    store = info.context.store
    found = await store.list_tasks(
        size + 1,
        position,
        template=template,
        status=wanted,
        created_by=created_by,
        backward=asked.backward,
    )
    total = await store.count_tasks(template=template, status=wanted, created_by=created_by)
    page = found[-size:] if asked.backward else found[:size]  # the extra one is the farthest
    edges = [TaskEdge(cursor=encode_cursor("tasks", t.id), node=Task(record=t)) for t in page]
    return TaskConnection(
        total_count=total, edges=edges, page_info=asked.page_info(edges, len(found) > size)
    )


async def resolve_create_task(
    info: Info, template: str, values: JSON, secrets: JSON | None = None, dry_run: bool = False
) -> Task:
    require_role(info, "writer")
    if not isinstance(values, dict) or (secrets is not None and not isinstance(secrets, dict)):
        raise UserInputError("values and secrets must be objects of name: value")
    scaffolder = info.context.scaffolder
    try:
        if scaffolder is not None:
            record = await scaffolder.create(
                template,
                values,
                secrets=secrets,
                created_by=info.context.principal,
                dry_run=dry_run,
            )
        else:
            record = await create_task(
                info.context.store,
                template,
                values,
                secrets=secrets,
                created_by=info.context.principal,
                dry_run=dry_run,
            )
    except ScaffolderError as exc:
        raise UserInputError(str(exc)) from None
    return Task(record=record)


async def resolve_cancel_task(info: Info, id: strawberry.ID) -> Task:
    require_role(info, "writer")
    try:
        return Task(record=await cancel_task(info.context.store, str(id)))
    except UnknownTaskError as exc:
        raise UserInputError(str(exc), code="NOT_FOUND") from None


async def follow_events(
    info: Info, id: strawberry.ID, after: int = 0
) -> AsyncGenerator[TaskEvent, None]:
    """Every event of the task after ``after``, as it is stored, until its completion."""
    store = info.context.store
    if not await store.get_tasks([str(id)]):
        raise UserInputError(f"no task has the id {id!r}", code="NOT_FOUND")
    seen = after
    while True:
        for event in await store.get_task_events(str(id), seen):
            seen = event.seq
            yield TaskEvent.from_stored(event)
            if event.type == "completion":
                return
        await asyncio.sleep(EVENT_POLL_SECONDS)
