"""What each webhook event asks of the configured sources (pure), and the signature checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from graph.port import Delivery
from ingestors.contract import SourceConfig
from ingestors.git import GitSource
from ingestors.github.config import GithubSource
from ingestors.gitlab.config import GitlabSource
from ingestors.inbox import merged_scope
from ingestors.webhooks import (
    Target,
    github_candidates,
    github_targets,
    gitlab_candidates,
    gitlab_targets,
    sign,
    signed_by,
    token_of,
)

HOOK = {"secret": "s3cret-for-tests"}
GITHUB = GithubSource(name="acme", org="acme", webhook=HOOK)
GIT = GitSource(name="pay-repo", url="git@github.com:acme/pay.git", ref="release", webhook=HOOK)
GITLAB = GitlabSource(name="platform", group="acme/platform", webhook=HOOK)
UNHOOKED = GithubSource(name="quiet", org="acme")
SOURCES: list[SourceConfig] = [GITHUB, GIT, GITLAB, UNHOOKED]


def _repo(name: str = "pay") -> dict[str, Any]:
    return {
        "name": name,
        "owner": {"login": "Acme"},
        "default_branch": "main",
        "clone_url": f"https://github.com/acme/{name}.git",
    }


def test_a_signature_is_the_hmac_of_the_body_with_the_source_secret() -> None:
    body = b'{"zen": "x"}'

    assert signed_by(GITHUB, body, sign("s3cret-for-tests", body))
    assert not signed_by(GITHUB, body, sign("another-secret", body))
    assert not signed_by(GITHUB, body + b" ", sign("s3cret-for-tests", body))
    assert not signed_by(UNHOOKED, body, sign("s3cret-for-tests", body))
    assert token_of(GITLAB, "s3cret-for-tests") and not token_of(GITLAB, "s3cret")


def test_github_deliveries_concern_the_org_sources_and_the_repository_git_sources() -> None:
    assert github_candidates(SOURCES, {"repository": _repo()}) == [GITHUB, GIT]
    assert github_candidates(SOURCES, {"repository": _repo("other")}) == [GITHUB]
    assert github_candidates(SOURCES, {"organization": {"login": "elsewhere"}}) == []


def test_github_events_name_what_to_read_again() -> None:
    def targets(event: str, payload: dict[str, Any]) -> list[Target]:
        return github_targets([GITHUB, GIT], event, payload)[0]

    push = {"ref": "refs/heads/main", "repository": _repo()}
    renamed = {
        "action": "renamed",
        "repository": _repo("pay2"),
        "changes": {"repository": {"name": {"from": "pay"}}},
    }

    assert targets("push", push) == [Target("acme", ("github:acme/pay",), "push")]
    assert targets("push", {**push, "ref": "refs/heads/release"}) == [
        Target("pay-repo", (), "push")
    ]
    assert targets("push", {**push, "ref": "refs/heads/feature"}) == []
    assert targets("repository", renamed) == [
        Target("acme", ("github:acme/pay", "github:acme/pay2"), "repository.renamed")
    ]
    assert targets("workflow_run", {"action": "completed", "repository": _repo()}) == [
        Target("acme", ("github:acme/pay",), "workflow_run.completed", direct=True)
    ]
    assert targets("deployment_status", {"action": "created", "repository": _repo()}) == [
        Target("acme", ("github:acme/pay",), "deployment_status.created", direct=True)
    ]
    assert targets("membership", {"action": "added", "organization": {"login": "acme"}}) == [
        Target("acme", ("github:acme/teams",), "membership.added")
    ]
    ignored, reason = github_targets([GITHUB], "star", {"repository": _repo()})
    assert ignored == [] and "'star' is not one Stagegraph reads again" in reason


def test_gitlab_events_read_the_project_again() -> None:
    project = {"path_with_namespace": "acme/platform/pay", "default_branch": "main"}
    push = {"object_kind": "push", "ref": "refs/heads/main", "project": project}
    renamed = {
        "event_name": "project_rename",
        "path_with_namespace": "acme/platform/pay2",
        "old_path_with_namespace": "acme/platform/pay",
    }

    assert gitlab_candidates(SOURCES, push) == [GITLAB]
    assert gitlab_candidates(SOURCES, {"project": {"path_with_namespace": "acme/x/y"}}) == []
    assert gitlab_targets([GITLAB], "Push Hook", push)[0] == [
        Target("platform", ("gitlab/acme/platform/pay",), "push")
    ]
    assert gitlab_targets([GITLAB], "Push Hook", {**push, "ref": "refs/heads/dev"})[0] == []
    on_release = GitlabSource(name="rel", group="acme/platform", branch="release", webhook=HOOK)
    assert gitlab_targets([on_release], "Push Hook", push)[0] == []
    assert gitlab_targets([on_release], "Push Hook", {**push, "ref": "refs/heads/release"})[0] == [
        Target("rel", ("gitlab/acme/platform/pay",), "push")
    ]
    assert gitlab_targets([GITLAB], "Pipeline Hook", {**push, "object_kind": "pipeline"})[0] == [
        Target("platform", ("gitlab/acme/platform/pay",), "pipeline", direct=True)
    ]
    assert gitlab_targets([GITLAB], "System Hook", renamed)[0] == [
        Target(
            "platform",
            ("gitlab/acme/platform/pay", "gitlab/acme/platform/pay2"),
            "project_rename",
        )
    ]


def test_deliveries_of_a_source_merge_into_one_scope() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def delivery(*scope: str) -> Delivery:
        return Delivery(f"d{len(scope)}{scope}", "acme", "push", at, scope)

    assert merged_scope(
        [delivery("github:acme/a"), delivery("github:acme/b", "github:acme/a")]
    ) == (
        "github:acme/a",
        "github:acme/b",
    )
    assert merged_scope([delivery("github:acme/a"), delivery()]) == ()
