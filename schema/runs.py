"""Sources and their run history: ``sources``, ``ingestionRuns``, ``runIngestion`` and where
each entity came from (names fixed by DESIGN.md)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import strawberry

from graph.port import EntityFilter, RunRecord
from graph.port import RunError as StoredRunError
from ingestors.contract import SourceConfig
from ingestors.errors import IngestError
from ingestors.schedule import next_slot
from schema.access import require_role
from schema.context import Info
from schema.errors import UserInputError
from schema.inputs import check_range, decode_cursor, encode_cursor
from schema.paging import Before, Last, PageInfo, PageRequest

#: statuses of a run that read its source (entity errors allowed)
SUCCESSFUL = ("SUCCEEDED", "PARTIAL")
FINISHED = ("SUCCEEDED", "PARTIAL", "FAILED", "TIMED_OUT")
MAX_ERRORS_PAGE = 500


@strawberry.enum(description="How a run ended (RUNNING while it goes on).")
class RunStatus(enum.Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    SKIPPED = "SKIPPED"


@strawberry.type(description="What a run did to one kind of entity.")
class RunCount:
    kind: str = strawberry.field(description="The kind counted (lowercase).")
    added: int = strawberry.field(description="Entities of the kind the run created.")
    updated: int = strawberry.field(description="Entities of the kind whose content changed.")
    unchanged: int = strawberry.field(description="Entities of the kind read again unchanged.")
    deleted: int = strawberry.field(description="Entities of the kind cleanup deleted.")


@strawberry.type(description="One problem a run met: where, and what to do.")
class RunError:
    message: str = strawberry.field(description="What was wrong and what to do.")
    file: str | None = strawberry.field(
        description="Where: a file (with :line where known) or a scope of the source."
    )
    entity: str | None = strawberry.field(
        description="The entity's ref, when the problem is one entity's."
    )


@strawberry.type(description="One ingestion run of a source.")
class IngestionRun:
    record: strawberry.Private[RunRecord]

    @strawberry.field(description="The run's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @strawberry.field(description="The source's name.")
    def source(self) -> str:
        return self.record.source

    @strawberry.field(description="How it ended, or RUNNING.")
    def status(self) -> RunStatus:
        return RunStatus(self.record.status)

    @strawberry.field(description="schedule, manual, cli, demo, retry or webhook.")
    def trigger(self) -> str:
        return self.record.trigger

    @strawberry.field(
        description="The parts of the source a scoped run read (source paths such as "
        "github:acme/payments, or folders of a git source); cleanup stayed inside them. "
        "Null when the run read the whole source."
    )
    def scope(self) -> list[str] | None:
        return self.record.scope

    @strawberry.field(description="When it started.")
    def started_at(self) -> datetime:
        return self.record.started_at

    @strawberry.field(description="When it finished; null while running.")
    def finished_at(self) -> datetime | None:
        return self.record.finished_at

    @strawberry.field(description="Seconds from start to finish; null while running.")
    def duration(self) -> float | None:
        if self.record.finished_at is None:
            return None
        return (self.record.finished_at - self.record.started_at).total_seconds()

    @strawberry.field(description="The commit read, for git sources.")
    def commit(self) -> str | None:
        return self.record.commit

    @strawberry.field(description="What cleanup did, or why it deleted nothing.")
    def cleanup(self) -> str | None:
        return self.record.cleanup

    @strawberry.field(description="What it did, per kind.")
    def counts(self) -> list[RunCount]:
        return [
            RunCount(
                kind=c.kind,
                added=c.added,
                updated=c.updated,
                unchanged=c.unchanged,
                deleted=c.deleted,
            )
            for c in self.record.counts
        ]

    @strawberry.field(description="How many errors it met (see errors for them).")
    def error_count(self) -> int:
        return len(self.record.errors)

    @strawberry.field(description="The run's errors, a page at a time (by position).")
    def errors(self, first: int | None = 100, offset: int | None = 0) -> list[RunError]:
        size = 100 if first is None else first
        start = offset or 0
        check_range(size, "first", 1, MAX_ERRORS_PAGE)
        check_range(start, "offset", 0, max(len(self.record.errors), 0))
        return [_error(e) for e in self.record.errors[start : start + size]]

    @strawberry.field(description="What it noticed that was not an error.")
    def warnings(self) -> list[str]:
        return list(self.record.warnings)

    @strawberry.field(
        description="Figures the source reported: API calls made, rate-limit quota left, "
        "entities deferred to another source, ..."
    )
    def stats(self) -> list[RunStat]:
        return [RunStat(name=k, value=v) for k, v in sorted(self.record.stats.items())]

    @strawberry.field(
        description="What the source passed over on purpose, with why (e.g. a repository "
        "without a catalog-info.yaml); not errors."
    )
    def skipped(self) -> list[str]:
        return list(self.record.skipped)


@strawberry.type(description="A named figure of a run, e.g. apiCalls or rateLimitRemaining.")
class RunStat:
    name: str = strawberry.field(description="The figure's name, e.g. apiCalls.")
    value: int = strawberry.field(description="Its value.")


def _error(error: StoredRunError) -> RunError:
    return RunError(message=error.message, file=error.file, entity=error.entity)


def to_run(record: RunRecord | None) -> IngestionRun | None:
    return IngestionRun(record=record) if record is not None else None


@strawberry.type(description="A run and its cursor.")
class IngestionRunEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: IngestionRun = strawberry.field(description="The run.")


@strawberry.type(description="A page of ingestion runs, newest first.")
class IngestionRunConnection:
    total_count: int = strawberry.field(description="How many runs match, on every page.")
    edges: list[IngestionRunEdge] = strawberry.field(description="The runs on this page.")
    page_info: PageInfo = strawberry.field(
        description="Where this page ends and whether more follow."
    )


@strawberry.type(description="A configured source.")
class Source:
    config: strawberry.Private[SourceConfig]
    last: strawberry.Private[RunRecord | None]
    last_good: strawberry.Private[RunRecord | None]
    entities: strawberry.Private[int]
    next_at: strawberry.Private[datetime | None]

    @strawberry.field(description="The source's name (from the config file).")
    def name(self) -> str:
        return self.config.name

    @strawberry.field(description="Its type: git, aws, github, gitlab, jenkins.")
    def type(self) -> str:
        return self.config.type

    @strawberry.field(description="every 30m, cron */15 * * * *, or null (on request only).")
    def schedule(self) -> str | None:
        return self.config.schedule.describe() if self.config.schedule else None

    @strawberry.field(description="When it runs next on its schedule; null without one.")
    def next_run_at(self) -> datetime | None:
        return self.next_at

    @strawberry.field(description="Its latest run, whatever its status.")
    def last_run(self) -> IngestionRun | None:
        return to_run(self.last)

    @strawberry.field(description="Its latest run that SUCCEEDED.")
    def last_successful_run(self) -> IngestionRun | None:
        return to_run(self.last_good)

    @strawberry.field(description="Entities this source holds now.")
    def entity_count(self) -> int:
        return self.entities


async def resolve_sources(info: Info) -> list[Source]:
    context = info.context
    configs = list(context.sources)
    if not configs:
        return []
    names = [c.name for c in configs]
    store = context.store
    last = await store.latest_runs(names, (*FINISHED, "RUNNING"))
    good = await store.latest_runs(names, SUCCESSFUL)
    counts = dict((await store.facets(["source"], EntityFilter(), limit=10_000))["source"])
    sources = []
    for config in configs:
        next_at = None
        if context.scheduler is not None:
            next_at = context.scheduler.next_run_at(config.name)
        elif config.schedule is not None:
            previous = last.get(config.name)
            next_at = next_slot(
                config.schedule,
                earliest=datetime.now(UTC),
                last_start=previous.started_at if previous else None,
            )
        sources.append(
            Source(
                config=config,
                last=last.get(config.name),
                last_good=good.get(config.name),
                entities=counts.get(config.name, 0),
                next_at=next_at,
            )
        )
    return sources


async def resolve_runs(
    info: Info,
    source: str | None = None,
    status: RunStatus | None = None,
    first: int | None = 25,
    after: str | None = None,
    last: Last = None,
    before: Before = None,
) -> IngestionRunConnection:
    asked = PageRequest.of(first, after, last, before)
    size = asked.size
    position = str(decode_cursor(asked.cursor, "runs")[0]) if asked.cursor else None
    wanted = status.value if status else None
    store = info.context.store
    runs = await store.get_runs(source, size + 1, position, wanted, asked.backward)
    total = await store.count_runs(source, wanted)
    page = runs[-size:] if asked.backward else runs[:size]  # the extra run is the farthest
    edges = [
        IngestionRunEdge(cursor=encode_cursor("runs", r.id), node=IngestionRun(record=r))
        for r in page
    ]
    return IngestionRunConnection(
        total_count=total, edges=edges, page_info=asked.page_info(edges, len(runs) > size)
    )


async def resolve_run_ingestion(info: Info, source: str) -> IngestionRun:
    require_role(info, "admin")
    scheduler = info.context.scheduler
    if scheduler is None:
        raise UserInputError(
            "no sources are configured in this server; start it with --config stagegraph.yaml",
            code="UNAVAILABLE",
        )
    try:
        run_id = await scheduler.trigger(source, "manual")
    except IngestError as exc:
        raise UserInputError(str(exc)) from None
    found = await info.context.store.runs_by_id([run_id])
    if run_id in found:
        return IngestionRun(record=found[run_id])
    # Started a moment ago: its first record is being written right now.
    config = next(c for c in info.context.sources if c.name == source)
    record = RunRecord(
        id=run_id,
        source=source,
        source_type=config.type,
        status="RUNNING",
        trigger="manual",
        started_at=datetime.now(UTC),
    )
    return IngestionRun(record=record)
