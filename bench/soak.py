"""``python -m bench.soak`` (``make soak``): many concurrent readers against ``stagegraph serve``
for minutes on a synthetic catalog while a configured source re-ingests it on a schedule.

The catalog comes from :mod:`bench.generate` (reused from the work folder like the bench's),
cloned into a working repository that gets one small commit (a changed description) every
``--reingest-every`` seconds, so each scheduled run has something to update. The server runs
the source itself (``schedule: {every: …}``), as a single-process deployment does.

Every ``--report-every`` seconds (a minute) it prints the requests, throughput, p50 and p99
latency, errors, the server's resident memory and the ingestion runs of that interval; at the
end a summary and a verdict: zero errors, every run succeeded, and memory flat after warm-up
(the last five intervals within :data:`FLAT_SHARE` of each other; the later half of a
shorter run). Exit status 0 when the verdict holds, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer
import yaml

from bench.questions import Question, questions
from bench.reads import STAGEGRAPH, Server, percentile
from bench.run import Options, catalog_repo
from bench.shape import Catalog

FLAT_SHARE = 0.10
FLAT_WINDOW = 5
SOURCE = "soak"
READ_TIMEOUT = 60.0
RUNS_QUERY = """
query($source: String!) {
  ingestionRuns(source: $source, first: 100) { edges { node { id status duration } } }
}
"""


@dataclass
class Interval:
    """What the readers saw in one reporting interval."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass(frozen=True)
class Sample:
    """One printed line."""

    index: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rss_mb: float
    runs: dict[str, int]
    load: float = 0.0  # the machine's 1-minute load average (the soak shares the CPU)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Verdict:
    errors: int
    failed_runs: int
    runs: int
    rss_window: list[float]

    @property
    def rss_spread(self) -> float:
        """(max - min) / min of the memory samples after warm-up."""
        if not self.rss_window or min(self.rss_window) <= 0:
            return 0.0
        return (max(self.rss_window) - min(self.rss_window)) / min(self.rss_window)

    @property
    def flat(self) -> bool:
        return self.rss_spread <= FLAT_SHARE

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.failed_runs == 0 and self.runs > 0 and self.flat


def verdict(samples: Sequence[Sample]) -> Verdict:
    """Judge a soak: errors, failed runs, and memory over the last :data:`FLAT_WINDOW`
    samples (the later half when there are fewer than twice as many)."""
    window = FLAT_WINDOW if len(samples) >= 2 * FLAT_WINDOW else max(1, len(samples) // 2)
    runs: dict[str, int] = {}
    for sample in samples:
        for status, count in sample.runs.items():
            runs[status] = runs.get(status, 0) + count
    return Verdict(
        errors=sum(s.errors for s in samples),
        failed_runs=sum(n for status, n in runs.items() if status not in ("SUCCEEDED", "SKIPPED")),
        runs=sum(runs.values()),
        rss_window=[s.rss_mb for s in samples[-window:]],
    )


def _refs(catalog: Catalog) -> list[str]:
    return [f"component:default/{s.name}" for s in catalog.services]


async def reader(
    base: str,
    mix: list[Question],
    refs: list[str],
    stop: asyncio.Event,
    current: list[Interval],
    failures: list[str],
    seed: int,
) -> None:
    """Ask questions one after another until ``stop``; record each into the current interval."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as http:
        while not stop.is_set():
            question = rng.choice(mix)
            variables = question.variables
            if question.key == "by_ref":
                variables = {"ref": rng.choice(refs)}
            started = time.perf_counter()
            problem = ""
            try:
                response = await http.post(
                    "/graphql", json={"query": question.graphql, "variables": variables}
                )
                body = response.json()
                if response.status_code != 200 or body.get("errors"):
                    problem = f"{question.key}: HTTP {response.status_code}: {str(body)[:300]}"
            except (httpx.HTTPError, ValueError) as exc:
                problem = f"{question.key}: {exc.__class__.__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            interval = current[0]
            if problem:
                interval.errors += 1
                if len(failures) < 20:
                    failures.append(problem)
            else:
                interval.latencies_ms.append(elapsed)


def _commit_change(repo: Path, catalog: Catalog, step: int) -> None:
    """Change one service's description and commit, so the next run updates an entity."""
    service = catalog.services[step % len(catalog.services)]
    matches = sorted(repo.glob(f"**/{service.name}/catalog-info.yaml"))
    if not matches:
        return
    path = matches[0]
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  description: "):
            lines[i] = f"  description: The {service.name} service (soak step {step})."
            break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (("add", "--all"), ("commit", "--quiet", "-m", f"soak step {step}")):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


async def mutator(repo: Path, catalog: Catalog, every: float, stop: asyncio.Event) -> None:
    step = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            step += 1
            await asyncio.to_thread(_commit_change, repo, catalog, step)


async def _runs(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT) as http:
        response = await http.post(
            "/graphql", json={"query": RUNS_QUERY, "variables": {"source": SOURCE}}
        )
        edges = response.json()["data"]["ingestionRuns"]["edges"]
        return {e["node"]["id"]: e["node"]["status"] for e in edges}


async def soak(
    server: Server,
    catalog: Catalog,
    repo: Path,
    *,
    minutes: float,
    readers: int,
    report_every: float,
    reingest_every: float,
    seed: int,
) -> list[Sample]:
    mix = questions(catalog)
    refs = _refs(catalog)
    stop = asyncio.Event()
    current = [Interval()]
    failures: list[str] = []
    tasks = [
        asyncio.create_task(reader(server.url, mix, refs, stop, current, failures, seed + i))
        for i in range(readers)
    ]
    tasks.append(asyncio.create_task(mutator(repo, catalog, reingest_every, stop)))
    samples: list[Sample] = []
    seen_runs = set((await _runs(server.url)).keys())
    deadline = time.monotonic() + minutes * 60
    index = 0
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            await asyncio.sleep(min(report_every, max(0.0, deadline - started)))
            interval, current[0] = current[0], Interval()
            seconds = time.monotonic() - started
            runs: dict[str, int] = {}
            for run_id, status in (await _runs(server.url)).items():
                if run_id not in seen_runs and status != "RUNNING":
                    seen_runs.add(run_id)
                    runs[status] = runs.get(status, 0) + 1
            latencies = interval.latencies_ms or [0.0]
            index += 1
            sample = Sample(
                index=index,
                seconds=seconds,
                requests=len(interval.latencies_ms) + interval.errors,
                errors=interval.errors,
                p50_ms=percentile(latencies, 0.5),
                p99_ms=percentile(latencies, 0.99),
                rss_mb=server.rss_mb(),
                runs=runs,
                load=os.getloadavg()[0],
            )
            samples.append(sample)
            print_sample(sample)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    for failure in failures:
        print(f"  error: {failure}", flush=True)
    return samples


def print_sample(s: Sample) -> None:
    runs = ", ".join(f"{n} {status}" for status, n in sorted(s.runs.items())) or "none"
    print(
        f"[{s.index:>3}] {s.requests:>7,} requests  {s.throughput:>7.1f}/s  "
        f"p50 {s.p50_ms:>7.1f} ms  p99 {s.p99_ms:>8.1f} ms  errors {s.errors}  "
        f"RSS {s.rss_mb:>6.1f} MB  load {s.load:>4.1f}  runs: {runs}",
        flush=True,
    )


def print_verdict(samples: Sequence[Sample], result: Verdict) -> None:
    requests = sum(s.requests for s in samples)
    seconds = sum(s.seconds for s in samples)
    print(
        f"total: {requests:,} requests in {seconds:.0f} s ({requests / max(seconds, 1e-9):.1f}/s), "
        f"{result.errors} errors, {result.runs} ingestion runs ({result.failed_runs} not "
        f"SUCCEEDED); RSS after warm-up {min(result.rss_window or [0]):.1f}-"
        f"{max(result.rss_window or [0]):.1f} MB (spread {result.rss_spread:.1%}, "
        f"flat within {FLAT_SHARE:.0%}: {'yes' if result.flat else 'NO'})",
        flush=True,
    )
    print("soak: PASS" if result.ok else "soak: FAIL", flush=True)


def _ingest(store_url: str, repo: Path) -> None:
    subprocess.run(
        [STAGEGRAPH, "ingest", "git", str(repo), "--name", SOURCE, "--store", store_url],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _write_config(path: Path, store_url: str, repo: Path, every: float) -> None:
    config = {
        "store": store_url,
        "sources": [
            {
                "name": SOURCE,
                "type": "git",
                "url": str(repo),
                "schedule": {"every": f"{max(1, round(every))}s"},
                "timeout": "10m",
            }
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


app = typer.Typer(add_completion=False)


@app.command()
def main(
    minutes: Annotated[float, typer.Option(help="How long the readers read.")] = 10.0,
    readers: Annotated[int, typer.Option(min=1, help="Concurrent readers.")] = 16,
    entities: Annotated[int, typer.Option(min=100, help="Size of the catalog.")] = 10_000,
    reingest_every: Annotated[
        float, typer.Option(help="Seconds between the source's scheduled runs.")
    ] = 30.0,
    report_every: Annotated[float, typer.Option(help="Seconds between printed lines.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[Path, typer.Option(help="Folder for the catalog, store and logs.")] = Path(
        ".cache/soak"
    ),
) -> None:
    """Soak the API: concurrent readers for minutes while the source re-ingests."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    options = Options(
        sizes=[entities],
        seed=seed,
        work=work,
        neo4j_url="",
        neo4j_user="",
        neo4j_password="",
        stores=["sqlite"],
        budget=0,
        profile=False,
    )
    generated = catalog_repo(entities, options, lambda line: print(line, flush=True))
    repo = work / "repo"
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(generated.path), str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "config", "user.email", "soak@stagegraph.dev"], check=True
    )
    subprocess.run(["git", "-C", str(repo), "config", "user.name", "soak"], check=True)
    database = work / "soak.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    store_url = f"sqlite:///{database}"
    print(f"ingesting {entities:,} entities into {store_url}", flush=True)
    _ingest(store_url, repo)
    config = work / "stagegraph.yaml"
    _write_config(config, store_url, repo, reingest_every)
    server = Server(store_url, None, None, work / "server.log")
    server.env["STAGEGRAPH_CONFIG"] = str(config)
    (work / "server.log").write_text("")
    server.start()
    print(
        f"soak: {readers} readers for {minutes:g} min on {server.url} "
        f"(source re-ingested every {reingest_every:g} s; server log {server.log})",
        flush=True,
    )
    try:
        samples = asyncio.run(
            soak(
                server,
                generated.catalog,
                repo,
                minutes=minutes,
                readers=readers,
                report_every=report_every,
                reingest_every=reingest_every,
                seed=seed,
            )
        )
    finally:
        server.stop()
    result = verdict(samples)
    print_verdict(samples, result)
    raise typer.Exit(0 if result.ok else 1)


if __name__ == "__main__":
    app()
