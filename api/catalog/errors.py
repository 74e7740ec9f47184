"""Errors of the catalog REST API, answered in Backstage's JSON error shape.

Every error response body is ``{"error": {"name", "message"}, "request": {"method",
"url"}, "response": {"statusCode"}}``, the shape ``@backstage/errors`` reads into a
``ResponseError``. The tree::

    CatalogApiError            500 Error
    ├── InputError             400 (a parameter or body that cannot be read)
    ├── AuthenticationError    401 (no token, or one that is not valid)
    ├── NotAllowedError        403 (a valid token whose role may not do this)
    ├── NotFoundError          404 (no such entity, or no such route)
    ├── ConflictError          409 (a location with this target is registered already)
    └── ServiceUnavailableError 503 (the store does not answer)
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import Scope


class CatalogApiError(Exception):
    """An error the API answers with ``status`` and Backstage's error ``name``."""

    status = 500
    name = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(CatalogApiError):
    status = 400
    name = "InputError"


class AuthenticationError(CatalogApiError):
    status = 401
    name = "AuthenticationError"


class NotAllowedError(CatalogApiError):
    status = 403
    name = "NotAllowedError"


class NotFoundError(CatalogApiError):
    status = 404
    name = "NotFoundError"


class ConflictError(CatalogApiError):
    status = 409
    name = "ConflictError"


class ServiceUnavailableError(CatalogApiError):
    status = 503
    name = "ServiceUnavailableError"


def request_url(scope: Scope) -> str:
    """The URL as the client sent it: path and query string (Backstage's ``originalUrl``)."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return path + ("?" + query if query else "")


def error_response(
    scope: Scope,
    error: CatalogApiError,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {
            "error": {"name": error.name, "message": error.message},
            "request": {"method": scope["method"], "url": request_url(scope)},
            "response": {"statusCode": error.status},
        },
        status_code=error.status,
        headers=headers,
    )
