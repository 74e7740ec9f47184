"""Where ``publish:github`` and ``publish:gitlab`` get a host's API and token: the configured
github and gitlab sources, then ``integrations:`` entries (which win for the same host),
each token read from the environment variable it names."""

from __future__ import annotations

from ingestors.github.config import GithubSource
from ingestors.gitlab.config import GitlabSource
from scaffolder.actions.contract import Integration
from scaffolder.integrations import IntegrationConfig, build_integrations

ENVIRON = {"GITHUB_TOKEN": "gh-1", "GHE_TOKEN": "ghe-2", "GL_TOKEN": "gl-3", "OPS_TOKEN": "ops-4"}


def test_sources_and_integrations_give_each_host_its_api_and_token() -> None:
    # As stagegraph.yaml writes them.
    sources = [
        GithubSource.model_validate({"name": "gh", "org": "acme"}),
        GithubSource.model_validate(
            {
                "name": "ghe",
                "org": "acme",
                "apiUrl": "https://ghe.acme.test/api/v3",
                "tokenEnv": "GHE_TOKEN",
            }
        ),
        GitlabSource.model_validate(
            {
                "name": "gl",
                "group": "acme",
                "apiUrl": "https://gitlab.acme.test",
                "tokenEnv": "GL_TOKEN",
            }
        ),
    ]
    configured = [
        IntegrationConfig.model_validate(
            {"host": "gitlab.com", "type": "gitlab", "tokenEnv": "OPS_TOKEN"}
        ),
        IntegrationConfig.model_validate(
            {
                "host": "ghe.acme.test",
                "type": "github",
                "apiUrl": "https://ghe.acme.test/api/v3/",
                "tokenEnv": "MISSING_TOKEN",
            }
        ),
    ]

    found = build_integrations(configured, sources, ENVIRON)

    assert found == {
        "github.com": Integration("github.com", "github", "https://api.github.com", "gh-1"),
        "ghe.acme.test": Integration(
            "ghe.acme.test", "github", "https://ghe.acme.test/api/v3", None
        ),
        "gitlab.acme.test": Integration(
            "gitlab.acme.test", "gitlab", "https://gitlab.acme.test/api/v4", "gl-3"
        ),
        "gitlab.com": Integration("gitlab.com", "gitlab", "https://gitlab.com/api/v4", "ops-4"),
    }
