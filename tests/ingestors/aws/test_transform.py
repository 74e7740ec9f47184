"""The AWS transform on a recorded payload (tests/fixtures/aws/account.json, read from moto
by :mod:`ingestors.aws.get` from the estate in :mod:`tests.ingestors.aws.estate`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from catalog.relations import derive_relations
from ingestors.aws.config import AwsSource
from ingestors.aws.names import lambda_arn_in, ref_for_arn
from ingestors.aws.transform import transform_account
from ingestors.snapshot import Snapshot

RECORDED = Path(__file__).parents[2] / "fixtures" / "aws" / "account.json"
NS = "aws-123456789012"
CHECKOUT = f"resource:{NS}/lambda-checkout-eu-west-1"


def _payload() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDED.read_text())
    return data


def _source(**options: Any) -> AwsSource:
    return AwsSource.model_validate({"name": "aws", "regions": ["eu-west-1"], **options})


def _by_ref(snapshot: Snapshot) -> dict[str, Any]:
    return {str(d.entity.ref): d.entity for d in snapshot.descriptors}


def _relations(snapshot: Snapshot) -> set[tuple[str, str, str]]:
    return {
        (str(r.source), r.type, str(r.target))
        for d in snapshot.descriptors
        for r in derive_relations(d.entity)
    }


def test_every_resource_type_becomes_a_resource_in_the_account_namespace() -> None:
    snapshot = transform_account(_payload(), _source())

    found = {(d.entity.ref.namespace, d.entity.spec.get("type")) for d in snapshot.descriptors}
    assert {t for ns, t in found if ns == NS} == {
        "aws-lambda-function",
        "aws-ecs-cluster",
        "aws-ecs-service",
        "aws-eks-cluster",
        "aws-rds-instance",
        "aws-rds-cluster",
        "aws-dynamodb-table",
        "aws-s3-bucket",
        "aws-sqs-queue",
        "aws-sns-topic",
        "aws-apigateway-rest-api",
        "aws-apigateway-http-api",
    }
    assert ("default", None) in found  # the CloudAccount
    assert (snapshot.rejected, snapshot.warnings) == ([], [])


def test_a_resource_carries_arn_region_account_source_path_and_tags() -> None:
    entity = _by_ref(transform_account(_payload(), _source()))[CHECKOUT]

    assert entity.metadata.title == "checkout"
    assert entity.metadata.description == "checkout handler"
    annotations = entity.metadata.annotations
    assert annotations["aws.amazon.com/arn"] == (
        "arn:aws:lambda:eu-west-1:123456789012:function:checkout"
    )
    assert annotations["aws.amazon.com/region"] == "eu-west-1"
    assert annotations["aws.amazon.com/account-id"] == "123456789012"
    assert annotations["stagegraph.dev/source-path"] == "aws/123456789012/eu-west-1/lambda"
    assert json.loads(annotations["aws.amazon.com/tags"])["owner"] == "team-payments"
    assert entity.metadata.labels == {
        "component": "payments",
        "environment": "Production",
        "owner": "team-payments",
        "system": "shop",
    }


def test_tags_that_are_not_label_values_stay_in_the_tags_annotation() -> None:
    queue = _by_ref(transform_account(_payload(), _source()))[f"resource:{NS}/sqs-orders-eu-west-1"]

    assert queue.metadata.labels == {"owner": "team-payments"}
    assert json.loads(queue.metadata.annotations["aws.amazon.com/tags"]) == {
        "cost-centre": "cc 42",
        "owner": "team-payments",
    }


def test_buckets_sit_in_their_own_region_under_the_accounts_s3_scope() -> None:
    entities = _by_ref(transform_account(_payload(), _source()))

    audit = entities[f"resource:{NS}/s3-acme-audit-logs"].metadata.annotations
    receipts = entities[f"resource:{NS}/s3-acme-receipts"].metadata.annotations
    assert (audit["aws.amazon.com/region"], receipts["aws.amazon.com/region"]) == (
        "us-east-1",
        "eu-west-1",
    )
    assert audit["stagegraph.dev/source-path"] == "aws/123456789012/s3"


def test_tags_and_links_become_relations() -> None:
    relations = _relations(transform_account(_payload(), _source()))

    writer = f"resource:{NS}/lambda-ledger-writer-eu-west-1"
    assert {
        (CHECKOUT, "ownedBy", "group:default/team-payments"),
        (CHECKOUT, "partOf", "system:default/shop"),
        (CHECKOUT, "partOf", "cloudaccount:default/aws-123456789012"),
        (CHECKOUT, "deployedTo", "environment:default/production"),
        ("component:default/payments", "dependsOn", CHECKOUT),
        # event source mappings: SQS queue, DynamoDB stream (-> its table)
        (CHECKOUT, "dependsOn", f"resource:{NS}/sqs-orders-eu-west-1"),
        (writer, "dependsOn", f"resource:{NS}/dynamodb-ledger-eu-west-1"),
        # the tag "team" (second owner key) with a full ref; "service" with two components
        (writer, "ownedBy", "group:default/team-ledger"),
        ("component:default/ledger", "dependsOn", f"resource:{NS}/dynamodb-ledger-eu-west-1"),
        ("component:default/payments", "dependsOn", f"resource:{NS}/dynamodb-ledger-eu-west-1"),
        # containers and databases on their clusters
        (
            f"resource:{NS}/ecs-service-main.storefront-eu-west-1",
            "dependsOn",
            f"resource:{NS}/ecs-cluster-main-eu-west-1",
        ),
        (
            f"resource:{NS}/ecs-service-main.storefront-eu-west-1",
            "deployedTo",
            "environment:default/staging",
        ),
        (
            f"resource:{NS}/rds-db-orders-db-1-eu-west-1",
            "dependsOn",
            f"resource:{NS}/rds-cluster-orders-db-eu-west-1",
        ),
        ("cloudaccount:default/aws-123456789012", "ownedBy", "group:default/unowned"),
    } <= relations
    apis = {(s, t) for s, rel, t in relations if rel == "dependsOn" and "/apigw-" in s}
    assert {t for _, t in apis} == {CHECKOUT, writer}


def test_untagged_resources_get_the_default_owner() -> None:
    default = _by_ref(transform_account(_payload(), _source()))
    configured = _by_ref(transform_account(_payload(), _source(defaultOwner="platform")))

    bucket = f"resource:{NS}/s3-acme-audit-logs"
    assert default[bucket].spec["owner"] == "group:default/unowned"
    assert configured[bucket].spec["owner"] == "group:default/platform"


def test_tag_keys_choose_which_tags_name_the_refs() -> None:
    payload = _payload()
    snapshot = transform_account(payload, _source(tagKeys={"owner": ["cost-centre"]}))

    queue = _by_ref(snapshot)[f"resource:{NS}/sqs-orders-eu-west-1"]
    assert queue.spec["owner"] == "group:default/unowned"  # "cc 42" is no ref
    assert snapshot.warnings == [
        "arn:aws:sqs:eu-west-1:123456789012:orders: tag cost-centre='cc 42' is not a valid "
        "owner ref ('cc 42' is not a valid name (1-63 of [a-zA-Z0-9] with -_. inside)); ignored "
        "(the owner is defaultOwner)"
    ]


def test_a_failed_service_yields_nothing_and_a_failed_tag_listing_drops_tagged_services() -> None:
    payload = _payload()
    region = payload["regions"]["eu-west-1"]
    without_ecs = copy.deepcopy(payload)
    del without_ecs["regions"]["eu-west-1"]["ecs"]
    without_tags = copy.deepcopy(payload)
    del without_tags["regions"]["eu-west-1"]["tagging"]
    assert "ecs" in region and "tagging" in region

    no_ecs = {
        e.spec.get("type") for e in _by_ref(transform_account(without_ecs, _source())).values()
    }
    no_tags = {
        e.spec.get("type") for e in _by_ref(transform_account(without_tags, _source())).values()
    }

    assert not {"aws-ecs-cluster", "aws-ecs-service"} & no_ecs
    assert "aws-lambda-function" in no_ecs
    assert (
        not {
            "aws-lambda-function",
            "aws-sqs-queue",
            "aws-sns-topic",
            "aws-dynamodb-table",
        }
        & no_tags
    )
    assert {"aws-ecs-cluster", "aws-rds-instance", "aws-s3-bucket"} <= no_tags


def test_long_names_are_shortened_with_a_hash_and_stay_distinct() -> None:
    payload = _payload()
    functions = payload["regions"]["eu-west-1"]["lambda"]["functions"]
    long_names = ["a" * 60 + "-one", "a" * 60 + "-two"]
    for name in long_names:
        functions.append(
            {
                "FunctionName": name,
                "FunctionArn": f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
            }
        )

    entities = _by_ref(transform_account(payload, _source()))

    shortened = [e for e in entities.values() if e.metadata.title in long_names]
    assert len({e.metadata.name for e in shortened}) == 2
    assert all(len(e.metadata.name) <= 63 for e in shortened)


def test_an_account_alias_titles_the_cloud_account() -> None:
    entities = _by_ref(transform_account(_payload(), _source(accountAlias="production")))

    account = entities["cloudaccount:default/aws-123456789012"]
    assert (account.metadata.title, account.spec["alias"], account.spec["accountId"]) == (
        "production",
        "production",
        "123456789012",
    )


@pytest.mark.parametrize(
    ("arn", "ref"),
    [
        ("arn:aws:sqs:eu-west-1:111122223333:jobs", "resource:aws-111122223333/sqs-jobs-eu-west-1"),
        (
            "arn:aws:dynamodb:eu-west-1:111122223333:table/t/stream/2024-01-01T00:00:00.000",
            "resource:aws-111122223333/dynamodb-t-eu-west-1",
        ),
        (
            "arn:aws:lambda:us-east-1:111122223333:function:f:live",
            "resource:aws-111122223333/lambda-f-us-east-1",
        ),
        ("arn:aws:s3:::logs-bucket", "resource:aws-999999999999/s3-logs-bucket"),
        ("arn:aws:kinesis:eu-west-1:111122223333:stream/s", None),
        ("not an arn", None),
    ],
)
def test_an_arn_names_the_ref_of_its_entity(arn: str, ref: str | None) -> None:
    assert ref_for_arn(arn, default_account="999999999999") == ref


def test_api_integration_uris_name_their_function() -> None:
    function = "arn:aws:lambda:eu-west-1:1:function:f"
    rest = f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{function}/invocations"

    assert [lambda_arn_in(u) for u in (rest, function, "https://example.com/hook")] == [
        function,
        function,
        None,
    ]


def test_a_failed_tag_listing_keeps_the_services_tagged_through_it() -> None:
    from ingestors.aws.fetch import _kept_services
    from ingestors.aws.get import SERVICES, Read

    assert _kept_services(Read(failed=["eks"])) == ["eks"]
    assert _kept_services(Read(failed=["tagging", "rds"])) == [
        "tagging",
        "lambda",
        "rds",
        "dynamodb",
        "sqs",
        "sns",
    ]
    assert _kept_services(Read(failed=list(SERVICES))) == list(SERVICES)
