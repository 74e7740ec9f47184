"""The ``stagegraph`` command line (typer). Names are fixed by DESIGN.md.

Exit codes: 0 done (entity errors are listed, not fatal), 1 the source could not be read or
the input has problems, 2 usage errors (typer's own).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from api.auth import TokenEntry, hash_token, new_token
from api.settings import Settings
from graph import open_store
from graph.errors import StoreError
from graph.port import RunError, RunRecord
from ingestors.git import SOURCE_TYPE, ingest_git
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import DirTree
from ingestors.runner import RunPolicy
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
ingest_app = typer.Typer(help="Ingest a source into the catalog once.", no_args_is_help=True)
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


def load_settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for problem in exc.errors():
            field = ".".join(str(p) for p in problem["loc"])
            message = problem["msg"].removeprefix("Value error, ")
            where = f"{field}: " if field else ""
            err.print(f"configuration error: {where}{message}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


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
    for warning in run.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}")
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
                    policy=RunPolicy(settings.max_delete_share),
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
) -> None:
    """Check descriptors without loading them; print every problem as file:line: message.

    A folder is searched for catalog-info.yaml files at any depth; Location targets are
    followed. Exits 1 when anything is wrong.
    """
    problems = 0
    entities = 0
    for target in paths:
        if not target.exists():
            err.print(f"{target}: no such file or folder")
            problems += 1
            continue
        root, entry = (target, ()) if target.is_dir() else (target.parent, (target.name,))
        snapshot = transform_tree(DirTree(root), Origin(str(root.resolve()), None), entry)
        entities += len(snapshot.descriptors)
        errors = sorted(
            [*snapshot.errors, *(r.error for r in snapshot.rejected)], key=_error_position
        )
        for error in errors:
            where = Path(root, error.file) if error.file else root
            out.print(f"{where}: {error.message}", highlight=False, markup=False, soft_wrap=True)
        for warning in snapshot.warnings:
            err.print(f"{root}/{warning} (warning)", highlight=False, markup=False, soft_wrap=True)
        problems += len(errors)
    summary = f"{entities} valid entities, {problems} problem(s)"
    err.print(summary if problems else f"[green]{summary}[/green]")
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
) -> None:
    """Serve the GraphQL API (POST /graphql; GraphiQL at GET /graphql in a browser)."""
    import uvicorn

    from api.app import create_app

    settings = load_settings(store=store, host=host, port=port, demo=demo or None)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    err.print(
        f"Stagegraph on http://{settings.host}:{settings.port}/graphql "
        f"(store {settings.store}{', demo catalog' if settings.demo else ''})"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


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
    sys.stdout.write(entry.model_dump_json() + "\n")


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


__all__ = ["SOURCE_TYPE", "app"]
