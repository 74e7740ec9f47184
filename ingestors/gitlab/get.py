"""The GitLab source's ``get``: every call it makes to GitLab's REST API (v4), nothing else.

Per run: the group's projects (``GET /groups/:id/projects``, subgroups included, followed
page by page with ``X-Next-Page``); per project its descriptor and the files it refers to
(``GET /projects/:id/repository/files/:path``, the JSON form with base64 content and the
commit id), its CI file, its last pipelines with their details, its environments and its
last deployments. A project with no descriptor and no catalog component annotated with its
path is skipped before any CI call. A project whose calls fail is reported as failed (its
entities are kept); only a failure to list the group fails the run.
"""

from __future__ import annotations

import asyncio
import base64
import posixpath
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from catalog.delivery import GITLAB_SLUG_ANNOTATION
from catalog.descriptors import parse_descriptors, placeholder_targets
from ingestors.gitlab.config import GitlabSource
from ingestors.gitlab.payload import GroupPayload, Json, ProjectPayload
from ingestors.http import ApiClient, ApiError, NotFoundError
from ingestors.lookup import CatalogLookup

#: projects read at the same time, and calls in flight per project (pipeline details)
PROJECT_CONCURRENCY = 4
DETAIL_CONCURRENCY = 4
#: descriptor files (the entry and the Location targets it leads to) read per project
MAX_DESCRIPTOR_FILES = 50

T = TypeVar("T")


def _id(project: Json) -> str:
    return quote(str(project["id"]), safe="")


async def get_file(client: ApiClient, project: Json, path: str, ref: str) -> tuple[str, str] | None:
    """``(text, last_commit_id)`` of a file on ``ref``, or None when it does not exist."""
    try:
        body = await client.get_json(
            f"projects/{_id(project)}/repository/files/{quote(path, safe='')}", {"ref": ref}
        )
    except NotFoundError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        raise ApiError(
            f"{client.base_url}/projects/{project['id']}/repository/files/{path}",
            200,
            "the answer has no content field; is apiUrl GitLab's API root (…/api/v4)?",
        )
    content: str = body["content"]
    text = (
        base64.b64decode(content).decode("utf-8", errors="replace")
        if body.get("encoding", "base64") == "base64"
        else content
    )
    return text, str(body.get("last_commit_id") or body.get("commit_id") or "")


def _inside(directory: str, target: str) -> str | None:
    joined = posixpath.normpath(posixpath.join(directory, target))
    if target.startswith("/") or joined == ".." or joined.startswith("../"):
        return None
    return joined


def referenced_files(path: str, text: str) -> tuple[list[str], list[str]]:
    """Files a descriptor refers to: (placeholder targets, Location targets), repo paths.

    Remote and glob targets are left out (the transform reports them as the git source does).
    """
    directory = posixpath.dirname(path)
    placeholders: list[str] = []
    locations: list[str] = []
    for document in parse_descriptors(text, path).documents:
        data = document.data
        if not isinstance(data, dict):
            continue
        spec = data.get("spec")
        for target in placeholder_targets(spec):
            inside = _inside(directory, target)
            if inside is not None:
                placeholders.append(inside)
        if str(data.get("kind", "")).lower() == "location" and isinstance(spec, dict):
            targets = list(spec.get("targets") or [])
            if spec.get("target"):
                targets.append(spec["target"])
            for target in targets:
                if (
                    not isinstance(target, str)
                    or "://" in target
                    or any(c in target for c in "*?[")
                ):
                    continue
                inside = _inside(directory, target)
                if inside is not None:
                    locations.append(inside)
    return placeholders, locations


async def get_descriptor_files(
    client: ApiClient, project: Json, ref: str, catalog_path: str
) -> tuple[dict[str, str], str | None]:
    """The descriptor and the files it leads to (by path), and the descriptor's commit."""
    first = await get_file(client, project, catalog_path, ref)
    if first is None:
        return {}, None
    files = {catalog_path: first[0]}
    tried = {catalog_path}
    queue = [catalog_path]
    while queue and len(tried) < MAX_DESCRIPTOR_FILES:
        current = queue.pop(0)
        placeholders, locations = referenced_files(current, files[current])
        for target, is_descriptor in [(p, False) for p in placeholders] + [
            (p, True) for p in locations
        ]:
            if target in tried or len(tried) >= MAX_DESCRIPTOR_FILES:
                continue
            tried.add(target)
            found = await get_file(client, project, target, ref)
            if found is not None:
                files[target] = found[0]
                if is_descriptor:
                    queue.append(target)
    return files, first[1] or None


async def _gather(limit: int, calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def get_pipelines(client: ApiClient, project: Json, count: int) -> list[Json]:
    """The last ``count`` pipelines, newest first, each merged with its details (started_at,
    finished_at, duration are only in the details)."""
    summaries = await client.get_json(
        f"projects/{_id(project)}/pipelines",
        {"per_page": count, "order_by": "id", "sort": "desc"},
    )
    if not isinstance(summaries, list):
        return []
    summaries = [s for s in summaries if isinstance(s, dict) and "id" in s][:count]

    def detail(summary: Json) -> Callable[[], Awaitable[Json]]:
        async def call() -> Json:
            if "duration" in summary and "started_at" in summary:
                return summary
            body = await client.get_json(
                f"projects/{_id(project)}/pipelines/{quote(str(summary['id']), safe='')}"
            )
            return {**summary, **body} if isinstance(body, dict) else summary

        return call

    return await _gather(DETAIL_CONCURRENCY, [detail(s) for s in summaries])


async def get_environments(client: ApiClient, project: Json) -> list[Json]:
    return [
        e
        async for e in client.paginate(f"projects/{_id(project)}/environments", {"per_page": 100})
        if isinstance(e, dict)
    ]


async def get_deployments(
    client: ApiClient, project: Json, per_environment: int, environments: list[Json]
) -> list[Json]:
    """The newest ``per_environment`` deployments of each environment (one call each, so an
    environment deployed often does not crowd out one deployed rarely)."""
    found: list[Json] = []
    for environment in environments:
        name = environment.get("name")
        if not isinstance(name, str) or not name:
            continue
        body = await client.get_json(
            f"projects/{_id(project)}/deployments",
            {
                "environment": name,
                "order_by": "created_at",
                "sort": "desc",
                "per_page": min(100, per_environment),
            },
        )
        if isinstance(body, list):
            found.extend(d for d in body if isinstance(d, dict))
    return found


def _disabled(project: Json, feature: str) -> bool:
    return project.get(f"{feature}_access_level") == "disabled"


async def get_project(
    client: ApiClient,
    config: GitlabSource,
    project: Json,
    linked: Mapping[str, list[str]],
) -> ProjectPayload | str:
    """What the source reads of one project, or why it was skipped (a sentence)."""
    path = str(project["path_with_namespace"])
    ref = config.branch or project.get("default_branch")
    if project.get("empty_repo") or not isinstance(ref, str) or not ref:
        return f"{path}: empty repository (no default branch)"
    files, commit = await get_descriptor_files(client, project, ref, config.catalog_path)
    links = sorted(linked.get(path.lower(), []))
    if not files and not links:
        return (
            f"{path}: no {config.catalog_path} on {ref} and no component annotated "
            f"{GITLAB_SLUG_ANNOTATION}: {path}"
        )
    payload = ProjectPayload(project, ref, files, commit, linked=links)
    ci_path = str(project.get("ci_config_path") or ".gitlab-ci.yml")
    payload.ci_path = ci_path
    if "@" not in ci_path and "://" not in ci_path:
        found = await get_file(client, project, ci_path, ref)
        payload.ci_file = found[0] if found is not None else None
    if _disabled(project, "builds") or project.get("jobs_enabled") is False:
        return payload
    payload.pipelines = await get_pipelines(client, project, config.builds_per_pipeline)
    if not _disabled(project, "environments"):
        payload.environments = await get_environments(client, project)
        if payload.environments:
            payload.deployments = await get_deployments(
                client, project, config.deployments_per_environment, payload.environments
            )
    return payload


async def get_group(client: ApiClient, config: GitlabSource, lookup: CatalogLookup) -> GroupPayload:
    """Read the group's projects; a failure to list them raises (:class:`ApiError`)."""
    linked = await lookup.refs_by_annotation(GITLAB_SLUG_ANNOTATION)
    params: dict[str, Any] = {
        "include_subgroups": "true" if config.include_subgroups else "false",
        "with_shared": "false",
        "order_by": "path",
        "sort": "asc",
        "per_page": 100,
    }
    if not config.archived:
        params["archived"] = "false"
    projects = [
        p
        async for p in client.paginate(f"groups/{quote(config.group, safe='')}/projects", params)
        if isinstance(p, dict) and "id" in p and "path_with_namespace" in p
    ]
    payload = GroupPayload(config.group, config.catalog_path)

    def read(project: Json) -> Callable[[], Awaitable[ProjectPayload | str | ApiError]]:
        async def call() -> ProjectPayload | str | ApiError:
            try:
                return await get_project(client, config, project, linked)
            except ApiError as exc:
                return exc

        return call

    results = await _gather(PROJECT_CONCURRENCY, [read(p) for p in projects])
    for project, result in zip(projects, results, strict=True):
        if isinstance(result, ProjectPayload):
            payload.projects.append(result)
        elif isinstance(result, ApiError):
            payload.failed[str(project["path_with_namespace"])] = str(result)
        else:
            payload.skipped.append(result)
    return payload


async def get_scope(
    client: ApiClient, config: GitlabSource, lookup: CatalogLookup, scope: Sequence[str]
) -> GroupPayload:
    """Read only the projects ``scope`` names (``gitlab/<path>``): one call each for what it
    is now, then as a full read does. A project that is gone (404) or no longer in the
    group is listed in ``gone``, so its entities go."""
    linked = await lookup.refs_by_annotation(GITLAB_SLUG_ANNOTATION)
    payload = GroupPayload(config.group, config.catalog_path, partial=True)
    group = config.group.lower()
    for part in dict.fromkeys(scope):
        path = part.removeprefix("gitlab/")
        try:
            project = await client.get_json(f"projects/{quote(path, safe='')}")
        except NotFoundError:
            payload.gone.append(path)
            continue
        full = str(project.get("path_with_namespace", path))
        within = full.lower().startswith(f"{group}/")
        if not within or (project.get("archived") and not config.archived):
            payload.gone.append(path)
            continue
        try:
            result = await get_project(client, config, project, linked)
        except ApiError as exc:
            payload.failed[full] = str(exc)
            continue
        if isinstance(result, ProjectPayload):
            payload.projects.append(result)
        else:  # nothing to read there now: what it had goes, as after a full read
            payload.skipped.append(result)
            payload.gone.append(path)
    return payload
