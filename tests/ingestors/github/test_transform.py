"""The GitHub transform on recorded API payloads (tests/fixtures/github/acme)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingestors.git.transform import Origin, transform_tree
from ingestors.git.tree import MemoryTree
from ingestors.github.config import GithubSource
from ingestors.github.payload import OrgPayload, load_recorded
from ingestors.github.transform import transform_org
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import EventRetention, Snapshot
from tests.gitrepo import component

FIXTURES = Path(__file__).parents[2] / "fixtures" / "github" / "acme"
SOURCE = GithubSource(name="acme-github", org="acme")
CATALOG = {
    "acme/payments": ["component:default/payments"],
    "acme/ledger": ["component:default/ledger"],
}


def recorded(catalog: dict[str, list[str]] | None = None) -> OrgPayload:
    return load_recorded(FIXTURES, CATALOG if catalog is None else catalog)


def by_kind(snapshot: Snapshot, kind: str) -> dict[str, dict[str, Any]]:
    return {
        str(d.entity.ref): d.entity.to_document()
        for d in snapshot.descriptors
        if d.entity.kind.lower() == kind
    }


def test_workflows_become_deferred_pipelines_of_the_repository_components() -> None:
    snapshot = transform_org(recorded(), SOURCE)

    pipelines = by_kind(snapshot, "pipeline")
    assert set(pipelines) == {
        "pipeline:default/acme-payments-ci",
        "pipeline:default/acme-ledger-release",
    }
    ci = pipelines["pipeline:default/acme-payments-ci"]
    assert ci["metadata"]["title"] == "CI"
    assert ci["spec"]["components"] == ["component:default/payments"]
    assert ci["spec"]["repository"] == "acme/payments"
    assert ci["spec"]["path"] == ".github/workflows/ci.yml"
    assert (
        ci["spec"]["url"] == "https://github.com/acme/payments/blob/main/.github/workflows/ci.yml"
    )
    assert ci["metadata"]["annotations"][SOURCE_PATH_ANNOTATION] == "github:acme/payments/actions"
    assert all(d.defer for d in snapshot.descriptors if d.entity.kind == "Pipeline")


def test_runs_become_builds_with_status_timing_and_commit() -> None:
    snapshot = transform_org(recorded(), SOURCE)

    builds = by_kind(snapshot, "build")
    assert {
        (ref, b["spec"]["status"], b["spec"].get("conclusion")) for ref, b in builds.items()
    } == {
        ("build:default/acme-payments-ci-1", "completed", "success"),
        ("build:default/acme-payments-ci-2", "completed", "failure"),
        ("build:default/acme-payments-ci-3", "in_progress", None),
        ("build:default/acme-ledger-release-7", "completed", "success"),
    }
    second = builds["build:default/acme-payments-ci-2"]["spec"]
    assert second["pipeline"] == "pipeline:default/acme-payments-ci"
    assert second["startedAt"] == "2026-11-21T09:00:00Z"
    assert second["durationSeconds"] == 240.0
    assert second["number"] == 2 and second["branch"] == "main" and len(second["commit"]) == 40
    assert second["url"].startswith("https://github.com/acme/payments/actions/runs/")
    assert "durationSeconds" not in builds["build:default/acme-payments-ci-3"]["spec"]


def test_deployments_link_component_and_shared_environments() -> None:
    snapshot = transform_org(recorded(), SOURCE)

    deployments = by_kind(snapshot, "deployment")
    assert {
        (d["spec"]["component"], d["spec"]["environment"], d["spec"]["status"])
        for d in deployments.values()
    } == {
        ("component:default/payments", "environment:default/production", "success"),
        ("component:default/payments", "environment:default/staging", "failure"),
        ("component:default/ledger", "environment:default/production", "in_progress"),
    }
    first = deployments["deployment:default/acme-payments-production-501"]["spec"]
    assert first["ref"] == "v1.0.0" and first["creator"] == "deploy-bot"
    assert first["createdAt"] == "2026-11-21T10:00:00Z"
    environments = by_kind(snapshot, "environment")
    assert environments["environment:default/production"]["spec"] == {
        "type": "production",
        "components": ["component:default/ledger", "component:default/payments"],
    }
    assert environments["environment:default/staging"]["metadata"]["title"] == "Staging"
    assert all(d.defer for d in snapshot.descriptors if d.entity.kind == "Environment")


def test_builds_and_deployments_are_events_kept_by_retention() -> None:
    source = GithubSource.model_validate(
        {
            "name": "acme-github",
            "org": "acme",
            "buildsPerPipeline": 5,
            "deploymentsPerEnvironment": 3,
        }
    )

    snapshot = transform_org(recorded(), source)

    assert snapshot.events == [
        EventRetention("build", ("pipeline",), "startedAt", 5),
        EventRetention("deployment", ("component", "environment"), "createdAt", 3),
    ]


def test_teams_become_groups_and_members_users() -> None:
    snapshot = transform_org(recorded(), SOURCE)

    groups = by_kind(snapshot, "group")
    assert {(ref, g["spec"].get("parent")) for ref, g in groups.items()} == {
        ("group:default/platform", None),
        ("group:default/payments-team", "group:default/platform"),
    }
    platform = groups["group:default/platform"]
    assert platform["spec"]["type"] == "team"
    assert platform["spec"]["children"] == ["group:default/payments-team"]
    # GitHub lists platform's members with its child team's (grace, linus): only ada is direct
    assert platform["spec"]["members"] == ["user:default/ada"]
    assert platform["metadata"]["annotations"]["github.com/team-slug"] == "acme/platform"
    assert groups["group:default/payments-team"]["spec"]["members"] == [
        "user:default/grace",
        "user:default/linus",
    ]
    users = by_kind(snapshot, "user")
    assert users["user:default/grace"]["spec"]["memberOf"] == ["group:default/payments-team"]
    assert users["user:default/linus"]["spec"]["memberOf"] == ["group:default/payments-team"]
    assert users["user:default/ada"]["spec"]["profile"]["displayName"] == "Ada"
    assert users["user:default/ada"]["spec"]["profile"]["email"] == "ada@acme.example.com"


def test_descriptors_are_scoped_per_repository_and_file_pipelines_merged() -> None:
    tree = MemoryTree(
        {
            "catalog-info.yaml": component("payments", owner="payments-team"),
            ".github/workflows/ci.yml": "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n",
            ".github/workflows/nightly.yml": "name: Nightly\non: [schedule]\njobs:\n  n: {}\n",
        }
    )
    payload = recorded(catalog={})
    payments = next(r for r in payload.repos if r.full_name == "acme/payments")
    payments.descriptors = transform_tree(tree, Origin("file:///git/payments.git", "abc123"))

    snapshot = transform_org(payload, SOURCE)

    paths = {
        str(d.entity.ref): d.entity.metadata.annotations[SOURCE_PATH_ANNOTATION]
        for d in snapshot.descriptors
        if d.entity.kind in ("Component", "Pipeline")
    }
    assert paths == {
        "component:default/payments": "github:acme/payments",
        "pipeline:default/acme-payments-ci": "github:acme/payments/actions",
        "pipeline:default/acme-payments-nightly": "github:acme/payments",
        "pipeline:default/acme-ledger-release": "github:acme/ledger/actions",
    }
    ci = [
        d for d in snapshot.descriptors if str(d.entity.ref) == "pipeline:default/acme-payments-ci"
    ]
    assert len(ci) == 1
    spec = ci[0].entity.spec
    assert spec["components"] == ["component:default/payments"]
    assert spec["url"].startswith("https://github.com/acme/payments/blob/main/")
    assert "Jobs: test." in (ci[0].entity.metadata.description or "")
    # ledger has no component of its own nor in the catalog: nothing to deploy
    assert "acme/ledger: deployments not read (no component to link them to)" in snapshot.skipped


def test_unreadable_repository_and_failed_scopes_keep_their_entities() -> None:
    payload = recorded()
    payments = next(r for r in payload.repos if r.full_name == "acme/payments")
    payments.errors["descriptors"] = "git clone failed: repository not found"
    payments.errors["deployments"] = "HTTP 502"
    payload.errors["teams"] = "HTTP 403: forbidden"
    ledger = next(r for r in payload.repos if r.full_name == "acme/ledger")
    ledger.missing_descriptor = True

    snapshot = transform_org(payload, SOURCE)

    assert snapshot.keep_files == {
        "github:acme/payments",
        "github:acme/payments/deployments",
        "github:acme/environments",
        "github:acme/teams",
    }
    assert [e.file for e in snapshot.errors] == ["acme/payments", "acme/payments", "acme"]
    assert "git clone failed" in snapshot.errors[0].message
    assert "kept" in snapshot.errors[0].message
    assert snapshot.skipped == ["acme/ledger: no catalog-info.yaml"]


def test_repository_filters() -> None:
    source = GithubSource(
        name="g", org="acme", repos=("pay*", "ledger"), topics=("backend",), visibility="private"
    )
    base = {"name": "payments", "archived": False, "fork": False, "visibility": "private"}

    assert source.wants({**base, "topics": ["backend"]}) is None
    assert source.wants({**base, "topics": []}) == "no topic of backend"
    assert source.wants({**base, "name": "web", "topics": ["backend"]}) == "not matched by repos"
    assert source.wants({**base, "archived": True, "topics": ["backend"]}) == (
        "archived (includeArchived: false)"
    )
    assert source.wants({**base, "fork": True, "topics": ["backend"]}) == (
        "a fork (includeForks: false)"
    )
    assert source.wants({**base, "visibility": "public", "topics": ["backend"]}) == (
        "public (visibility: private)"
    )


def test_config_errors_are_clear() -> None:
    with pytest.raises(ValidationError) as caught:
        GithubSource.model_validate(
            {
                "name": "g",
                "type": "github",
                "org": "https://github.com/acme",
                "apiUrl": "api.github",
            }
        )

    text = str(caught.value)
    assert "not an organisation login: write just the name" in text
    assert "not an API URL" in text
    with pytest.raises(ValidationError, match="visibility"):
        GithubSource.model_validate({"name": "g", "org": "acme", "visibility": "secret"})
    with pytest.raises(ValidationError, match="token"):
        GithubSource.model_validate({"name": "g", "org": "acme", "token": "ghp_x"})


def test_pipelines_take_the_components_namespace_and_environments_stay_in_default() -> None:
    catalog = {
        "acme/payments": ["component:payments/payments"],
        "acme/ledger": ["component:default/ledger"],
    }

    snapshot = transform_org(recorded(catalog), SOURCE)

    # The rule the git source's CI files follow: the components' namespace, else default.
    assert set(by_kind(snapshot, "pipeline")) == {
        "pipeline:payments/acme-payments-ci",
        "pipeline:default/acme-ledger-release",
    }
    builds = by_kind(snapshot, "build")
    assert builds["build:payments/acme-payments-ci-3"]["spec"]["pipeline"] == (
        "pipeline:payments/acme-payments-ci"
    )
    deployment = by_kind(snapshot, "deployment")["deployment:payments/acme-payments-production-501"]
    assert deployment["spec"]["component"] == "component:payments/payments"
    assert deployment["spec"]["environment"] == "environment:default/production"
    environments = by_kind(snapshot, "environment")
    assert "environment:default/production" in environments
    assert (
        "component:payments/payments"
        in (environments["environment:default/production"]["spec"]["components"])
    )
