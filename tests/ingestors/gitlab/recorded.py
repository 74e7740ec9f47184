"""The recorded GitLab payloads of ``tests/fixtures/gitlab``, as :mod:`ingestors.gitlab.get`
would hand them to the transform."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingestors.gitlab.payload import GroupPayload, ProjectPayload

FIXTURES = Path(__file__).parents[2] / "fixtures" / "gitlab"
PAYMENTS = "acme/platform/payments"
SEARCH = "acme/platform/search"
LEGACY = "acme/platform/legacy-tools"

#: project path -> repository path -> fixture file
FILES: dict[str, dict[str, str]] = {
    PAYMENTS: {
        "catalog-info.yaml": "payments.catalog-info.yaml",
        "openapi.yaml": "payments.openapi.yaml",
        ".gitlab-ci.yml": "payments.gitlab-ci.yml",
    },
    SEARCH: {
        "catalog-info.yaml": "search.catalog-info.yaml",
        "components/indexer.yaml": "search.components.indexer.yaml",
        "components/query.yaml": "search.components.query.yaml",
        "ci/pipeline.yml": "search.ci.pipeline.yml",
    },
    LEGACY: {},
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def repository(path: str) -> dict[str, str]:
    """The project's files, by path in its repository."""
    return {repo_path: text(fixture) for repo_path, fixture in FILES[path].items()}


def projects() -> list[dict[str, Any]]:
    return list(load("group_projects.json"))


def short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def pipelines(path: str) -> list[dict[str, Any]]:
    """Pipelines newest first, merged with their details (what get_pipelines returns)."""
    name = short(path)
    details = load(f"{name}_pipeline_details.json")
    return [{**s, **details[str(s["id"])]} for s in load(f"{name}_pipelines.json")]


def payload(linked: dict[str, list[str]] | None = None) -> GroupPayload:
    """The group as get_group reads it: payments and search read, legacy-tools skipped."""
    linked = linked or {}
    group = GroupPayload("acme/platform", "catalog-info.yaml")
    for project in projects():
        path = project["path_with_namespace"]
        files = repository(path)
        if "catalog-info.yaml" not in files and path not in linked:
            group.skipped.append(f"{path}: no catalog-info.yaml on main")
            continue
        ci_path = project["ci_config_path"] or ".gitlab-ci.yml"
        descriptors = {p: t for p, t in files.items() if p != ci_path}
        group.projects.append(
            ProjectPayload(
                project,
                "main",
                descriptors,
                "f00d" * 10,
                ci_path,
                files.get(ci_path),
                pipelines(path),
                load(f"{short(path)}_environments.json"),
                load(f"{short(path)}_deployments.json"),
                linked.get(path, []),
            )
        )
    return group
