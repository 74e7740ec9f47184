"""The git source (``type: git``): ``get`` (:mod:`.get`, over :mod:`.tree`) -> ``transform``
(:mod:`.transform`) -> the shared runner. Configured by :class:`.config.GitSource`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from graph.port import GraphStore, RunRecord
from ingestors.contract import Fetch, Scope, SourceType
from ingestors.git.config import GitSource
from ingestors.git.get import read_git_source
from ingestors.lookup import CatalogLookup
from ingestors.runner import Progress, RunPolicy, run_ingestion
from ingestors.snapshot import Snapshot
from ingestors.stream import DescriptorStream

SOURCE_TYPE = "git"


def git_fetch(
    url: str,
    ref: str | None = None,
    paths: Sequence[str] = (),
    *,
    lookup: CatalogLookup | None = None,
    name: str | None = None,
) -> Fetch:
    """The fetch of one repository: :func:`read_git_source` in a thread. With ``lookup`` and
    the source's ``name``, files unchanged since the source's last run are not read again.
    A read of every file (no file known: a first ingest, a scoped read) is streamed: the
    runner writes its descriptors batch by batch while the thread reads on
    (:mod:`ingestors.stream`)."""

    async def fetch() -> Snapshot | DescriptorStream:
        known = await lookup.source_files(name) if lookup is not None and name else None
        if known:
            return await asyncio.to_thread(read_git_source, url, ref, paths, known)
        return DescriptorStream.read(
            lambda emit: read_git_source(url, ref, paths, known, emit=emit)
        )

    return fetch


def git_fetcher(source: GitSource, lookup: CatalogLookup | None = None) -> Fetch:
    """The fetch of a configured git source; ``lookup`` gives what its files produced last
    time (unchanged files are not read again)."""
    return git_fetch(source.url, source.ref, source.paths, lookup=lookup, name=source.name)


def git_scoped_fetcher(source: GitSource, lookup: CatalogLookup | None, scope: Scope) -> Fetch:
    """The fetch of some folders (or files) of a git source: their descriptors, read as a
    whole read would (Locations followed, CODEOWNERS owners)."""
    return git_fetch(source.url, source.ref, scope)


GIT = SourceType(SOURCE_TYPE, GitSource, git_fetcher, git_scoped_fetcher)


async def ingest_git(
    store: GraphStore,
    source: str,
    *,
    name: str,
    ref: str | None = None,
    paths: Sequence[str] = (),
    trigger: str = "cli",
    policy: RunPolicy | None = None,
    progress: Progress | None = None,
) -> RunRecord:
    """Ingest a git repository (local path or URL) as the source ``name``."""
    return await run_ingestion(
        store,
        source=name,
        source_type=SOURCE_TYPE,
        fetch=git_fetch(source, ref, paths, lookup=CatalogLookup(store), name=name),
        trigger=trigger,
        policy=policy,
        progress=progress,
    )


__all__ = ["GIT", "SOURCE_TYPE", "GitSource", "git_fetcher", "ingest_git", "read_git_source"]
