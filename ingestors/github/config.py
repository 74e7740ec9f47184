"""How a ``type: github`` source reads in ``stagegraph.yaml``."""

from __future__ import annotations

import fnmatch
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from catalog.refs import is_valid_name
from ingestors.client import ApiSourceConfig, http_url, token_env
from ingestors.git.targets import web_repo

DEFAULT_API_URL = "https://api.github.com"


class GithubSource(ApiSourceConfig):
    """A GitHub organisation: its repositories' descriptors, teams, Actions and deployments.

    The token is read from the environment variable named by ``tokenEnv`` when a run
    starts, never from the file.
    """

    type: Literal["github"] = "github"
    org: str = Field(min_length=1, description="The organisation's login, e.g. acme.")
    api_url: Annotated[
        str,
        http_url(
            "an API URL",
            "use https://api.github.com or https://HOST/api/v3 (GitHub Enterprise Server)",
        ),
    ] = Field(
        default=DEFAULT_API_URL,
        alias="apiUrl",
        description="REST API root; https://HOST/api/v3 for GitHub Enterprise Server.",
    )
    token_env: str = token_env("GITHUB_TOKEN", "a token, or a GitHub App installation token")
    repos: tuple[str, ...] = Field(
        default=(), description="Repository name globs to include (e.g. payments-*); all if empty."
    )
    topics: tuple[str, ...] = Field(
        default=(), description="Include only repositories with at least one of these topics."
    )
    include_archived: bool = Field(default=False, alias="includeArchived")
    include_forks: bool = Field(default=False, alias="includeForks")
    visibility: Literal["all", "public", "private", "internal"] = "all"
    catalog_path: str = Field(
        default="catalog-info.yaml",
        alias="catalogPath",
        min_length=1,
        description="The descriptor file (or folder) read in each repository.",
    )
    builds_per_pipeline: int = Field(default=20, ge=1, le=100, alias="buildsPerPipeline")
    deployments_per_environment: int = Field(
        default=20, ge=1, le=100, alias="deploymentsPerEnvironment"
    )
    teams: bool = Field(default=True, description="Read teams and members as Groups and Users.")
    user_profiles: bool = Field(
        default=True,
        alias="userProfiles",
        description="Read each member's name and public e-mail (one call per user).",
    )
    actions: bool = Field(default=True, description="Read workflows and runs.")
    deployments: bool = Field(default=True, description="Read environments and deployments.")
    concurrency: int = Field(default=4, ge=1, le=32, description="Repositories read at once.")
    max_wait: float = Field(
        default=300.0,
        gt=0,
        alias="maxWait",
        description="Longest wait (seconds) for a rate limit to reset before the call fails.",
    )

    @field_validator("org")
    @classmethod
    def _org_is_a_login(cls, value: str) -> str:
        if "/" in value or not is_valid_name(value):
            raise PydanticCustomError(
                "github_org",
                "'{value}' is not an organisation login: write just the name, e.g. acme "
                "(not a URL or owner/repo)",
                {"value": value},
            )
        return value

    @field_validator("repos", "topics", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def wants(self, repo: dict[str, Any]) -> str | None:
        """None when ``repo`` (a /orgs/{org}/repos item) is read, else why it is not."""
        name = str(repo.get("name", ""))
        if self.repos and not any(fnmatch.fnmatchcase(name, p) for p in self.repos):
            return "not matched by repos"
        if repo.get("archived") and not self.include_archived:
            return "archived (includeArchived: false)"
        if repo.get("fork") and not self.include_forks:
            return "a fork (includeForks: false)"
        visibility = repo.get("visibility") or ("private" if repo.get("private") else "public")
        if self.visibility != "all" and visibility != self.visibility:
            return f"{visibility} (visibility: {self.visibility})"
        if self.topics and not set(self.topics) & set(repo.get("topics") or ()):
            return f"no topic of {', '.join(self.topics)}"
        return None

    def reads_repository(self, repository: str) -> bool:
        """The repository is on its host (``api.github.com`` serves ``github.com``), in its
        ``org``, and matches one of its ``repos`` globs when it has any (case-insensitively,
        as GitHub names compare)."""
        web = web_repo(repository)
        if web is None or web.host != "github":
            return False
        parts = urlsplit(web.base)
        host = (urlsplit(self.api_url).hostname or "").lower()
        owner, _, name = parts.path.strip("/").partition("/")
        if parts.hostname != ("github.com" if host == "api.github.com" else host):
            return False
        if owner.lower() != self.org.lower() or "/" in name:
            return False
        return not self.repos or any(fnmatch.fnmatch(name.lower(), p.lower()) for p in self.repos)
