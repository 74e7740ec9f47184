"""The GitHub source's ``transform``: pure, from an :class:`OrgPayload` to a Snapshot.

- Each repository's descriptors (read with the git source's rules) are taken as they are,
  their ``stagegraph.dev/source-path`` set to the repository (``github:acme/payments``), so a
  repository that could not be read keeps its entities while the others are cleaned up.
- Workflows -> ``Pipeline`` (``github-actions``), named from the repository's ``full_name``
  as the git source names the same workflow file (``acme-payments-ci``), merged with the
  file's pipeline (matched by workflow path) when the repository has one; its
  ``spec.components`` are the repository's components (its descriptors, and catalog
  components whose ``github.com/project-slug`` names it), its namespace the one they share
  (else ``default``), as the git source decides.
- Workflow runs -> ``Build`` (``runOf`` the pipeline); environments -> ``Environment``
  (shared by name across repositories and sources, in namespace ``default``, deferred); deployments -> ``Deployment``
  (``deploys`` the repository's component, ``deployedTo`` the environment), whose component
  is also listed in the environment's ``spec.components`` (Component ``deployedTo``).
- Teams -> ``Group`` (``spec.type: team``, named by slug so CODEOWNERS ``@org/slug``
  resolves; ``parent`` from the parent team) and members -> ``User`` (named by login).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.delivery import (
    API_VERSION,
    ENVIRONMENT_NAMESPACE,
    PROJECT_SLUG_ANNOTATION,
    build_name,
    deployment_name,
    environment_name,
    environment_ref,
    iso_utc,
    pipeline_name,
    shared_namespace,
)
from catalog.entity import Entity
from catalog.errors import SourceLocation
from catalog.refs import EntityRef
from catalog.validation import validate_entity
from graph.port import RunError
from ingestors.github.config import GithubSource
from ingestors.github.payload import Json, OrgPayload, RepoPayload
from ingestors.github.teams import team_documents
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Descriptor, EventRetention, Rejected, Snapshot

SOURCE_TYPE = "github"
GITHUB_ACTIONS = "github-actions"
ENVIRONMENT_TYPES = frozenset({"production", "staging", "development", "test", "qa", "preview"})


def scope(*parts: object) -> str:
    """A source-path value naming one cleanup scope: ``github:acme/payments/actions``."""
    return "github:" + "/".join(str(p).strip("/") for p in parts)


class _Builder:
    def __init__(self, payload: OrgPayload, source: GithubSource) -> None:
        self.payload = payload
        self.source = source
        self.org = payload.org
        self.snapshot = Snapshot(source_type=SOURCE_TYPE)
        self.environments: dict[str, dict[str, Any]] = {}

    def add(
        self, raw: dict[str, Any], location: SourceLocation, defer: bool = False
    ) -> Entity | None:
        return self.snapshot.add(raw, location, defer=defer)

    def fail_scope(self, path: str, what: str, reason: str, *scopes: str) -> None:
        self.snapshot.errors.append(
            RunError(
                f"{what} could not be read: {reason}; what this source had from it is kept",
                file=path,
            )
        )
        self.snapshot.keep_files.update(scopes)


def _restamp(descriptor: Descriptor, repo_scope: str) -> Descriptor:
    document = descriptor.entity.to_document()
    annotations = document["metadata"].setdefault("annotations", {})
    annotations[SOURCE_PATH_ANNOTATION] = repo_scope
    return Descriptor(
        validate_entity(document, descriptor.location), descriptor.location, descriptor.defer
    )


def repo_components(item: RepoPayload) -> list[str]:
    """The repository's component refs: its own descriptors' first, then the catalog's."""
    refs = [
        str(d.entity.ref)
        for d in (item.descriptors.descriptors if item.descriptors else [])
        if d.entity.kind.lower() == "component"
    ]
    refs.extend(item.catalog_components)
    return list({ref.lower(): ref for ref in reversed(refs)}.values())[::-1]


def primary_component(item: RepoPayload, components: list[str]) -> str | None:
    """The component a deployment of the repository deploys: the one named like the
    repository, else the one annotated with its slug, else the first."""
    if not components:
        return None
    name = str(item.repo["name"]).lower()
    for ref in components:
        if ref.lower().rsplit("/", 1)[-1] == name:
            return ref
    slugged = [
        str(d.entity.ref)
        for d in (item.descriptors.descriptors if item.descriptors else [])
        if d.entity.metadata.annotations.get(PROJECT_SLUG_ANNOTATION, "").lower()
        == item.full_name.lower()
    ]
    return (slugged or [*item.catalog_components, *components])[0]


def _take_descriptors(b: _Builder, item: RepoPayload) -> None:
    full = item.full_name
    repo_scope = scope(full)
    if "descriptors" in item.errors:
        b.fail_scope(full, f"repository {full}", item.errors["descriptors"], repo_scope)
        return
    if item.missing_descriptor or item.descriptors is None:
        if item.missing_descriptor:
            b.snapshot.skipped.append(f"{full}: no {b.source.catalog_path}")
        return
    read = item.descriptors
    for descriptor in read.descriptors:
        b.snapshot.descriptors.append(_restamp(descriptor, repo_scope))
    for error in read.errors:
        b.snapshot.errors.append(
            RunError(error.message, f"{full}/{error.file or ''}", error.entity)
        )
    for rejected in read.rejected:
        error = rejected.error
        b.snapshot.rejected.append(
            Rejected(
                rejected.ref, RunError(error.message, f"{full}/{error.file or ''}", error.entity)
            )
        )
    b.snapshot.warnings.extend(f"{full}: {w}" for w in read.warnings)
    b.snapshot.skipped.extend(f"{full}: {s}" for s in read.skipped)
    b.snapshot.files_read += read.files_read
    if read.keep_files:
        b.snapshot.keep_files.add(repo_scope)


def _file_pipelines(b: _Builder, item: RepoPayload) -> dict[str, Descriptor]:
    """The repository's pipelines read from its workflow files, by workflow path, named from
    the repository's ``full_name`` (the clone's URL may not say it); taken out of the
    snapshot so the API's view can be merged into each (one descriptor per ref)."""
    found: dict[str, Descriptor] = {}
    repo_scope = scope(item.full_name)
    for descriptor in list(b.snapshot.descriptors):
        entity = descriptor.entity
        if (
            entity.kind.lower() == "pipeline"
            and entity.metadata.annotations.get(SOURCE_PATH_ANNOTATION) == repo_scope
            and entity.spec.get("type") == GITHUB_ACTIONS
            and isinstance(entity.spec.get("path"), str)
        ):
            b.snapshot.descriptors.remove(descriptor)
            path = str(entity.spec["path"])
            document = entity.to_document()
            document["metadata"]["name"] = pipeline_name(item.full_name, GITHUB_ACTIONS, path)
            document["spec"]["repository"] = item.full_name
            renamed = validate_entity(document, descriptor.location)
            found[path] = Descriptor(renamed, descriptor.location, descriptor.defer)
    return found


def _pipelines(b: _Builder, item: RepoPayload, components: list[str]) -> None:
    full = item.full_name
    from_files = _file_pipelines(b, item) if item.workflows is not None else {}
    actions_scope = scope(full, "actions")
    if "actions" in item.errors:
        b.fail_scope(full, f"Actions of {full}", item.errors["actions"], actions_scope)
    namespace = shared_namespace(components)
    for workflow in item.workflows or []:
        name = pipeline_name(full, GITHUB_ACTIONS, str(workflow["path"]))
        file_view = from_files.pop(str(workflow["path"]), None)
        document: dict[str, Any] = (
            file_view.entity.to_document()
            if file_view
            else {
                "apiVersion": API_VERSION,
                "kind": "Pipeline",
                "metadata": {"name": name, "namespace": namespace, "annotations": {}},
                "spec": {"type": GITHUB_ACTIONS},
            }
        )
        metadata, spec = document["metadata"], document["spec"]
        metadata.setdefault("title", str(workflow.get("name") or name))
        metadata.setdefault("description", f"GitHub Actions workflow of {full}.")
        annotations = metadata.setdefault("annotations", {})
        annotations[SOURCE_PATH_ANNOTATION] = actions_scope
        annotations[PROJECT_SLUG_ANNOTATION] = full
        listed = list(spec.get("components") or [])
        spec["components"] = list(dict.fromkeys([*listed, *components]))
        spec.update(
            repository=full,
            path=str(workflow["path"]),
            url=workflow.get("html_url") or f"{item.repo.get('html_url')}/actions",
        )
        if workflow.get("state"):
            spec["state"] = str(workflow["state"])  # active, disabled_manually, ...
        location = SourceLocation(f"{full}/actions/workflows/{workflow['id']}")
        pipeline = b.add(document, location, defer=True)
        if pipeline is not None:
            _builds(b, item, workflow, pipeline, actions_scope)
    for left in from_files.values():  # a workflow file the API does not list (yet)
        b.snapshot.descriptors.append(left)


def _duration(run: Json) -> float | None:
    start, end = iso_utc(run.get("run_started_at")), iso_utc(run.get("updated_at"))
    if run.get("status") != "completed" or not start or not end:
        return None
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return max(0.0, seconds)


def _builds(b: _Builder, item: RepoPayload, workflow: Json, pipeline: Entity, where: str) -> None:
    for run in item.runs.get(int(workflow["id"]), []):
        document, location = build_document(item.full_name, workflow, run, pipeline.ref, where)
        b.add(document, location)


def build_document(
    full_name: str, workflow: Json, run: Json, pipeline: EntityRef, where: str
) -> tuple[dict[str, Any], SourceLocation]:
    """The ``Build`` of one workflow run (an API run object, or a ``workflow_run`` webhook's
    ``workflow_run``) of the pipeline ``pipeline``, stamped with source path ``where``: the
    one function a full read and a webhook delivery both build it with."""
    name = pipeline.name
    number = run.get("run_number") or run["id"]
    spec: dict[str, Any] = {
        "pipeline": str(pipeline),
        "status": str(run.get("status") or "unknown"),
        "conclusion": run.get("conclusion"),
        "number": int(number),
        "branch": run.get("head_branch"),
        "commit": run.get("head_sha"),
        "startedAt": iso_utc(run.get("run_started_at") or run.get("created_at")),
        "durationSeconds": _duration(run),
        "url": run.get("html_url"),
        "event": run.get("event"),
    }
    metadata: dict[str, Any] = {
        "name": build_name(name, number),
        "namespace": pipeline.namespace,
        "title": f"{workflow.get('name') or name} #{number}",
        "annotations": {SOURCE_PATH_ANNOTATION: where},
    }
    if run.get("display_title"):
        metadata["description"] = run["display_title"]
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Build",
        "metadata": metadata,
        "spec": {k: v for k, v in spec.items() if v is not None},
    }
    return document, SourceLocation(f"{full_name}/actions/runs/{run['id']}")


def _deployments(b: _Builder, item: RepoPayload, components: list[str]) -> None:
    full = item.full_name
    where = scope(full, "deployments")
    environments_scope = scope(b.org, "environments")
    if "deployments" in item.errors:
        b.fail_scope(
            full, f"deployments of {full}", item.errors["deployments"], where, environments_scope
        )
    component = primary_component(item, components)
    if item.environments and component is None:
        b.snapshot.skipped.append(f"{full}: deployments not read (no component to link them to)")
        return
    for environment in item.environments or []:
        env_name = str(environment["name"])
        key = environment_name(env_name)
        shared = b.environments.setdefault(
            key, {"title": env_name, "components": [], "url": environment.get("html_url")}
        )
        if component is not None and component not in shared["components"]:
            shared["components"].append(component)
        for deployment in item.deployments.get(env_name, []):
            statuses = item.statuses.get(int(deployment["id"])) or []
            b.add(
                *deployment_document(
                    item.repo, env_name, deployment, statuses[0] if statuses else {}, component
                )
            )


def deployment_document(
    repo: Json, env_name: str, deployment: Json, latest: Json, component: str | None
) -> tuple[dict[str, Any], SourceLocation]:
    """The ``Deployment`` of one deployment of ``repo`` (an API deployment object, or a
    ``deployment``/``deployment_status`` webhook's ``deployment``) to ``env_name``, in the
    state of its ``latest`` status (``{}``: none yet), deploying ``component``: the one
    function a full read and a webhook delivery both build it with."""
    full = str(repo["full_name"])
    spec = {
        "component": component,
        "environment": environment_ref(env_name),
        "status": latest.get("state") or "pending",
        "commit": deployment.get("sha"),
        "ref": deployment.get("ref"),
        "createdAt": iso_utc(deployment.get("created_at")),
        "creator": (deployment.get("creator") or {}).get("login"),
        "url": latest.get("target_url")
        or latest.get("environment_url")
        or f"{repo.get('html_url')}/deployments",
    }
    metadata: dict[str, Any] = {
        "name": deployment_name(full, env_name, deployment["id"]),
        "namespace": shared_namespace([component] if component else []),
        "title": f"{repo['name']} to {env_name}",
        "annotations": {
            SOURCE_PATH_ANNOTATION: scope(full, "deployments"),
            PROJECT_SLUG_ANNOTATION: full,
        },
    }
    if deployment.get("description"):
        metadata["description"] = deployment["description"]
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {k: v for k, v in spec.items() if v is not None},
    }
    return document, SourceLocation(f"{full}/deployments/{deployment['id']}")


def _add_environments(b: _Builder) -> None:
    where = scope(b.org, "environments")
    for key, shared in sorted(b.environments.items()):
        spec: dict[str, Any] = {"components": shared["components"]}
        if key in ENVIRONMENT_TYPES:
            spec["type"] = key
        document = {
            "apiVersion": API_VERSION,
            "kind": "Environment",
            "metadata": {
                "name": key,
                "namespace": ENVIRONMENT_NAMESPACE,
                "title": shared["title"],
                "annotations": {SOURCE_PATH_ANNOTATION: where},
            },
            "spec": spec,
        }
        b.add(document, SourceLocation(f"{b.org}/environments/{key}"), defer=True)


def _teams(b: _Builder) -> None:
    where = scope(b.org, "teams")
    if "teams" in b.payload.errors:
        b.fail_scope(b.org, f"teams of {b.org}", b.payload.errors["teams"], where)
    if b.payload.teams is None:
        return
    for document, location in team_documents(b.org, b.payload.teams, b.payload.users):
        document["metadata"]["annotations"][SOURCE_PATH_ANNOTATION] = where
        b.add(document, location)


def transform_org(payload: OrgPayload, source: GithubSource) -> Snapshot:
    """Entities of one organisation read once (pure: no I/O)."""
    b = _Builder(payload, source)
    b.snapshot.skipped.extend(payload.passed_over)
    for item in sorted(payload.repos, key=lambda r: r.full_name):
        _take_descriptors(b, item)
        components = repo_components(item)
        _pipelines(b, item, components)
        _deployments(b, item, components)
    if not payload.partial:  # an environment's components come from every repository
        _add_environments(b)
    _teams(b)
    b.snapshot.events = [
        EventRetention("build", ("pipeline",), "startedAt", source.builds_per_pipeline),
        EventRetention(
            "deployment",
            ("component", "environment"),
            "createdAt",
            source.deployments_per_environment,
        ),
    ]
    b.snapshot.stats = dict(payload.stats)
    b.snapshot.scope_gone = bool(payload.gone)
    return b.snapshot
