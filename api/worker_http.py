"""The worker's own small HTTP server (``stagegraph worker``, port ``worker_port``, default
8001): ``GET /healthz`` (the scheduler loop is alive), ``GET /readyz`` (and the store
answers) and ``GET /metrics`` (its runs as they happen, and every run recorded in the
store, like the API's; who may scrape as for the API, see :mod:`api.metrics`).

It serves inside the worker's event loop and leaves signals to the worker, which stops it
after the scheduler has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import Authenticator
from api.metrics import Metrics, scrape_endpoint, scrape_open
from api.settings import Settings
from graph.port import GraphStore


def worker_app(
    settings: Settings,
    store: GraphStore,
    metrics: Metrics,
    alive: Callable[[], bool],
) -> Starlette:
    """``/healthz``, ``/readyz`` and ``/metrics`` of a worker whose scheduler ``alive`` says
    is still running."""

    async def healthz(request: Request) -> Response:
        if alive():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "scheduler stopped"}, status_code=503)

    async def readyz(request: Request) -> Response:
        if alive() and await store.ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "store unavailable"}, status_code=503)

    authenticator = Authenticator(tokens=settings.tokens, jwt_verifier=settings.jwt_verifier())
    metrics_route = scrape_endpoint(
        metrics,
        lambda: store,
        [source.name for source in settings.sources],
        open_=scrape_open(settings.metrics_auth, settings.host),
        authenticator=authenticator,
        notify=settings.notify,
    )
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_route),
        ]
    )


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve_task(app: Starlette, settings: Settings) -> tuple[asyncio.Task[None], uvicorn.Server]:
    """Start serving ``app`` on ``settings.host``:``settings.worker_port``; stop it with
    ``server.should_exit = True`` and await the task."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.worker_port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = _QuietServer(config)
    return asyncio.create_task(server.serve(), name="worker-http"), server
