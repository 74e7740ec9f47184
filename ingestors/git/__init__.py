"""The git source: ``get`` (:mod:`.tree`) -> ``transform`` (:mod:`.transform`) -> the runner."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from graph.port import GraphStore, RunRecord
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import open_source
from ingestors.runner import Progress, RunPolicy, run_ingestion
from ingestors.snapshot import Snapshot

SOURCE_TYPE = "git"


def read_git_source(source: str, ref: str | None = None, paths: Sequence[str] = ()) -> Snapshot:
    """Open the source and transform it (blocking: git subprocesses)."""
    with open_source(source, ref) as checkout:
        origin = Origin(checkout.repo, checkout.commit, checkout.prefix)
        snapshot = transform_tree(checkout.tree, origin, paths)
        if checkout.commit is None:
            snapshot.warnings.insert(
                0, f"{checkout.repo} is not a git repository: read the files on disk as they are"
            )
        return snapshot


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

    async def fetch() -> Snapshot:
        return await asyncio.to_thread(read_git_source, source, ref, paths)

    return await run_ingestion(
        store,
        source=name,
        source_type=SOURCE_TYPE,
        fetch=fetch,
        trigger=trigger,
        policy=policy,
        progress=progress,
    )
