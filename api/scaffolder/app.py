"""Backstage's scaffolder REST API as one ASGI app, mounted at ``/api/scaffolder``.

Authenticated as the catalog API is (the same tokens, JWTs and anonymous read): reads need
``reader``, creating, cancelling and dry runs ``writer``. Errors are answered in Backstage's
error shape (:mod:`api.catalog.errors`), invalid values as ``{errors: [...]}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from api.auth import Authenticator, AuthError, Principal
from api.catalog.errors import (
    AuthenticationError,
    CatalogApiError,
    NotAllowedError,
    NotFoundError,
    ServiceUnavailableError,
    error_response,
)
from api.scaffolder.routes import Routes
from graph.errors import StoreConnectionError, StoreError
from graph.port import GraphStore
from scaffolder.errors import ScaffolderError
from scaffolder.service import Scaffolder
from schema.access import Role, role_allows

log = logging.getLogger("stagegraph.api.scaffolder")
Handler = Callable[[Request], Awaitable[Response]]
_PRINCIPAL = "scaffolder_principal"


class ScaffolderApi:
    """The scaffolder REST API over the store and the process's scaffolder."""

    def __init__(
        self,
        store: Callable[[], GraphStore | None],
        scaffolder: Callable[[], Scaffolder | None],
        authenticator: Authenticator,
    ) -> None:
        self._store = store
        self._authenticator = authenticator
        routes = Routes(self._open_store, scaffolder, self._principal)
        task = "/v2/tasks/{task_id}"
        self._router = Router(
            routes=[
                Route("/v2/tasks", self._guard(routes.create, "writer"), methods=["POST"]),
                Route("/v2/tasks", self._guard(routes.list, "reader"), methods=["GET"]),
                Route(task, self._guard(routes.get, "reader"), methods=["GET"]),
                Route(f"{task}/cancel", self._guard(routes.cancel, "writer"), methods=["POST"]),
                Route(f"{task}/events", self._guard(routes.events, "reader"), methods=["GET"]),
                Route(
                    f"{task}/eventstream",
                    self._guard(routes.eventstream, "reader"),
                    methods=["GET"],
                ),
                Route("/v2/dry-run", self._guard(routes.dry_run, "writer"), methods=["POST"]),
                Route("/v2/actions", self._guard(routes.actions, "reader"), methods=["GET"]),
                Route(
                    "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
                    self._guard(routes.parameter_schema, "reader"),
                    methods=["GET"],
                ),
            ],
            default=self._not_found,
        )

    def _open_store(self) -> GraphStore:
        store = self._store()
        if store is None:
            raise ServiceUnavailableError("the store is not open (the server is starting)")
        return store

    @staticmethod
    def _principal(request: Request) -> Principal:
        found = request.scope.get("state", {}).get(_PRINCIPAL)
        assert isinstance(found, Principal)
        return found

    def _guard(self, handler: Handler, needed: Role) -> Handler:
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
            request.scope.setdefault("state", {})[_PRINCIPAL] = who
            try:
                return await handler(request)
            except CatalogApiError as exc:
                return error_response(request.scope, exc)
            except ScaffolderError as exc:
                return error_response(request.scope, CatalogApiError(str(exc)))
            except StoreConnectionError as exc:
                log.warning("scaffolder API: %s", exc)
                return error_response(request.scope, ServiceUnavailableError(str(exc)))
            except StoreError as exc:
                log.error("scaffolder API: %s %s: %s", request.method, request.url.path, exc)
                return error_response(request.scope, CatalogApiError(str(exc)))
            except Exception:
                log.exception("scaffolder API: %s %s failed", request.method, request.url.path)
                return error_response(
                    request.scope, CatalogApiError("internal error; the server log has details")
                )

        return guarded

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = NotFoundError(f"no scaffolder route {scope['method']} {scope['path']}")
        await error_response(scope, error)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await self._router(scope, receive, send)
