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
from schema.inputs import decode_cursor, encode_cursor, page_size
from schema.paging import PageInfo

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
    id: str
    name: str
    action: str
    status: str = strawberry.field(
        description="open, processing, completed, failed, skipped or cancelled."
    )
    started_at: datetime | None
    ended_at: datetime | None


@strawberry.type(description="A link of a task's output.")
class TaskOutputLink:
    title: str | None
    url: str | None
    entity_ref: str | None
    icon: str | None


@strawberry.type(description="What a finished task gives back (the template's output, rendered).")
class TaskOutput:
    links: list[TaskOutputLink]
    text: JSON | None


@strawberry.type(description="A file a dry run rendered.")
class DryRunFile:
    path: str
    content: str


@strawberry.type(description="A log line of a task.")
class TaskLogLine:
    seq: int
    at: datetime
    step_id: str | None
    message: str


@strawberry.type(description="An event of a task: a log line, a step's new status, its end.")
class TaskEvent:
    seq: int
    at: datetime
    type: str = strawberry.field(description="log, cancelled or completion.")
    step_id: str | None
    status: str | None
    message: str | None

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

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field(description="The template's ref.")
    def template(self) -> str:
        return self.record.template

    @strawberry.field
    def status(self) -> TaskStatus:
        return TaskStatus(self.record.status)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    def created_by(self) -> str | None:
        return self.record.created_by

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return self.record.ended_at

    @strawberry.field
    def dry_run(self) -> bool:
        return self.record.dry_run

    @strawberry.field(description="The values it runs with (secrets are never kept).")
    def values(self) -> JSON:
        return JSON(self.record.values)

    @strawberry.field(description="Why it failed or was cancelled.")
    def error(self) -> str | None:
        return self.record.error

    @strawberry.field
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


@strawberry.type
class TaskEdge:
    cursor: str
    node: Task


@strawberry.type
class TaskConnection:
    total_count: int
    edges: list[TaskEdge]
    page_info: PageInfo


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
) -> TaskConnection:
    size = page_size(first)
    position = str(decode_cursor(after, "tasks")[0]) if after else None
    wanted = status.value if status else None
    store = info.context.store
    found = await store.list_tasks(
        size + 1, position, template=template, status=wanted, created_by=created_by
    )
    total = await store.count_tasks(template=template, status=wanted, created_by=created_by)
    edges = [
        TaskEdge(cursor=encode_cursor("tasks", t.id), node=Task(record=t)) for t in found[:size]
    ]
    return TaskConnection(
        total_count=total,
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > size, end_cursor=edges[-1].cursor if edges else None
        ),
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


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="A task's log lines, step changes and end, as they happen (graphql-transport-ws)."
    )
    async def task_events(
        self, info: Info, id: strawberry.ID, after: int = 0
    ) -> AsyncGenerator[TaskEvent, None]:
        async for event in follow_events(info, id, after):
            yield event
