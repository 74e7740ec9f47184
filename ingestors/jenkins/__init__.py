"""The Jenkins source (``type: jenkins``): ``get`` (:mod:`.get`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/jenkins.md``."""

from __future__ import annotations

import asyncio

from ingestors.client import api_fetcher, open_client, read_api
from ingestors.contract import SourceType
from ingestors.http import Sleep
from ingestors.jenkins.config import JenkinsSource
from ingestors.jenkins.crumb import JenkinsAuth
from ingestors.jenkins.get import get_jenkins
from ingestors.jenkins.payload import JenkinsPayload
from ingestors.jenkins.transform import SOURCE_TYPE, transform_jenkins
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

__all__ = ["JENKINS", "JenkinsSource", "read_jenkins"]


async def read_jenkins(
    config: JenkinsSource,
    lookup: CatalogLookup,
    *,
    token: str | None,
    sleep: Sleep = asyncio.sleep,
    max_wait: float = 60.0,
) -> Snapshot:
    """Walk the controller (get) and transform it; raises an IngestError when it cannot."""

    def transform(payload: JenkinsPayload) -> Snapshot:
        snapshot = transform_jenkins(payload, builds_per_pipeline=config.builds_per_pipeline)
        snapshot.stats["jobs"] = len(payload.jobs)
        return snapshot

    auth = JenkinsAuth(config.url, config.user, token)
    client = open_client(config, config.url, auth=auth, sleep=sleep, max_wait=max_wait)
    snapshot = await read_api(client, lambda c: get_jenkins(c, config, lookup), transform)
    snapshot.stats["crumbsFetched"] = auth.crumbs_fetched
    if not (config.user and token):
        snapshot.warnings.insert(
            0,
            f"no user and API token (user, ${config.token_env}): read anonymously; "
            "set both to read what the user can see",
        )
    return snapshot


JENKINS = SourceType(SOURCE_TYPE, JenkinsSource, api_fetcher(read_jenkins))
