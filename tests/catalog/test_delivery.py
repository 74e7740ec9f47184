"""Names and shapes of the kinds sources add (catalog.delivery, catalog.kinds)."""

from __future__ import annotations

import pytest

from catalog.delivery import (
    build_name,
    deployment_name,
    environment_name,
    jenkins_pipeline_name,
    pipeline_name,
    repo_name,
    sanitize_name,
)
from catalog.errors import InvalidEntityError
from catalog.refs import is_valid_name
from catalog.relations import derive_relations
from catalog.validation import validate_entity


def test_sanitize_keeps_readable_names_and_hashes_long_ones() -> None:
    assert sanitize_name("payments-api") == "payments-api"
    assert sanitize_name("my bucket/with:odd chars!") == "my-bucket-with-odd-chars"
    long_a = "a" * 70
    long_b = "a" * 70 + "b"
    assert len(sanitize_name(long_a)) <= 63 and is_valid_name(sanitize_name(long_a))
    assert sanitize_name(long_a) != sanitize_name(long_b)
    assert sanitize_name(long_a) == sanitize_name(long_a)
    assert is_valid_name(sanitize_name("---"))


def test_pipeline_names_agree_whoever_reads_them() -> None:
    assert repo_name("https://github.com/acme/payments.git") == "payments"
    assert repo_name("acme/payments") == "payments"
    assert repo_name("git@github.com:acme/payments.git") == "payments"
    assert pipeline_name("acme/payments", "github-actions", ".github/workflows/ci.yml") == (
        "payments-ci"
    )
    assert pipeline_name("payments", "gitlab-ci") == "payments-gitlab-ci"
    assert pipeline_name("payments", "jenkins") == "payments-jenkins"
    assert jenkins_pipeline_name("team/payments/main") == "jenkins-team-payments-main"
    assert build_name("payments-ci", 412) == "payments-ci-412"
    assert environment_name(" Production ") == "production"
    assert deployment_name("acme/payments", "Production", 1001) == "payments-production-1001"
    with pytest.raises(ValueError, match="workflow path"):
        pipeline_name("payments", "github-actions")


def _entity(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "stagegraph.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def test_source_kinds_declare_their_relations() -> None:
    pipeline = validate_entity(
        _entity(
            "Pipeline",
            "payments-ci",
            {"type": "github-actions", "components": ["payments"], "owner": "team-a"},
        )
    )
    assert {(str(r.source), r.type, str(r.target)) for r in derive_relations(pipeline)} == {
        ("component:default/payments", "builtBy", "pipeline:default/payments-ci"),
        ("pipeline:default/payments-ci", "ownedBy", "group:default/team-a"),
    }
    build = validate_entity(
        _entity("Build", "payments-ci-1", {"pipeline": "payments-ci", "status": "completed"})
    )
    assert [(r.type, str(r.target)) for r in derive_relations(build)] == [
        ("runOf", "pipeline:default/payments-ci")
    ]
    deployment = validate_entity(
        _entity("Deployment", "d1", {"component": "payments", "environment": "production"})
    )
    assert [(r.type, str(r.target)) for r in derive_relations(deployment)] == [
        ("deploys", "component:default/payments"),
        ("deployedTo", "environment:default/production"),
    ]
    environment = validate_entity(_entity("Environment", "production", {"components": ["a"]}))
    assert [(str(r.source), r.type) for r in derive_relations(environment)] == [
        ("component:default/a", "deployedTo")
    ]
    resource = validate_entity(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {"name": "fn", "namespace": "aws-123456789012"},
            "spec": {
                "type": "aws-lambda-function",
                "owner": "group:default/team-a",
                "account": "aws-123456789012",
                "environment": "environment:default/production",
            },
        }
    )
    assert {(r.type, str(r.target)) for r in derive_relations(resource)} == {
        ("ownedBy", "group:default/team-a"),
        ("partOf", "cloudaccount:aws-123456789012/aws-123456789012"),
        ("deployedTo", "environment:default/production"),
    }


def test_source_kind_spec_errors_name_the_field() -> None:
    with pytest.raises(InvalidEntityError) as caught:
        validate_entity(_entity("Build", "b1", {"status": "completed"}))
    assert caught.value.field == "spec.pipeline"
    with pytest.raises(InvalidEntityError) as caught:
        validate_entity(_entity("CloudAccount", "a", {"provider": "aws"}))
    assert caught.value.field == "spec.accountId"
