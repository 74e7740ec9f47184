"""The GitHub source (``type: github``): ``get`` (:mod:`.fetch`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/github.md``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from catalog.delivery import PROJECT_SLUG_ANNOTATION
from graph.port import GraphStore, RunRecord
from ingestors.contract import Fetch, SourceType
from ingestors.errors import SourceConfigError, SourceUnavailableError
from ingestors.github.config import GithubSource
from ingestors.github.fetch import get_org
from ingestors.github.payload import load_recorded
from ingestors.github.transform import SOURCE_TYPE, transform_org
from ingestors.http import ApiClient, ETagCache, Sleep
from ingestors.lookup import CatalogLookup
from ingestors.runner import RunPolicy, run_ingestion
from ingestors.snapshot import Snapshot


def github_client(
    source: GithubSource,
    token: str | None,
    cache: ETagCache | None = None,
    sleep: Sleep = asyncio.sleep,
) -> ApiClient:
    """A client for the source's API; answers are remembered (ETags) for the process's life."""
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return ApiClient(
        source.api_url, headers=headers, max_wait=source.max_wait, cache=cache, sleep=sleep
    )


def github_fetcher(
    source: GithubSource,
    lookup: CatalogLookup | None = None,
    *,
    cache: ETagCache | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Fetch:
    """The fetch of a GitHub source; the token is read from ``tokenEnv`` when it runs.
    ``cache`` (default: the process-wide one) and ``sleep`` are for tests."""
    catalog = lookup or CatalogLookup(None)

    async def fetch() -> Snapshot:
        token = os.environ.get(source.token_env) or None
        if token is None and source.api_url == "https://api.github.com":
            raise SourceConfigError(
                source.name,
                f"no token: set the environment variable {source.token_env} to a GitHub token "
                "(read:org and repo scopes, or a GitHub App installation token)",
            )
        async with github_client(source, token, cache, sleep) as client:
            payload = await get_org(client, source, catalog, token)
        snapshot = transform_org(payload, source)
        snapshot.warnings.extend(payload.warnings)
        return snapshot

    return fetch


GITHUB = SourceType(SOURCE_TYPE, GithubSource, github_fetcher)


async def ingest_recorded(
    store: GraphStore,
    directory: Path,
    *,
    name: str,
    trigger: str = "cli",
    policy: RunPolicy | None = None,
) -> RunRecord:
    """Ingest recorded GitHub API answers (see :func:`load_recorded`) as the source ``name``,
    with no network: the demo's CI data. Repositories link to the catalog's components by
    their ``github.com/project-slug`` annotation, as a live run does."""
    lookup = CatalogLookup(store)

    async def fetch() -> Snapshot:
        catalog = await lookup.refs_by_annotation(PROJECT_SLUG_ANNOTATION)
        try:
            payload = await asyncio.to_thread(load_recorded, directory, catalog)
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceUnavailableError(
                str(directory), f"recorded payloads unreadable: {exc}"
            ) from exc
        return transform_org(payload, GithubSource(name=name, org=payload.org))

    return await run_ingestion(
        store, source=name, source_type=SOURCE_TYPE, fetch=fetch, trigger=trigger, policy=policy
    )


__all__ = ["GITHUB", "GithubSource", "github_fetcher", "ingest_recorded", "transform_org"]
