"""``stagegraph serve --workers N``: N replicas on one store, the schedule in exactly one."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from api.app import create_app
from api.serving import (
    GC_THRESHOLDS,
    after_startup,
    listening_socket,
    server_config,
    settle_gc,
)
from api.settings import Settings
from tests.api.server import graphql, running_server
from tests.gitrepo import GitRepo, component


def _workers_answering(base: str, want: int, seconds: float = 60) -> set[str]:
    """The worker ids that answered /healthz, asking on fresh connections, many at a time,
    until ``want`` of them did (a worker still starting answers later)."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds

    def ask(_: int) -> str:
        return httpx.get(f"{base}/healthz", timeout=10).headers["Stagegraph-Worker"]

    with ThreadPoolExecutor(8) as pool:
        while len(seen) < want and time.monotonic() < deadline:
            seen.update(pool.map(ask, range(16)))
    return seen


def test_two_workers_both_answer_and_one_runs_the_schedule(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("catalog-info.yaml", component("alpha"))
    repo.commit()
    config = tmp_path / "stagegraph.yaml"
    config.write_text(
        "sources:\n"
        "  - name: services\n"
        "    type: git\n"
        f"    url: {repo.path}\n"
        "    schedule: {every: 1h}\n"
    )
    log = tmp_path / "server.log"
    store_url = f"sqlite:///{tmp_path / 'workers.db'}"

    with running_server(store_url, "--workers", "2", "--config", str(config), log=log) as base:
        workers = _workers_answering(base, want=2)
        data = graphql(base, '{ entity(ref: "component:alpha") { ref } }')
        deadline = time.monotonic() + 30
        while data["entity"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
            data = graphql(base, '{ entity(ref: "component:alpha") { ref } }')

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert len(workers) == 2
    assert data == {"entity": {"ref": "component:default/alpha"}}  # the schedule ran
    assert sum("holds the scheduler lease" in m for m in messages) == 1, messages
    assert sum(m.startswith("scheduler ") and " started: " in m for m in messages) == 1


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_workers_socket_gives_connections_tcp_nodelay(loop: str) -> None:
    """Without TCP_NODELAY every keep-alive answer waited ~40 ms for the client's delayed
    ACK (uvicorn's own shared socket has protocol 0, and asyncio skips those); on the
    workers' loop (uvloop) as on asyncio's."""
    factory = asyncio.new_event_loop
    if loop == "uvloop":
        factory = pytest.importorskip(
            "uvloop", reason="not installed: run `make install`"
        ).new_event_loop
    listener = listening_socket("127.0.0.1", 0)
    nodelay: list[int] = []

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    async def connect() -> None:
        server = await asyncio.start_server(accepted, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            for _ in range(100):
                if nodelay:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(connect())

    assert nodelay and nodelay[0] != 0


def test_the_server_parses_http_in_c_on_libuvs_loop(tmp_path: Path) -> None:
    pytest.importorskip("httptools", reason="not installed: run `make install`")
    config = server_config(Settings(store=f"sqlite:///{tmp_path / 'c.db'}"), workers=2)

    assert import_from_string(HTTP_PROTOCOLS[str(config.http)]).__name__ == "HttpToolsProtocol"
    assert config.loop == "uvloop"


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """The collector as it was before the test (settle_gc changes the process's)."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_gc_freezes_what_the_process_holds_and_collects_less_often(
    restored_gc: None,
) -> None:
    held = [{"kept": n} for n in range(1000)]  # containers the collector tracks

    settle_gc()

    collected = {id(obj) for obj in gc.get_objects()}  # the frozen ones are not among them
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # CPython's default
    assert gc.get_freeze_count() >= len(held)
    assert id(held) not in collected and id(held[0]) not in collected


async def test_after_startup_runs_once_the_apps_lifespan_has_started(tmp_path: Path) -> None:
    """The worker's app settles the collector after its store is open (what the lifespan
    opens is frozen too), before the server takes requests, and only once."""
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'w.db'}", scheduler=False))
    seen: list[str] = []
    ready = asyncio.Event()

    def then() -> None:
        seen.append("then")

    async def receive() -> dict[str, Any]:
        if not seen:
            return {"type": "lifespan.startup"}
        await ready.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: MutableMapping[str, Any]) -> None:
        seen.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://test"
            ) as client:
                ready_answer = await client.get("/readyz")
            seen.append(f"readyz {ready_answer.status_code}")
            ready.set()

    await after_startup(app, then)({"type": "lifespan"}, receive, send)

    assert seen == [
        "then",
        "lifespan.startup.complete",
        "readyz 200",
        "lifespan.shutdown.complete",
    ]
