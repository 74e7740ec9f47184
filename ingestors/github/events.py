"""GitHub webhook deliveries applied directly: ``workflow_run``, ``deployment`` and
``deployment_status`` payloads become the Build and Deployment a full read would make of
the same data, with no API call and no clone.

``get_known`` (store reads only) finds what the payload does not say and the last read
stored: the repository's Pipeline for a workflow (by ``github.com/project-slug`` and the
name :func:`~catalog.delivery.pipeline_name` gives it), and, for a deployment, the
repository's components (its own descriptors this source stored, under the repository's
source path, and the catalog's components annotated with its slug).
``transform_events`` (pure) then calls the full read's own
:func:`~ingestors.github.transform.build_document` and
:func:`~ingestors.github.transform.deployment_document`.

The snapshot is ``additive``: written as read, nothing cleaned up. Several deliveries about
one run or deployment keep the newest (by ``updated_at``, then by arrival), and a late one
does not undo a final state already stored (:func:`ingestors.direct.drop_regressions`). A delivery the
catalog cannot place yet (a workflow whose pipeline no read has stored, a repository with
no component, a repository the source's filters leave out) is passed over with a note in
the run's ``skipped``; the next read of the repository brings it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.delivery import PROJECT_SLUG_ANNOTATION, pipeline_name
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.refs import EntityRef, parse_ref
from catalog.validation import validate_entity
from graph.port import SOURCE_PATH_ANNOTATION
from ingestors.direct import newest_only, parse_payloads
from ingestors.errors import SourceUnavailableError
from ingestors.github.config import GithubSource
from ingestors.github.payload import Json, RepoPayload
from ingestors.github.transform import (
    GITHUB_ACTIONS,
    SOURCE_TYPE,
    build_document,
    deployment_document,
    primary_component,
    repo_components,
    scope,
)
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Descriptor, Snapshot

#: the events whose payload says everything their entity needs
DIRECT_EVENTS = frozenset({"workflow_run", "deployment", "deployment_status"})


@dataclass
class Known:
    """What the catalog holds that a payload does not say, per repository full name."""

    pipelines: dict[tuple[str, str], EntityRef] = field(default_factory=dict)
    """(full name, pipeline name) -> the stored pipeline's ref."""
    descriptors: dict[str, list[Descriptor]] = field(default_factory=dict)
    """full name -> the components the source read from the repository last time."""
    catalog_components: dict[str, list[str]] = field(default_factory=dict)
    """lowercased full name -> catalog components annotated with the slug."""


def _repo(payload: Json) -> Json:
    repo = payload.get("repository")
    return repo if isinstance(repo, dict) else {}


async def get_known(source: GithubSource, lookup: CatalogLookup, events: Sequence[Json]) -> Known:
    """Read from the catalog what the events' entities hang off (see the module)."""
    known = Known()
    repos = {str(_repo(e).get("full_name")) for e in events if _repo(e).get("full_name")}
    if any(e.get("deployment") for e in events):
        known.catalog_components = await lookup.refs_by_annotation(PROJECT_SLUG_ANNOTATION)
    for full in sorted(repos):
        if any(e.get("workflow_run") for e in events if _repo(e).get("full_name") == full):
            for document in await lookup.documents_annotated(
                PROJECT_SLUG_ANNOTATION, full, "pipeline"
            ):
                ref = _ref(document)
                known.pipelines[(full, ref.name.lower())] = ref
        if any(e.get("deployment") for e in events if _repo(e).get("full_name") == full):
            stored = await lookup.documents_annotated(
                SOURCE_PATH_ANNOTATION, scope(full), "component", source.name
            )
            location = SourceLocation(f"{full}/{source.catalog_path}")
            known.descriptors[full] = [
                Descriptor(validate_entity(d, location), location) for d in stored
            ]
    return known


def _ref(document: Json) -> EntityRef:
    metadata = document.get("metadata") or {}
    return parse_ref(
        str(metadata.get("name")),
        default_kind=str(document.get("kind")),
        default_namespace=str(metadata.get("namespace") or "default"),
    )


def _updated(payload: Json) -> str:
    for key in ("workflow_run", "deployment_status", "deployment"):
        item = payload.get(key)
        if isinstance(item, dict):
            return str(item.get("updated_at") or item.get("created_at") or "")
    return ""


def transform_events(source: GithubSource, events: Sequence[Json], known: Known) -> Snapshot:
    """The Builds and Deployments of ``events`` (pure; see the module)."""
    snapshot = Snapshot(source_type=SOURCE_TYPE, additive=True)
    chosen: dict[str, tuple[dict[str, Any], SourceLocation]] = {}
    ordered = sorted(enumerate(events), key=lambda pair: (_updated(pair[1]), pair[0]))
    for _, payload in ordered:
        repo = _repo(payload)
        full = str(repo.get("full_name") or "")
        why = source.wants(repo) if full else "no repository in the payload"
        if why is not None:
            snapshot.skipped.append(f"{full or 'a delivery'}: {why}")
            continue
        made = _build(source, payload, full, known) or _deployment(source, payload, full, known)
        if isinstance(made, str):
            snapshot.skipped.append(f"{full}: {made}")
        elif made is not None:
            chosen[str(made[0]["kind"]) + "/" + str(made[0]["metadata"]["name"])] = made
    for document, location in chosen.values():
        snapshot.add(document, location)
    snapshot.stats = {"deliveries": len(events)}
    return snapshot


def _build(
    source: GithubSource, payload: Json, full: str, known: Known
) -> tuple[dict[str, Any], SourceLocation] | str | None:
    run, workflow = payload.get("workflow_run"), payload.get("workflow")
    if not isinstance(run, dict):
        return None
    if not source.actions:
        return "a workflow run, but actions: false"
    if not isinstance(workflow, dict):
        workflow = {"id": run.get("workflow_id"), "path": run.get("path"), "name": run.get("name")}
    path = str(workflow.get("path") or run.get("path") or "")
    pipeline = known.pipelines.get((full, pipeline_name(full, GITHUB_ACTIONS, path).lower()))
    if pipeline is None:
        return f"run {run.get('id')} of {path}: the pipeline is not in the catalog yet"
    return build_document(full, workflow, run, pipeline, scope(full, "actions"))


def _deployment(
    source: GithubSource, payload: Json, full: str, known: Known
) -> tuple[dict[str, Any], SourceLocation] | str | None:
    deployment = payload.get("deployment")
    if not isinstance(deployment, dict):
        return None
    if not source.deployments:
        return "a deployment, but deployments: false"
    item = RepoPayload(
        repo=_repo(payload),
        descriptors=Snapshot("git", descriptors=known.descriptors.get(full, [])),
        catalog_components=known.catalog_components.get(full.lower(), []),
    )
    component = primary_component(item, repo_components(item))
    if component is None:
        return f"deployment {deployment.get('id')}: no component to link it to"
    status = payload.get("deployment_status")
    latest = status if isinstance(status, dict) else {}
    environment = str(deployment.get("environment") or "")
    return deployment_document(item.repo, environment, deployment, latest, component)


async def read_events(
    source: GithubSource, lookup: CatalogLookup, texts: Sequence[str]
) -> Snapshot:
    """Get what the events need from the catalog, then transform them."""
    events = parse_payloads(texts)
    try:
        known = await get_known(source, lookup, events)
    except InvalidEntityError as exc:  # a stored component no longer valid: read it again
        raise SourceUnavailableError(
            source.name, f"a stored component is unreadable: {exc}"
        ) from exc
    return await newest_only(transform_events(source, events, known), lookup.documents)
