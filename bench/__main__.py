"""``python -m bench``: run the benchmark (``make bench``); ``python -m bench generate``:
write a synthetic catalog into a new git repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.generate import generate
from bench.report import print_report
from bench.run import Options, machine, run_benchmark

app = typer.Typer(add_completion=False, rich_markup_mode="rich")
console = Console(width=None if Console().is_terminal else 140)

DEFAULT_WORK = Path(".cache/bench")


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            "give entity counts separated by commas, e.g. 10000,100000"
        ) from None
    if not sizes or min(sizes) < 100:
        raise typer.BadParameter("each size must be at least 100 entities")
    return sizes


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    sizes: Annotated[
        str, typer.Option(help="Catalog sizes (entities), comma-separated.")
    ] = "10000,100000",
    stores: Annotated[str, typer.Option(help="Stores to measure: sqlite, neo4j.")] = "sqlite,neo4j",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalogs.")] = 1,
    work: Annotated[
        Path, typer.Option(help="Folder for catalogs (reused), SQLite files, logs, profiles.")
    ] = DEFAULT_WORK,
    neo4j_url: Annotated[
        str,
        typer.Option(
            envvar="STAGEGRAPH_BENCH_NEO4J_URL",
            help="A throwaway Neo4j: it is wiped before each ingest.",
        ),
    ] = "bolt://127.0.0.1:7687",
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
    budget: Annotated[
        float, typer.Option(help="Seconds of sampling per read question and side.")
    ] = 3.0,
    profile: Annotated[
        bool, typer.Option("--profile", help="Write a pyinstrument profile of every ingest.")
    ] = False,
) -> None:
    """Measure ingest and read speed on SQLite and Neo4j and print the tables.

    Neo4j is skipped (with a line saying so) when it does not answer at --neo4j-url.
    """
    if ctx.invoked_subcommand is not None:
        return
    chosen = [s.strip() for s in stores.split(",") if s.strip()]
    unknown = set(chosen) - {"sqlite", "neo4j"}
    if unknown:
        raise typer.BadParameter(f"unknown stores {sorted(unknown)}; use sqlite and/or neo4j")
    options = Options(
        sizes=_sizes(sizes),
        seed=seed,
        work=work.resolve(),
        neo4j_url=neo4j_url,
        neo4j_user=neo4j_user,
        neo4j_password=neo4j_password,
        stores=chosen,
        budget=budget,
        profile=profile,
    )
    before = machine()
    runs = run_benchmark(options, lambda line: console.print(line, highlight=False))
    print_report(console, runs, f"{before} (at start)")


@app.command("generate")
def generate_command(
    entities: Annotated[int, typer.Option("--entities", help="How many entities (>= 100).")],
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder for the repo.")],
    seed: Annotated[int, typer.Option(help="Same seed, same catalog.")] = 1,
) -> None:
    """Write a synthetic catalog of ENTITIES entities into a new git repository."""
    generated = generate(entities, out, seed)
    counts = generated.catalog.counts()
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    console.print(f"{out}: commit {generated.commit[:12]}, {generated.files} files")
    console.print(
        f"{entities} entities ({summary}), {generated.catalog.relation_count()} relations"
    )
    console.print(
        f"hub component:{generated.catalog.hub}, deep component:{generated.catalog.deep}, "
        f"{generated.catalog.cycles} cycles"
    )


if __name__ == "__main__":
    app()
