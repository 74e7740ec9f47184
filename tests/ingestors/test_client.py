"""Every API source retries as its config entry says (``maxAttempts``, ``retryBackoff``),
against a real server on loopback whose vital first call always answers 503."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from ingestors.client import ApiSourceConfig, read_token
from ingestors.errors import IngestError
from ingestors.github import GithubSource, read_github
from ingestors.gitlab import GitlabSource, read_gitlab
from ingestors.http import ETagCache
from ingestors.jenkins import JenkinsSource, read_jenkins
from ingestors.lookup import CatalogLookup
from ingestors.registry import parse_sources
from ingestors.snapshot import Snapshot
from tests.loopback import LoopbackServer, RecordedSleep

Read = Callable[[LoopbackServer, dict[str, Any], RecordedSleep], Awaitable[Snapshot]]


async def _github(api: LoopbackServer, options: dict[str, Any], sleep: RecordedSleep) -> Snapshot:
    config = GithubSource.model_validate(
        {"name": "gh", "org": "acme", "apiUrl": api.url, **options}
    )
    return await read_github(config, CatalogLookup(None), token="t", cache=ETagCache(), sleep=sleep)


async def _gitlab(api: LoopbackServer, options: dict[str, Any], sleep: RecordedSleep) -> Snapshot:
    config = GitlabSource.model_validate(
        {"name": "gl", "group": "acme", "apiUrl": api.url, **options}
    )
    return await read_gitlab(config, CatalogLookup(None), token="t", sleep=sleep)


async def _jenkins(api: LoopbackServer, options: dict[str, Any], sleep: RecordedSleep) -> Snapshot:
    config = JenkinsSource.model_validate({"name": "ci", "url": api.url, **options})
    return await read_jenkins(config, CatalogLookup(None), token="t", sleep=sleep)


#: each API source, and the path of the first call its run cannot do without
SOURCES: dict[str, tuple[Read, str]] = {
    "github": (_github, "/orgs/acme/repos"),
    "gitlab": (_gitlab, "/groups/acme/projects"),
    "jenkins": (_jenkins, "/api/json"),
}


@pytest.fixture
def api() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize(
    ("options", "calls", "waits"),
    [
        ({"maxAttempts": 1}, 1, []),
        ({"maxAttempts": 4, "retryBackoff": "2s"}, 4, [2.0, 4.0, 8.0]),
        ({}, 3, [1.0, 2.0]),  # the defaults: 3 attempts, 1s doubled
    ],
)
async def test_a_call_that_keeps_failing_is_tried_max_attempts_times(
    api: LoopbackServer,
    source: str,
    options: dict[str, Any],
    calls: int,
    waits: list[float],
) -> None:
    read, vital = SOURCES[source]
    api.route("GET", vital, (503, {}, {"message": "down for maintenance"}))
    sleep = RecordedSleep()

    with pytest.raises(IngestError, match="HTTP 503"):
        await read(api, options, sleep)

    assert [r.path for r in api.requests] == [vital] * calls
    assert sleep.waits == waits


def test_retry_options_are_checked_where_they_are_written() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_sources(
            [
                {"name": "gl", "type": "gitlab", "group": "acme", "maxAttempts": 0},
                {"name": "ci", "type": "jenkins", "url": "https://ci", "retryBackoff": "2m"},
                {"name": "gh", "type": "github", "org": "acme", "tokenEnv": "NOT A NAME"},
            ]
        )

    problems = {e["loc"]: e["msg"] for e in caught.value.errors()}
    assert problems[(0, "maxAttempts")] == "Input should be greater than or equal to 1"
    assert problems[(1, "retryBackoff")] == "must be at most 1m (the wait doubles on each try)"
    assert (2, "tokenEnv") in problems


def test_the_token_is_read_from_the_variable_the_config_names() -> None:
    (source,) = parse_sources([{"name": "gl", "type": "gitlab", "group": "acme"}])
    assert isinstance(source, ApiSourceConfig)

    assert read_token(source, {"GITLAB_TOKEN": "glpat-1"}) == "glpat-1"
    assert read_token(source, {"GITLAB_TOKEN": ""}) is None
    assert read_token(source, {}) is None
