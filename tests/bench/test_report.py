"""The benchmark's scaling table: each read at a larger catalog against the smallest one."""

from __future__ import annotations

from rich.console import Console

from bench.questions import questions
from bench.reads import Latency, ReadResult
from bench.report import scaling_table
from bench.run import StoreRun
from bench.shape import build_catalog


def rows(key: str, size: int) -> int:
    """A page answers as many rows at any size; an impact answers more in a larger catalog."""
    return size // 100 if key == "impact" else 100


def _run(store: str, size: int, p50_by_key: dict[str, float]) -> StoreRun:
    asked = {q.key: q for q in questions(build_catalog(300, 1))}
    reads = [
        ReadResult(asked[key], Latency(p50, p50 * 2, 10, rows(key, size)), None)
        for key, p50 in p50_by_key.items()
    ]
    return StoreRun(store, size, 0, reads=reads)


def _text(runs: list[StoreRun]) -> str:
    table = scaling_table(runs)
    assert table is not None
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


def test_each_read_at_the_larger_size_is_compared_with_the_same_read_at_the_smallest() -> None:
    text = _text(
        [
            _run("sqlite", 10_000, {"floor": 1.0, "by_ref": 2.0, "page": 20.0, "impact": 10.0}),
            _run("sqlite", 100_000, {"floor": 1.0, "by_ref": 2.5, "page": 40.0, "impact": 90.0}),
            _run("neo4j", 10_000, {"by_ref": 4.0}),
            _run("neo4j", 100_000, {"by_ref": 4.4}),
        ]
    )
    lines = [line for line in text.splitlines() if "x" in line and "→" in line]
    by_ref_sqlite = next(line for line in lines if "sqlite" in line and "by ref" in line)
    page = next(line for line in lines if "100 components" in line)
    by_ref_neo4j = next(line for line in lines if "neo4j" in line and "by ref" in line)
    assert "1.25x" in by_ref_sqlite and "met" in by_ref_sqlite
    assert "2.00x" in page and "missed" in page
    assert "1.10x" in by_ref_neo4j and "met" in by_ref_neo4j
    assert "floor" not in text  # the floor is no read of the catalog
    assert "100 → 100" in by_ref_sqlite  # the answer's rows, to see whether it grew
    impact = next(line for line in lines if "impact" in line)
    assert "100 → 1,000" in impact and "9.00x" in impact and "missed: answer grew" in impact


def test_one_size_has_no_scaling_table() -> None:
    assert scaling_table([_run("sqlite", 10_000, {"by_ref": 2.0})]) is None
