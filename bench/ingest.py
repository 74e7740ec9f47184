"""One measured ingest, in a child process so that its peak memory is its own.

:func:`measure_ingest` runs ``python -m bench.ingest`` and reads back one JSON line: the
time ``ingest_git`` took (store connection and schema setup excluded), the run's status
and counts, the child's CPU time (on a shared machine the wall-clock time mostly measures
the load; the CPU time much less so) and its peak resident memory. With ``profile`` set, the child runs
under pyinstrument and writes the profile as text there.

``python -m bench.ingest`` (``--help``) measures first ingests on their own: for each store,
into an empty store (a new SQLite file; the Neo4j at ``--neo4j-url`` WIPED first) and, with
``--again``, the unchanged re-ingest after it, printing each result with the machine's load.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from graph import open_store
from ingestors.git import SOURCE_TYPE, ingest_git
from ingestors.git.get import read_git_source
from ingestors.runner import run_ingestion
from ingestors.snapshot import Snapshot

SOURCE_NAME = "bench"


@dataclass(frozen=True)
class IngestResult:
    seconds: float
    cpu_seconds: float  # the child's own CPU time (user + system), parse workers not counted
    peak_rss_mb: float
    status: str
    entities: int
    added: int
    unchanged: int
    errors: int


async def _ingest(
    store_url: str, repo: str, user: str | None, password: str | None, inline: bool
) -> dict[str, Any]:
    """``ingest_git``; with ``inline`` the source is read on this thread (the only one a
    profiler sees) instead of a worker thread, which changes nothing else."""
    store = open_store(store_url, user=user, password=password)
    await store.setup()

    async def read_inline() -> Snapshot:
        return read_git_source(repo, known=await store.source_files(SOURCE_NAME))

    try:
        started = time.perf_counter()
        if inline:
            run = await run_ingestion(
                store,
                source=SOURCE_NAME,
                source_type=SOURCE_TYPE,
                fetch=read_inline,
                trigger="bench",
            )
        else:
            run = await ingest_git(store, repo, name=SOURCE_NAME, trigger="bench")
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    return {
        "seconds": seconds,
        "status": run.status,
        "entities": sum(c.added + c.updated + c.unchanged for c in run.counts),
        "added": sum(c.added for c in run.counts),
        "unchanged": sum(c.unchanged for c in run.counts),
        "errors": len(run.errors),
    }


def child(argv: list[str]) -> None:
    """``python -m bench.ingest child STORE_URL REPO [PROFILE_FILE]`` (what
    :func:`measure_ingest` runs); Neo4j credentials come from ``NEO4J_USER`` /
    ``NEO4J_PASSWORD`` as for ``stagegraph``."""
    store_url, repo = argv[0], argv[1]
    profile = Path(argv[2]) if len(argv) > 2 else None
    user, password = os.environ.get("NEO4J_USER"), os.environ.get("NEO4J_PASSWORD")
    if profile is None:
        result = asyncio.run(_ingest(store_url, repo, user, password, inline=False))
    else:
        from pyinstrument import Profiler

        with Profiler(interval=0.005, async_mode="disabled") as profiler:
            result = asyncio.run(_ingest(store_url, repo, user, password, inline=True))
        profile.write_text(profiler.output_text(unicode=True, color=False))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    sys.stdout.write(json.dumps(result) + "\n")


def measure_ingest(
    store_url: str,
    repo: Path,
    *,
    user: str | None = None,
    password: str | None = None,
    profile: Path | None = None,
) -> IngestResult:
    """Ingest ``repo`` into ``store_url`` as the source ``bench`` in a child process."""
    env = {**os.environ}
    if user is not None:
        env["NEO4J_USER"] = user
    if password is not None:
        env["NEO4J_PASSWORD"] = password
    args = [sys.executable, "-m", "bench.ingest", "child", store_url, str(repo)]
    if profile is not None:
        args.append(str(profile))
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the ingest child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return IngestResult(
        seconds=data["seconds"],
        cpu_seconds=data["cpu_seconds"],
        peak_rss_mb=data["peak_rss_mb"],
        status=data["status"],
        entities=data["entities"],
        added=data["added"],
        unchanged=data["unchanged"],
        errors=data["errors"],
    )


app = typer.Typer(add_completion=False)


@app.command()
def measure(
    size: Annotated[int, typer.Option(help="Catalog size (entities).")] = 100_000,
    stores: Annotated[str, typer.Option(help="Stores to measure: sqlite, neo4j.")] = "sqlite,neo4j",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[
        Path, typer.Option(help="Folder for the catalog (reused) and SQLite files.")
    ] = (Path(".cache/bench")),
    neo4j_url: Annotated[
        str,
        typer.Option(envvar="STAGEGRAPH_BENCH_NEO4J_URL", help="A throwaway Neo4j: it is WIPED."),
    ] = "bolt://127.0.0.1:7687",
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
    again: Annotated[bool, typer.Option(help="Also time the unchanged re-ingest.")] = False,
    profile: Annotated[
        bool, typer.Option(help="Write a pyinstrument profile of each first ingest to --work.")
    ] = False,
) -> None:
    """Time first ingests of the bench's synthetic catalog (``ingest s``: wall clock;
    ``CPU s``: the ingest process's own, parse workers not counted)."""
    from bench.run import Options, catalog_repo, wipe_neo4j

    chosen = [s.strip() for s in stores.split(",") if s.strip()]
    options = Options(
        [size], seed, work.resolve(), neo4j_url, neo4j_user, neo4j_password, chosen, 0.0, profile
    )
    options.work.mkdir(parents=True, exist_ok=True)
    generated = catalog_repo(size, options, typer.echo)
    for store in chosen:
        user = password = None
        if store == "sqlite":
            db = options.work / f"ingest-{size}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{db}"
        else:
            wipe_neo4j(options)
            url, user, password = neo4j_url, neo4j_user, neo4j_password
        for attempt in ("first", "again") if again else ("first",):
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            out = options.work / f"profile-ingest-{store}-{size}.txt"
            chart = out if profile and attempt == "first" else None
            result = measure_ingest(
                url, generated.path, user=user, password=password, profile=chart
            )
            typer.echo(
                f"{store} {size:,} {attempt}: {result.seconds:.1f} s, {result.cpu_seconds:.1f} CPU s, "
                f"peak RSS {result.peak_rss_mb:.0f} MB, {result.status} {result.entities:,} "
                f"entities ({result.added:,} added, {result.errors} errors); load before {load}"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2:])
    else:
        app()
