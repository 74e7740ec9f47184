"""The HTTP client every CI/API source shares (GitHub, GitLab, Jenkins): JSON over httpx with
pagination, rate limits, retries and conditional requests done once, the same way.

long: pagination, rate limits, retries and conditional requests interact (a 304 or a
Retry-After changes the next page's call), so they are read together in one client.

- Pagination: :meth:`ApiClient.paginate` follows ``Link: <...>; rel="next"`` (GitHub, RFC 5988)
  and ``X-Next-Page`` (GitLab) to the last page.
- Rate limits: ``Retry-After`` (seconds or an HTTP date) is honoured on any status; a 403/429
  with ``X-RateLimit-Remaining: 0`` waits until ``X-RateLimit-Reset``; a GitHub "secondary rate
  limit" 403 waits and retries; no wait is longer than ``max_wait`` (past that the call fails
  with :class:`RateLimitError`, saying when to try again).
- 5xx (and 408) answers and connection errors retry with exponential backoff (``backoff``
  seconds, doubled each time), ``max_retries`` times; a source sets both from its config
  (``maxAttempts``, ``retryBackoff``: :mod:`ingestors.client`).
- Conditional requests: a GET whose answer had an ``ETag`` is sent again with
  ``If-None-Match``; a 304 gives back the remembered body (GitHub charges no quota for it) and
  counts in :attr:`ApiStats.not_modified`. The memory (:class:`ETagCache`) lives as long as
  the process by default, shared per base URL and credentials, bounded.

Errors (all :class:`~ingestors.errors.IngestError`, so a run that meets one fails and
deletes nothing)::

    ApiError              a call failed for good; carries ``url`` and ``status`` (None: no answer)
    ├── AuthError         401 bad or expired credentials, 403 missing permission/scope
    ├── NotFoundError     404: the resource does not exist or the token cannot see it
    └── RateLimitError    the rate limit would need a longer wait than allowed
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from ingestors.errors import IngestError

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class ApiError(IngestError):
    """A call failed for good: ``url`` and ``status`` (None when no answer came) say which."""

    def __init__(self, url: str, status: int | None, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        answer = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{url} failed ({answer}): {reason}")


class AuthError(ApiError):
    """401/403: the credentials are wrong, expired or lack a permission."""


class NotFoundError(ApiError):
    """404: the resource does not exist, or the credentials cannot see it."""


class RateLimitError(ApiError):
    """The API's rate limit asks for a longer wait than the client may make."""


@dataclass
class ApiStats:
    """What a client did: calls sent, 304s answered from the cache, retries, quota left."""

    calls: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_remaining: int | None = None
    rate_limit_reset: float | None = None


class ApiResponse:
    """An answer: ``status``, ``headers``, the JSON body and the ``links`` of a Link header."""

    def __init__(
        self, url: str, status: int, headers: httpx.Headers, body: bytes, not_modified: bool
    ) -> None:
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
        self.not_modified = not_modified
        self.links = parse_links(headers.get("link", ""))

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                self.url, self.status, f"the answer is not JSON ({exc}); is the URL an API URL?"
            ) from exc

    @property
    def next_page(self) -> str | None:
        """The ``X-Next-Page`` header (GitLab), when there is a next page."""
        value = self.headers.get("x-next-page", "").strip()
        return value or None


def parse_links(header: str) -> dict[str, str]:
    """``<https://api/x?page=2>; rel="next", <...>; rel="last"`` -> ``{"next": ..., "last": ...}``."""
    links: dict[str, str] = {}
    for part in header.split(","):
        section = part.strip()
        if not section.startswith("<") or ">" not in section:
            continue
        url, _, params = section[1:].partition(">")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in value.strip().strip('"').split():
                    links[rel] = url
    return links


@dataclass(frozen=True)
class _Cached:
    etag: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


class ETagCache:
    """URL -> (ETag, body) of earlier GET answers, least recently used first out; bounded by
    entries and by the bytes of the bodies kept."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple[str, str], _Cached] = OrderedDict()

    def get(self, scope: str, url: str) -> _Cached | None:
        entry = self._entries.get((scope, url))
        if entry is not None:
            self._entries.move_to_end((scope, url))
        return entry

    def put(self, scope: str, url: str, entry: _Cached) -> None:
        if len(entry.body) > self.max_bytes:
            return
        previous = self._entries.pop((scope, url), None)
        if previous is not None:
            self.size -= len(previous.body)
        self._entries[(scope, url)] = entry
        self.size += len(entry.body)
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)


SHARED_CACHE = ETagCache()
"""The process-lifetime cache clients use unless given their own."""

_KEPT_HEADERS = ("link", "x-next-page", "x-page", "x-total", "x-total-pages", "content-type")
_CREDENTIAL_HEADERS = ("authorization", "private-token", "job-token")


def _header_int(headers: httpx.Headers, *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _retry_after(headers: httpx.Headers, now: float) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def _message(body: bytes) -> str:
    """The API's own explanation: ``message`` (GitHub, GitLab) or ``error``, else the text."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return body[:200].decode(errors="replace").strip()
    if isinstance(data, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return ""


class ApiClient:
    """An async JSON API client for one base URL; see the module docstring for what it handles.

    ``sleep`` and ``clock`` are injectable so tests do not wait for real; constructing a
    client does no I/O (the connection pool opens on the first call).
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        max_retries: int = 2,
        timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 60.0,
        backoff: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ETagCache | None = None,
        clock: Clock = time.time,
    ) -> None:
        all_headers = {"Accept": "application/json", "User-Agent": "stagegraph"}
        all_headers.update(headers or {})
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.stats = ApiStats()
        self._sleep = sleep
        self._clock = clock
        self._cache = SHARED_CACHE if cache is None else cache
        self._scope = self._cache_scope(self.base_url, all_headers, auth)
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=all_headers,
            auth=auth,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    @staticmethod
    def _cache_scope(
        base_url: str, headers: Mapping[str, str], auth: httpx.Auth | tuple[str, str] | None
    ) -> str:
        # Answers are remembered per credentials: one token's view is never served to another.
        credentials = [
            f"{k.lower()}={v}" for k, v in headers.items() if k.lower() in _CREDENTIAL_HEADERS
        ]
        if isinstance(auth, tuple):
            credentials.append(f"basic={auth[0]}:{auth[1]}")
        elif auth is not None:
            credentials.append(f"auth={type(auth).__qualname__}:{id(auth)}")
        digest = hashlib.sha256("\n".join(sorted(credentials)).encode()).hexdigest()[:16]
        return f"{base_url}#{digest}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _url(self, path_or_url: str, params: Mapping[str, Any] | None) -> httpx.URL:
        if path_or_url.startswith(("http://", "https://")):
            url = httpx.URL(path_or_url)
        else:
            url = httpx.URL(self.base_url + "/" + path_or_url.lstrip("/"))
        if params:
            url = url.copy_merge_params({k: v for k, v in params.items() if v is not None})
        return url

    async def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> ApiResponse:
        """GET a URL (relative to the base URL, or absolute), conditionally when remembered."""
        return await self._send("GET", self._url(path_or_url, params))

    async def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.get(path_or_url, params)).json()

    async def post(
        self,
        path_or_url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """POST (e.g. a Jenkins crumb or a GraphQL query); never cached."""
        return await self._send(
            "POST", self._url(path_or_url, None), json=json, data=data, headers=headers
        )

    async def paginate(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        items: Callable[[Any], list[Any]] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Any]:
        """Every item of every page, following ``Link rel=next`` or ``X-Next-Page``.

        ``items`` takes the list out of a page body (default: the body is the list, as for
        GitHub's ``/orgs/{org}/repos``; ``lambda b: b["workflow_runs"]`` for wrapped lists);
        ``limit`` stops after that many items without fetching further pages.
        """
        url: httpx.URL | None = self._url(path_or_url, params)
        seen: set[str] = set()
        count = 0
        while url is not None and str(url) not in seen:
            seen.add(str(url))
            response = await self._send("GET", url)
            body = response.json()
            page = items(body) if items is not None else body
            if not isinstance(page, list):
                raise ApiError(
                    str(url),
                    response.status,
                    f"expected a list of items, got {type(page).__name__}; is this a list endpoint?",
                )
            for item in page:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            if "next" in response.links:
                url = self._url(response.links["next"], None)
            elif response.next_page is not None:
                url = url.copy_set_param("page", response.next_page)
            else:
                url = None

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        key = str(url)
        attempt = 0
        while True:
            cached = self._cache.get(self._scope, key) if method == "GET" else None
            request_headers = dict(headers or {})
            if cached is not None:
                request_headers["If-None-Match"] = cached.etag
            self.stats.calls += 1
            try:
                response = await self._client.request(
                    method, url, headers=request_headers, json=json, data=data
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise ApiError(
                        key,
                        None,
                        f"{type(exc).__name__}: {exc or 'no answer'} after {attempt + 1} tries; "
                        "check the API URL and that the server is reachable",
                    ) from exc
                await self._wait(self._backoff(attempt))
                attempt += 1
                continue
            self._note_rate_limit(response.headers)
            if response.status_code == 304 and cached is not None:
                self.stats.not_modified += 1
                kept = httpx.Headers([*cached.headers, *self._rate_headers(response.headers)])
                return ApiResponse(key, 200, kept, cached.body, not_modified=True)
            if response.is_success:
                etag = response.headers.get("etag")
                if method == "GET" and etag:
                    kept_headers = tuple(
                        (k, v) for k, v in response.headers.multi_items() if k in _KEPT_HEADERS
                    )
                    self._cache.put(self._scope, key, _Cached(etag, response.content, kept_headers))
                return ApiResponse(
                    key, response.status_code, response.headers, response.content, False
                )
            wait = self._retry_wait(key, response, attempt)
            await self._wait(wait)
            attempt += 1

    def _retry_wait(self, url: str, response: httpx.Response, attempt: int) -> float:
        """How long to wait before trying ``url`` again, or raise when it should not be."""
        status = response.status_code
        headers = response.headers
        message = _message(response.content)
        said = f' (the API says: "{message}")' if message else ""
        now = self._clock()
        retry_after = _retry_after(headers, now)
        remaining = _header_int(headers, "x-ratelimit-remaining", "ratelimit-remaining")
        secondary = "secondary rate limit" in message.lower() or "abuse" in message.lower()
        wait: float | None = None
        limited = False
        if status in (403, 429) and remaining == 0 and retry_after is None:
            limited = True
            reset = _header_int(headers, "x-ratelimit-reset", "ratelimit-reset")
            wait = max(0.0, reset - now) + 1.0 if reset is not None else self._backoff(attempt)
        elif status in (403, 429) and (retry_after is not None or secondary or status == 429):
            limited = True
            wait = retry_after if retry_after is not None else max(60.0, self._backoff(attempt))
        elif status >= 500 or status == 408:
            wait = retry_after if retry_after is not None else self._backoff(attempt)
        if wait is None:
            raise self._failure(url, status, said)
        if limited and wait > self.max_wait:
            raise RateLimitError(
                url,
                status,
                f"rate limited{said}; the limit resets in {wait:.0f}s, longer than the "
                f"{self.max_wait:.0f}s this client may wait: try again later, or use a token "
                "with a higher limit",
            )
        if attempt >= self.max_retries:
            kind = RateLimitError if limited else ApiError
            raise kind(
                url,
                status,
                f"still failing after {attempt + 1} tries{said}; the server may be down or "
                "overloaded: try again later",
            )
        return min(wait, self.max_wait)

    @staticmethod
    def _failure(url: str, status: int, said: str) -> ApiError:
        if status == 401:
            return AuthError(
                url,
                status,
                f"bad or expired credentials{said}: check the token given to the source",
            )
        if status == 403:
            return AuthError(
                url,
                status,
                f"forbidden{said}: the token lacks a permission or scope this call needs "
                "(see the source's documentation for the scopes)",
            )
        if status == 404:
            return NotFoundError(
                url,
                status,
                f"not found{said}: check the name in the source's config, and that the "
                "token can see it (private resources answer 404 to others)",
            )
        return ApiError(url, status, f"the API refused the call{said}")

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_wait, self.backoff * 2.0**attempt))

    async def _wait(self, seconds: float) -> None:
        self.stats.retries += 1
        await self._sleep(seconds)

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        remaining = _header_int(headers, "x-ratelimit-remaining", "ratelimit-remaining")
        if remaining is not None:
            self.stats.rate_limit_remaining = remaining
        reset = _header_int(headers, "x-ratelimit-reset", "ratelimit-reset")
        if reset is not None:
            self.stats.rate_limit_reset = float(reset)

    @staticmethod
    def _rate_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
        return [(k, v) for k, v in headers.multi_items() if "ratelimit" in k]
