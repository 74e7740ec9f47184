"""The GitLab source (``type: gitlab``): ``get`` (:mod:`.get`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/gitlab.md``."""

from __future__ import annotations

import asyncio
import os

from ingestors.contract import Fetch, SourceType
from ingestors.gitlab.config import GitlabSource
from ingestors.gitlab.get import get_group
from ingestors.gitlab.transform import SOURCE_TYPE, transform_group
from ingestors.http import ApiClient, Sleep
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

__all__ = ["GITLAB", "GitlabSource", "gitlab_fetcher", "read_gitlab"]


async def read_gitlab(
    config: GitlabSource,
    lookup: CatalogLookup,
    *,
    token: str | None,
    sleep: Sleep = asyncio.sleep,
    max_wait: float = 60.0,
) -> Snapshot:
    """Read the group (get) and transform it; raises an IngestError when it cannot be listed."""
    headers = {"PRIVATE-TOKEN": token} if token else {}
    async with ApiClient(config.api_url, headers=headers, sleep=sleep, max_wait=max_wait) as client:
        payload = await get_group(client, config, lookup)
        snapshot = transform_group(
            payload,
            builds_per_pipeline=config.builds_per_pipeline,
            deployments_per_environment=config.deployments_per_environment,
        )
        stats = client.stats
    snapshot.stats.update(
        {"apiCalls": stats.calls, "notModified": stats.not_modified, "retries": stats.retries}
    )
    snapshot.stats["projects"] = len(payload.projects) + len(payload.failed) + len(payload.skipped)
    if stats.rate_limit_remaining is not None:
        snapshot.stats["rateLimitRemaining"] = stats.rate_limit_remaining
    if not token:
        snapshot.warnings.insert(
            0,
            f"no token in ${config.token_env}: read anonymously (public projects only); "
            f"set {config.token_env} to a token with read_api scope",
        )
    return snapshot


def gitlab_fetcher(source: GitlabSource, lookup: CatalogLookup) -> Fetch:

    async def fetch() -> Snapshot:
        token = os.environ.get(source.token_env) or None
        return await read_gitlab(source, lookup, token=token)

    return fetch


GITLAB = SourceType(SOURCE_TYPE, GitlabSource, gitlab_fetcher)
