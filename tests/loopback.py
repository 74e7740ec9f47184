"""A real JSON HTTP server on 127.0.0.1 for tests of API sources (GitHub, GitLab, Jenkins).

A :class:`LoopbackServer` runs a ``ThreadingHTTPServer`` in a daemon thread on a free port.
Routes map ``(method, path)`` to a handler ``(Request) -> (status, headers, json_body)``;
every request is recorded (method, path, query, headers) so a test can assert on what the
client sent (``If-None-Match``, ``Authorization``, ``per_page``...). Helpers answer a list
page by page the way GitHub does (``Link`` headers) or GitLab does (``X-Next-Page``), answer
``304`` to a matching ``If-None-Match``, and play a sequence of answers (a rate limit, then
success)::

    with LoopbackServer() as api:
        api.route("GET", "/orgs/acme/repos", link_pages(repos, per_page=2))
        ... ApiClient(api.url) ...
        assert api.requests_to("/orgs/acme/repos")[0].headers["authorization"] == "Bearer t"
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """A request the server received; header names are lowercased."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Reply = tuple[int, Mapping[str, str], Any]
"""``(status, headers, body)``: a body of None is sent empty, anything else as JSON."""
Handler = Callable[[Request], Reply]


class LoopbackServer:
    """A JSON API on 127.0.0.1:<free port>, routes added by the test."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, handler: Handler | Reply | Any) -> None:
        """Answer ``method path`` with ``handler``; a plain value is served as a 200 JSON body
        and a ``(status, headers, body)`` tuple as that reply, every time."""
        if callable(handler):
            self.routes[(method.upper(), path)] = handler
        elif isinstance(handler, tuple) and len(handler) == 3 and isinstance(handler[0], int):
            reply: Reply = handler
            self.routes[(method.upper(), path)] = lambda _request: reply
        else:
            body = handler
            self.routes[(method.upper(), path)] = lambda _request: (200, {}, body)

    def requests_to(self, path: str, method: str = "GET") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path and r.method == method.upper()]

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            handler = self.routes.get((request.method, request.path))
        if handler is None:
            return 404, {}, {"message": "Not Found", "path": request.path}
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                status, headers, body = server._dispatch(request)
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler


def _page_of(
    request: Request, items: Sequence[Any], per_page: int, max_per_page: int = 100
) -> tuple[int, int, list[Any]]:
    size = min(int(request.param("per_page") or per_page), max_per_page)
    page = int(request.param("page") or 1)
    last = max(1, math.ceil(len(items) / size))
    return page, last, list(items[(page - 1) * size : page * size])


def _page_url(base: str, request: Request, page: int) -> str:
    query = {k: v[0] for k, v in request.query.items() if k != "page"}
    query["page"] = str(page)
    return f"{base}{request.path}?" + "&".join(f"{k}={v}" for k, v in query.items())


def link_pages(
    items: Sequence[Any] | Callable[[], Sequence[Any]],
    per_page: int = 30,
    *,
    wrap: str | None = None,
    base_url: str | Callable[[], str] = "",
    max_per_page: int = 100,
) -> Handler:
    """Serve ``items`` page by page as GitHub does: ``?page=&per_page=`` in, ``Link`` out
    (``rel="next"`` and ``rel="last"``, absolute URLs when ``base_url`` is given); a
    ``per_page`` above ``max_per_page`` is capped, as GitHub caps it at 100. ``wrap``
    puts the page in an object (``{"total_count": n, wrap: [...]}``, as Actions lists are)."""

    def handler(request: Request) -> Reply:
        all_items = items() if callable(items) else items
        page, last, chunk = _page_of(request, all_items, per_page, max_per_page)
        base = base_url() if callable(base_url) else base_url
        links = []
        if page < last:
            links.append(f'<{_page_url(base, request, page + 1)}>; rel="next"')
            links.append(f'<{_page_url(base, request, last)}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        body: Any = {"total_count": len(all_items), wrap: chunk} if wrap else chunk
        return 200, headers, body

    return handler


def next_page_pages(items: Sequence[Any], per_page: int = 20) -> Handler:
    """Serve ``items`` page by page as GitLab does: ``X-Page``, ``X-Next-Page`` (empty on the
    last page), ``X-Total``, ``X-Total-Pages``."""

    def handler(request: Request) -> Reply:
        page, last, chunk = _page_of(request, items, per_page)
        headers = {
            "X-Page": str(page),
            "X-Next-Page": str(page + 1) if page < last else "",
            "X-Total": str(len(items)),
            "X-Total-Pages": str(last),
        }
        return 200, headers, chunk

    return handler


def with_etag(handler: Handler) -> Handler:
    """Add an ``ETag`` (a hash of the body) and answer ``304`` with no body to a request whose
    ``If-None-Match`` matches, as GitHub does."""

    def wrapped(request: Request) -> Reply:
        status, headers, body = handler(request)
        if status != 200:
            return status, headers, body
        etag = (
            '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20] + '"'
        )
        if request.headers.get("if-none-match") == etag:
            return 304, {**headers, "ETag": etag}, None
        return status, {**headers, "ETag": etag}, body

    return wrapped


def constant(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Handler:
    """Always the same reply (to wrap, e.g. ``with_etag(constant(body))``)."""
    reply: Reply = (status, dict(headers or {}), body)
    return lambda _request: reply


def sequence(*replies: Reply | Handler) -> Handler:
    """Answer with each reply in turn (a reply may be a handler), then keep the last."""
    queue: Iterator[Reply | Handler] = iter(replies)
    state: dict[str, Reply | Handler] = {}
    lock = threading.Lock()

    def handler(request: Request) -> Reply:
        with lock:
            state["current"] = next(queue, state.get("current", replies[-1]))
            current = state["current"]
        return current(request) if callable(current) else current

    return handler


class RecordedSleep:
    """The clients' ``sleep``: records each wait asked for (Retry-After, a rate-limit reset,
    a backoff) instead of waiting, so tests assert on the waits and run at full speed."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
