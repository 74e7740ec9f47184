"""``python -m bench.compat`` (``make compat``): Backstage's own catalog backend and
``stagegraph serve`` on the same catalog, the same requests to both, every difference in
their JSON answers printed after normalising what must differ (:mod:`bench.compat_diff`).

The catalog is the Backstage example catalog (``tests/fixtures/backstage-examples``,
entry files ``all.yaml`` and ``acme-corp.yaml``): Backstage reads it through two
``catalog.locations`` of type ``file``; Stagegraph ingests the same two files as a git
source (a folder on disk) into a fresh SQLite file. The requests are
:data:`bench.compat_requests.REQUESTS`.

Exit status: 0 when every request was sent and answered (whatever the differences), 1
when the harness itself failed (a server did not start, an answer was not JSON).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from neo4j import GraphDatabase

from bench.backstage import PeerError, running_backstage, wait_processed
from bench.compat_diff import NORMALISATIONS, Difference, diff, normalise
from bench.compat_requests import REQUESTS, Request
from bench.reads import STAGEGRAPH, running_server

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "backstage-examples"
ENTRY_FILES = ("all.yaml", "acme-corp.yaml")

app = typer.Typer(add_completion=False)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Compared:
    """One page of one request: both answers and where they differ."""

    name: str
    ours: Answer
    theirs: Answer
    differences: list[Difference]


def send(http: httpx.Client, base: str, request: Request, pairs: list[tuple[str, str]]) -> Answer:
    params = tuple(pairs)
    if request.body is None:
        response = http.get(base + request.path, params=params)
    else:
        response = http.post(base + request.path, params=params, json=request.body)
    try:
        body = response.json() if response.content else None
    except json.JSONDecodeError as exc:
        raise PeerError(
            f"{request.name}: {base}{request.path} answered {response.status_code} with "
            f"something that is not JSON: {response.text[:200]!r}"
        ) from exc
    return Answer(response.status_code, body)


def _cursor(answer: Answer, step: str) -> str | None:
    if not isinstance(answer.body, dict):
        return None
    info = answer.body.get("pageInfo") or {}
    value = info.get("nextCursor" if step == "next" else "prevCursor")
    return value if isinstance(value, str) else None


def compare(request: Request, ours: Answer, theirs: Answer, name: str) -> Compared:
    found = diff(normalise(ours.body), normalise(theirs.body), ordered=request.ordered)
    if ours.status != theirs.status:
        found.insert(0, Difference("(status)", ours.status, theirs.status))
    return Compared(name, ours, theirs, found)


def run_request(http: httpx.Client, ours: str, theirs: str, request: Request) -> list[Compared]:
    """The request against both servers; with ``walk``, then each page both servers'
    cursors lead to (a side without the cursor stops the walk)."""
    our_answer = send(http, ours, request, list(request.params))
    their_answer = send(http, theirs, request, list(request.params))
    pages = [compare(request, our_answer, their_answer, request.name)]
    for number, step in enumerate(request.walk, start=2):
        our_cursor, their_cursor = _cursor(our_answer, step), _cursor(their_answer, step)
        if our_cursor is None and their_cursor is None:
            break
        if our_cursor is None or their_cursor is None:
            pages.append(
                Compared(
                    f"{request.name} (page {number}, {step})",
                    our_answer,
                    their_answer,
                    [Difference(f"(no {step} cursor)", our_cursor, their_cursor)],
                )
            )
            break
        our_answer = send(http, ours, request, [("cursor", our_cursor)])
        their_answer = send(http, theirs, request, [("cursor", their_cursor)])
        pages.append(
            compare(request, our_answer, their_answer, f"{request.name} (page {number}, {step})")
        )
    return pages


def ingest_fixture(store_url: str, log: Path, env: dict[str, str] | None = None) -> None:
    """``stagegraph ingest git`` of the fixture's entry files into ``store_url``."""
    paths = [arg for name in ENTRY_FILES for arg in ("--path", name)]
    done = subprocess.run(
        [
            STAGEGRAPH,
            "ingest",
            "git",
            str(FIXTURE),
            "--name",
            "backstage-examples",
            *paths,
            "--store",
            store_url,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise PeerError(f"stagegraph ingest git failed ({done.returncode}); see {log}")


def save(pages: list[Compared], path: Path) -> None:
    """Both raw answers of every page, for reading a difference in full."""
    rows = [
        {
            "name": page.name,
            "stagegraph": {"status": page.ours.status, "body": page.ours.body},
            "backstage": {"status": page.theirs.status, "body": page.theirs.body},
        }
        for page in pages
    ]
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False))


def report(pages: list[Compared], out: Any = sys.stdout) -> int:
    """Print every difference, page by page, and a summary; return the count."""
    total = 0
    for page in pages:
        mark = "same" if not page.differences else f"{len(page.differences)} difference(s)"
        print(f"[{mark}] {page.name}  (HTTP {page.ours.status} / {page.theirs.status})", file=out)
        for difference in page.differences:
            print(f"    {difference}", file=out)
        total += len(page.differences)
    differing = sum(1 for page in pages if page.differences)
    print(
        f"\ncompat: {len(pages)} answers compared ({len(REQUESTS)} requests), "
        f"{len(pages) - differing} identical, {differing} differ; {total} differences",
        file=out,
    )
    kinds = Counter(_kind(d) for page in pages for d in page.differences)
    for kind, count in kinds.most_common():
        print(f"  {count:4}  {kind}", file=out)
    print("normalised before comparing:", file=out)
    for line in NORMALISATIONS:
        print(f"  - {line}", file=out)
    return total


def _kind(difference: Difference) -> str:
    """A difference's path without entity refs and indexes: what kind it is."""
    return re.sub(r"\[[^\]]*\]", "[]", difference.path)


def wipe(url: str, user: str, password: str) -> None:
    """Delete every node of the Neo4j at ``url`` (the compared catalog is all it holds)."""
    with GraphDatabase.driver(url, auth=(user, password)) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()


@app.command()
def main(
    work: Annotated[Path, typer.Option(help="Where the config, logs and store go.")] = Path(
        ".cache/compat"
    ),
    neo4j_url: Annotated[
        str | None,
        typer.Option(help="Run Stagegraph on this Neo4j instead of SQLite; it is WIPED first."),
    ] = None,
    neo4j_user: Annotated[str, typer.Option(help="The Neo4j user.")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(help="The Neo4j password.")] = "stagegraph",
) -> None:
    """Compare Backstage's catalog backend and Stagegraph on the same catalog."""
    work.mkdir(parents=True, exist_ok=True)
    user = password = None
    if neo4j_url is not None:
        store_url, user, password = neo4j_url, neo4j_user, neo4j_password
        wipe(neo4j_url, neo4j_user, neo4j_password)
    else:
        db = (work / "stagegraph.db").resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        store_url = f"sqlite:///{db}"
    env = {**os.environ, "NEO4J_USER": neo4j_user, "NEO4J_PASSWORD": neo4j_password}
    print(f"Stagegraph's store: {store_url}")
    try:
        ingest_fixture(store_url, work / "ingest.log", env)
        locations = [str(FIXTURE / name) for name in ENTRY_FILES]
        with (
            running_backstage(work / "backstage", locations) as backstage,
            running_server(store_url, user, password, work / "stagegraph.log") as server,
            httpx.Client(timeout=60) as http,
        ):
            seconds = wait_processed(backstage, http)
            print(f"Backstage's catalog settled {seconds:.1f} s after start ({backstage.log})")
            pages = [
                page
                for request in REQUESTS
                for page in run_request(http, f"{server.url}/api/catalog", backstage.url, request)
            ]
    except (PeerError, RuntimeError, httpx.HTTPError) as exc:
        print(f"compat: the harness failed: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    save(pages, work / "answers.json")
    report(pages)
    print(f"every answer, as received: {work / 'answers.json'}")


if __name__ == "__main__":
    app()
