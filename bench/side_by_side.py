"""``python -m bench.side_by_side --neo4j-url URL`` (``make bench-peers``): issue 14's two
tables in one run, on the bench's synthetic catalog (:mod:`bench.generate`, ``--size``, 10k
by default):

1. Backstage's catalog backend (npm, pinned in ``bench/peers``; SQLite in memory) beside
   Stagegraph on SQLite and on Neo4j;
2. @neo4j/graphql (npm, pinned; typeDefs in ``bench/peers/typeDefs.graphql``) beside
   Stagegraph, on the same Neo4j and data.

Each server runs alone while it is measured. The Neo4j at ``--neo4j-url`` is **wiped**
(every node deleted) before the catalog is loaded: give it a throwaway server. Latencies
reuse :func:`bench.reads.measure` (warm-up, then p50 over ``--budget`` seconds);
throughput is :func:`bench.load.throughput`. ``x`` is how many times faster Stagegraph is
(above 1: Stagegraph ahead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer

from bench import peer_questions as q
from bench.backstage import PeerError, require_node_modules, running_backstage, wait_processed
from bench.ingest import measure_ingest
from bench.load import throughput
from bench.neo4j_graphql import running_neo4j_graphql
from bench.reads import measure, running_server
from bench.run import Options, catalog_repo, machine, neo4j_unavailable, wipe_neo4j

app = typer.Typer(add_completion=False)

INGEST = "ingest until queryable"
BY_REF = "entity by ref, whole entity with relations, p50"
PAGE = (
    "100 components page, p50 (Backstage: raw relations; Stagegraph: owner and API names resolved)"
)
THROUGHPUT = "same page, throughput at 8 concurrent clients"
FACETS = "facets kind + spec.type, p50"
OWNED = "owned by a team, direct, p50"
SEARCH = "full-text search, p50"
N_BY_REF = "entity by ref, p50"
N_PAGE = "100 components with owner, dependsOn and providesApis names, p50 / req/s at 8 clients"


@dataclass
class Column:
    """One server's figures: row label -> (value, unit)."""

    cells: dict[str, tuple[float, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _ms(ask: q.Ask, http: httpx.Client, budget: float) -> tuple[float, str]:
    return (measure(lambda: ask(http), budget).p50_ms, "ms")


def _rps(base: str, send: q.Send, clients: int, seconds: float) -> tuple[float, str]:
    return (throughput(base, send, clients=clients, seconds=seconds), "req/s")


@dataclass(frozen=True)
class Plan:
    targets: q.Targets
    budget: float
    clients: int
    seconds: float
    rollup: str  # the roll-up row's label, with this catalog's counts
    dependencies: str  # the depth-10 row's label, with this catalog's count


def measure_backstage(
    repo: Path, work: Path, expected: int, plan: Plan, say: Callable[[str], None]
) -> tuple[Column, int, int]:
    column = Column()
    locations = [
        str(repo / "catalog-info.yaml"),
        str(repo / "services" / "*" / "catalog-info.yaml"),
    ]
    with (
        running_backstage(work / "backstage", locations) as backstage,
        httpx.Client(base_url=backstage.url.removesuffix(q.CATALOG), timeout=300) as http,
    ):
        say("  backstage: reading the catalog (until every entity is queryable)")
        column.cells[INGEST] = (wait_processed(backstage, http, count_only=True, quiet=5), "s")
        total = backstage.total(http)
        column.notes.append(
            f"Backstage read {total:,} entities ({expected:,} in the catalog; it makes a Location "
            f"per configured location, and here cannot read an API whose definition is a "
            f"relative $text file)"
        )
        t = plan.targets
        subgroups = q.subgroups_backstage(http, t.department)
        owned = q.rollup_backstage(t.department)(http)
        say("  backstage: reads")
        column.cells[BY_REF] = _ms(q.by_ref_rest(t.deep), http, plan.budget)
        column.cells[PAGE] = _ms(q.page_rest, http, plan.budget)
        column.cells[THROUGHPUT] = _rps(
            str(http.base_url), q.page_rest_send, plan.clients, plan.seconds
        )
        column.cells[FACETS] = _ms(q.facets_rest, http, plan.budget)
        column.cells[OWNED] = _ms(q.owned_rest(t.team), http, plan.budget)
        column.cells[plan.rollup] = _ms(q.rollup_backstage(t.department), http, plan.budget)
        column.cells[SEARCH] = _ms(q.search_rest(t.search), http, plan.budget)
        column.notes.append(f"Backstage RSS after the reads: {backstage.rss_mb():.0f} MB")
    return column, subgroups, owned


def measure_stagegraph(
    store: str,
    url: str,
    user: str | None,
    password: str | None,
    repo: Path,
    work: Path,
    plan: Plan,
    say: Callable[[str], None],
) -> tuple[Column, Column]:
    """Table 1's column for ``store`` and (on Neo4j) table 2's Stagegraph column."""
    column, versus = Column(), Column()
    say(f"  stagegraph {store}: ingest")
    loaded = measure_ingest(url, repo, user=user, password=password)
    column.cells[INGEST] = (loaded.seconds, "s")
    if loaded.status != "SUCCEEDED":
        column.notes.append(f"{store} ingest: {loaded.status}, {loaded.entities} entities")
    t = plan.targets
    with (
        running_server(url, user, password, work / f"server-{store}.log") as server,
        httpx.Client(base_url=server.url, timeout=300) as http,
    ):
        say(f"  stagegraph {store}: reads")
        column.cells[BY_REF] = _ms(q.by_ref_rest(t.deep), http, plan.budget)
        column.cells[PAGE] = _ms(q.page_graphql, http, plan.budget)
        column.cells[THROUGHPUT] = _rps(server.url, q.page_graphql_send, plan.clients, plan.seconds)
        column.cells[FACETS] = _ms(q.facets_rest, http, plan.budget)
        column.cells[OWNED] = _ms(q.owned_rest(t.team), http, plan.budget)
        column.cells[plan.rollup] = _ms(q.rollup_graphql(t.department), http, plan.budget)
        column.cells[SEARCH] = _ms(q.search_rest(t.search), http, plan.budget)
        column.notes.append(f"Stagegraph {store} RSS after the reads: {server.rss_mb():.0f} MB")
        if store == "neo4j":
            versus.cells[N_BY_REF] = _ms(q.by_ref_graphql(t.deep), http, plan.budget)
            versus.cells[N_PAGE] = _ms(q.page_deps_graphql, http, plan.budget)
            versus.cells[N_PAGE + " (req/s)"] = _rps(
                server.url, q.page_deps_graphql_send, plan.clients, plan.seconds
            )
            versus.cells[plan.dependencies] = _ms(q.dependencies_graphql(t.deep), http, plan.budget)
            versus.cells[_n_rollup(plan)] = _ms(q.rollup_graphql(t.department), http, plan.budget)
    return column, versus


def _n_rollup(plan: Plan) -> str:
    """Table 2's roll-up row: ``owned through sub-teams (N entities), p50``."""
    return plan.rollup.split(" sub-teams ")[-1].join(("owned through sub-teams ", ""))


def measure_neo4j_graphql(url: str, user: str, password: str, work: Path, plan: Plan) -> Column:
    column = Column()
    t = plan.targets
    with (
        running_neo4j_graphql(url, user, password, work / "neo4j-graphql.log") as root,
        httpx.Client(base_url=root, timeout=300) as http,
    ):
        column.cells[N_BY_REF] = _ms(q.n_by_ref(t.deep), http, plan.budget)
        column.cells[N_PAGE] = _ms(q.n_page, http, plan.budget)
        column.cells[N_PAGE + " (req/s)"] = _rps(root, q.n_page_send, plan.clients, plan.seconds)
        column.cells[plan.dependencies] = _ms(q.n_dependencies(t.deep), http, plan.budget)
        column.cells[_n_rollup(plan)] = _ms(q.n_rollup(t.department), http, plan.budget)
    return column


def _cell(cell: tuple[float, str] | None) -> str:
    if cell is None:
        return "n/a"
    value, unit = cell
    return f"{value:,.1f} {unit}" if value < 100 or unit == "req/s" else f"{value:,.0f} {unit}"


def _times(ours: tuple[float, str] | None, theirs: tuple[float, str] | None) -> str:
    """How many times faster we are (throughput: ours over theirs; times: theirs over ours)."""
    if ours is None or theirs is None or ours[0] <= 0 or theirs[0] <= 0:
        return "n/a"
    ratio = ours[0] / theirs[0] if ours[1] == "req/s" else theirs[0] / ours[0]
    return f"{ratio:.2f}x"


def _size(size: int) -> str:
    """A catalog size as the tables' headers say it: 10k, 2k, 1.5k, 500."""
    return f"{size / 1000:g}k" if size >= 1000 else str(size)


def table_one(
    rows: list[str], backstage: Column, sqlite: Column, neo4j: Column, size: int
) -> list[str]:
    lines = [
        f"| question ({_size(size)} catalog) | Backstage | Stagegraph SQLite | Stagegraph Neo4j "
        "| x SQLite | x Neo4j |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        b, s, n = backstage.cells.get(row), sqlite.cells.get(row), neo4j.cells.get(row)
        lines.append(
            f"| {row} | {_cell(b)} | {_cell(s)} | {_cell(n)} | {_times(s, b)} | {_times(n, b)} |"
        )
    return lines


def table_two(rows: list[str], theirs: Column, ours: Column, size: int) -> list[str]:
    lines = [
        f"| question ({_size(size)} catalog, Neo4j) | @neo4j/graphql | Stagegraph | x |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        t, o = theirs.cells.get(row), ours.cells.get(row)
        if row == N_PAGE:
            tr, orr = theirs.cells.get(row + " (req/s)"), ours.cells.get(row + " (req/s)")
            lines.append(
                f"| {row} | {_cell(t)} / {_cell(tr)} | {_cell(o)} / {_cell(orr)} | "
                f"{_times(o, t)} / {_times(orr, tr)} |"
            )
        else:
            lines.append(f"| {row} | {_cell(t)} | {_cell(o)} | {_times(o, t)} |")
    return lines


@app.command()
def main(
    neo4j_url: Annotated[
        str, typer.Option(help="A throwaway Neo4j: it is WIPED (every node deleted).")
    ],
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
    size: Annotated[int, typer.Option(help="Catalog size (entities).")] = 10000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[Path, typer.Option(help="Work folder.")] = Path(".cache/bench-peers"),
    budget: Annotated[float, typer.Option(help="Seconds of sampling per latency.")] = 3.0,
    clients: Annotated[int, typer.Option(help="Concurrent clients for throughput.")] = 8,
    seconds: Annotated[float, typer.Option(help="Seconds of each throughput run.")] = 10.0,
) -> None:
    """Stagegraph beside Backstage's catalog backend and @neo4j/graphql, issue 14's tables."""
    try:
        require_node_modules()
    except PeerError as exc:
        print(f"bench-peers: {exc}")
        raise typer.Exit(1) from exc
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    options = Options([size], seed, work, neo4j_url, neo4j_user, neo4j_password, [], budget, False)
    reason = neo4j_unavailable(options)
    if reason is not None:
        print(f"bench-peers: no Neo4j at {neo4j_url} ({reason}); `make neo4j` starts one")
        raise typer.Exit(1)
    generated = catalog_repo(size, options, print, checkout=True)  # Backstage reads files
    catalog = generated.catalog
    t = q.targets(catalog)
    deps_label = "dependencies within depth 10, p50"
    plan = Plan(t, budget, clients, seconds, "", "")
    print("backstage's catalog backend (SQLite in memory)")
    backstage, subgroups, owned = measure_backstage(
        generated.path, work, catalog.entities, plan, print
    )
    rollup = f"owned through {subgroups} sub-teams ({owned:,} entities), p50"
    backstage.cells[rollup] = backstage.cells.pop("")
    db = work / f"stagegraph-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    plan = Plan(t, budget, clients, seconds, rollup, deps_label)
    sqlite, _unused = measure_stagegraph(
        "sqlite", f"sqlite:///{db}", None, None, generated.path, work, plan, print
    )
    print(f"  neo4j: wiping every node at {neo4j_url}")
    wipe_neo4j(options)
    neo4j, versus = measure_stagegraph(
        "neo4j", neo4j_url, neo4j_user, neo4j_password, generated.path, work, plan, print
    )
    print("@neo4j/graphql on the same Neo4j")
    theirs = measure_neo4j_graphql(neo4j_url, neo4j_user, neo4j_password, work, plan)
    print()
    rows = [INGEST, BY_REF, PAGE, THROUGHPUT, FACETS, OWNED, rollup, SEARCH]
    print("\n".join(table_one(rows, backstage, sqlite, neo4j, size)))
    print()
    n_rows = [N_BY_REF, N_PAGE, deps_label, _n_rollup(plan)]
    print("\n".join(table_two(n_rows, theirs, versus, size)))
    print()
    for note in backstage.notes + sqlite.notes + neo4j.notes:
        print(note)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    app()
