"""``python -m bench.webhooks`` (``make bench-webhooks``): webhook-to-visible latency, and the
unchanged re-ingest, on the synthetic catalog, per store.

For each store: the catalog (:mod:`bench.generate`, reused from the work folder) is cloned
into a working repository and ingested once as the git source ``bench``; an unchanged
re-ingest is timed (:func:`bench.ingest.measure_ingest`, files not read again); then
``stagegraph serve`` runs with that source configured with a webhook secret. Each round
retitles one Component (a commit in the working repository), sends the signed generic git
webhook and polls ``entity(ref:)`` until the new title shows; the time from sending to
seeing is one sample. Two series: ``source`` (``POST /webhooks/git/bench``: the whole
source is re-read, unchanged files skipped) and ``folder`` (``?path=services/<name>``, as a
CI step that knows what it changed sends it: a scoped run of that folder), which starts once
the last whole-source run has ended. Each delivery is sent as soon as the previous one
shows, so it may wait for the end of the previous run (its cleanup). Prints p50,
p95 and the worst of each, against the goal (p95 at most :data:`GOAL_P95_S`).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from bench.ingest import SOURCE_NAME, measure_ingest
from bench.reads import Server, percentile
from bench.run import Options, catalog_repo, neo4j_unavailable, wipe_neo4j
from ingestors.webhooks import sign

GOAL_P95_S = 2.0
SECRET = "bench-webhook-secret"
POLL_S = 0.02
ENTITY = "query($ref: String!) { entity(ref: $ref) { title } }"


def _components(repo: Path, count: int) -> list[tuple[Path, str]]:
    """``count`` Component descriptor files of the catalog and their names."""
    found: list[tuple[Path, str]] = []
    for path in sorted((repo / "services").glob("*/catalog-info.yaml")):
        match = re.search(r"kind: Component\nmetadata:\n  name: (\S+)\n", path.read_text())
        if match:
            found.append((path, match.group(1)))
        if len(found) == count:
            break
    return found


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _retitle(repo: Path, path: Path, title: str) -> None:
    text = re.sub(r"\n  title: [^\n]*\n", f"\n  title: {title}\n", path.read_text(), count=1)
    path.write_text(text)
    _git(repo, "commit", "--quiet", "-am", f"retitle: {title}")


def _see(http: httpx.Client, ref: str, title: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = http.post("/graphql", json={"query": ENTITY, "variables": {"ref": ref}}).json()
        if ((body.get("data") or {}).get("entity") or {}).get("title") == title:
            return
        time.sleep(POLL_S)
    raise RuntimeError(f"{ref} did not show the title {title!r} within {timeout:.0f}s")


RUNNING = (
    "query($source: String!) { ingestionRuns(source: $source, status: RUNNING, first: 1) "
    "{ edges { node { id } } } }"
)


def _idle(http: httpx.Client, timeout: float = 120.0) -> None:
    """Wait until no run of the source goes on (the folder series must not queue behind the
    last whole-source run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = http.post(
            "/graphql", json={"query": RUNNING, "variables": {"source": SOURCE_NAME}}
        ).json()
        if not ((body.get("data") or {}).get("ingestionRuns") or {}).get("edges", [1]):
            return
        time.sleep(0.1)
    raise RuntimeError(f"a run of {SOURCE_NAME} still went on after {timeout:.0f}s")


def measure_store(store: str, url: str, options: Options, rounds: int) -> dict[str, float]:
    """The unchanged re-ingest and the webhook latencies (seconds) on one store."""
    generated = catalog_repo(options.sizes[0], options, print)
    repo = options.work / f"webhook-repo-{options.sizes[0]}"
    subprocess.run(["rm", "-rf", str(repo)], check=True)
    _git(Path("."), "clone", "--quiet", str(generated.path), str(repo))
    _git(repo, "config", "user.email", "bench@stagegraph.dev")
    _git(repo, "config", "user.name", "bench")
    user = options.neo4j_user if store == "neo4j" else None
    password = options.neo4j_password if store == "neo4j" else None
    first = measure_ingest(url, repo, user=user, password=password)
    again = measure_ingest(url, repo, user=user, password=password)
    config = options.work / "webhooks.yaml"
    config.write_text(
        f"sources:\n  - name: {SOURCE_NAME}\n    type: git\n    url: {repo}\n"
        '    webhook: {secret: "${BENCH_WEBHOOK_SECRET}"}\n'
    )
    log = options.work / f"webhooks-{store}.log"
    log.write_text("")
    server = Server(url, user, password, log, ["--config", str(config)])
    server.env["BENCH_WEBHOOK_SECRET"] = SECRET
    server.env["STAGEGRAPH_LOG_LEVEL"] = "info"  # runs and deliveries, with their times
    samples: dict[str, list[float]] = {"source": [], "folder": []}
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for index, (path, name) in enumerate(_components(repo, 2 * rounds)):
                series = "source" if index < rounds else "folder"
                if index == rounds:
                    _idle(http)
                title = f"Retitled {index} at {time.time():.0f}"
                _retitle(repo, path, title)
                folder = path.parent.relative_to(repo).as_posix()
                query = f"?path={folder}" if series == "folder" else ""
                body = b'{"ref": "refs/heads/main"}'
                sent = time.monotonic()
                answer = http.post(
                    f"/webhooks/git/{SOURCE_NAME}{query}",
                    content=body,
                    headers={"X-Hub-Signature-256": sign(SECRET, body)},
                )
                if answer.status_code != 202:
                    raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
                _see(http, f"component:default/{name}", title)
                samples[series].append(time.monotonic() - sent)
    finally:
        server.stop()
    figures = {"first_ingest_s": first.seconds, "unchanged_reingest_s": again.seconds}
    for series, found in samples.items():
        figures[f"{series}_p50_s"] = percentile(found, 0.50)
        figures[f"{series}_p95_s"] = percentile(found, 0.95)
        figures[f"{series}_max_s"] = max(found)
    return figures


app = typer.Typer(add_completion=False)


@app.command()
def main(
    entities: Annotated[int, typer.Option(min=100, help="Size of the catalog.")] = 10_000,
    rounds: Annotated[int, typer.Option(min=1, help="Deliveries per store.")] = 20,
    stores: Annotated[str, typer.Option(help="sqlite and/or neo4j.")] = "sqlite,neo4j",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[Path, typer.Option(help="Folder for catalogs, stores, logs.")] = Path(
        ".cache/bench"
    ),
    neo4j_url: Annotated[
        str, typer.Option(envvar="STAGEGRAPH_BENCH_NEO4J_URL", help="A throwaway Neo4j (wiped).")
    ] = "bolt://127.0.0.1:7687",
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
) -> None:
    """Measure webhook-to-visible latency (and the unchanged re-ingest) per store."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    chosen = [s.strip() for s in stores.split(",") if s.strip()]
    options = Options(
        sizes=[entities],
        seed=seed,
        work=work,
        neo4j_url=neo4j_url,
        neo4j_user=neo4j_user,
        neo4j_password=neo4j_password,
        stores=chosen,
        budget=0,
        profile=False,
    )
    failed = False
    for store in chosen:
        if store == "neo4j":
            reason = neo4j_unavailable(options)
            if reason is not None:
                print(f"neo4j: skipped ({reason})")
                continue
            wipe_neo4j(options)
            url = neo4j_url
        else:
            database = work / f"webhooks-{entities}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{database}"
        figures = measure_store(store, url, options, rounds)
        print(
            f"{store} {entities:,} entities: first ingest {figures['first_ingest_s']:.1f}s, "
            f"unchanged re-ingest {figures['unchanged_reingest_s']:.2f}s",
            flush=True,
        )
        for series in ("source", "folder"):
            p95 = figures[f"{series}_p95_s"]
            verdict = "ok" if p95 <= GOAL_P95_S else "over the goal"
            failed = failed or verdict != "ok"
            print(
                f"  webhook to visible ({series}): p50 {figures[f'{series}_p50_s']:.2f}s "
                f"p95 {p95:.2f}s max {figures[f'{series}_max_s']:.2f}s "
                f"(goal p95 <= {GOAL_P95_S:.0f}s: {verdict})",
                flush=True,
            )
    raise typer.Exit(1 if failed else 0)


if __name__ == "__main__":
    app()
