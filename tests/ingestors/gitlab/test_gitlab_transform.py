"""The GitLab transform on recorded payloads (tests/fixtures/gitlab): pure, no I/O."""

from __future__ import annotations

from typing import Any

from catalog.delivery import iso_utc
from ingestors.gitlab.transform import (
    ENVIRONMENTS_SCOPE,
    project_scope,
    transform_group,
)
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import EventRetention, Snapshot
from tests.ingestors.gitlab.recorded import LEGACY, PAYMENTS, SEARCH, payload


def _by_ref(snapshot: Snapshot) -> dict[str, Any]:
    return {str(d.entity.ref): d for d in snapshot.descriptors}


def _spec(snapshot: Snapshot, ref: str) -> dict[str, Any]:
    return dict(_by_ref(snapshot)[ref].entity.spec)


def test_descriptors_are_read_with_the_git_rules_and_scoped_per_project() -> None:
    snapshot = transform_group(payload())

    refs = _by_ref(snapshot)
    assert {
        "component:default/payments",
        "api:default/payments-api",
        "location:default/search-location",
        "component:default/search-indexer",
        "component:default/search-query",
    } <= set(refs)
    api = refs["api:default/payments-api"].entity
    assert api.spec["definition"].startswith("openapi: 3.0.0")  # $text resolved
    payments = refs["component:default/payments"].entity
    annotations = payments.metadata.annotations
    assert annotations[SOURCE_PATH_ANNOTATION] == "gitlab/acme/platform/payments"
    assert annotations["backstage.io/managed-by-location"] == (
        "url:https://gitlab.example.com/acme/platform/payments/-/blob/main/catalog-info.yaml"
    )
    indexer = refs["component:default/search-indexer"]
    assert indexer.location.file == "acme/platform/search/components/indexer.yaml"
    assert snapshot.errors == []
    assert snapshot.skipped == [f"{LEGACY}: no catalog-info.yaml on main"]


def test_ci_file_is_a_deferred_pipeline_linked_to_the_project_components() -> None:
    snapshot = transform_group(payload())

    item = _by_ref(snapshot)["pipeline:default/acme-platform-payments-gitlab-ci"]
    assert item.defer is True
    assert item.entity.spec == {
        "type": "gitlab-ci",
        "components": ["component:default/payments"],
        "repository": PAYMENTS,
        "path": ".gitlab-ci.yml",
        "url": "https://gitlab.example.com/acme/platform/payments/-/pipelines",
        "owner": "team-payments",
    }
    assert item.entity.metadata.description == (
        "GitLab CI of acme/platform/payments; stages: build, test, deploy"
    )
    search = _spec(snapshot, "pipeline:default/acme-platform-search-gitlab-ci")
    assert search["path"] == "ci/pipeline.yml"
    assert search["components"] == [
        "component:default/search-indexer",
        "component:default/search-query",
    ]


def test_pipelines_become_builds_run_of_the_pipeline() -> None:
    snapshot = transform_group(payload())

    running = _spec(snapshot, "build:default/acme-platform-payments-gitlab-ci-3")
    assert running == {
        "pipeline": "pipeline:default/acme-platform-payments-gitlab-ci",
        "status": "in_progress",
        "number": 3,
        "branch": "main",
        "commit": "c3" * 20,
        "startedAt": "2024-05-02T10:00:05Z",
        "url": "https://gitlab.example.com/acme/platform/payments/-/pipelines/9003",
        "gitlabPipelineId": 9003,
        "source": "push",
    }
    failed = _spec(snapshot, "build:default/acme-platform-payments-gitlab-ci-2")
    assert failed["status"] == "completed"
    assert failed["conclusion"] == "failure"
    assert failed["startedAt"] == "2024-05-01T10:00:03Z"  # +02:00 in the payload
    assert failed["durationSeconds"] == 95.0
    assert failed["branch"] == "feature/retry"
    assert (
        _spec(snapshot, "build:default/acme-platform-payments-gitlab-ci-1")["conclusion"]
        == "success"
    )
    assert EventRetention("build", ("pipeline",), "startedAt", 20) in snapshot.events


def test_builds_per_pipeline_keeps_the_newest() -> None:
    snapshot = transform_group(payload(), builds_per_pipeline=2)

    builds = sorted(r for r in _by_ref(snapshot) if r.startswith("build:"))
    assert builds == [
        "build:default/acme-platform-payments-gitlab-ci-2",
        "build:default/acme-platform-payments-gitlab-ci-3",
        "build:default/acme-platform-search-gitlab-ci-1",
    ]


def test_environments_are_shared_by_name_and_deployments_link_both() -> None:
    snapshot = transform_group(payload())

    production = _by_ref(snapshot)["environment:default/production"]
    assert production.defer is True
    assert production.entity.spec == {
        "components": [
            "component:default/payments",
            "component:default/search-indexer",
            "component:default/search-query",
        ],
        "type": "production",
        "url": "https://pay.acme.example",
    }
    assert production.entity.metadata.annotations[SOURCE_PATH_ANNOTATION] == ENVIRONMENTS_SCOPE
    assert _spec(snapshot, "environment:default/staging")["components"] == [
        "component:default/payments"
    ]
    deployment = _spec(snapshot, "deployment:default/acme-platform-payments-production-703")
    assert deployment == {
        "component": "component:default/payments",
        "environment": "environment:default/production",
        "status": "in_progress",
        "commit": "c3" * 20,
        "ref": "main",
        "createdAt": "2024-05-02T10:05:00Z",
        "creator": "bob",
        "url": "https://gitlab.example.com/acme/platform/payments/-/jobs/5703",
    }
    assert (
        _spec(snapshot, "deployment:default/acme-platform-payments-staging-702")["status"]
        == "success"
    )
    assert (
        EventRetention("deployment", ("component", "environment"), "createdAt", 20)
        in snapshot.events
    )


def test_deployments_per_environment_keeps_the_newest_of_each() -> None:
    snapshot = transform_group(payload(), deployments_per_environment=1)

    deployments = sorted(r for r in _by_ref(snapshot) if r.startswith("deployment:"))
    assert deployments == [
        "deployment:default/acme-platform-payments-production-703",
        "deployment:default/acme-platform-payments-staging-702",
    ]


def test_catalog_components_annotated_with_the_project_are_linked() -> None:
    linked = {LEGACY: ["component:tools/legacy-cli"], SEARCH: ["component:default/search-ui"]}
    group = payload(linked)
    legacy = next(p for p in group.projects if p.path == LEGACY)
    legacy.ci_file = "stages: [lint]\n"
    snapshot = transform_group(group)

    # legacy-tools has no descriptor but a catalog component names it: its pipeline is
    # linked to it, in the component's namespace.
    assert _spec(snapshot, "pipeline:tools/acme-platform-legacy-tools-gitlab-ci")["components"] == [
        "component:tools/legacy-cli"
    ]
    search = _spec(snapshot, "pipeline:default/acme-platform-search-gitlab-ci")
    assert "component:default/search-ui" in search["components"]
    assert "owner" not in search  # not every component is the project's own


def test_a_failed_project_keeps_its_entities_and_the_environments() -> None:
    group = payload()
    group.projects = [p for p in group.projects if p.path != SEARCH]
    group.failed[SEARCH] = "http://gitlab/api/v4/projects/102/pipelines failed (HTTP 500)"
    snapshot = transform_group(group)

    assert project_scope(SEARCH) in snapshot.keep_files
    assert ENVIRONMENTS_SCOPE in snapshot.keep_files
    assert not [r for r in _by_ref(snapshot) if r.startswith("environment:")]
    assert [e.file for e in snapshot.errors] == [SEARCH]
    assert "its entities were kept" in snapshot.errors[0].message


def test_a_broken_descriptor_is_reported_with_its_project_file_and_line() -> None:
    group = payload()
    payments = next(p for p in group.projects if p.path == PAYMENTS)
    payments.files["catalog-info.yaml"] = "kind: Component\nmetadata: [unclosed\n"
    snapshot = transform_group(group)

    assert [e.file for e in snapshot.errors] == ["acme/platform/payments/catalog-info.yaml:3:1"]
    assert project_scope(PAYMENTS) in snapshot.keep_files
    # Without its component the project links nothing; its pipeline is still read.
    assert _spec(snapshot, "pipeline:default/acme-platform-payments-gitlab-ci")["components"] == []
    assert not [r for r in _by_ref(snapshot) if r.startswith("deployment:default/payments")]


def test_timestamps_are_utc_seconds() -> None:
    assert iso_utc("2024-05-01T12:00:03.500+02:00") == "2024-05-01T10:00:03Z"
    assert iso_utc("2024-05-01T12:00:03Z") == "2024-05-01T12:00:03Z"
    assert iso_utc(None) is None
    assert iso_utc("yesterday") is None
