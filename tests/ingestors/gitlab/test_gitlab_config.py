"""The GitLab source's entry in stagegraph.yaml: defaults and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingestors.gitlab import GitlabSource
from ingestors.registry import parse_sources


def test_defaults() -> None:
    (source,) = parse_sources(
        [{"name": "acme-gitlab", "type": "gitlab", "group": "/acme/platform/"}]
    )

    assert isinstance(source, GitlabSource)
    assert source.group == "acme/platform"
    assert source.api_url == "https://gitlab.com/api/v4"
    assert source.token_env == "GITLAB_TOKEN"
    assert (source.include_subgroups, source.archived, source.branch) == (True, False, None)
    assert (source.builds_per_pipeline, source.deployments_per_environment) == (20, 20)
    assert source.catalog_path == "catalog-info.yaml"


def test_bad_options_are_each_explained() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_sources(
            [
                {
                    "name": "acme-gitlab",
                    "type": "gitlab",
                    "group": "https://gitlab.com/acme",
                    "apiUrl": "gitlab.example.com",
                    "catalogPath": "../catalog-info.yaml",
                    "buildsPerPipeline": 500,
                    "token": "glpat-in-the-file",
                }
            ]
        )

    problems = {e["loc"]: e["msg"] for e in caught.value.errors()}
    assert problems == {
        (0, "group"): "'https://gitlab.com/acme' is not a group path: give the group's full "
        "path as in its URL, e.g. acme/platform",
        (0, "apiUrl"): "'gitlab.example.com' is not an http(s) URL: give the API root, e.g. "
        "https://gitlab.example.com/api/v4",
        (0, "catalogPath"): "'../catalog-info.yaml' is not a path inside a repository: "
        "e.g. catalog-info.yaml",
        (0, "buildsPerPipeline"): "Input should be less than or equal to 100",
        (0, "token"): "Extra inputs are not permitted",
    }
