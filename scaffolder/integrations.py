"""The git hosts the ``publish:github`` and ``publish:gitlab`` actions may create
repositories on, and their credentials.

They come from ``integrations:`` in ``stagegraph.yaml`` (host, type, API URL, the environment
variable holding the token) and from the configured ``github`` and ``gitlab`` sources (their
API URL and ``tokenEnv``), the ``integrations`` entry winning for the same host. Tokens are
read from the environment here, when the services are built, never from the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ingestors.contract import SourceConfig
from scaffolder.actions.contract import Integration

DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}


class IntegrationConfig(BaseModel):
    """One ``integrations:`` entry."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    host: str = Field(min_length=1, description="The host in repoUrl, e.g. github.com.")
    type: Literal["github", "gitlab"]
    api_url: str | None = Field(
        default=None, alias="apiUrl", description="Default the host's public API."
    )
    token_env: str = Field(
        alias="tokenEnv",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The variable holding the token.",
    )


def _source_host(kind: str, api_url: str) -> str:
    host = urlsplit(api_url).netloc
    if kind == "github" and host == "api.github.com":
        return "github.com"
    return host


def build_integrations(
    configured: Iterable[IntegrationConfig],
    sources: Iterable[SourceConfig],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Integration]:
    """Every integration by host: the configured sources' first, then ``integrations``."""
    env = os.environ if environ is None else environ
    found: dict[str, Integration] = {}
    for source in sources:
        api_url = getattr(source, "api_url", None) or getattr(source, "url", None)
        token_env = getattr(source, "token_env", None)
        if source.type in ("github", "gitlab") and isinstance(api_url, str):
            api = api_url.rstrip("/")
            if source.type == "gitlab" and not api.endswith("/api/v4"):
                api = f"{api}/api/v4"
            host = _source_host(source.type, api)
            found[host] = Integration(host, source.type, api, env.get(token_env or "") or None)
    for item in configured:
        api = item.api_url or DEFAULT_API[item.type]
        found[item.host] = Integration(
            item.host, item.type, api.rstrip("/"), env.get(item.token_env) or None
        )
    return found
