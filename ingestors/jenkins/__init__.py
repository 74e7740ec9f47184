"""The Jenkins source (``type: jenkins``): ``get`` (:mod:`.get`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/jenkins.md``."""

from __future__ import annotations

import asyncio
import os

from ingestors.contract import Fetch, SourceType
from ingestors.http import ApiClient, Sleep
from ingestors.jenkins.config import JenkinsSource
from ingestors.jenkins.crumb import JenkinsAuth
from ingestors.jenkins.get import get_jenkins
from ingestors.jenkins.transform import SOURCE_TYPE, transform_jenkins
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

__all__ = ["JENKINS", "JenkinsSource", "jenkins_fetcher", "read_jenkins"]


async def read_jenkins(
    config: JenkinsSource,
    lookup: CatalogLookup,
    *,
    token: str | None,
    sleep: Sleep = asyncio.sleep,
    max_wait: float = 60.0,
) -> Snapshot:
    """Walk the controller (get) and transform it; raises an IngestError when it cannot."""
    auth = JenkinsAuth(config.url, config.user, token)
    async with ApiClient(config.url, auth=auth, sleep=sleep, max_wait=max_wait) as client:
        payload = await get_jenkins(client, config, lookup)
        stats = client.stats
    snapshot = transform_jenkins(payload, builds_per_pipeline=config.builds_per_pipeline)
    snapshot.stats.update(
        {
            "apiCalls": stats.calls,
            "retries": stats.retries,
            "jobs": len(payload.jobs),
            "crumbsFetched": auth.crumbs_fetched,
        }
    )
    if not (config.user and token):
        snapshot.warnings.insert(
            0,
            f"no user and API token (user, ${config.token_env}): read anonymously; "
            "set both to read what the user can see",
        )
    return snapshot


def jenkins_fetcher(source: JenkinsSource, lookup: CatalogLookup) -> Fetch:

    async def fetch() -> Snapshot:
        token = os.environ.get(source.token_env) or None
        return await read_jenkins(source, lookup, token=token)

    return fetch


JENKINS = SourceType(SOURCE_TYPE, JenkinsSource, jenkins_fetcher)
