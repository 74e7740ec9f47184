"""CODEOWNERS: GitHub's pattern rules, last match wins, owners turned into refs."""

from __future__ import annotations

import pytest

from catalog.refs import EntityRef
from ingestors.git.codeowners import owner_ref, owners_for, parse_codeowners


def owns(pattern: str, path: str) -> bool:
    return owners_for(parse_codeowners(f"{pattern} @acme/team"), path) == ("@acme/team",)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # no slash: any depth
        ("*.yaml", "catalog-info.yaml", True),
        ("*.yaml", "services/payments/catalog-info.yaml", True),
        ("*.yaml", "catalog-info.yml", False),
        ("catalog-info.yaml", "services/payments/catalog-info.yaml", True),
        ("catalog-info.yaml", "services/payments/catalog-info.yaml.bak", False),
        ("*", "any/path/at/all.txt", True),
        ("?.md", "docs/a.md", True),
        ("?.md", "docs/ab.md", False),
        # trailing slash only: a directory at any depth, all its contents
        ("docs/", "docs/index.md", True),
        ("docs/", "services/docs/deep/index.md", True),
        ("docs/", "docs", False),
        ("docs/", "mydocs/index.md", False),
        # leading slash: anchored to the root
        ("/docs/", "docs/guide/index.md", True),
        ("/docs/", "services/docs/index.md", False),
        ("/catalog-info.yaml", "catalog-info.yaml", True),
        ("/catalog-info.yaml", "services/catalog-info.yaml", False),
        # slash in the middle: anchored too, and names a directory's contents
        ("apps/github", "apps/github/catalog-info.yaml", True),
        ("apps/github", "src/apps/github/catalog-info.yaml", False),
        # trailing /*: the directory's own files, not nested ones (GitHub's docs/* example)
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),
        # ** crosses directories
        ("/apps/**/catalog-info.yaml", "apps/catalog-info.yaml", True),
        ("/apps/**/catalog-info.yaml", "apps/web/shop/catalog-info.yaml", True),
        ("/apps/**/catalog-info.yaml", "apps/web/catalog-info.yml", False),
        ("/apps/**/catalog-info.yaml", "libs/apps/web/catalog-info.yaml", False),
        ("**/logs", "logs/a.txt", True),
        ("**/logs", "build/deep/logs/a.txt", True),
        ("docs/**", "docs/a/b/c.md", True),
        ("docs/**", "other/docs/c.md", False),
        # * stays inside one segment
        ("/services/*/catalog-info.yaml", "services/payments/catalog-info.yaml", True),
        ("/services/*/catalog-info.yaml", "services/a/b/catalog-info.yaml", False),
    ],
)
def test_pattern_matches_like_github(pattern: str, path: str, expected: bool) -> None:
    assert owns(pattern, path) is expected


def test_last_matching_rule_wins() -> None:
    rules = parse_codeowners(
        "*                @acme/everyone\n"
        "/services/       @acme/services\n"
        "/services/legacy/ @acme/legacy @jane\n"
        "*.md             @acme/docs\n"
    )

    assert owners_for(rules, "README.txt") == ("@acme/everyone",)
    assert owners_for(rules, "services/payments/catalog-info.yaml") == ("@acme/services",)
    assert owners_for(rules, "services/legacy/catalog-info.yaml") == ("@acme/legacy", "@jane")
    assert owners_for(rules, "services/legacy/README.md") == ("@acme/docs",)


def test_rule_without_owners_leaves_its_paths_unowned() -> None:
    rules = parse_codeowners("* @acme/everyone\n/vendor/\n")

    assert owners_for(rules, "vendor/lib/catalog-info.yaml") == ()
    assert owners_for(rules, "src/catalog-info.yaml") == ("@acme/everyone",)


def test_no_matching_rule_means_no_owners() -> None:
    assert owners_for(parse_codeowners("/docs/ @acme/docs\n"), "src/a.py") == ()


def test_comments_and_blank_lines_are_skipped_and_lines_are_numbered() -> None:
    text = (
        "# Code owners of the shop\n"  # 1
        "\n"  # 2
        "*.yaml @acme/platform  # YAML belongs to platform\n"  # 3
        "   # indented comment\n"  # 4
        "\\#notes.md @jane\n"  # 5: escaped #, a file whose name starts with #
    )

    rules = parse_codeowners(text)

    assert [(r.pattern, r.owners, r.line) for r in rules] == [
        ("*.yaml", ("@acme/platform",), 3),
        ("#notes.md", ("@jane",), 5),
    ]
    assert owners_for(rules, "#notes.md") == ("@jane",)


@pytest.mark.parametrize(
    ("owner", "namespace", "expected"),
    [
        ("@acme/payments-team", "default", EntityRef("group", "default", "payments-team")),
        ("@acme/Platform", "finance", EntityRef("group", "finance", "Platform")),
        ("@octocat", "default", EntityRef("user", "default", "octocat")),
        ("@jane.doe", "ops", EntityRef("user", "ops", "jane.doe")),
    ],
)
def test_github_handles_become_refs(owner: str, namespace: str, expected: EntityRef) -> None:
    assert owner_ref(owner, namespace) == expected


@pytest.mark.parametrize("owner", ["jane@example.com", "team", "@acme/bad name!", "@-dash"])
def test_emails_and_unusable_handles_are_ignored(owner: str) -> None:
    assert owner_ref(owner) is None
