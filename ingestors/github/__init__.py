"""The GitHub source (``type: github``): ``get`` (:mod:`.get`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Documented in ``docs/sources/github.md``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from catalog.delivery import PROJECT_SLUG_ANNOTATION
from graph.port import GraphStore, RunRecord
from ingestors.client import api_fetcher, open_client, read_api
from ingestors.contract import Fetch, Scope, SourceType
from ingestors.errors import SourceConfigError, SourceUnavailableError
from ingestors.github.config import DEFAULT_API_URL, GithubSource
from ingestors.github.events import read_events
from ingestors.github.get import get_org, get_scope
from ingestors.github.payload import OrgPayload, load_recorded
from ingestors.github.transform import SOURCE_TYPE, transform_org
from ingestors.http import ETagCache, Sleep
from ingestors.lookup import CatalogLookup
from ingestors.runner import RunPolicy, run_ingestion
from ingestors.snapshot import Snapshot

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


async def read_github(
    config: GithubSource,
    lookup: CatalogLookup,
    *,
    token: str | None,
    cache: ETagCache | None = None,
    sleep: Sleep = asyncio.sleep,
    scope: Scope = (),
) -> Snapshot:
    """Read the organisation (get) and transform it; answers are remembered (ETags) for the
    process's life unless ``cache`` is given. With a ``scope`` (``github:ORG/REPO``,
    ``github:ORG/teams``), only those repositories and teams are read. Raises an IngestError
    when it cannot."""
    if token is None and config.api_url == DEFAULT_API_URL:
        raise SourceConfigError(
            config.name,
            f"no token: set the environment variable {config.token_env} to a GitHub token "
            "(read:org and repo scopes, or a GitHub App installation token)",
        )

    def transform(payload: OrgPayload) -> Snapshot:
        snapshot = transform_org(payload, config)
        snapshot.warnings.extend(payload.warnings)
        return snapshot

    headers = {**HEADERS, "Authorization": f"Bearer {token}"} if token else HEADERS
    client = open_client(
        config, config.api_url, headers=headers, max_wait=config.max_wait, cache=cache, sleep=sleep
    )
    if scope:
        return await read_api(
            client, lambda c: get_scope(c, config, lookup, token, scope), transform
        )
    return await read_api(client, lambda c: get_org(c, config, lookup, token), transform)


def github_fetcher(
    source: GithubSource,
    lookup: CatalogLookup | None = None,
    *,
    cache: ETagCache | None = None,
    sleep: Sleep = asyncio.sleep,
    scope: Scope = (),
) -> Fetch:
    """The fetch of a GitHub source (or of a ``scope`` of it) with its own ``cache`` and
    ``sleep`` (for tests)."""

    async def read(config: GithubSource, lookup: CatalogLookup, *, token: str | None) -> Snapshot:
        return await read_github(config, lookup, token=token, cache=cache, sleep=sleep, scope=scope)

    return api_fetcher(read)(source, lookup or CatalogLookup(None))


def github_scoped_fetcher(source: GithubSource, lookup: CatalogLookup, scope: Scope) -> Fetch:
    """The fetch of some repositories (``github:ORG/REPO``) or the teams of a source."""
    return github_fetcher(source, lookup, scope=scope)


def github_event_fetcher(
    source: GithubSource, lookup: CatalogLookup, events: Sequence[str]
) -> Fetch:
    """The fetch applying webhook payloads (workflow runs, deployments) directly: no API
    call, no clone (:mod:`.events`)."""

    async def fetch() -> Snapshot:
        return await read_events(source, lookup, events)

    return fetch


GITHUB = SourceType(
    SOURCE_TYPE,
    GithubSource,
    api_fetcher(read_github),
    github_scoped_fetcher,
    github_event_fetcher,
)


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


__all__ = [
    "GITHUB",
    "GithubSource",
    "github_event_fetcher",
    "github_fetcher",
    "ingest_recorded",
    "read_github",
    "transform_org",
]
