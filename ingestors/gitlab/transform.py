"""The GitLab source's transform: from what :mod:`.get` read to validated entities. Pure.

long: one pure transform per GitLab object (project, CI file, pipeline, environment,
deployment), kept together because they name entities by the same rules.

Per project of the group:

- its descriptor (``catalogPath``) and the files it refers to are read with the git
  source's rules (:func:`ingestors.git.transform.transform_tree` over a
  :class:`~ingestors.git.tree.MemoryTree`), so ``$text`` placeholders, Location targets and
  errors behave as they do for a git repository;
- its CI (``.gitlab-ci.yml``, or the project's ``ci_config_path``) is a ``Pipeline`` named by
  :func:`catalog.delivery.pipeline_name` from the project's ``path_with_namespace``
  (``acme/a/payments`` -> ``acme-a-payments-gitlab-ci``, so same-named projects of two
  subgroups never collide), in the namespace its components share (else ``default``),
  deferred so it merges with the same pipeline read from the file by the git source;
- its pipelines are ``Build`` entities (``runOf`` the Pipeline), its environments are shared
  ``Environment`` entities (one per name, in namespace ``default`` as every source writes
  them, ``spec.components`` merged across projects) and its
  deployments are ``Deployment`` entities (``deploys`` a component, ``deployedTo`` the
  environment).

Every entity of a project carries the source path ``gitlab/<project path>``, so a project
whose calls failed keeps its entities (``Snapshot.keep_files``).
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from typing import Any

from catalog.delivery import (
    API_VERSION,
    ENVIRONMENT_NAMESPACE,
    GITLAB_SLUG_ANNOTATION,
    build_name,
    deployment_name,
    environment_name,
    environment_ref,
    iso_utc,
    pipeline_name,
    shared_namespace,
)
from catalog.descriptors import parse_descriptors
from catalog.entity import Entity
from catalog.errors import SourceLocation
from graph.port import RunError
from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import MemoryTree
from ingestors.gitlab.payload import GroupPayload, Json, ProjectPayload
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Descriptor, EventRetention, Rejected, Snapshot

SOURCE_TYPE = "gitlab"
ENVIRONMENTS_SCOPE = "gitlab/environments"
"""The source path of environments: shared by projects, so kept whole when one fails."""

#: GitLab pipeline status -> (Build status, conclusion)
PIPELINE_STATUS: dict[str, tuple[str, str | None]] = {
    "created": ("queued", None),
    "waiting_for_resource": ("queued", None),
    "preparing": ("queued", None),
    "pending": ("queued", None),
    "scheduled": ("queued", None),
    "running": ("in_progress", None),
    "manual": ("waiting", None),
    "success": ("completed", "success"),
    "failed": ("completed", "failure"),
    "canceled": ("completed", "cancelled"),
    "skipped": ("completed", "skipped"),
}
#: GitLab deployment status -> Deployment status
DEPLOYMENT_STATUS: dict[str, str] = {
    "created": "queued",
    "running": "in_progress",
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "blocked": "waiting",
}


def project_scope(path: str) -> str:
    """The source path of a project's entities: ``gitlab/acme/payments``."""
    return f"gitlab/{path}"


@dataclass(frozen=True)
class WebOrigin(Origin):
    """Location annotations as GitLab web URLs (``url:<project>/-/blob/<ref>/<path>``),
    the way Backstage's GitLab integration writes them."""

    ref: str = "HEAD"

    def url(self, path: str, directory: bool = False) -> str:
        if directory:
            folder = posixpath.dirname(path)
            return f"url:{self.repo}/-/tree/{self.ref}/{folder}{'/' if folder else ''}"
        return f"url:{self.repo}/-/blob/{self.ref}/{path}"


@dataclass
class _Environment:
    name: str
    tier: str | None
    url: str | None
    components: dict[str, str]  # key -> ref
    first_seen: str  # project path


def transform_group(
    payload: GroupPayload,
    *,
    builds_per_pipeline: int = 20,
    deployments_per_environment: int = 20,
) -> Snapshot:
    """Every entity of the group's projects, with the failures and skips :mod:`.get` met."""
    snapshot = Snapshot(source_type=SOURCE_TYPE)
    environments: dict[str, _Environment] = {}
    for project in payload.projects:
        _transform_project(
            snapshot,
            project,
            payload.catalog_path,
            environments,
            builds_per_pipeline,
            deployments_per_environment,
        )
    for path, reason in sorted(payload.failed.items()):
        snapshot.keep_files.add(project_scope(path))
        snapshot.errors.append(
            RunError(f"project {path} could not be read: {reason}; its entities were kept", path)
        )
    if payload.partial:
        pass  # an environment's components come from every project: the next full read
    elif payload.failed:
        # A failed project's components may be deployed to them: keep environments as they were.
        snapshot.keep_files.add(ENVIRONMENTS_SCOPE)
        if environments:
            snapshot.warnings.append(
                f"{len(payload.failed)} project(s) failed: environments were kept as they were "
                "and not updated this run"
            )
    else:
        for environment in environments.values():
            _add(snapshot, _environment_entity(environment), environment.first_seen, defer=True)
    snapshot.skipped.extend(payload.skipped)
    snapshot.scope_gone = bool(payload.gone)
    snapshot.events = [
        EventRetention("build", ("pipeline",), "startedAt", builds_per_pipeline),
        EventRetention(
            "deployment", ("component", "environment"), "createdAt", deployments_per_environment
        ),
    ]
    return snapshot


def _transform_project(
    snapshot: Snapshot,
    project: ProjectPayload,
    catalog_path: str,
    environments: dict[str, _Environment],
    builds_per_pipeline: int,
    deployments_per_environment: int,
) -> None:
    path = project.path
    described = _descriptors(snapshot, project, catalog_path)
    components, annotated = project_components(path, [d.entity for d in described], project.linked)
    namespace = shared_namespace(components.values())
    web_url = str(project.project.get("web_url") or "")

    pipeline_ref: str | None = None
    if project.ci_file is not None or project.pipelines:
        pipeline = _pipeline_entity(project, namespace, sorted(components.values()), described)
        if _add(snapshot, pipeline, path, defer=True):
            pipeline_ref = f"pipeline:{namespace}/{pipeline['metadata']['name']}"
    if pipeline_ref is not None:
        for detail in project.pipelines[:builds_per_pipeline]:
            _add(snapshot, build_entity(project, namespace, pipeline_ref, detail), path)

    if not components:
        if project.environments or project.deployments:
            snapshot.warnings.append(
                f"{path}: no component is linked to the project (no descriptor component, no "
                f"{GITLAB_SLUG_ANNOTATION} annotation): its environments and deployments were "
                "not read into the catalog"
            )
        return
    primary = primary_component(components, annotated)
    for env in project.environments:
        name = env.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        key = environment_name(name)
        shared = environments.get(key)
        if shared is None:
            shared = environments[key] = _Environment(
                key,
                env.get("tier") if isinstance(env.get("tier"), str) else None,
                env.get("external_url") if isinstance(env.get("external_url"), str) else None,
                {},
                path,
            )
        shared.components.update(components)
    per_environment: dict[str, int] = {}
    newest_first = sorted(
        project.deployments, key=lambda d: iso_utc(d.get("created_at")) or "", reverse=True
    )
    for deployment in newest_first:
        target = deployment.get("environment")
        env_name = target.get("name") if isinstance(target, dict) else None
        if not isinstance(env_name, str) or not env_name.strip():
            continue
        seen = per_environment.get(environment_name(env_name), 0)
        if seen >= deployments_per_environment:
            continue
        per_environment[environment_name(env_name)] = seen + 1
        raw = deployment_entity(project, namespace, primary, env_name, deployment, web_url)
        _add(snapshot, raw, path)


def project_components(
    path: str, described: list[Entity], linked: list[str]
) -> tuple[dict[str, str], list[str]]:
    """A project's components (key -> ref): its descriptors' and the catalog's ``linked``
    ones; and the keys of those that name the project (its slug annotation, or linked),
    among which a deployment's component is chosen (:func:`primary_component`)."""
    components: dict[str, str] = {}
    annotated: list[str] = []
    for entity in described:
        if entity.kind.lower() != "component":
            continue
        components.setdefault(entity.ref.key, str(entity.ref))
        slug = entity.metadata.annotations.get(GITLAB_SLUG_ANNOTATION, "")
        if slug.strip().lower() == path.lower():
            annotated.append(entity.ref.key)
    for ref in linked:
        key = ref.lower()
        components.setdefault(key, ref)
        annotated.append(key)
    return components, annotated


def primary_component(components: dict[str, str], annotated: list[str]) -> str:
    """The component a project's deployments deploy (``components`` is not empty)."""
    return components[min(annotated) if annotated else min(components)]


def _descriptors(
    snapshot: Snapshot, project: ProjectPayload, catalog_path: str
) -> list[Descriptor]:
    """The project's descriptor read with the git source's rules, scoped to the project."""
    if catalog_path not in project.files:
        return []
    path = project.path
    scope = project_scope(path)
    origin = WebOrigin(str(project.project.get("web_url") or path), project.commit, "", project.ref)
    read = transform_tree(MemoryTree(project.files), origin, [catalog_path])
    snapshot.files_read += read.files_read
    described = [
        Descriptor(_rescoped(item, scope), _located(path, item.location), item.defer)
        for item in read.descriptors
    ]
    snapshot.descriptors.extend(described)
    snapshot.rejected.extend(Rejected(r.ref, _error_in(path, r.error)) for r in read.rejected)
    snapshot.errors.extend(_error_in(path, e) for e in read.errors)
    snapshot.warnings.extend(f"{path}: {w}" for w in read.warnings)
    if read.keep_files:
        snapshot.keep_files.add(scope)
    return described


def _rescoped(item: Descriptor, scope: str) -> Entity:
    """The entity with the project's source path (so a failed project keeps it)."""
    entity = item.entity
    annotations = {**entity.metadata.annotations, SOURCE_PATH_ANNOTATION: scope}
    metadata = entity.metadata.model_copy(update={"annotations": annotations})
    return entity.model_copy(update={"metadata": metadata})


def _located(project_path: str, location: SourceLocation) -> SourceLocation:
    return dataclasses.replace(location, file=f"{project_path}/{location.file}")


def _error_in(project_path: str, error: RunError) -> RunError:
    file = f"{project_path}/{error.file}" if error.file else project_path
    return dataclasses.replace(error, file=file)


def _add(snapshot: Snapshot, raw: Json, scope_path: str, *, defer: bool = False) -> bool:
    """Validate ``raw`` and add it; an invalid one becomes a run error. True when added."""
    return snapshot.add(raw, SourceLocation(f"gitlab:{scope_path}"), defer=defer) is not None


def _metadata(name: str, namespace: str, project: ProjectPayload, **extra: Any) -> Json:
    annotations = {
        GITLAB_SLUG_ANNOTATION: project.path,
        SOURCE_PATH_ANNOTATION: project_scope(project.path),
    }
    metadata: Json = {"name": name, "namespace": namespace, "annotations": annotations}
    metadata.update({k: v for k, v in extra.items() if v is not None})
    return metadata


def _stages(ci_file: str | None, ci_path: str) -> list[str]:
    """The ``stages:`` of a CI file, when it parses (``!reference`` tags and the like do not)."""
    if ci_file is None:
        return []
    parsed = parse_descriptors(ci_file, ci_path)
    for document in parsed.documents:
        stages = document.data.get("stages") if isinstance(document.data, dict) else None
        if isinstance(stages, list):
            return [str(s) for s in stages if isinstance(s, str | int)]
    return []


def _pipeline_entity(
    project: ProjectPayload, namespace: str, components: list[str], described: list[Descriptor]
) -> Json:
    path = project.path
    web_url = str(project.project.get("web_url") or "")
    stages = _stages(project.ci_file, project.ci_path)
    description = f"GitLab CI of {path}"
    if stages:
        description += f"; stages: {', '.join(stages)}"
    spec: Json = {
        "type": "gitlab-ci",
        "components": components,
        "repository": path,
        "path": project.ci_path,
    }
    if web_url:
        spec["url"] = f"{web_url}/-/pipelines"
    owners = {
        str(d.entity.spec.get("owner"))
        for d in described
        if d.entity.kind.lower() == "component" and d.entity.spec.get("owner")
    }
    own_components = {d.entity.ref.key for d in described if d.entity.kind.lower() == "component"}
    if len(owners) == 1 and {c.lower() for c in components} <= own_components:
        spec["owner"] = owners.pop()
    title = project.project.get("name_with_namespace") or path
    return {
        "apiVersion": API_VERSION,
        "kind": "Pipeline",
        "metadata": _metadata(
            pipeline_name(path, "gitlab-ci"),
            namespace,
            project,
            title=f"{title} (GitLab CI)",
            description=description,
        ),
        "spec": spec,
    }


def build_entity(project: ProjectPayload, namespace: str, pipeline_ref: str, detail: Json) -> Json:
    """The ``Build`` of one pipeline (API details, or a Pipeline Hook's attributes put in
    their shape): the one function a read and a webhook delivery both build it with."""
    number = detail.get("iid") if isinstance(detail.get("iid"), int) else detail.get("id")
    status, conclusion = PIPELINE_STATUS.get(str(detail.get("status")), ("completed", None))
    started = iso_utc(detail.get("started_at")) or iso_utc(detail.get("created_at"))
    duration = detail.get("duration")
    spec: Json = {
        "pipeline": pipeline_ref,
        "status": status,
        "conclusion": conclusion,
        "number": number if isinstance(number, int) else None,
        "branch": detail.get("ref"),
        "commit": detail.get("sha"),
        "startedAt": started,
        "durationSeconds": float(duration) if isinstance(duration, int | float) else None,
        "url": detail.get("web_url"),
        "gitlabPipelineId": detail.get("id"),
        "source": detail.get("source"),
    }
    pipeline = pipeline_ref.rsplit("/", 1)[-1]
    return {
        "apiVersion": API_VERSION,
        "kind": "Build",
        "metadata": _metadata(
            build_name(pipeline, str(number)),
            namespace,
            project,
            title=f"{project.path} pipeline #{number}",
        ),
        "spec": {k: v for k, v in spec.items() if v is not None},
    }


def deployment_entity(
    project: ProjectPayload,
    namespace: str,
    component: str,
    environment: str,
    deployment: Json,
    web_url: str,
) -> Json:
    """The ``Deployment`` of one deployment (an API object, or a Deployment Hook put in its
    shape): the one function a read and a webhook delivery both build it with."""
    deployable = deployment.get("deployable")
    user = deployment.get("user")
    url = deployable.get("web_url") if isinstance(deployable, dict) else None
    if not url and web_url:
        url = f"{web_url}/-/environments"
    status = DEPLOYMENT_STATUS.get(str(deployment.get("status")), deployment.get("status"))
    spec: Json = {
        "component": component,
        "environment": environment_ref(environment),
        "status": status,
        "commit": deployment.get("sha"),
        "ref": deployment.get("ref"),
        "createdAt": iso_utc(deployment.get("created_at")),
        "creator": user.get("username") if isinstance(user, dict) else None,
        "url": url,
    }
    identifier = deployment.get("id")
    return {
        "apiVersion": API_VERSION,
        "kind": "Deployment",
        "metadata": _metadata(
            deployment_name(project.path, environment, str(identifier)),
            namespace,
            project,
            title=f"{project.path} to {environment} #{deployment.get('iid', identifier)}",
        ),
        "spec": {k: v for k, v in spec.items() if v is not None},
    }


def _environment_entity(environment: _Environment) -> Json:
    spec: Json = {"components": sorted(environment.components.values())}
    if environment.tier:
        spec["type"] = environment.tier
    if environment.url:
        spec["url"] = environment.url
    return {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {
            "name": environment.name,
            "namespace": ENVIRONMENT_NAMESPACE,
            "annotations": {SOURCE_PATH_ANNOTATION: ENVIRONMENTS_SCOPE},
        },
        "spec": spec,
    }
