"""What every source that reads an HTTP API (GitHub, GitLab, Jenkins) shares, written once:
the config fields (:class:`ApiSourceConfig`: ``tokenEnv``, ``maxAttempts``,
``retryBackoff``, and the http(s) URL check), the token read from the config's secret
(:func:`read_token`, the one place a source's secret is read from the environment), the
client (:func:`open_client`, an :class:`~ingestors.http.ApiClient` retrying as configured),
the read (:func:`read_api`: get -> transform, the client's figures in the run's stats) and
the fetch the registry calls (:func:`api_fetcher`).

A source package then reads as its pipeline::

    async def read_gitlab(config, lookup, *, token, sleep=asyncio.sleep) -> Snapshot:
        client = open_client(config, config.api_url, headers=..., sleep=sleep)
        return await read_api(client, lambda c: get_group(c, config, lookup), transform)

    GITLAB = SourceType("gitlab", GitlabSource, api_fetcher(read_gitlab))

Retries: a call answered with a 5xx or 408, or with no answer, is tried ``maxAttempts``
times in all; failed try ``n`` (from 1) waits ``retryBackoff * 2^(n-1)`` before the next
one (a ``Retry-After`` the server sends wins), never longer than the client's ``max_wait``.
A rate-limited call counts its tries the same way. The defaults (3 attempts, 1s) bound a
call that keeps failing to 3 calls and 3s of waiting (it was 6 calls and 31s).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from ingestors.contract import Duration, Fetch, SourceConfig
from ingestors.http import ApiClient, ApiStats, ETagCache, Sleep
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

#: an environment variable's name
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_BACKOFF = timedelta(seconds=1)


def http_url(what: str, hint: str) -> AfterValidator:
    """The check of a URL field: http(s) only, the trailing ``/`` dropped; a bad value is
    refused as ``'<value>' is not <what>: <hint>``."""

    def check(value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise PydanticCustomError(
                "http_url",
                "'{value}' is not {what}: {hint}",
                {"value": value, "what": what, "hint": hint},
            )
        return value.rstrip("/")

    return AfterValidator(check)


def token_env(default: str, sent_as: str) -> Any:
    """The ``tokenEnv`` field of a source whose token is in ``default`` unless configured."""
    return Field(
        default=default,
        alias="tokenEnv",
        pattern=ENV_NAME,
        description=f"The environment variable holding the token ({sent_as}); the token is "
        "read from it when a run starts, never from the file.",
    )


class ApiSourceConfig(SourceConfig):
    """What every API source has besides its URL: where its token is, and how it retries."""

    token_env: str = token_env("TOKEN", "a secret")
    max_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS,
        ge=1,
        le=10,
        alias="maxAttempts",
        description="Tries per API call that fails (5xx, 408, no answer, rate limited), the "
        "first included.",
    )
    retry_backoff: Duration = Field(
        default=DEFAULT_RETRY_BACKOFF,
        alias="retryBackoff",
        description="Wait after the first failed try; doubled after each further one.",
    )

    @field_validator("retry_backoff")
    @classmethod
    def _backoff_at_most_a_minute(cls, value: timedelta) -> timedelta:
        if value > timedelta(minutes=1):
            raise PydanticCustomError(
                "retry_backoff", "must be at most 1m (the wait doubles on each try)"
            )
        return value


ConfigT = TypeVar("ConfigT", bound=ApiSourceConfig)
ConfigT_contra = TypeVar("ConfigT_contra", bound=ApiSourceConfig, contravariant=True)
PayloadT = TypeVar("PayloadT")


def read_token(config: ApiSourceConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """The source's token: the variable ``tokenEnv`` names (None when unset or empty)."""
    return (os.environ if environ is None else environ).get(config.token_env) or None


def open_client(
    config: ApiSourceConfig,
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    sleep: Sleep = asyncio.sleep,
    max_wait: float = 60.0,
    cache: ETagCache | None = None,
) -> ApiClient:
    """A client for ``base_url`` that retries as the source is configured (no I/O yet)."""
    return ApiClient(
        base_url,
        headers=headers,
        auth=auth,
        max_retries=config.max_attempts - 1,
        backoff=config.retry_backoff.total_seconds(),
        sleep=sleep,
        max_wait=max_wait,
        cache=cache,
    )


def api_stats(stats: ApiStats) -> dict[str, int]:
    """A client's figures as a run's stats: ``apiCalls``, ``notModified``, ``retries`` and,
    when the API said, ``rateLimitRemaining``."""
    figures = {"apiCalls": stats.calls, "notModified": stats.not_modified, "retries": stats.retries}
    if stats.rate_limit_remaining is not None:
        figures["rateLimitRemaining"] = stats.rate_limit_remaining
    return figures


async def read_api(
    client: ApiClient,
    get: Callable[[ApiClient], Awaitable[PayloadT]],
    transform: Callable[[PayloadT], Snapshot],
) -> Snapshot:
    """``get`` with the client (closed after), then ``transform`` the payload; the client's
    figures go into the snapshot's stats."""
    async with client:
        payload = await get(client)
    snapshot = transform(payload)
    snapshot.stats.update(api_stats(client.stats))
    return snapshot


class ApiRead(Protocol[ConfigT_contra]):
    """A source's read: its config, the catalog lookup and the token -> a snapshot."""

    def __call__(
        self, config: ConfigT_contra, lookup: CatalogLookup, *, token: str | None
    ) -> Awaitable[Snapshot]: ...


def api_fetcher(read: ApiRead[ConfigT]) -> Callable[[ConfigT, CatalogLookup], Fetch]:
    """The fetcher a :class:`~ingestors.contract.SourceType` registers: each fetch reads
    the token (:func:`read_token`) when it runs, then ``read``."""

    def fetcher(config: ConfigT, lookup: CatalogLookup) -> Fetch:
        async def fetch() -> Snapshot:
            return await read(config, lookup, token=read_token(config))

        return fetch

    return fetcher
