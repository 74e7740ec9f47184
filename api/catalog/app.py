"""The catalog REST API as one ASGI app, mounted at ``/api/catalog``.

Each request is authenticated as ``/graphql`` is (:class:`api.auth.Authenticator`: the same
tokens, JWTs and anonymous read); reads (and ``validate-entity``) need the ``reader`` role,
which every role has; deleting or refreshing an entity the ``writer`` role; registering,
analyzing and removing locations the ``admin`` role.
Errors of any kind, unknown routes included, are answered in Backstage's error shape
(:mod:`api.catalog.errors`); a store that does not answer is a 503, anything unexpected a
500 that says nothing of the code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from api.auth import Authenticator, AuthError
from api.catalog.errors import (
    AuthenticationError,
    CatalogApiError,
    InputError,
    NotAllowedError,
    NotFoundError,
    ServiceUnavailableError,
    error_response,
)
from api.catalog.locations import LocationRoutes
from api.catalog.openapi import declared_query, openapi_document
from api.catalog.routes import Reads, json_response
from api.catalog.writes import Writes
from catalog.rules import KindRules
from graph.errors import StoreConnectionError, StoreError
from graph.port import GraphStore
from ingestors.contract import SourceConfig
from ingestors.locations import DEFAULT_REFRESH
from ingestors.scheduler import Scheduler
from schema.access import Role, role_allows

log = logging.getLogger("stagegraph.api.catalog")


def _refuse_unknown_query(request: Request) -> None:
    """Backstage validates each request against its OpenAPI document and refuses a query
    parameter the operation does not declare (``400 InputError``); so do we, from ours."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return
    known = declared_query(path, request.method)
    unknown = sorted({k for k in request.query_params if k not in known})
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise InputError(
            f"unknown query parameter(s) {', '.join(unknown)} for {request.method} "
            f"/api/catalog{path} (allowed: {allowed})"
        )


Handler = Callable[[Request], Awaitable[Response]]


class CatalogApi:
    """The catalog REST API over the store ``store()`` returns (None while the app starts
    or stops: a 503)."""

    def __init__(
        self,
        store: Callable[[], GraphStore | None],
        authenticator: Authenticator,
        *,
        max_body_bytes: int,
        scheduler: Callable[[], Scheduler | None] = lambda: None,
        location_refresh: timedelta = DEFAULT_REFRESH,
        kinds: KindRules | None = None,
        sources: Sequence[SourceConfig] = (),
    ) -> None:
        self._store = store
        self._authenticator = authenticator
        reads = Reads(self._open_store, max_body_bytes)
        writes = Writes(self._open_store, max_body_bytes, kinds, sources)
        locations = LocationRoutes(
            self._open_store,
            scheduler,
            refresh=location_refresh,
            max_body_bytes=max_body_bytes,
        )
        self._router = Router(
            routes=[
                Route("/entities", self._guard(reads.entities, "reader"), methods=["GET"]),
                Route("/entities/by-query", self._guard(reads.by_query, "reader"), methods=["GET"]),
                Route("/entities/by-refs", self._guard(reads.by_refs, "reader"), methods=["POST"]),
                Route(
                    "/entities/by-uid/{uid}", self._guard(reads.by_uid, "reader"), methods=["GET"]
                ),
                Route(
                    "/entities/by-name/{kind}/{namespace}/{name}",
                    self._guard(reads.by_name, "reader"),
                    methods=["GET"],
                ),
                Route(
                    "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
                    self._guard(reads.ancestry, "reader"),
                    methods=["GET"],
                ),
                Route(
                    "/entities/by-uid/{uid}",
                    self._guard(writes.delete_by_uid, "writer"),
                    methods=["DELETE"],
                ),
                Route("/entity-facets", self._guard(reads.facets, "reader"), methods=["GET"]),
                Route("/validate-entity", self._guard(writes.validate, "reader"), methods=["POST"]),
                Route("/locations", self._guard(locations.list, "reader"), methods=["GET"]),
                Route("/locations", self._guard(locations.create, "admin"), methods=["POST"]),
                Route("/locations/{id}", self._guard(locations.by_id, "reader"), methods=["GET"]),
                Route(
                    "/locations/{id}", self._guard(locations.delete, "admin"), methods=["DELETE"]
                ),
                Route(
                    "/locations/by-entity/{kind}/{namespace}/{name}",
                    self._guard(locations.by_entity, "reader"),
                    methods=["GET"],
                ),
                Route(
                    "/analyze-location", self._guard(locations.analyze, "admin"), methods=["POST"]
                ),
                Route("/refresh", self._guard(locations.refresh, "writer"), methods=["POST"]),
                Route("/openapi.json", self._openapi, methods=["GET"]),
            ],
            default=self._not_found,
        )

    def _open_store(self) -> GraphStore:
        store = self._store()
        if store is None:
            raise ServiceUnavailableError("the store is not open (the server is starting)")
        return store

    def _guard(self, handler: Handler, needed: Role) -> Handler:
        """``handler`` behind authentication, the role check and the error shape."""

        async def guarded(request: Request) -> Response:
            try:
                who = self._authenticator.authenticate(request.headers.get("authorization"))
            except AuthError as exc:
                error = (AuthenticationError if exc.status == 401 else NotAllowedError)(exc.message)
                return error_response(
                    request.scope, error, headers={"WWW-Authenticate": 'Bearer realm="stagegraph"'}
                )
            if not role_allows(who.role, needed):
                return error_response(
                    request.scope,
                    NotAllowedError(
                        f"this request needs the {needed} role; the token has {who.role}"
                    ),
                )
            try:
                _refuse_unknown_query(request)
                return await handler(request)
            except CatalogApiError as exc:
                return error_response(request.scope, exc)
            except StoreConnectionError as exc:
                log.warning("catalog API: %s", exc)
                return error_response(request.scope, ServiceUnavailableError(str(exc)))
            except StoreError as exc:
                log.error("catalog API: %s %s: %s", request.method, request.url.path, exc)
                return error_response(request.scope, CatalogApiError(str(exc)))
            except Exception:
                log.exception("catalog API: %s %s failed", request.method, request.url.path)
                return error_response(
                    request.scope, CatalogApiError("internal error; the server log has details")
                )

        return guarded

    async def _openapi(self, request: Request) -> Response:
        _refuse_unknown_query(request)
        return json_response(openapi_document())

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = NotFoundError(f"no catalog route {scope['method']} {scope['path']}")
        await error_response(scope, error)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            await self._router(scope, receive, send)
        except HTTPException as exc:  # a known path with another method: Backstage says 404
            error = NotFoundError(f"no catalog route {scope['method']} {scope['path']}")
            if exc.status_code != 405:
                raise
            await error_response(scope, error)(scope, receive, send)
