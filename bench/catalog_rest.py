"""``python -m bench.catalog_rest``: the two questions a Backstage front end asks most of the
catalog REST API, on the generated catalog: a ``by-query`` page of 100 entities (filtered by
kind, ordered by name) and ``by-refs`` of 100 refs, over HTTP against ``stagegraph serve``,
p50 and p99 in milliseconds, on SQLite and (with ``--neo4j-url``) Neo4j.

The catalog repository and the SQLite file are those ``make bench`` uses (reused when
present); the Neo4j database is wiped and loaded.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

import httpx
import typer

from bench.ingest import measure_ingest
from bench.reads import Latency, measure, running_server
from bench.run import Options, catalog_repo, wipe_neo4j

app = typer.Typer(add_completion=False)


def _by_query(http: httpx.Client) -> int:
    response = http.get(
        "/api/catalog/entities/by-query",
        params={"filter": "kind=component", "limit": 100, "orderField": "metadata.name,asc"},
    )
    response.raise_for_status()
    return len(response.json()["items"])


def _by_refs(http: httpx.Client, refs: list[str]) -> int:
    response = http.post("/api/catalog/entities/by-refs", json={"entityRefs": refs})
    response.raise_for_status()
    return sum(1 for item in response.json()["items"] if item is not None)


def _measure(
    url: str, user: str | None, password: str | None, work: Path, budget: float
) -> dict[str, Latency]:
    log = work / "catalog-rest-server.log"
    with (
        running_server(url, user, password, log) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        every = http.get(
            "/api/catalog/entities", params={"fields": "kind,metadata.name,metadata.namespace"}
        ).json()
        refs = [
            f"{e['kind'].lower()}:{e['metadata']['namespace']}/{e['metadata']['name']}"
            for e in every
        ]
        sample = random.Random(1).sample(refs, 100)
        return {
            "by-query (100 items)": measure(lambda: _by_query(http), budget),
            "by-refs (100 refs)": measure(lambda: _by_refs(http, sample), budget),
        }


@app.command()
def main(
    size: Annotated[int, typer.Option(help="Catalog size (entities).")] = 10000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic catalog.")] = 1,
    work: Annotated[Path, typer.Option(help="The bench work folder.")] = Path(".cache/bench"),
    neo4j_url: Annotated[
        str | None, typer.Option(envvar="STAGEGRAPH_BENCH_NEO4J_URL", help="A throwaway Neo4j.")
    ] = None,
    neo4j_user: Annotated[str, typer.Option(envvar="NEO4J_USER")] = "neo4j",
    neo4j_password: Annotated[str, typer.Option(envvar="NEO4J_PASSWORD")] = "stagegraph",
    budget: Annotated[float, typer.Option(help="Seconds of sampling per question.")] = 5.0,
) -> None:
    work.mkdir(parents=True, exist_ok=True)
    options = Options(
        [size], seed, work, neo4j_url or "", neo4j_user, neo4j_password, [], budget, False
    )
    generated = catalog_repo(size, options, print)
    stores: list[tuple[str, str, str | None, str | None]] = []
    db = (work / f"catalog-rest-{size}.db").resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    stores.append(("sqlite", f"sqlite:///{db}", None, None))
    if neo4j_url:
        wipe_neo4j(options)
        stores.append(("neo4j", neo4j_url, neo4j_user, neo4j_password))
    for store, url, user, password in stores:
        loaded = measure_ingest(url, generated.path, user=user, password=password)
        print(f"{store}: ingested {loaded.entities:,} entities ({loaded.status})")
        for question, latency in _measure(url, user, password, work, budget).items():
            print(
                f"{store:7} {question:22} p50 {latency.p50_ms:7.1f} ms  "
                f"p99 {latency.p99_ms:7.1f} ms  ({latency.samples} samples, {latency.rows} rows)"
            )


if __name__ == "__main__":
    app()
