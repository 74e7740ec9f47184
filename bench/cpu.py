"""``python -m bench.cpu``: CPU time per request inside the server process, for the reads of
``make bench-peers`` (issue 14's first table).

Wall-clock latencies on a shared 2-core machine move with the neighbours' load; the CPU
time one request costs the server does not (much). This builds the app in-process on a
store loaded with the bench's synthetic catalog and calls it as ASGI (no socket, no client
in the measurement), repeating each request and reporting the process CPU time
(``time.process_time``) per request, the mean over ``--repeat`` calls after a warm-up. With
``--profile QUESTION`` it writes a pyinstrument profile of that question's calls as text.

The SQLite file is made once per catalog (``.cache/bench-cpu/``) and reused; a Neo4j at
``--neo4j-url`` is wiped and loaded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
import typer
from pydantic import SecretStr

from api.app import create_app
from api.settings import Settings
from bench import peer_questions as q
from bench.ingest import measure_ingest
from bench.questions import DEPENDENCIES_GRAPHQL, PAGE_GRAPHQL, ROLLUP_GRAPHQL
from bench.run import Options, catalog_repo, wipe_neo4j

app = typer.Typer(add_completion=False)
ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    """One HTTP request to the app: method, path, query items, JSON body."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any = None


async def call(asgi: ASGI, request: Call) -> tuple[int, bytes]:
    """Send ``request`` straight to the ASGI app; its status and body."""
    body = orjson.dumps(request.body) if request.body is not None else b""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": urlencode(request.query).encode(),
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await asyncio.wait_for(asgi(scope, receive, send), 120)
    return status, b"".join(chunks)


def _graphql(query: str, variables: dict[str, Any] | None = None) -> Call:
    return Call("POST", "/graphql", [], {"query": query, "variables": variables or {}})


def calls(targets: q.Targets) -> dict[str, Call]:
    """The questions of ``make bench-peers`` as each is sent to Stagegraph (and a few more)."""
    kind, rest = targets.deep.split(":", 1)
    namespace, name = rest.split("/", 1)
    return {
        "by-ref REST": Call("GET", f"/api/catalog/entities/by-name/{kind}/{namespace}/{name}", []),
        "page GraphQL": _graphql(PAGE_GRAPHQL),
        "page-deps GraphQL": _graphql(q.PAGE_WITH_DEPENDENCIES_GRAPHQL),
        "page REST": Call(
            "GET",
            "/api/catalog/entities/by-query",
            [("filter", "kind=component"), ("limit", "100"), ("orderField", "metadata.name,asc")],
        ),
        "facets REST": Call(
            "GET", "/api/catalog/entity-facets", [("facet", "kind"), ("facet", "spec.type")]
        ),
        "facets GraphQL": _graphql('{ entityFacets(fields: ["kind", "spec.type"]) { field } }'),
        "owned REST": Call(
            "GET", "/api/catalog/entities", [("filter", f"relations.ownedBy={targets.team}")]
        ),
        "rollup GraphQL": _graphql(ROLLUP_GRAPHQL, {"owner": targets.department}),
        "dependencies GraphQL": _graphql(DEPENDENCIES_GRAPHQL, {"ref": targets.deep}),
        "search REST": Call(
            "GET",
            "/api/catalog/entities/by-query",
            [(k, str(v)) for k, v in q.search_params(targets.search)],
        ),
        "typename GraphQL": _graphql("{ __typename }"),
    }


async def measure(
    settings: Settings,
    requests: dict[str, Call],
    repeat: int,
    profile: str | None,
    out: Path,
) -> dict[str, tuple[float, float]]:
    """CPU and wall milliseconds per request of each of ``requests``."""
    web = create_app(settings)
    results: dict[str, tuple[float, float]] = {}
    async with web.router.lifespan_context(web):
        for label, request in requests.items():
            for _ in range(3):
                status, body = await call(web, request)
                if status != 200 or b'"errors"' in body[:20]:
                    raise RuntimeError(f"{label}: HTTP {status}: {body[:300]!r}")
            profiler = None
            if profile == label:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
            started, wall = time.process_time(), time.perf_counter()
            for _ in range(repeat):
                await call(web, request)
            cpu = (time.process_time() - started) * 1000 / repeat
            results[label] = (cpu, (time.perf_counter() - wall) * 1000 / repeat)
            if profiler is not None:
                profiler.stop()
                path = out / f"profile-{label.replace(' ', '-')}.txt"
                path.write_text(profiler.output_text(unicode=False, show_all=False))
                print(f"profile of {label}: {path}")
    return results


@app.command()
def main(
    size: Annotated[int, typer.Option(help="Catalog size (entities).")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[Path, typer.Option(help="Work folder.")] = Path(".cache/bench-cpu"),
    repeat: Annotated[int, typer.Option(help="Calls of each request measured.")] = 50,
    neo4j_url: Annotated[
        str | None, typer.Option(help="Also measure this Neo4j (it is WIPED and loaded).")
    ] = None,
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
    only: Annotated[list[str] | None, typer.Option(help="Only these questions.")] = None,
    profile: Annotated[str | None, typer.Option(help="Profile this question.")] = None,
) -> None:
    """CPU milliseconds per request inside the server, per question and store."""
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    options = Options(
        [size], seed, work, neo4j_url or "", neo4j_user, neo4j_password, [], 1.0, False
    )
    generated = catalog_repo(size, options, print)
    requests = calls(q.targets(generated.catalog))
    if only:
        requests = {k: v for k, v in requests.items() if k in only}
    db = work / f"cpu-{size}-{generated.commit[:12]}.db"
    stores: list[tuple[str, str, str | None, str | None]] = [
        ("sqlite", f"sqlite:///{db}", None, None)
    ]
    if neo4j_url:
        stores.append(("neo4j", neo4j_url, neo4j_user, neo4j_password))
    for store, url, user, password in stores:
        if store == "neo4j":
            wipe_neo4j(options)
        if store == "neo4j" or not db.exists():
            loaded = measure_ingest(url, generated.path, user=user, password=password)
            print(f"{store}: ingested {loaded.entities:,} entities ({loaded.status})")
        settings = Settings(
            store=url,
            anonymous_read=True,
            log_level="warning",
            scheduler=False,
            neo4j_user=user,
            neo4j_password=SecretStr(password) if password else None,
        )
        results = asyncio.run(measure(settings, requests, repeat, profile, work))
        for label, (cpu, wall) in results.items():
            print(f"{store:7} {label:18} {cpu:7.2f} ms CPU  {wall:7.2f} ms wall per request")


if __name__ == "__main__":
    app()
