"""How a GitLab source is configured in ``stagegraph.yaml``.

::

    - name: acme-gitlab
      type: gitlab
      group: acme/platform             # full path of the group; subgroups are read too
      apiUrl: https://gitlab.example.com/api/v4
      tokenEnv: GITLAB_TOKEN           # the token is read from this variable, never the file
      buildsPerPipeline: 20
      deploymentsPerEnvironment: 20      maxAttempts: 3                   # tries per API call answered 5xx (docs/sources)
      retryBackoff: 1s                 # wait after the first failed try, then doubled
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ingestors.client import ApiSourceConfig, http_url, token_env
from ingestors.git.targets import web_repo

DEFAULT_API_URL = "https://gitlab.com/api/v4"


class GitlabSource(ApiSourceConfig):
    """The projects of a GitLab group: descriptors, CI pipelines, environments, deployments."""

    type: Literal["gitlab"] = "gitlab"
    group: str = Field(min_length=1, description="Full path of the group, e.g. acme/platform.")
    api_url: Annotated[
        str,
        http_url("an http(s) URL", "give the API root, e.g. https://gitlab.example.com/api/v4"),
    ] = Field(default=DEFAULT_API_URL, alias="apiUrl", description="The REST API root (…/api/v4).")
    token_env: str = token_env("GITLAB_TOKEN", "sent as PRIVATE-TOKEN")
    include_subgroups: bool = Field(default=True, alias="includeSubgroups")
    catalog_path: str = Field(
        default="catalog-info.yaml",
        alias="catalogPath",
        description="The descriptor read from each project.",
    )
    branch: str | None = Field(
        default=None, description="Branch to read descriptors from; default each default_branch."
    )
    builds_per_pipeline: int = Field(default=20, ge=1, le=100, alias="buildsPerPipeline")
    deployments_per_environment: int = Field(
        default=20, ge=1, le=100, alias="deploymentsPerEnvironment"
    )
    archived: bool = Field(default=False, description="Read archived projects too.")

    @field_validator("group")
    @classmethod
    def _group_is_a_path(cls, value: str) -> str:
        path = value.strip().strip("/")
        if not path or "//" in path or " " in path or "://" in path:
            raise PydanticCustomError(
                "gitlab_group",
                "'{value}' is not a group path: give the group's full path as in its URL, "
                "e.g. acme/platform",
                {"value": value},
            )
        return path

    @field_validator("catalog_path")
    @classmethod
    def _catalog_path_is_relative(cls, value: str) -> str:
        path = value.strip().removeprefix("./")
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise PydanticCustomError(
                "gitlab_catalog_path",
                "'{value}' is not a path inside a repository: e.g. catalog-info.yaml",
                {"value": value},
            )
        return path

    def reads_repository(self, repository: str) -> bool:
        """The project is on its host, in its ``group`` (or, with ``includeSubgroups``, in a
        subgroup of it)."""
        web = web_repo(repository)
        if web is None or web.host != "gitlab":
            return False
        parts = urlsplit(web.base)
        if parts.hostname != (urlsplit(self.api_url).hostname or "").lower():
            return False
        project, group = parts.path.strip("/").lower(), self.group.lower()
        if not project.startswith(group + "/"):
            return False
        return self.include_subgroups or "/" not in project.removeprefix(group + "/")
