"""``stagegraph serve``: the app under uvicorn, in one process or in N worker processes.

With ``workers`` above 1, uvicorn's supervisor binds the socket once and spawns N processes
that accept on it; each builds the app from the same :class:`Settings` (:func:`worker_app`)
and opens the store on its own: every worker is a stateless replica, and the schedule runs in
the one holding the store lease ``scheduler`` (:mod:`ingestors.leadership`). The demo catalog
is loaded once, before the workers start, not once per worker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from api.app import create_app, load_demo
from api.logs import configure_logging
from api.settings import Settings
from graph import open_store

log = logging.getLogger("stagegraph.api")

#: how long the supervisor waits for a worker's answer before it replaces the worker
WORKER_HEALTHCHECK_SECONDS = 60


def worker_count(settings: Settings) -> int:
    """``settings.workers``, else the number of CPU cores; 1 for an in-memory store (a
    process of its own could not see it)."""
    if ":memory:" in settings.store:
        return 1
    if settings.workers is not None:
        return settings.workers
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def worker_app(settings: Settings) -> Starlette:
    """The app of one worker process (spawned: logging is configured again here)."""
    configure_logging(settings.log_level)
    return create_app(settings)


async def _load_demo_once(settings: Settings) -> None:
    store = open_store(settings.store, user=settings.neo4j_user, password=settings.password)
    await store.setup()
    try:
        await load_demo(store, settings)
    finally:
        await store.close()


def serve(settings: Settings, workers: int) -> None:
    """Serve until SIGINT / SIGTERM."""
    if workers > 1 and settings.demo:
        asyncio.run(_load_demo_once(settings))
        settings = settings.model_copy(update={"demo": False})
    config = uvicorn.Config(
        functools.partial(worker_app, settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 5,
        # A worker that is still importing on a busy machine is not dead: uvicorn's 5 s
        # default killed and replaced workers while they started.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
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
