"""The GitLab source (``type: gitlab``): ``get`` (:mod:`.get`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/gitlab.md``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ingestors.client import api_fetcher, open_client, read_api, read_token
from ingestors.contract import Fetch, Scope, SourceType
from ingestors.gitlab.config import GitlabSource
from ingestors.gitlab.events import read_hooks
from ingestors.gitlab.get import get_group, get_scope
from ingestors.gitlab.payload import GroupPayload
from ingestors.gitlab.transform import SOURCE_TYPE, transform_group
from ingestors.http import Sleep
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

__all__ = ["GITLAB", "GitlabSource", "gitlab_event_fetcher", "read_gitlab"]


async def read_gitlab(
    config: GitlabSource,
    lookup: CatalogLookup,
    *,
    token: str | None,
    sleep: Sleep = asyncio.sleep,
    max_wait: float = 60.0,
    scope: Scope = (),
) -> Snapshot:
    """Read the group (get) and transform it; raises an IngestError when it cannot be listed.
    With a ``scope`` (``gitlab/<project path>``), only those projects are read."""

    def transform(payload: GroupPayload) -> Snapshot:
        snapshot = transform_group(
            payload,
            builds_per_pipeline=config.builds_per_pipeline,
            deployments_per_environment=config.deployments_per_environment,
        )
        read = len(payload.projects) + len(payload.failed) + len(payload.skipped)
        snapshot.stats["projects"] = read
        return snapshot

    headers = {"PRIVATE-TOKEN": token} if token else {}
    client = open_client(config, config.api_url, headers=headers, sleep=sleep, max_wait=max_wait)
    if scope:
        snapshot = await read_api(client, lambda c: get_scope(c, config, lookup, scope), transform)
    else:
        snapshot = await read_api(client, lambda c: get_group(c, config, lookup), transform)
    if not token:
        snapshot.warnings.insert(
            0,
            f"no token in ${config.token_env}: read anonymously (public projects only); "
            f"set {config.token_env} to a token with read_api scope",
        )
    return snapshot


def gitlab_scoped_fetcher(source: GitlabSource, lookup: CatalogLookup, scope: Scope) -> Fetch:
    """The fetch of some projects (``gitlab/<path>``) of a GitLab source."""

    async def fetch() -> Snapshot:
        return await read_gitlab(source, lookup, token=read_token(source), scope=scope)

    return fetch


def gitlab_event_fetcher(
    source: GitlabSource, lookup: CatalogLookup, events: Sequence[str]
) -> Fetch:
    """The fetch applying Pipeline and Deployment Hooks directly, with no API call
    (:mod:`.events`)."""

    async def fetch() -> Snapshot:
        return await read_hooks(source, lookup, events)

    return fetch


GITLAB = SourceType(
    SOURCE_TYPE,
    GitlabSource,
    api_fetcher(read_gitlab),
    gitlab_scoped_fetcher,
    gitlab_event_fetcher,
)
