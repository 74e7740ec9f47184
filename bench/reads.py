"""Read latencies: the API over HTTP (``stagegraph serve`` in a child process, as a user
runs it) beside the hand-written single query through the raw driver, on the same data.

Every measurement warms up first, then repeats the request one at a time until
``budget`` seconds have passed (at least :data:`MIN_SAMPLES`, at most :data:`MAX_SAMPLES`
times) and reports p50 and p99 in milliseconds.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from neo4j import READ_ACCESS, GraphDatabase, ManagedTransaction, Record, unit_of_work

from bench.questions import Question

WARMUP = 3
MIN_SAMPLES = 10
MAX_SAMPLES = 300
BASELINE_TIMEOUT = 60.0
STAGEGRAPH = str(Path(sys.executable).with_name("stagegraph"))


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    samples: int
    rows: int


@dataclass(frozen=True)
class ReadResult:
    """One question on one store: the API's latency and the baseline's, or why not."""

    question: Question
    api: Latency | None
    baseline: Latency | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.api is None or self.baseline is None or self.baseline.p50_ms <= 0:
            return None
        return self.api.p50_ms / self.baseline.p50_ms


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(ask: Callable[[], int], budget: float) -> Latency:
    """Time ``ask`` (which returns the number of rows it got) after a warm-up."""
    rows = 0
    for _ in range(WARMUP):
        rows = ask()
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < MAX_SAMPLES and (
        len(samples) < MIN_SAMPLES or time.perf_counter() < deadline
    ):
        started = time.perf_counter()
        rows = ask()
        samples.append((time.perf_counter() - started) * 1000)
    return Latency(percentile(samples, 0.5), percentile(samples, 0.99), len(samples), rows)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``stagegraph serve --store URL`` on a free loopback port, anonymous reads on, access
    log off, its output in ``log``. A query the server gave up on (its per-operation
    timeout) may still occupy the store, so :meth:`restart` starts it afresh."""

    def __init__(
        self,
        store_url: str,
        user: str | None,
        password: str | None,
        log: Path,
        args: Sequence[str] = (),
    ) -> None:
        self.store_url = store_url
        self.args = list(args)  # more `serve` options, e.g. ["--demo"]
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.restarts = 0
        self.env = {
            **os.environ,
            "STAGEGRAPH_ANONYMOUS_READ": "true",
            "STAGEGRAPH_LOG_LEVEL": "warning",
        }
        if user is not None:
            self.env["NEO4J_USER"] = user
        if password is not None:
            self.env["NEO4J_PASSWORD"] = password
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [
                    STAGEGRAPH,
                    "serve",
                    "--store",
                    self.store_url,
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}); see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready in 120 s; see {self.log}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def rss_mb(self) -> float:
        """Resident memory now, from /proc (0 where there is none)."""
        if self.process is None:
            return 0.0
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


@contextmanager
def running_server(
    store_url: str,
    user: str | None,
    password: str | None,
    log: Path,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """A started :class:`Server` (``args``: more ``serve`` options), stopped on exit."""
    log.write_text("")
    server = Server(store_url, user, password, log, args)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class GraphQLClient:
    """POSTs operations to ``/graphql`` over one keep-alive connection."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=120)

    def close(self) -> None:
        self.http.close()

    def query_fields(self) -> set[str]:
        body = self.post('{ __type(name: "Query") { fields { name } } }', {})
        return {f["name"] for f in body["data"]["__type"]["fields"]}

    def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"HTTP {response.status_code}: {body.get('errors') or body}")
        return body

    def asker(self, question: Question) -> Callable[[], int]:
        def ask() -> int:
            return question.count(self.post(question.graphql, question.variables)["data"])

        return ask


@contextmanager
def sqlite_asker(path: str) -> Iterator[Callable[[Question], Callable[[], int]]]:
    """Hand-written SQL on a read-only connection to the store's file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:

        def for_question(question: Question) -> Callable[[], int]:
            def ask() -> int:
                return len(connection.execute(question.sql, question.sql_params).fetchall())

            return ask

        yield for_question
    finally:
        connection.close()


@contextmanager
def neo4j_asker(
    url: str, user: str | None, password: str | None
) -> Iterator[Callable[[Question], Callable[[], int]]]:
    """Hand-written Cypher in read transactions through the official driver."""
    driver = GraphDatabase.driver(url, auth=(user or "neo4j", password or ""))
    try:

        def for_question(question: Question) -> Callable[[], int]:
            @unit_of_work(timeout=BASELINE_TIMEOUT)
            def work(tx: ManagedTransaction) -> list[Record]:
                return list(tx.run(question.cypher, question.cypher_params))

            def ask() -> int:
                with driver.session(default_access_mode=READ_ACCESS) as session:
                    return len(session.execute_read(work))

            return ask

        yield for_question
    finally:
        driver.close()


def _api_error(exc: Exception) -> str:
    text = str(exc)
    if "ran longer than the limit" in text:
        return "API timeout (server limit 10 s)"
    return f"API error: {text.splitlines()[0][:80]}"


def read_phase(
    questions: list[Question],
    server: Server,
    baseline: Callable[[Question], Callable[[], int]],
    budget: float,
    report: Callable[[str], None],
) -> list[ReadResult]:
    """Every question through the API and through the baseline. A question the API fails
    is reported as such, and the server is restarted before the next one."""
    client = GraphQLClient(server.url)
    results = []
    try:
        fields = client.query_fields()
        for question in questions:
            if question.schema_field and question.schema_field not in fields:
                results.append(ReadResult(question, None, None, "n/a (not in schema)"))
                continue
            report(f"  {question.label}")
            api: Latency | None = None
            note = ""
            try:
                api = measure(client.asker(question), budget)
            except (RuntimeError, httpx.HTTPError) as exc:
                note = _api_error(exc)
                report(f"  {note}: restarting the server")
                client.close()
                server.restart()
                client = GraphQLClient(server.url)
            floor: Latency | None = None
            try:
                floor = measure(baseline(question), budget)
            except Exception as exc:  # a failing baseline is reported, not fatal
                reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
                note = note or f"baseline error: {reason}"
            results.append(ReadResult(question, api, floor, note))
    finally:
        client.close()
    return results
