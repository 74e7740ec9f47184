"""The ``stagegraph`` command line (typer). Names are fixed by DESIGN.md.

long: one typer app holds every command so `stagegraph --help` and the exit codes are read
in one place; each command is a thin call into the layers below.

Exit codes: 0 done (entity errors are listed, not fatal), 1 the source could not be read or
the input has problems, 2 usage errors (typer's own).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from api.auth import TokenEntry, hash_token, new_token
from api.config import ConfigError, build_settings
from api.logs import configure_logging
from api.scaffold_cli import (
    SecretOption,
    SetOption,
    TemplateArgument,
    ValuesOption,
    list_tasks,
    parse_sets,
    print_result,
    read_values,
    run_scaffold,
    tasks_table,
)
from api.settings import Settings
from catalog.rules import KindRules
from graph import open_store
from graph.errors import StoreError
from graph.port import GraphStore, RunError, RunRecord
from ingestors.clock import SystemClock
from ingestors.contract import format_duration
from ingestors.git import SOURCE_TYPE, ingest_git
from ingestors.git.transform import NO_DESCRIPTORS, Origin, transform_tree
from ingestors.git.tree import DirTree
from ingestors.locations import follow_locations, sync_locations
from ingestors.registry import SOURCE_TYPES
from ingestors.schedule import next_slot
from ingestors.scheduler import RunObserver, Scheduler, default_owner_id
from ingestors.snapshot import admit_kinds
from scaffolder.errors import ScaffolderError
from schema.access import Role

app = typer.Typer(
    help="Stagegraph: a Backstage-compatible software catalog built as a graph, "
    "served over GraphQL.\n\nThe store is chosen by --store or STAGEGRAPH_STORE "
    "(sqlite:///stagegraph.db by default; bolt://host:7687 for Neo4j with NEO4J_USER and "
    "NEO4J_PASSWORD).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
ingest_app = typer.Typer(
    help="Ingest a source into the catalog once: a configured one of any type "
    f"({', '.join(SOURCE_TYPES.names())}: --config with --source or --all), or a git "
    "repository given on the command line (ingest git). Source types and their options: "
    "README, Sources.",
    invoke_without_command=True,
)
app.add_typer(ingest_app, name="ingest")
token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
app.add_typer(token_app, name="token")

err = Console(stderr=True)
out = Console()

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL (sqlite:///file.db, bolt://host:7687, neo4j://host:7687). "
        "[env: STAGEGRAPH_STORE]",
        show_default=False,
    ),
]


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="STAGEGRAPH_CONFIG",
        help="The config file (stagegraph.yaml): store, auth and sources. [env: STAGEGRAPH_CONFIG]",
        show_default=False,
    ),
]


def load_settings(config: Path | None = None, **overrides: object) -> Settings:
    """Settings from flags, environment and the config file; every problem, then exit 2."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if config is not None:
        values["config"] = config
    try:
        settings = build_settings(Settings, config, values)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"configuration error: {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    assert isinstance(settings, Settings)
    return settings


def print_run(run: RunRecord) -> None:
    table = Table(title=f"Run {run.id} of source {run.source!r}: {run.status}")
    for column in ("kind", "added", "updated", "unchanged", "deleted"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for count in run.counts:
        table.add_row(
            count.kind,
            str(count.added),
            str(count.updated),
            str(count.unchanged),
            str(count.deleted),
        )
    out.print(table)
    if run.commit:
        out.print(f"commit: {run.commit}")
    out.print(f"cleanup: {run.cleanup}")
    if run.stats:
        out.print("stats: " + ", ".join(f"{k} {v}" for k, v in sorted(run.stats.items())))
    if run.skipped:
        out.print(f"skipped ({len(run.skipped)}), on purpose:")
        for item in run.skipped:
            out.print(f"  {item}", highlight=False, markup=False, soft_wrap=True)
    for warning in run.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}", soft_wrap=True, highlight=False)
    if run.errors:
        err.print(f"[red]{len(run.errors)} error(s)[/red]:")
        for error in run.errors:
            where = f"{error.file}: " if error.file else ""
            err.print(f"  {where}{error.message}", highlight=False, markup=False, soft_wrap=True)


@ingest_app.command("git")
def ingest_git_command(
    source: Annotated[
        str, typer.Argument(help="A local path or a git URL (https://, ssh, file://).")
    ],
    name: Annotated[
        str, typer.Option("--name", help="The source name; its entities belong to it.")
    ],
    store: StoreOption = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="Branch, tag or commit (default: the default branch)."),
    ] = None,
    path: Annotated[
        list[str] | None,
        typer.Option(
            "--path",
            help="Entry file or folder inside the repo (repeatable). Default: every "
            "catalog-info.yaml at any depth.",
        ),
    ] = None,
) -> None:
    """Read a git repository's descriptors into the catalog.

    Discovers catalog-info.yaml files, follows Location targets, validates every entity,
    loads them, and deletes what this source no longer has (unless the read looks wrong).

    Example: stagegraph ingest git https://github.com/acme/catalog.git --name acme-catalog
    """
    settings = load_settings(store=store)

    async def main() -> RunRecord:
        graph = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
        await graph.setup()
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            ) as bar:
                task = bar.add_task(f"ingesting {name}", total=None)

                def progress(phase: str, done: int, total: int) -> None:
                    bar.update(
                        task, description=f"{name}: {phase}", completed=done, total=total or None
                    )

                return await ingest_git(
                    graph,
                    source,
                    name=name,
                    ref=ref,
                    paths=path or (),
                    policy=settings.run_policy(),
                    progress=progress,
                )
        finally:
            await graph.close()

    try:
        run = asyncio.run(main())
    except StoreError as exc:
        err.print(f"[red]store error[/red]: {exc}")
        raise typer.Exit(1) from None
    print_run(run)
    if run.status == "FAILED":
        raise typer.Exit(1)


def _error_position(error: RunError) -> tuple[str, int, int]:
    """Sort key: file, then line and column, from ``path:line[:column]``."""
    path, *numbers = (error.file or "").split(":")
    line, column = ([int(n) for n in numbers if n.isdigit()] + [0, 0])[:2]
    return path, line, column


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Descriptor files or folders to check.")],
    config: ConfigOption = None,
) -> None:
    """Check descriptors without loading them; print every problem as file:line: message.

    A folder is searched for catalog-info.yaml files at any depth; Location targets are
    followed. Kinds are checked against catalog.rules of --config (default: the built-in
    kinds). Exits 1 when anything is wrong.
    """
    kinds = load_settings(config).kind_rules if config is not None else KindRules()
    problems = 0
    entities = 0
    nothing_matched = False
    for target in paths:
        if not target.exists():
            err.print(f"{target}: no such file or folder")
            problems += 1
            continue
        root, entry = (target, ()) if target.is_dir() else (target.parent, (target.name,))
        snapshot = transform_tree(DirTree(root), Origin(str(root.resolve()), None), entry)
        admit_kinds(snapshot, kinds)
        entities += len(snapshot.descriptors)
        errors = sorted(
            [*snapshot.errors, *(r.error for r in snapshot.rejected)], key=_error_position
        )
        for error in errors:
            where = Path(root, error.file) if error.file else root
            out.print(f"{where}: {error.message}", highlight=False, markup=False, soft_wrap=True)
        for warning in snapshot.warnings:
            if warning.startswith(NO_DESCRIPTORS):
                nothing_matched = True
                warning = (
                    f"{NO_DESCRIPTORS} in {target} (a folder is searched for those names only); "
                    f"name the descriptor files to check them: stagegraph validate {target}/*.yaml"
                )
                err.print(f"{warning} (warning)", highlight=False, markup=False, soft_wrap=True)
                continue
            err.print(f"{root}/{warning} (warning)", highlight=False, markup=False, soft_wrap=True)
        problems += len(errors)
    summary = f"{entities} valid entities, {problems} problem(s)"
    colour = "red" if problems else "yellow" if nothing_matched else "green"
    err.print(f"[{colour}]{summary}[/{colour}]")
    if problems:
        raise typer.Exit(1)


@app.command()
def serve(
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address. [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port. [default: 8000]")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo catalog (examples/) at start.")
    ] = False,
    config: ConfigOption = None,
    no_scheduler: Annotated[
        bool,
        typer.Option(
            "--no-scheduler",
            help="Do not run configured sources on their schedules in this process (run "
            "`stagegraph worker` instead); runIngestion still works.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes, each a replica on the store; the schedule runs in one. "
            "[default: the number of CPU cores]",
        ),
    ] = None,
) -> None:
    """Serve the GraphQL API (POST /graphql; GraphiQL at GET /graphql in a browser).

    With --config, the sources in the file run on their schedules inside this process
    (one run per source at a time, even across replicas), and GET /metrics reports them.
    """
    from api.serving import serve as serve_app
    from api.serving import worker_count

    settings = load_settings(
        config,
        store=store,
        host=host,
        port=port,
        demo=demo or None,
        scheduler=False if no_scheduler else None,
        workers=workers,
    )
    configure_logging(settings.log_level)
    sources = len(settings.sources)
    processes = worker_count(settings)
    err.print(
        f"Stagegraph on http://{settings.host}:{settings.port}/graphql "
        f"(store {settings.store}{', demo catalog' if settings.demo else ''}"
        f"{f', {sources} sources' if sources else ''}"
        f"{', scheduler off' if sources and not settings.scheduler else ''}"
        f", {processes} worker{'s' if processes > 1 else ''})"
    )
    serve_app(settings, processes)


@ingest_app.callback()
def ingest_configured(
    ctx: typer.Context,
    config: ConfigOption = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="A configured source to run now (repeatable)."),
    ] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Run every configured source, one after another.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Run configured sources once and exit (for cron and Kubernetes CronJobs).

    Exit codes as for `ingest git`: 0 every source was read, 1 one could not be read (or
    timed out), 2 usage errors. A source another worker is running is reported SKIPPED.

    Example: stagegraph ingest --config stagegraph.yaml --source acme-catalog
    """
    if ctx.invoked_subcommand is not None:
        return
    if not source and not all_sources:
        err.print(ctx.get_help())
        raise typer.Exit(2)
    if config is None:
        err.print("configuration error: --source/--all need --config (or STAGEGRAPH_CONFIG)")
        raise typer.Exit(2)
    settings = load_settings(config, store=store)
    known = {s.name for s in settings.sources}
    wanted = sorted(known) if all_sources else list(source or [])
    unknown = [name for name in wanted if name not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        err.print(f"configuration error: no source named {', '.join(unknown)}; configured: {names}")
        raise typer.Exit(2)
    configure_logging(settings.log_level)

    async def main() -> list[RunRecord]:
        graph = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
        await graph.setup()
        scheduler = _scheduler(graph, settings)
        try:
            return [await scheduler.run_once(name, trigger="cli") for name in wanted]
        finally:
            await scheduler.stop(grace_seconds=settings.shutdown_grace)
            await graph.close()

    try:
        runs = asyncio.run(main())
    except StoreError as exc:
        err.print(f"store error: {exc}", markup=False)
        raise typer.Exit(1) from None
    for run in runs:
        print_run(run)
    if any(run.status in ("FAILED", "TIMED_OUT") for run in runs):
        raise typer.Exit(1)


def _scheduler(
    graph: GraphStore, settings: Settings, observer: RunObserver | None = None
) -> Scheduler:
    return Scheduler(
        graph,
        settings.sources,
        SystemClock(),
        default_owner_id(),
        run_retention=settings.run_retention,
        change_retention=settings.change_retention,
        policy=settings.run_policy(),
        observer=observer,
    )


@app.command()
def worker(
    config: ConfigOption = None,
    store: StoreOption = None,
    host: Annotated[
        str | None,
        typer.Option(help="Address of the worker's HTTP port. [env: STAGEGRAPH_HOST]"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port of /healthz, /readyz and /metrics (default 8001). "
            "[env: STAGEGRAPH_WORKER_PORT]"
        ),
    ] = None,
) -> None:
    """Run the configured sources, and the locations registered over the catalog API, on
    their schedules, and scaffolder tasks, without serving the API.

    For deployments with several API replicas (serve them with --no-scheduler): any number
    of workers may run; a lease in the store keeps one run per source at a time, and each
    scaffolder task is claimed by one worker. With --store and no config it runs tasks only. SIGTERM
    or Ctrl-C lets running ingestions finish (up to STAGEGRAPH_SHUTDOWN_GRACE seconds).
    The worker serves GET /healthz, /readyz and /metrics on a port of its own (--port).
    """
    from contextlib import AsyncExitStack

    from api.metrics import Metrics
    from api.scaffolder.runtime import start_scaffolder
    from api.worker_http import serve_task, worker_app
    from ingestors.notify import delivering

    if config is None and store is None:
        err.print("configuration error: worker needs --config (or STAGEGRAPH_CONFIG) or --store")
        raise typer.Exit(2)
    settings = load_settings(config, store=store, host=host, worker_port=port)
    configure_logging(settings.log_level)

    async def main() -> None:
        graph = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
        await graph.setup()
        metrics = Metrics()
        scheduler = _scheduler(graph, settings, observer=metrics)
        scaffolder = start_scaffolder(graph, settings, run_tasks=True, scheduler=scheduler)
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Task[None]] = []
        await sync_locations(graph, scheduler, settings.location_refresh)
        running = asyncio.create_task(scheduler.run(), name="scheduler")
        outgoing = AsyncExitStack()  # the outgoing webhooks, while this worker holds the lease
        await outgoing.enter_async_context(
            delivering(graph, settings.notify, scheduler.owner_id, metrics)
        )
        follow = asyncio.create_task(
            follow_locations(graph, scheduler, settings.location_refresh), name="locations"
        )
        http, server = serve_task(
            worker_app(settings, graph, metrics, alive=lambda: not running.done()), settings
        )

        def shutdown() -> None:
            if not stopping:
                err.print("stopping: letting running ingestions finish…")
                stopping.append(
                    asyncio.create_task(scheduler.stop(grace_seconds=settings.shutdown_grace))
                )
                stopping.append(asyncio.create_task(scaffolder.stop()))

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, shutdown)
        names = ", ".join(s.name for s in settings.sources) or "none (scaffolder tasks only)"
        err.print(
            f"worker {scheduler.owner_id}: sources {names} (store {settings.store}); "
            f"health and metrics on http://{settings.host}:{settings.worker_port}"
        )
        try:
            await asyncio.wait({running, http}, return_when=asyncio.FIRST_COMPLETED)
            if http.done() and not running.done():
                # The HTTP server stopped on its own: stop the scheduler too.
                shutdown()
            await running
            await asyncio.gather(*stopping)
        finally:
            follow.cancel()
            await outgoing.aclose()
            server.should_exit = True
            await asyncio.gather(http, follow, return_exceptions=True)
            await graph.close()

    try:
        asyncio.run(main())
    except StoreError as exc:
        err.print(f"store error: {exc}", markup=False)
        raise typer.Exit(1) from None


config_app = typer.Typer(help="Check a config file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Parse the config file, list every problem (file:line: message) or print the sources
    with their schedules and next run times."""
    if config is None:
        err.print("configuration error: give --config (or STAGEGRAPH_CONFIG)")
        raise typer.Exit(2)
    settings = load_settings(config)
    now = datetime.now(UTC)
    table = Table(title=f"{config}: store {settings.store}")
    for column in ("source", "type", "schedule", "next run (UTC)", "timeout"):
        table.add_column(column)
    for item in settings.sources:
        when = "on request"
        if item.schedule is not None:
            first = now + item.initial_delay
            when = next_slot(item.schedule, earliest=first, last_start=None).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
        table.add_row(
            item.name,
            item.type,
            item.schedule.describe() if item.schedule else "-",
            when,
            format_duration(item.timeout),
        )
    out.print(table)
    out.print(f"{len(settings.sources)} sources; configuration OK")


MIN_TOKEN_LENGTH = 16


@token_app.command("hash")
def token_hash(
    name: Annotated[str, typer.Option("--name", help="Who holds the token (shown in logs).")],
    role: Annotated[
        Role, typer.Option("--role", help="reader, writer (mutations) or admin.")
    ] = "reader",
    new: Annotated[
        bool, typer.Option("--new", help="Generate a random token instead of reading one.")
    ] = False,
) -> None:
    """Print the STAGEGRAPH_TOKENS entry for a token read from stdin (or a new one).

    The configuration holds only the token's SHA-256. With --new, the token is printed once,
    on the first line of stdout; the entry follows on the next line.

    Example: stagegraph token hash --new --name ci --role writer
    """
    if new:
        token = new_token()
    elif sys.stdin.isatty():
        token = typer.prompt("token", hide_input=True, err=True)
    else:
        token = sys.stdin.readline().strip()
    if len(token) < MIN_TOKEN_LENGTH:
        err.print(
            f"the token must have at least {MIN_TOKEN_LENGTH} characters; "
            "use --new to generate a strong one"
        )
        raise typer.Exit(1)
    entry = TokenEntry(name=name, sha256=hash_token(token), role=role)
    if new:
        err.print("token (shown once; clients send it as Authorization: Bearer <token>):")
        sys.stdout.write(token + "\n")
        sys.stdout.flush()
    err.print("STAGEGRAPH_TOKENS entry (a JSON list of these):")
    sys.stdout.write(entry.model_dump_json(exclude_none=True) + "\n")


@app.command()
def scaffold(
    template: TemplateArgument,
    config: ConfigOption = None,
    store: StoreOption = None,
    sets: SetOption = None,
    secrets: SecretOption = None,
    values_file: ValuesOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render only: publish nothing.")
    ] = False,
) -> None:
    """Run a template: its steps are printed as they run, then the output links (or, for a
    dry run, the rendered files). Exit 1 when the task fails."""
    settings = load_settings(config, store=store)
    values = {**read_values(values_file), **parse_sets(sets or [])}
    try:
        task = asyncio.run(
            run_scaffold(
                settings,
                template,
                values,
                parse_sets(secrets or []),
                dry_run,
                lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True),
            )
        )
    except ScaffolderError as exc:
        err.print(f"cannot run {template}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except StoreError as exc:
        err.print(f"store error: {exc}", markup=False)
        raise typer.Exit(1) from None
    print_result(task, lambda line: out.print(line, markup=False, highlight=False, soft_wrap=True))
    if task.status != "completed":
        raise typer.Exit(1)


@app.command("tasks")
def tasks_command(
    config: ConfigOption = None,
    store: StoreOption = None,
    status: Annotated[
        str | None, typer.Option(help="open, processing, completed, failed, cancelled.")
    ] = None,
    template: Annotated[str | None, typer.Option(help="Only this template's tasks.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 25,
) -> None:
    """List scaffolder tasks, newest first."""
    settings = load_settings(config, store=store)
    out.print(tasks_table(asyncio.run(list_tasks(settings, status, template, limit))))


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


__all__ = ["SOURCE_TYPE", "app"]
