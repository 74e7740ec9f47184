"""How a Jenkins source is configured in ``stagegraph.yaml``.

::

    - name: ci-jenkins
      type: jenkins
      url: https://jenkins.example.com
      user: stagegraph                 # the API token is read from tokenEnv, never the file
      tokenEnv: JENKINS_TOKEN
      folders: [team-payments, platform/tools]   # default: everything from the root
      buildsPerPipeline: 20
      maxDepth: 5      maxAttempts: 3                   # tries per API call answered 5xx (docs/sources)
      retryBackoff: 1s                 # wait after the first failed try, then doubled
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ingestors.client import ApiSourceConfig, http_url, token_env


class JenkinsSource(ApiSourceConfig):
    """A Jenkins controller: its jobs (in folders and multibranch projects) and their builds."""

    type: Literal["jenkins"] = "jenkins"
    url: Annotated[
        str,
        http_url("an http(s) URL", "give the Jenkins root, e.g. https://jenkins.example.com"),
    ] = Field(min_length=1, description="The Jenkins root URL.")
    user: str | None = Field(default=None, description="The user whose API token is used.")
    token_env: str = token_env("JENKINS_TOKEN", "the user's API token, sent with basic auth")
    folders: tuple[str, ...] = Field(
        default=(), description="Folder full names to start from (a/b); default the root."
    )
    builds_per_pipeline: int = Field(default=20, ge=1, le=100, alias="buildsPerPipeline")
    max_depth: int = Field(
        default=5, ge=1, le=20, alias="maxDepth", description="How deep folders are followed."
    )

    @field_validator("folders")
    @classmethod
    def _folders_are_full_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for folder in value:
            name = folder.strip().strip("/")
            if not name or "//" in name or "://" in name or "/job/" in f"/{name}/":
                raise PydanticCustomError(
                    "jenkins_folder",
                    "'{value}' is not a folder full name: write it as Jenkins shows it, "
                    "e.g. team/payments (not a URL)",
                    {"value": folder},
                )
            cleaned.append(name)
        return tuple(cleaned)
