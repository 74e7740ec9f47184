"""GitLab ``Pipeline Hook`` and ``Deployment Hook`` deliveries applied directly: the Build
or Deployment the read would make, with no API call.

A hook carries less than the API: a pipeline hook has no ``started_at``, a deployment hook
no ``iid`` nor ``created_at``, and a short commit id beside the commit's URL. The hook is put
in the API's shape (:func:`pipeline_detail`, :func:`deployment_detail`), with what it lacks
taken from the entity the last read stored (its ``startedAt``; its ``createdAt`` and the
number in its title); for an entity no read stored yet, the read's own fallbacks apply
(``created_at`` for the start, the status change time for the creation, the deployment id
for its number) until the next read of the project sets them. The entities themselves are
made by the read's :func:`~ingestors.gitlab.transform.build_entity` and
:func:`~ingestors.gitlab.transform.deployment_entity`.

``get_known`` reads from the catalog the project's Pipeline (by its slug annotation and the
name :func:`~catalog.delivery.pipeline_name` gives it), its components (the descriptors
this source stored under the project's source path, and the catalog's components annotated
with its slug) and the stored Builds and Deployments the hooks name. A pipeline whose
Pipeline no read stored, or a deployment of a project with no component, is passed over
(``skipped``) until the next read. The snapshot is ``additive`` (nothing cleaned up); of
several hooks about one entity the last wins, and a late one does not undo a final state
already stored (:func:`ingestors.direct.drop_regressions`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.delivery import (
    GITLAB_SLUG_ANNOTATION,
    build_name,
    deployment_name,
    iso_utc,
    pipeline_name,
    shared_namespace,
)
from catalog.errors import InvalidEntityError, SourceLocation
from catalog.validation import validate_entity
from graph.port import SOURCE_PATH_ANNOTATION
from ingestors.direct import newest_only, parse_payloads
from ingestors.errors import SourceUnavailableError
from ingestors.gitlab.config import GitlabSource
from ingestors.gitlab.payload import Json, ProjectPayload
from ingestors.gitlab.transform import (
    SOURCE_TYPE,
    build_entity,
    deployment_entity,
    primary_component,
    project_components,
    project_scope,
)
from ingestors.lookup import CatalogLookup
from ingestors.snapshot import Snapshot

#: the ``object_kind`` of hooks applied directly
DIRECT_EVENTS = frozenset({"pipeline", "deployment"})
_NUMBER = re.compile(r"#(\d+)$")


@dataclass
class Known:
    """What the catalog holds that a hook does not say."""

    pipelines: dict[str, str] = field(default_factory=dict)
    """project path -> the stored pipeline's ref (``pipeline:ns/name``)."""
    components: dict[str, tuple[dict[str, str], list[str]]] = field(default_factory=dict)
    """project path -> its components and the keys naming it (``project_components``)."""
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    """key -> the stored document of a Build or Deployment a hook names."""


def gitlab_time(value: Any) -> str | None:
    """A hook's time (``2024-05-02 10:00:00 UTC``, ``2024-05-02 12:00:00 +0200``) as ISO."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" UTC", "+00:00")
    text = re.sub(r" ([+-]\d\d):?(\d\d)$", r"\1:\2", text)
    return iso_utc(text.replace(" ", "T", 1))


def _path(hook: Json) -> str:
    project = hook.get("project")
    return str(project.get("path_with_namespace") or "") if isinstance(project, dict) else ""


def _kind(hook: Json) -> str:
    return str(hook.get("object_kind") or "")


def _project(hook: Json) -> ProjectPayload:
    project = hook.get("project")
    return ProjectPayload(project=dict(project) if isinstance(project, dict) else {}, ref="")


def _build_key(pipeline_ref: str, hook: Json) -> str:
    attributes = hook.get("object_attributes") or {}
    number = (
        attributes.get("iid") if isinstance(attributes.get("iid"), int) else attributes.get("id")
    )
    namespace, name = pipeline_ref.split(":", 1)[1].split("/", 1)
    return f"build:{namespace}/{build_name(name, str(number))}".lower()


def _deployment_key(path: str, namespace: str, hook: Json) -> str:
    environment = str(hook.get("environment") or "")
    name = deployment_name(path, environment, str(hook.get("deployment_id")))
    return f"deployment:{namespace}/{name}".lower()


async def get_known(source: GitlabSource, lookup: CatalogLookup, hooks: Sequence[Json]) -> Known:
    """Read from the catalog what the hooks' entities hang off (see the module)."""
    known = Known()
    paths = sorted({_path(h) for h in hooks if _path(h) and _kind(h) in DIRECT_EVENTS})
    deploying = {_path(h) for h in hooks if _kind(h) == "deployment"}
    linked = await lookup.refs_by_annotation(GITLAB_SLUG_ANNOTATION) if deploying else {}
    for path in paths:
        wanted = pipeline_name(path, "gitlab-ci").lower()
        for document in await lookup.documents_annotated(GITLAB_SLUG_ANNOTATION, path, "pipeline"):
            metadata = document.get("metadata") or {}
            if str(metadata.get("name")).lower() == wanted:
                known.pipelines[path] = (
                    f"pipeline:{metadata.get('namespace') or 'default'}/{metadata['name']}"
                )
        if path in deploying:
            stored = await lookup.documents_annotated(
                SOURCE_PATH_ANNOTATION, project_scope(path), "component", source.name
            )
            location = SourceLocation(f"gitlab:{path}")
            entities = [validate_entity(d, location) for d in stored]
            known.components[path] = project_components(
                path, entities, linked.get(path.lower(), [])
            )
    keys: list[str] = []
    for hook in hooks:
        path = _path(hook)
        if _kind(hook) == "pipeline" and path in known.pipelines:
            keys.append(_build_key(known.pipelines[path], hook))
        elif _kind(hook) == "deployment" and known.components.get(path, ({}, []))[0]:
            namespace = shared_namespace(known.components[path][0].values())
            keys.append(_deployment_key(path, namespace, hook))
    known.stored = await lookup.documents(keys)
    return known


def pipeline_detail(hook: Json, stored: dict[str, Any] | None) -> Json:
    """A Pipeline Hook in the shape of the API's pipeline details."""
    attributes = hook.get("object_attributes") or {}
    started = ((stored or {}).get("spec") or {}).get("startedAt")
    return {
        "id": attributes.get("id"),
        "iid": attributes.get("iid"),
        "status": attributes.get("status"),
        "ref": attributes.get("ref"),
        "sha": attributes.get("sha"),
        "source": attributes.get("source"),
        "created_at": gitlab_time(attributes.get("created_at")),
        "started_at": started,
        "duration": attributes.get("duration"),
        "web_url": attributes.get("url"),
    }


def deployment_detail(hook: Json, stored: dict[str, Any] | None) -> Json:
    """A Deployment Hook in the shape of the API's deployment."""
    before = stored or {}
    number = _NUMBER.search(str((before.get("metadata") or {}).get("title") or ""))
    commit_url = str(hook.get("commit_url") or "")
    user = hook.get("user")
    created = (before.get("spec") or {}).get("createdAt")
    return {
        "id": hook.get("deployment_id"),
        "iid": int(number.group(1)) if number else hook.get("deployment_id"),
        "status": hook.get("status"),
        "ref": hook.get("ref"),
        "sha": commit_url.rsplit("/", 1)[-1]
        if "/-/commit/" in commit_url
        else hook.get("short_sha"),
        "created_at": created or gitlab_time(hook.get("status_changed_at")),
        "user": {"username": user.get("username")} if isinstance(user, dict) else None,
        "deployable": {"web_url": hook.get("deployable_url")}
        if hook.get("deployable_url")
        else None,
        "environment": {"name": hook.get("environment")},
    }


def transform_hooks(source: GitlabSource, hooks: Sequence[Json], known: Known) -> Snapshot:
    """The Builds and Deployments of ``hooks`` (pure; the last hook of an entity wins)."""
    snapshot = Snapshot(source_type=SOURCE_TYPE, additive=True)
    chosen: dict[str, tuple[Json, str]] = {}
    for hook in hooks:
        path, kind = _path(hook), _kind(hook)
        project = _project(hook)
        if kind == "pipeline":
            pipeline = known.pipelines.get(path)
            if pipeline is None:
                snapshot.skipped.append(f"{path}: its pipeline is not in the catalog yet")
                continue
            key = _build_key(pipeline, hook)
            namespace = pipeline.split(":", 1)[1].split("/", 1)[0]
            detail = pipeline_detail(hook, known.stored.get(key))
            chosen[key] = (build_entity(project, namespace, pipeline, detail), path)
        elif kind == "deployment":
            components, annotated = known.components.get(path, ({}, []))
            if not components:
                snapshot.skipped.append(f"{path}: deployment not read (no component is linked)")
                continue
            namespace = shared_namespace(components.values())
            key = _deployment_key(path, namespace, hook)
            detail = deployment_detail(hook, known.stored.get(key))
            web_url = str(project.project.get("web_url") or "")
            component = primary_component(components, annotated)
            environment = str(hook.get("environment") or "")
            raw = deployment_entity(project, namespace, component, environment, detail, web_url)
            chosen[key] = (raw, path)
    for raw, path in chosen.values():
        snapshot.add(raw, SourceLocation(f"gitlab:{path}"))
    snapshot.stats = {"deliveries": len(hooks)}
    return snapshot


async def read_hooks(source: GitlabSource, lookup: CatalogLookup, texts: Sequence[str]) -> Snapshot:
    """Get what the hooks need from the catalog, then transform them."""
    hooks = parse_payloads(texts)
    try:
        known = await get_known(source, lookup, hooks)
    except InvalidEntityError as exc:
        raise SourceUnavailableError(
            source.name, f"a stored component is unreadable: {exc}"
        ) from exc
    return await newest_only(transform_hooks(source, hooks, known), lookup.documents)
