"""Location targets as git sources, and the web form of GitHub/GitLab repositories."""

from __future__ import annotations

import pytest

from ingestors.git.targets import GitTarget, InvalidTargetError, WebRepo, parse_target, web_repo


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "https://github.com/acme/shop/blob/main/catalog-info.yaml",
            GitTarget("https://github.com/acme/shop", "main", ("catalog-info.yaml",)),
        ),
        (
            "https://github.com/acme/shop/tree/main",
            GitTarget("https://github.com/acme/shop", "main"),
        ),
        (
            "https://github.acme.example/acme/shop/tree/v2/services/a",
            GitTarget("https://github.acme.example/acme/shop", "v2", ("services/a",)),
        ),
        (
            "https://gitlab.com/acme/platform/shop/-/blob/dev/x/catalog-info.yaml",
            GitTarget("https://gitlab.com/acme/platform/shop", "dev", ("x/catalog-info.yaml",)),
        ),
        ("https://gitlab.com/acme/shop.git", GitTarget("https://gitlab.com/acme/shop.git")),
        ("http://git.example.com/acme/shop", GitTarget("http://git.example.com/acme/shop")),
        ("ssh://git@git.example.com/acme/shop", GitTarget("ssh://git@git.example.com/acme/shop")),
        ("git@github.com:acme/shop.git", GitTarget("git@github.com:acme/shop.git")),
        ("file:///srv/git/shop", GitTarget("file:///srv/git/shop")),
        (
            "file:///srv/git/shop.git/blob/main/catalog-info.yaml",
            GitTarget("file:///srv/git/shop.git", "main", ("catalog-info.yaml",)),
        ),
        (
            "https://git.example.com/acme/shop.git/tree/trunk",
            GitTarget("https://git.example.com/acme/shop.git", "trunk"),
        ),
    ],
)
def test_a_target_names_a_repository_ref_and_path(target: str, expected: GitTarget) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("", "is empty"),
        ("/srv/git/shop", "is not a URL"),
        ("ftp://example.com/shop", "scheme 'ftp'"),
        ("file:///", "names no folder"),
        ("https://github.com/acme/blob/main/x.yaml", "names no org/repository"),
        ("https://github.com/acme/shop/blob", "names no ref"),
        ("https://git.example.com/shop?x=1", "query or fragment"),
    ],
)
def test_a_target_that_names_no_repository_is_refused_with_why(target: str, reason: str) -> None:
    with pytest.raises(InvalidTargetError) as caught:
        parse_target(target)

    assert reason in str(caught.value)
    assert "https://github.com/org/repo/blob/main/catalog-info.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/shop.git", WebRepo("github", "https://github.com/acme/shop")),
        ("git@github.com:acme/shop.git", WebRepo("github", "https://github.com/acme/shop")),
        (
            "ssh://git@gitlab.acme.example/g/sub/shop.git",
            WebRepo("gitlab", "https://gitlab.acme.example/g/sub/shop"),
        ),
        ("https://bitbucket.org/acme/shop", None),
        ("file:///srv/git/github/shop", None),
        ("/srv/github/acme/shop", None),
    ],
)
def test_web_repo_knows_github_and_gitlab_hosts(url: str, expected: WebRepo | None) -> None:
    assert web_repo(url) == expected
