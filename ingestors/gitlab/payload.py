"""What :mod:`.get` reads from GitLab and :mod:`.transform` turns into entities: the API's JSON
as GitLab sends it (field names of its REST docs), grouped per project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass
class ProjectPayload:
    """One project of the group and what was read about it.

    ``files`` holds the descriptor and the files it refers to (``$text`` targets, Location
    targets), by path in the repository; ``commit`` is the descriptor's ``last_commit_id``.
    ``pipelines`` are pipeline details (``GET /projects/:id/pipelines/:pipeline_id``), newest
    first; ``linked`` are refs of catalog components whose ``gitlab.com/project-slug`` names
    the project.
    """

    project: Json
    ref: str
    files: dict[str, str] = field(default_factory=dict)
    commit: str | None = None
    ci_path: str = ".gitlab-ci.yml"
    ci_file: str | None = None
    pipelines: list[Json] = field(default_factory=list)
    environments: list[Json] = field(default_factory=list)
    deployments: list[Json] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return str(self.project["path_with_namespace"])


@dataclass
class GroupPayload:
    """Everything one read of a group gave: the projects read, those that failed (path ->
    why; their entities are kept) and those passed over on purpose (with why)."""

    group: str
    catalog_path: str
    projects: list[ProjectPayload] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # a scoped read: only some projects were read; ``gone`` the scoped ones that no longer
    # exist in the group (their entities go)
    partial: bool = False
    gone: list[str] = field(default_factory=list)
