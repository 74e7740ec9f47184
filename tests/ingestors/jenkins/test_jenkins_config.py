"""The Jenkins source's entry in stagegraph.yaml: defaults and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingestors.jenkins import JenkinsSource
from ingestors.jenkins.get import builds_tree, folder_url
from ingestors.registry import parse_sources


def test_defaults() -> None:
    (source,) = parse_sources(
        [{"name": "ci", "type": "jenkins", "url": "https://ci.example.com/", "folders": ["/a/b/"]}]
    )

    assert isinstance(source, JenkinsSource)
    assert source.url == "https://ci.example.com"
    assert source.folders == ("a/b",)
    assert (source.user, source.token_env) == (None, "JENKINS_TOKEN")
    assert (source.builds_per_pipeline, source.max_depth) == (20, 5)


def test_bad_options_are_each_explained() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_sources(
            [
                {
                    "name": "ci",
                    "type": "jenkins",
                    "url": "ci.example.com",
                    "folders": ["https://ci.example.com/job/a/"],
                    "maxDepth": 0,
                }
            ]
        )

    problems = {e["loc"]: e["msg"] for e in caught.value.errors()}
    assert problems == {
        (0, "url"): "'ci.example.com' is not an http(s) URL: give the Jenkins root, e.g. "
        "https://jenkins.example.com",
        (0, "folders"): "'https://ci.example.com/job/a/' is not a folder full name: write it "
        "as Jenkins shows it, e.g. team/payments (not a URL)",
        (0, "maxDepth"): "Input should be greater than or equal to 1",
    }


def test_folder_urls_and_build_ranges() -> None:
    assert folder_url("https://ci", "") == "https://ci/"
    assert folder_url("https://ci/", "team a/payments") == "https://ci/job/team%20a/job/payments/"
    assert builds_tree(5).endswith("]]{0,5}")
