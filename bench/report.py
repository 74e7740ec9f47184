"""The benchmark's tables (rich): ingest per store and size, then reads per store and size."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.reads import Latency, ReadResult
from bench.run import StoreRun

#: the issue's ingest targets, seconds, by (store, size)
INGEST_TARGETS = {
    ("sqlite", 10_000): 4.5,
    ("neo4j", 10_000): 4.5,
    ("sqlite", 100_000): 20.0,
    ("neo4j", 100_000): 30.0,
}
REINGEST_TARGET_100K = 10.0
#: the issue's goals for a million entities on Neo4j: ingest seconds, p99 ms by question
#: key (bench.questions), and the API server's resident memory
INGEST_TARGET_1M = 300.0
P99_TARGETS_1M = {"by_ref": 20.0, "page": 100.0, "dependencies": 250.0}
SERVER_RSS_TARGET_1M_MB = 500
PEAK_TARGET_MB = 1024
SERVER_RSS_TARGET_MB = 300
#: the issue's goal for reads at 100k: API p50 within this factor of the same read at 10k
SCALING_TARGET = 1.5


def _ms(latency: Latency | None, p99: bool = False) -> str:
    if latency is None:
        return "-"
    value = latency.p99_ms if p99 else latency.p50_ms
    if value < 1:
        return f"{value:.2f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ingest_table(runs: list[StoreRun]) -> Table:
    table = Table(title="Ingest (one git source, first run into an empty store, then unchanged)")
    for column in (
        "store",
        "entities",
        "relations",
        "ingest s",
        "CPU s",
        "entities/s",
        "re-ingest s",
        "peak RSS MB",
        "target",
    ):
        table.add_column(column, justify="left" if column in ("store", "target") else "right")
    for run in runs:
        first, again = run.first, run.again
        target = INGEST_TARGETS.get((run.store, run.size))
        goals = []
        if target is not None:
            goals.append(f"ingest ≤{target:g} s")
        if run.size >= 1_000_000:
            goals.append(f"ingest ≤{INGEST_TARGET_1M:g} s")
        elif run.size >= 100_000:
            goals += [f"re-ingest ≤{REINGEST_TARGET_100K:g} s", f"peak ≤{PEAK_TARGET_MB} MB"]
        table.add_row(
            run.store,
            f"{run.size:,}",
            f"{run.relations:,}",
            f"{first.seconds:.2f}" if first else "-",
            f"{first.cpu_seconds:.1f}" if first else "-",
            f"{run.size / first.seconds:,.0f}" if first else "-",
            f"{again.seconds:.2f}" if again else "-",
            f"{max(first.peak_rss_mb, again.peak_rss_mb if again else 0):,.0f}" if first else "-",
            "; ".join(goals) + (f" [{run.note}]" if run.note else ""),
        )
    return table


def reads_table(run: StoreRun) -> Table:
    baseline = "SQL" if run.store == "sqlite" else "Cypher"
    table = Table(
        title=f"Reads over HTTP, {run.store}, {run.size:,} entities (ms; ratio = API p50 / "
        f"{baseline} p50)",
        caption=f"server RSS after the reads: {run.server_rss_mb or 0:,.0f} MB "
        f"(target < {SERVER_RSS_TARGET_MB} MB at 100k)"
        + (_million_goals() if run.size >= 1_000_000 else "")
        + (f"; restarted {run.server_restarts}x after a timeout" if run.server_restarts else ""),
    )
    for column in (
        "question",
        "API p50",
        "API p99",
        f"{baseline} p50",
        f"{baseline} p99",
        "ratio",
        "rows API/raw",
        "target p50",
    ):
        table.add_column(column, justify="left" if column == "question" else "right")
    for result in run.reads:
        table.add_row(*_read_row(result))
    return table


def _million_goals() -> str:
    p99 = ", ".join(f"{key} ≤{ms:g}" for key, ms in P99_TARGETS_1M.items())
    return f"; at 1M: p99 ms {p99}, server < {SERVER_RSS_TARGET_1M_MB} MB"


def _read_row(result: ReadResult) -> list[str]:
    question = result.question
    if result.api is None and result.baseline is None and result.note:
        return [question.label, result.note, "", "", "", "", "", ""]
    ratio = result.ratio if question.key != "floor" else None
    if result.api is not None and result.baseline is not None:
        rows = f"{result.api.rows}/{result.baseline.rows}"
    elif result.baseline is not None:
        rows = f"-/{result.baseline.rows}"
    else:
        rows = "-"
    return [
        question.label,
        _ms(result.api) if result.api else result.note,
        _ms(result.api, p99=True),
        _ms(result.baseline) if result.baseline else result.note,
        _ms(result.baseline, p99=True),
        f"{ratio:.1f}x" if ratio is not None else "-",
        rows,
        f"≤{question.target_ms:g}" if question.target_ms else "-",
    ]


def scaling_table(runs: list[StoreRun]) -> Table | None:
    """Each read's API p50 at every larger size against the smallest size measured on the
    same store (issue #14: at 100k within 1.5x of 10k), or None with one size only.

    The rows column says whether the answer itself grew: a roll-up or an impact question
    answers more entities in a larger catalog, a page or an entity by ref the same number;
    a read whose answer grew past the goal's factor is not the same read, and says so.
    """
    by_store: dict[str, list[StoreRun]] = {}
    for run in runs:
        if run.reads:
            by_store.setdefault(run.store, []).append(run)
    pairs = [
        (small, large)
        for store_runs in by_store.values()
        for small in [min(store_runs, key=lambda r: r.size)]
        for large in store_runs
        if large.size > small.size
    ]
    if not pairs:
        return None
    table = Table(title=f"Reads as the catalog grows (API p50; goal ≤{SCALING_TARGET:g}x)")
    for column in ("store", "question", "sizes", "p50 ms", "rows", "x", "goal"):
        table.add_column(column, justify="left" if column in ("store", "question") else "right")
    for small, large in pairs:
        before = {result.question.key: result for result in small.reads}
        for result in large.reads:
            first = before.get(result.question.key)
            if result.question.key == "floor" or first is None:
                continue
            if first.api is None or result.api is None:
                continue
            factor = result.api.p50_ms / first.api.p50_ms if first.api.p50_ms > 0 else 0.0
            grew = result.api.rows > SCALING_TARGET * max(first.api.rows, 1)
            verdict = "met" if factor <= SCALING_TARGET else "missed"
            table.add_row(
                large.store,
                result.question.label,
                f"{small.size:,} → {large.size:,}",
                f"{_ms(first.api)} → {_ms(result.api)}",
                f"{first.api.rows:,} → {result.api.rows:,}",
                f"{factor:.2f}x",
                f"{verdict}: answer grew" if grew else verdict,
            )
    return table


def print_report(console: Console, runs: list[StoreRun], machine: str) -> None:
    console.print(ingest_table(runs))
    for run in runs:
        console.print(reads_table(run))
    scaling = scaling_table(runs)
    if scaling is not None:
        console.print(scaling)
    console.print(f"machine: {machine}")
