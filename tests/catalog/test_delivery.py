"""Names and shapes of the kinds sources add (catalog.delivery, catalog.kinds)."""

from __future__ import annotations

import pytest

from catalog.delivery import (
    build_name,
    deployment_name,
    environment_name,
    environment_ref,
    jenkins_pipeline_name,
    pipeline_name,
    repo_name,
    repo_slug,
    sanitize_name,
    shared_namespace,
    source_slug,
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


def test_repositories_are_known_by_their_full_slug() -> None:
    for url in (
        "acme/payments",
        "Acme/Payments",
        "https://github.com/acme/payments.git",
        "https://x-access-token:secret@github.com/acme/payments",
        "git@github.com:acme/payments.git",
        "ssh://git@github.example.com:2222/acme/payments.git",
    ):
        assert repo_slug(url) == "acme/payments", url
        assert repo_name(url) == "payments", url
    assert repo_slug("https://gitlab.com/acme/a/payments.git") == "acme/a/payments"
    assert repo_slug("acme/a/payments") == "acme/a/payments"
    # No host, no slug: a local path or file:// URL is known by its last segment.
    assert repo_slug("/srv/git/payments.git") == "payments"
    assert repo_slug("file:///srv/git/payments") == "payments"
    assert repo_slug("./payments/") == "payments"
    # A git source's URL or path: schemeless text is a local path there.
    assert source_slug("checkouts/payments") == "payments"
    assert source_slug("https://github.com/acme/payments") == "acme/payments"


def test_pipeline_names_agree_whoever_reads_them() -> None:
    workflow = ".github/workflows/ci.yml"
    for repo in ("acme/payments", "https://github.com/Acme/payments.git", "git@x.io:acme/payments"):
        assert pipeline_name(repo, "github-actions", workflow) == "acme-payments-ci"
    assert pipeline_name("acme/a/payments", "gitlab-ci") == "acme-a-payments-gitlab-ci"
    assert pipeline_name("acme/b/payments", "gitlab-ci") == "acme-b-payments-gitlab-ci"
    assert pipeline_name("acme/payments", "jenkins") == "acme-payments-jenkins"
    assert pipeline_name("/srv/git/payments", "jenkins") == "payments-jenkins"
    assert jenkins_pipeline_name("team/payments/main") == "jenkins-team-payments-main"
    assert build_name("acme-payments-ci", 412) == "acme-payments-ci-412"
    assert environment_name(" Production ") == "production"
    assert environment_ref(" Production ") == "environment:default/production"
    assert deployment_name("acme/payments", "Production", 1001) == ("acme-payments-production-1001")
    with pytest.raises(ValueError, match="workflow path"):
        pipeline_name("payments", "github-actions")


def test_long_slugs_get_a_hash_and_stay_apart() -> None:
    deep = "acme/" + "/".join(["platform-services"] * 4)
    a = pipeline_name(f"{deep}/payments", "gitlab-ci")
    b = pipeline_name(f"{deep}/payment", "gitlab-ci")
    assert len(a) <= 63 and is_valid_name(a) and a.startswith("acme-platform-services")
    assert a != b
    assert a == pipeline_name(f"https://gitlab.com/{deep}/payments.git".upper(), "gitlab-ci")


def test_pipelines_take_their_components_shared_namespace() -> None:
    assert shared_namespace(["component:payments/api", "Payments/worker"]) == "payments"
    assert shared_namespace(["component:payments/api", "worker"]) == "default"
    assert shared_namespace([]) == "default"


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
