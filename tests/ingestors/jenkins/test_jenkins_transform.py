"""The Jenkins transform on recorded payloads (tests/fixtures/jenkins): pure, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from ingestors.jenkins.transform import remote_path, transform_jenkins
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import EventRetention, Snapshot
from tests.ingestors.jenkins.recorded import payload


def _by_ref(snapshot: Snapshot) -> dict[str, Any]:
    return {str(d.entity.ref): d for d in snapshot.descriptors}


def _spec(snapshot: Snapshot, ref: str) -> dict[str, Any]:
    return dict(_by_ref(snapshot)[ref].entity.spec)


def test_every_job_is_a_deferred_pipeline() -> None:
    snapshot = transform_jenkins(payload())

    pipelines = {r: d for r, d in _by_ref(snapshot).items() if r.startswith("pipeline:")}
    assert sorted(pipelines) == [
        "pipeline:default/acme-payments-jenkins",
        "pipeline:default/acme-platform-search-jenkins",
        "pipeline:default/jenkins-smoke-tests",
        "pipeline:default/jenkins-team-payments-archive-old-deploy",
        "pipeline:default/jenkins-team-payments-payments-nightly",
        "pipeline:infra/jenkins-platform-infra-apply",
    ]
    assert all(d.defer for d in pipelines.values())
    assert snapshot.errors == []
    assert snapshot.skipped == [
        "cron-monitor: a hudson.model.ExternalJob is not a job this source reads"
    ]


def test_a_multibranch_project_is_one_pipeline_named_by_its_repository() -> None:
    snapshot = transform_jenkins(payload())

    item = _by_ref(snapshot)["pipeline:default/acme-payments-jenkins"]
    assert item.entity.spec == {
        "type": "jenkins",
        "components": ["component:default/payments"],
        "repository": "acme/payments",  # not the shared library's remote
        "url": "http://jenkins.example.com/job/team-payments/job/payments/",
    }
    metadata = item.entity.metadata
    assert metadata.annotations == {
        "jenkins.io/job-full-name": "team-payments/payments",
        SOURCE_PATH_ANNOTATION: "jenkins/team-payments",
    }
    assert metadata.description == (
        "Jenkins multibranch project team-payments/payments (2 branches): "
        "Payments service (Jenkinsfile)"
    )
    # Another job building the same repository keeps its own name, linked all the same.
    nightly = _spec(snapshot, "pipeline:default/jenkins-team-payments-payments-nightly")
    assert nightly["repository"] == "acme/payments"
    assert nightly["components"] == ["component:default/payments"]


def test_branch_builds_belong_to_the_multibranch_pipeline() -> None:
    snapshot = transform_jenkins(payload())

    builds = sorted(
        r
        for r, d in _by_ref(snapshot).items()
        if r.startswith("build:default/acme-payments-jenkins")
    )
    assert builds == [
        "build:default/acme-payments-jenkins-feature-retry-1",
        "build:default/acme-payments-jenkins-feature-retry-2",
        "build:default/acme-payments-jenkins-main-12",
        "build:default/acme-payments-jenkins-main-13",
        "build:default/acme-payments-jenkins-main-14",
    ]
    assert _spec(snapshot, "build:default/acme-payments-jenkins-main-13") == {
        "pipeline": "pipeline:default/acme-payments-jenkins",
        "status": "completed",
        "conclusion": "success",
        "number": 13,
        "branch": "main",
        "commit": "a1" * 20,
        "startedAt": "2024-05-01T09:00:00Z",
        "durationSeconds": 241.5,
        "url": "http://jenkins.example.com/job/team-payments/job/payments/job/main/13/",
    }
    running = _spec(snapshot, "build:default/acme-payments-jenkins-main-14")
    assert running["status"] == "in_progress"
    assert "conclusion" not in running and "durationSeconds" not in running
    assert _spec(snapshot, "build:default/acme-payments-jenkins-feature-retry-2")["conclusion"] == (
        "unstable"
    )
    assert EventRetention("build", ("pipeline",), "startedAt", 20) in snapshot.events


def test_builds_per_pipeline_keeps_the_newest_across_branches() -> None:
    snapshot = transform_jenkins(payload(), builds_per_pipeline=2)

    builds = sorted(
        r for r in _by_ref(snapshot) if r.startswith("build:default/acme-payments-jenkins")
    )
    assert builds == [
        "build:default/acme-payments-jenkins-feature-retry-2",
        "build:default/acme-payments-jenkins-main-14",
    ]


def test_a_freestyle_build_reads_branch_and_commit_from_the_git_plugin() -> None:
    snapshot = transform_jenkins(payload())

    nightly = _spec(snapshot, "build:default/jenkins-team-payments-payments-nightly-30")
    assert (nightly["branch"], nightly["commit"]) == ("main", "c3" * 20)
    assert nightly["durationSeconds"] == 600.0


def test_jobs_link_by_annotation_and_by_git_remote() -> None:
    snapshot = transform_jenkins(payload())

    # gitlab.com/project-slug acme/platform/search matched from an scp-style remote
    assert _spec(snapshot, "pipeline:default/acme-platform-search-jenkins")["components"] == [
        "component:default/search"
    ]
    # jenkins.io/job-full-name "jenkins-main:Platform/Infra-Apply": the instance prefix and
    # the case are ignored; the pipeline takes the component's namespace.
    infra = _by_ref(snapshot)["pipeline:infra/jenkins-platform-infra-apply"].entity
    assert infra.spec["components"] == ["component:infra/terraform"]
    assert infra.metadata.title == "Infra apply"
    assert "build:infra/jenkins-platform-infra-apply-3" in _by_ref(snapshot)
    assert _spec(snapshot, "pipeline:default/jenkins-smoke-tests")["components"] == []


def test_without_catalog_matches_jobs_with_a_remote_are_still_named_by_it() -> None:
    snapshot = transform_jenkins(payload(by_job={}, by_slug={}))

    assert _spec(snapshot, "pipeline:default/acme-platform-search-jenkins")["components"] == []
    assert "pipeline:default/jenkins-platform-infra-apply" in _by_ref(snapshot)


def test_a_failed_folder_keeps_its_scope() -> None:
    group = payload()
    group.jobs = [j for j in group.jobs if not j.full_name.startswith("platform/")]
    group.failed["jenkins/platform"] = "platform: http://jenkins/job/platform/api/json (HTTP 500)"
    snapshot = transform_jenkins(group)

    assert snapshot.keep_files == {"jenkins/platform"}
    assert [e.file for e in snapshot.errors] == ["jenkins/platform"]
    assert "were kept" in snapshot.errors[0].message


@pytest.mark.parametrize(
    ("remote", "path"),
    [
        ("https://github.com/acme/payments.git", "acme/payments"),
        ("git@github.com:Acme/Payments.git", "acme/payments"),
        ("ssh://git@gitlab.example.com:2222/acme/platform/search.git", "acme/platform/search"),
        ("https://user:token@bitbucket.example.com/scm/acme/payments.git", "acme/payments"),
        ("/srv/git/payments", None),
    ],
)
def test_remote_paths(remote: str, path: str | None) -> None:
    assert remote_path(remote) == path
