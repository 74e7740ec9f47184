"""The Starlette application: GraphQL at ``/graphql`` (GraphiQL in a browser), ``/healthz``,
``/readyz``, ``/metrics`` (open on loopback, else behind a token: :mod:`api.metrics`). The
store and the scheduler (configured sources and registered locations) are opened in the lifespan
and closed there.

``/graphql`` sits behind bearer authentication (:mod:`api.auth`) and a body size cap
(:mod:`api.body_limit`); the schema enforces depth, alias, cost and time limits
(:mod:`schema.limits`). ``/healthz``, ``/readyz`` and GraphiQL's files at
``/graphql/assets/`` (:mod:`api.playground`) are open, and so is the graph explorer at
``/explore`` (:mod:`api.explorer`; ``GET /`` redirects there), which holds no data itself."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.auth import Authenticator, BearerAuth, principal
from api.body_limit import BodyLimit
from api.catalog import CatalogApi
from api.explorer import explorer_routes
from api.graphql_request import (
    RequestError,
    error_response,
    get_refusal,
    is_request_error,
    parse_body,
)
from api.metrics import Metrics, scrape_endpoint, scrape_open
from api.persisted import PersistedQueries
from api.playground import asset_routes, playground_html
from api.scaffolder.app import ScaffolderApi
from api.scaffolder.runtime import start_scaffolder
from api.scheduling import scheduling
from api.settings import Settings
from api.sockets import SocketContext, authenticate_socket
from api.webhooks import Webhooks
from graph import open_store
from graph.port import GraphStore
from ingestors.feed import Feed
from ingestors.git import ingest_git
from ingestors.github import ingest_recorded
from ingestors.scheduler import Scheduler
from scaffolder.service import Scaffolder
from schema import build_schema
from schema.context import Context
from schema.errors import OPERATION_RESOLUTION_FAILURE
from schema.limits import QueryLimits
from schema.scan import DocumentCaps, scan_remembered

log = logging.getLogger("stagegraph.api")
DEMO_SOURCE = "demo"
DEMO_GITHUB_SOURCE = "demo-github"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Runtime:
    """What the app holds while it runs: opened in the lifespan, read by requests."""

    settings: Settings
    metrics: Metrics
    store: GraphStore | None = None
    scheduler: Scheduler | None = None
    scaffolder: Scaffolder | None = None
    feed: Feed | None = None  # the catalogChanged subscriptions' one poller

    def wake(self) -> None:
        """A webhook delivery was recorded: this process's scheduler takes it in now (unless
        runs are left to other processes: with ``scheduler`` off, the leader's inbox polls)."""
        if self.scheduler is not None and self.settings.scheduler:
            self.scheduler.wake()


class StagegraphGraphQL(GraphQL[Context, None]):
    """The GraphQL endpoint, with a fresh context (and DataLoaders) per request. Every
    client mistake gets a 4xx with a GraphQL-shaped body (:mod:`api.graphql_request`)."""

    def __init__(
        self,
        runtime: Runtime,
        settings: Settings,
        schema: strawberry.Schema | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        if schema is None:
            schema = build_schema(
                introspection=settings.introspection,
                limits=query_limits(settings),
                trace=settings.trace,
                extensions=[runtime.metrics.extension],
            )
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self._runtime = runtime
        self._authenticator = authenticator
        self._playground = playground_html() if settings.graphiql else ""
        self._caps = query_limits(settings).document
        self._persisted = PersistedQueries()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:  # ours (RequestError) and strawberry's
            response = error_response(error)
        await response(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "GET":
            raise get_refusal()
        return parse_body(request.content_type or "", await request.get_body())

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        query = self._persisted.document(request_data.query, request_data.extensions)
        name = request_data.operation_name
        if name is None and query:
            operations = scan_remembered(query, self._caps).operations
            if operations > 1:
                raise RequestError(
                    f"the document has {operations} operations: set `operationName` to the "
                    "name of the one to run",
                    code=OPERATION_RESOLUTION_FAILURE,
                )
        try:
            result = await self.schema.execute(
                query,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=name,
                allowed_operation_types=OperationType.from_http(request_adapter.method),
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError:
            reason = (
                f"the document has no operation named {name!r}: set `operationName` to the "
                "name of one of its operations (or leave it out for a document of one)"
                if name is not None
                else "the document defines no operation: add a query or a mutation"
            )
            raise RequestError(reason, code=OPERATION_RESOLUTION_FAILURE) from None
        except InvalidOperationTypeError as error:
            raise RequestError(error.as_http_error_reason(request_adapter.method)) from None
        except MissingQueryError:
            raise RequestError("the request has no `query`") from None
        self._runtime.metrics.count_refusals(result.errors)
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if isinstance(response_data, dict) and is_request_error(response_data):
            # Nothing ran: 400, and no `data` (GraphQL over HTTP's "request error").
            errors_only: GraphQLHTTPResponse = {"errors": response_data.get("errors")}
            sub_response.status_code = 400
            return super().create_response(errors_only, sub_response)
        return super().create_response(response_data, sub_response)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        runtime = self._runtime
        if runtime.store is None:
            raise RuntimeError("the store is not open (the app is starting or stopping)")
        who = principal(request.scope)
        make = SocketContext if isinstance(request, WebSocket) else Context
        context = make(
            store=runtime.store,
            role=who.role,
            principal=who.name,
            scope=who.scope,
            scheduler=runtime.scheduler,
            sources=(runtime.scheduler.sources if runtime.scheduler else runtime.settings.sources),
            kinds=runtime.settings.kind_rules,
            scaffolder=runtime.scaffolder,
            feed=runtime.feed,
        )
        if isinstance(context, SocketContext) and isinstance(request, WebSocket):
            context.websocket = request
        return context

    async def on_ws_connect(self, context: Context) -> None:
        """Authenticate a websocket at ``connection_init`` (:mod:`api.sockets`)."""
        authenticate_socket(context, self._authenticator)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page (api.playground), with assets served by this app, not a CDN."""
        return HTMLResponse(self._playground)

    def encode_json(self, data: object) -> str:
        # Text, not bytes: strawberry sends bytes as binary websocket frames, which
        # graphql-transport-ws clients (gql, graphql-ws) refuse; HTTP takes either.
        return orjson.dumps(data).decode()


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_cost,
        fan_out=settings.cost_fan_out,
        timeout=settings.operation_timeout,
        max_merges=settings.max_merges,
        document=DocumentCaps(
            max_length=settings.max_document_length,
            max_tokens=settings.max_tokens,
            max_operations=settings.max_operations,
            max_fragments=settings.max_fragments,
            max_directives=settings.max_directives,
            max_repeats=settings.max_repeats,
        ),
    )


async def load_demo(store: GraphStore, settings: Settings) -> None:
    run = await ingest_git(
        store,
        str(settings.demo_path),
        name=DEMO_SOURCE,
        trigger="demo",
        policy=settings.run_policy(),
    )
    total = sum(c.added + c.updated + c.unchanged for c in run.counts)
    log.info("demo catalog: %s, %d entities (%s)", run.status, total, run.cleanup)
    for error in run.errors:
        log.warning("demo catalog: %s: %s", error.file, error.message)
    recorded = settings.demo_path / "recorded" / "github"
    if recorded.is_dir():
        # Pipelines, builds and deployments from recorded GitHub answers (no network).
        ci = await ingest_recorded(
            store,
            recorded,
            name=DEMO_GITHUB_SOURCE,
            trigger="demo",
            policy=settings.run_policy(),
        )
        total = sum(c.added + c.updated + c.unchanged for c in ci.counts)
        log.info("demo CI data: %s, %d entities (%s)", ci.status, total, ci.cleanup)
        for error in ci.errors:
            log.warning("demo CI data: %s: %s", error.file, error.message)


def create_app(
    settings: Settings,
    store: GraphStore | None = None,
    schema: strawberry.Schema | None = None,
) -> Starlette:
    """Build the app. With ``store`` given, the caller owns it (tests); otherwise the app
    opens the store from ``settings.store`` at start and closes it at shutdown. ``schema``
    replaces Stagegraph's own (tests of the HTTP layer)."""
    runtime = Runtime(settings, Metrics())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = store is None
        active = store or open_store(
            settings.store, user=settings.neo4j_user, password=settings.password
        )
        if owned:
            await active.setup()
        runtime.store = active
        runtime.feed = Feed(active)
        try:
            if settings.demo:
                await load_demo(active, settings)
            async with scheduling(active, settings, runtime.metrics) as scheduler:
                runtime.scheduler = scheduler
                runtime.scaffolder = start_scaffolder(
                    active, settings, run_tasks=settings.scheduler, scheduler=scheduler
                )
                try:
                    yield
                finally:
                    await runtime.scaffolder.stop()
                    runtime.scaffolder = None
        finally:
            await runtime.feed.close()
            runtime.feed = None
            runtime.scheduler = None
            runtime.store = None
            if owned:
                await active.close()

    async def healthz(request: Request) -> Response:
        # The header tells replicas of `serve --workers N` apart (tests, load balancers).
        return JSONResponse({"status": "ok"}, headers={"Stagegraph-Worker": str(os.getpid())})

    async def readyz(request: Request) -> Response:
        active = runtime.store
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
        BodyLimit(
            StagegraphGraphQL(runtime, settings, schema, authenticator), settings.max_body_bytes
        ),
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
        WebSocketRoute("/graphql", graphql),
        *(asset_routes() if settings.graphiql else []),
        *(explorer_routes() if settings.explorer else []),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(
            "/metrics",
            scrape_endpoint(
                runtime.metrics,
                lambda: runtime.store,
                [source.name for source in settings.sources],
                open_=scrape_open(settings.metrics_auth, settings.host),
                authenticator=authenticator,
                notify=settings.notify,
            ),
        ),
        *Webhooks(settings.sources, lambda: runtime.store, runtime.wake).routes(),
        Mount(
            "/api/catalog",
            CatalogApi(
                lambda: runtime.store,
                authenticator,
                max_body_bytes=settings.max_body_bytes,
                scheduler=lambda: runtime.scheduler,
                location_refresh=settings.location_refresh,
                kinds=settings.kind_rules,
                sources=settings.sources,
            ),
        ),
        Mount(
            "/api/scaffolder",
            ScaffolderApi(lambda: runtime.store, lambda: runtime.scaffolder, authenticator),
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
