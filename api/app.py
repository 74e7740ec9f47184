"""The Starlette application: GraphQL at ``/graphql`` (GraphiQL in a browser), ``/healthz``,
``/readyz``. The store is opened in the lifespan and closed there.

``/graphql`` sits behind bearer authentication (:mod:`api.auth`) and a body size cap
(:mod:`api.body_limit`); the schema enforces depth, alias, cost and time limits
(:mod:`schema.limits`). ``/healthz``, ``/readyz`` and GraphiQL's files at
``/graphql/assets/`` (:mod:`api.playground`) are open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.auth import Authenticator, BearerAuth, principal
from api.body_limit import BodyLimit
from api.playground import asset_routes, playground_html
from api.settings import Settings
from graph import open_store
from graph.port import GraphStore
from ingestors.git import ingest_git
from ingestors.runner import RunPolicy
from schema import build_schema
from schema.context import Context
from schema.limits import QueryLimits

log = logging.getLogger("stagegraph.api")
DEMO_SOURCE = "demo"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class StagegraphGraphQL(GraphQL[Context, None]):
    """The GraphQL endpoint, with a fresh context (and DataLoaders) per request."""

    def __init__(
        self,
        store_holder: dict[str, GraphStore],
        settings: Settings,
        schema: strawberry.Schema | None = None,
    ) -> None:
        if schema is None:
            schema = build_schema(
                introspection=settings.introspection,
                limits=query_limits(settings),
                trace=settings.trace,
            )
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self._holder = store_holder
        self._playground = playground_html() if settings.graphiql else ""

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(store=self._holder["store"], role=principal(request.scope).role)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page (api.playground), with assets served by this app, not a CDN."""
        return HTMLResponse(self._playground)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_cost,
        fan_out=settings.cost_fan_out,
        timeout=settings.operation_timeout,
    )


async def load_demo(store: GraphStore, settings: Settings) -> None:
    run = await ingest_git(
        store,
        str(settings.demo_path),
        name=DEMO_SOURCE,
        trigger="demo",
        policy=RunPolicy(settings.max_delete_share),
    )
    total = sum(c.added + c.updated + c.unchanged for c in run.counts)
    log.info("demo catalog: %s, %d entities (%s)", run.status, total, run.cleanup)
    for error in run.errors:
        log.warning("demo catalog: %s: %s", error.file, error.message)


def create_app(
    settings: Settings,
    store: GraphStore | None = None,
    schema: strawberry.Schema | None = None,
) -> Starlette:
    """Build the app. With ``store`` given, the caller owns it (tests); otherwise the app
    opens the store from ``settings.store`` at start and closes it at shutdown. ``schema``
    replaces Stagegraph's own (tests of the HTTP layer)."""
    holder: dict[str, GraphStore] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = store is None
        active = store or open_store(
            settings.store, user=settings.neo4j_user, password=settings.password
        )
        if owned:
            await active.setup()
        holder["store"] = active
        try:
            if settings.demo:
                await load_demo(active, settings)
            yield
        finally:
            holder.pop("store", None)
            if owned:
                await active.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        active = holder.get("store")
        if active is not None and await active.ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "store unavailable"}, status_code=503)

    authenticator = Authenticator(
        tokens=settings.tokens,
        jwt_verifier=settings.jwt_verifier(),
        anonymous_read=settings.anonymous_read_enabled,
    )
    if authenticator.anonymous_read and settings.host not in LOOPBACK:
        log.warning(
            "anonymous read is on while listening on %s: anyone who reaches the port can read "
            "the catalog (configure STAGEGRAPH_TOKENS or STAGEGRAPH_JWT_KEY, or set "
            "STAGEGRAPH_ANONYMOUS_READ=false)",
            settings.host,
        )
    graphql = BearerAuth(
        BodyLimit(StagegraphGraphQL(holder, settings, schema), settings.max_body_bytes),
        authenticator,
    )
    middleware: list[Middleware] = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    routes: list[Any] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        *(asset_routes() if settings.graphiql else []),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
