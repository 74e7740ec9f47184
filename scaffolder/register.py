"""``catalog:register``'s way into the catalog: read the new repository's descriptor and
ingest it at once, every entity annotated with the template it was made from.

The descriptor URL is ``<repository>/blob/<ref>/<path>`` (what the ``publish:*`` actions
give as ``repoContentsUrl``); the repository becomes the git source
``scaffolder:<repository>``, read at ``ref`` for ``path`` only.
"""

from __future__ import annotations

import re
from dataclasses import replace

from catalog.relations import SOURCE_TEMPLATE_ANNOTATION
from graph.port import EntityFilter, GraphStore
from ingestors.git import git_fetch
from ingestors.runner import run_ingestion
from ingestors.snapshot import Snapshot
from scaffolder.actions.contract import Registrar
from scaffolder.errors import ActionError

_BLOB = re.compile(r"^(?P<repo>.+?)/(?:-/)?(?:blob|tree)/(?P<ref>[^/]+)/(?P<path>.+)$")


def split_descriptor_url(url: str) -> tuple[str, str, str]:
    """``<repository>/blob/<ref>/<path>`` -> (repository, ref, path)."""
    found = _BLOB.match(url)
    if found is None:
        raise ActionError(
            f"cannot register {url!r}: expected <repository>/blob/<branch>/<file>, as the "
            "publish actions' repoContentsUrl plus catalogInfoPath gives"
        )
    return found["repo"], found["ref"], found["path"]


def annotate(snapshot: Snapshot, template_ref: str) -> Snapshot:
    """Every entity of the snapshot marked ``backstage.io/source-template: template_ref``."""
    for index, item in enumerate(snapshot.descriptors):
        metadata = item.entity.metadata
        annotations = {SOURCE_TEMPLATE_ANNOTATION: template_ref, **metadata.annotations}
        entity = item.entity.model_copy(
            update={"metadata": metadata.model_copy(update={"annotations": annotations})}
        )
        snapshot.descriptors[index] = replace(item, entity=entity)
    return snapshot


def git_registrar(store: GraphStore) -> Registrar:
    """A registrar that ingests the descriptor's repository as a git source of its own."""

    async def register(target: str, template_ref: str) -> list[str]:
        repo, ref, path = split_descriptor_url(target)
        fetch = git_fetch(repo, ref, [path])

        async def annotated() -> Snapshot:
            return annotate(await fetch(), template_ref)

        run = await run_ingestion(
            store,
            source=f"scaffolder:{repo}",
            source_type="git",
            fetch=annotated,
            trigger="scaffolder",
        )
        if run.status not in ("SUCCEEDED", "PARTIAL"):
            problems = "; ".join(e.message for e in run.errors) or run.status
            raise ActionError(f"ingesting {target} failed: {problems}")
        page = await store.list_entities(EntityFilter(source=f"scaffolder:{repo}"), first=100)
        return [e.ref for e in page.entities]

    return register
