"""``stagegraph serve``: the app under uvicorn, in one process or in N worker processes.

With ``workers`` above 1, uvicorn's supervisor binds the socket once and spawns N processes
that accept on it; each builds the app from the same :class:`Settings` (:func:`worker_app`)
and opens the store on its own: every worker is a stateless replica, and the schedule runs in
the one holding the store lease ``scheduler`` (:mod:`ingestors.leadership`). The demo catalog
is loaded once, before the workers start, not once per worker. Workers parse HTTP with
``httptools`` and run on ``uvloop`` (both pinned).

Each worker is tuned for serving once its app has started (:func:`settle_gc`): what it holds
by then (modules, the schema, the store's driver: ~120k objects) is frozen out of the cyclic
garbage collector's sight, and the youngest generation is collected every
``GC_THRESHOLDS[0]`` allocations, not CPython's 700. A page of 100 entities allocates
thousands of containers, and the collector walked the whole heap every few pages: a fifth of
the page's CPU time, a tenth after (see the README's "Benchmarks").
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.util
import logging
import os
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.supervisors import Multiprocess

from api.app import create_app, load_demo
from api.logs import configure_logging
from api.settings import Settings
from graph import open_store

log = logging.getLogger("stagegraph.api")

#: how long the supervisor waits for a worker's answer before it replaces the worker
WORKER_HEALTHCHECK_SECONDS = 60
#: the collector's thresholds in a serving worker (CPython's: 700, 10, 10)
GC_THRESHOLDS = (10_000, 10, 10)
#: uvicorn's HTTP implementation and event loop (both pinned; uvicorn's pure-Python h11 and
#: asyncio's loop only where an environment made before the pins lacks them)
HTTP_PARSER = "httptools"
EVENT_LOOP = "uvloop"


def worker_count(settings: Settings) -> int:
    """``settings.workers``, else the number of CPU cores; 1 for an in-memory store (a
    process of its own could not see it)."""
    if ":memory:" in settings.store:
        return 1
    if settings.workers is not None:
        return settings.workers
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def worker_app(settings: Settings) -> ASGIApp:
    """The app of one worker process (spawned: logging is configured again here), which
    settles the collector once it has started."""
    configure_logging(settings.log_level)
    return after_startup(create_app(settings), settle_gc)


def settle_gc() -> None:
    """Freeze what the process holds now out of the collector's sight (it is kept for the
    process's life: walking it at every full collection only cost time), and collect the
    youngest generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def after_startup(app: ASGIApp, then: Callable[[], None]) -> ASGIApp:
    """``app``, calling ``then`` once its lifespan startup has completed (before the server
    takes requests)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                then()
            await send(message)

        await app(scope, receive, sending)

    return wrapped


async def _load_demo_once(settings: Settings) -> None:
    store = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
    await store.setup()
    try:
        await load_demo(store, settings)
    finally:
        await store.close()


def server_config(settings: Settings, workers: int) -> uvicorn.Config:
    """uvicorn's configuration for ``workers`` processes of the app."""
    return uvicorn.Config(
        functools.partial(worker_app, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        # Both pinned: HTTP/1.1 parsed in C, the event loop on libuv. With h11 and asyncio's
        # loop a `{ __typename }` cost ~30% more server CPU, an entity by ref ~35% more.
        http=HTTP_PARSER if _installed(HTTP_PARSER) else "h11",
        loop=EVENT_LOOP if _installed(EVENT_LOOP) else "asyncio",
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 5,
        # A worker that is still importing on a busy machine is not dead: uvicorn's 5 s
        # default killed and replaced workers while they started.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def _installed(module: str) -> bool:
    if importlib.util.find_spec(module) is not None:
        return True
    log.warning("%s is not installed: serving without it (run `make install`)", module)
    return False


def serve(settings: Settings, workers: int) -> None:
    """Serve until SIGINT / SIGTERM."""
    if workers > 1 and settings.demo:
        asyncio.run(_load_demo_once(settings))
        settings = settings.model_copy(update={"demo": False})
    config = server_config(settings, workers)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[listening_socket(settings.host, settings.port)]).run()


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the workers accept on, made as a TCP socket (protocol ``IPPROTO_TCP``):
    asyncio sets ``TCP_NODELAY`` only on connections of such sockets, and uvicorn's own
    (protocol 0) left Nagle's algorithm on, which held every keep-alive answer ~40 ms for
    the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"cannot listen on {host}:{port}: {exc}") from None
    log.info("Stagegraph listening on http://%s:%d", host, sock.getsockname()[1])
    sock.set_inheritable(True)
    return sock
