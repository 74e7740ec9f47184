"""The benchmark: for each catalog size and store, a first ingest, an unchanged re-ingest,
then the read questions over HTTP beside their hand-written baselines.

The baselines need the raw drivers (``sqlite3``, ``neo4j``), which is why this package,
and only this one outside ``graph/``, imports them. The Neo4j database is wiped before
each size's ingest: point ``--neo4j-url`` at a throwaway server (``make neo4j``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from bench import generate as generate_module
from bench import shape
from bench.generate import Generated, check_out, generate, head_commit
from bench.ingest import IngestResult, measure_ingest
from bench.questions import questions
from bench.reads import ReadResult, neo4j_asker, read_phase, running_server, sqlite_asker
from bench.shape import build_catalog

Report = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    seed: int
    work: Path
    neo4j_url: str
    neo4j_user: str
    neo4j_password: str
    stores: list[str]  # "sqlite", "neo4j"
    budget: float  # seconds of sampling per read question
    profile: bool


@dataclass
class StoreRun:
    """Everything measured for one catalog size on one store."""

    store: str
    size: int
    relations: int
    first: IngestResult | None = None
    again: IngestResult | None = None
    reads: list[ReadResult] = field(default_factory=list)
    server_rss_mb: float | None = None
    server_restarts: int = 0
    note: str = ""


def neo4j_unavailable(options: Options) -> str | None:
    """None when Neo4j answers at the URL with the credentials, else why not."""
    driver = GraphDatabase.driver(
        options.neo4j_url,
        auth=(options.neo4j_user, options.neo4j_password),
        connection_timeout=3,
    )
    try:
        driver.verify_connectivity()
        return None
    except (ServiceUnavailable, Neo4jError, OSError, ValueError) as exc:
        return f"{exc.__class__.__name__}: {exc}".splitlines()[0][:160]
    finally:
        driver.close()


def wipe_neo4j(options: Options) -> None:
    """Delete every node and relationship, in batches (one transaction would need the
    whole graph in the heap)."""
    with (
        GraphDatabase.driver(
            options.neo4j_url, auth=(options.neo4j_user, options.neo4j_password)
        ) as driver,
        driver.session() as session,
    ):
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()


def _generator_fingerprint(size: int, seed: int) -> str:
    """Changes when the generator's code (or the size, or the seed) does."""
    digest = hashlib.sha256(f"{size}/{seed}".encode())
    for module in (shape, generate_module):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def catalog_repo(
    size: int, options: Options, report: Report, *, checkout: bool = False
) -> Generated:
    """The generated repository for ``size``, reused from the work folder when the same
    generator code made it. The git source reads only the commit; ``checkout`` also writes
    the files to the work tree (for a peer that reads files from disk)."""
    path = options.work / f"catalog-{size}-seed{options.seed}"
    marker = path / ".git" / "stagegraph-bench"
    fingerprint = _generator_fingerprint(size, options.seed)
    if marker.exists() and marker.read_text().split()[0] == fingerprint:
        commit = head_commit(path)
        files = int(marker.read_text().split()[1])
        report(f"catalog of {size:,} entities: reusing {path}")
        if checkout:
            check_out(path)
        return Generated(path, commit, build_catalog(size, options.seed), files)
    shutil.rmtree(path, ignore_errors=True)
    report(f"catalog of {size:,} entities: generating into {path}")
    generated = generate(size, path, options.seed, checkout=checkout)
    marker.write_text(f"{fingerprint} {generated.files}\n")
    return generated


def _ingest_twice(run: StoreRun, url: str, repo: Path, options: Options, report: Report) -> None:
    user = options.neo4j_user if run.store == "neo4j" else None
    password = options.neo4j_password if run.store == "neo4j" else None
    for attempt in ("first", "again"):
        profile = (
            options.work / f"profile-{run.store}-{run.size}-{attempt}.txt"
            if options.profile
            else None
        )
        report(f"  {run.store}: ingest ({attempt})")
        result = measure_ingest(url, repo, user=user, password=password, profile=profile)
        if attempt == "first":
            run.first = result
        else:
            run.again = result
        if result.status != "SUCCEEDED" or result.entities != run.size:
            run.note = f"ingest {attempt}: {result.status}, {result.entities} entities"


def bench_store(store: str, generated: Generated, options: Options, report: Report) -> StoreRun:
    size = generated.catalog.entities
    run = StoreRun(store, size, generated.catalog.relation_count())
    db = options.work / f"bench-{size}.db"  # the SQLite store's file
    if store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db.resolve()}"
    else:
        report(f"  neo4j: wiping {options.neo4j_url}")
        wipe_neo4j(options)
        url = options.neo4j_url
    _ingest_twice(run, url, generated.path, options, report)
    user = options.neo4j_user if store == "neo4j" else None
    password = options.neo4j_password if store == "neo4j" else None
    log = options.work / f"server-{store}-{size}.log"
    report(f"  {store}: reads over HTTP (server log: {log})")
    baseline = (
        sqlite_asker(str(db.resolve()))
        if store == "sqlite"
        else neo4j_asker(options.neo4j_url, user, password)
    )
    with running_server(url, user, password, log) as server, baseline as asker:
        run.reads = read_phase(questions(generated.catalog), server, asker, options.budget, report)
        run.server_rss_mb = server.rss_mb()
        run.server_restarts = server.restarts
    return run


def machine() -> str:
    """Where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} CPUs, load {load}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def run_benchmark(options: Options, report: Report) -> list[StoreRun]:
    options.work.mkdir(parents=True, exist_ok=True)
    stores = list(options.stores)
    if "neo4j" in stores:
        reason = neo4j_unavailable(options)
        if reason is not None:
            report(
                f"Neo4j skipped: not reachable at {options.neo4j_url} ({reason}); "
                "`make neo4j` starts a throwaway one"
            )
            stores.remove("neo4j")
    runs = []
    for size in options.sizes:
        generated = catalog_repo(size, options, report)
        for store in stores:
            runs.append(bench_store(store, generated, options, report))
    return runs
