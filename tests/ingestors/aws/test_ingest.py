"""The AWS source end to end: moto's real server, the registered fetcher, the runner and
both stores; assertions on what is read back from the store."""

from __future__ import annotations

from typing import Any

from graph.port import Direction, EntityFilter, GraphStore, RunRecord
from ingestors.contract import SourceConfig
from ingestors.registry import SOURCE_TYPES
from ingestors.runner import run_ingestion
from tests.api.server import free_port
from tests.ingestors.aws.estate import ACCOUNT, OTHER_REGION, REGION, Moto
from tests.ingestors.aws.throttle import throttling_proxy

NS = f"aws-{ACCOUNT}"


def _source(moto: Moto, **options: Any) -> SourceConfig:
    (source,) = SOURCE_TYPES.parse(
        [
            {
                "name": "aws",
                "type": "aws",
                "regions": [REGION],
                "endpointUrl": moto.url,
                **options,
            }
        ]
    )
    return source


async def _ingest(store: GraphStore, source: SourceConfig) -> RunRecord:
    return await run_ingestion(
        store, source=source.name, source_type="aws", fetch=SOURCE_TYPES.fetcher(source)
    )


async def _resources(store: GraphStore) -> dict[str, dict[str, Any]]:
    """Every resource the store holds: ref -> document."""
    page = await store.list_entities(EntityFilter(kinds=("resource",)), 500, None)
    return {e.ref: e.document for e in page.entities}


async def _out(store: GraphStore, ref: str) -> set[tuple[str, str]]:
    return {(r.type, r.target_ref) for r in await store.get_relations([ref.lower()], Direction.OUT)}


async def test_every_resource_type_is_ingested_with_its_annotations_and_relations(
    store: GraphStore, moto: Moto
) -> None:
    moto.estate()

    run = await _ingest(store, _source(moto))

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    resources = await _resources(store)
    assert {d["spec"]["type"] for d in resources.values()} == {
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
    checkout = f"resource:{NS}/lambda-checkout-{REGION}"
    annotations = resources[checkout]["metadata"]["annotations"]
    assert (
        annotations["aws.amazon.com/arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:checkout"
    )
    assert annotations["aws.amazon.com/region"] == REGION
    assert annotations["aws.amazon.com/account-id"] == ACCOUNT
    assert annotations["stagegraph.dev/source-path"] == f"aws/{ACCOUNT}/{REGION}/lambda"
    account = await store.get_entities([f"cloudaccount:default/aws-{ACCOUNT}"])
    assert account[f"cloudaccount:default/aws-{ACCOUNT}"].document["spec"]["accountId"] == ACCOUNT
    assert await _out(store, checkout) == {
        ("ownedBy", "group:default/team-payments"),
        ("partOf", "system:default/shop"),
        ("partOf", f"cloudaccount:default/aws-{ACCOUNT}"),
        ("deployedTo", "environment:default/production"),
        ("dependsOn", f"resource:{NS}/sqs-orders-{REGION}"),
    }
    assert ("dependsOn", checkout) in await _out(store, "component:default/payments")
    writer_deps = await _out(store, f"resource:{NS}/lambda-ledger-writer-{REGION}")
    assert ("dependsOn", f"resource:{NS}/dynamodb-ledger-{REGION}") in writer_deps
    rest_api = next(
        r for r, d in resources.items() if d["spec"]["type"] == "aws-apigateway-rest-api"
    )
    assert ("dependsOn", checkout) in await _out(store, rest_api)
    assert run.stats["apiCalls"] >= 20
    assert run.stats["retries"] == 0
    assert (run.stats["regionsRead"], run.stats["regionsFailed"]) == (1, 0)


async def test_retagging_a_resource_moves_it_to_another_team(store: GraphStore, moto: Moto) -> None:
    arn = moto.function("checkout", {"owner": "team-a"})
    ref = f"resource:{NS}/lambda-checkout-{REGION}"
    await _ingest(store, _source(moto))
    before = await _out(store, ref)

    moto.tag_function(arn, {"owner": "team-b"})
    run = await _ingest(store, _source(moto))

    assert ("ownedBy", "group:default/team-a") in before
    assert run.status == "SUCCEEDED"
    owners = {t for rel, t in await _out(store, ref) if rel == "ownedBy"}
    assert owners == {"group:default/team-b"}


async def test_a_deleted_resource_is_cleaned_up(store: GraphStore, moto: Moto) -> None:
    for name in ("orders", "refunds", "invoices"):
        moto.queue(name, {"owner": "team-a"})
    await _ingest(store, _source(moto))

    moto.delete_queue("refunds")
    run = await _ingest(store, _source(moto))

    assert run.cleanup == "done: 1 stale entities deleted"
    assert set(await _resources(store)) == {
        f"resource:{NS}/sqs-orders-{REGION}",
        f"resource:{NS}/sqs-invoices-{REGION}",
    }


async def test_a_failing_region_keeps_its_resources_while_the_other_refreshes(
    store: GraphStore, moto: Moto
) -> None:
    for region in (REGION, OTHER_REGION):
        for name in ("orders", "refunds", "invoices"):
            moto.queue(name, {"owner": "team-a"}, region=region)
    both = {"regions": [REGION, OTHER_REGION]}
    await _ingest(store, _source(moto, **both))
    for region in (REGION, OTHER_REGION):
        moto.delete_queue("refunds", region=region)
    unreachable = f"http://127.0.0.1:{free_port()}"

    run = await _ingest(
        store, _source(moto, **both, endpointUrls={OTHER_REGION: unreachable}, maxAttempts=2)
    )

    assert run.status == "PARTIAL"
    assert [e.file for e in run.errors] == [f"aws/{ACCOUNT}/{OTHER_REGION}"]
    message = run.errors[0].message
    assert message.startswith(f"AWS account {ACCOUNT}, region {OTHER_REGION}: ")
    assert "Could not connect to the endpoint URL" in message
    assert "its resources from the last run are kept" in message
    assert set(await _resources(store)) == {
        f"resource:{NS}/sqs-orders-{REGION}",
        f"resource:{NS}/sqs-invoices-{REGION}",
        f"resource:{NS}/sqs-orders-{OTHER_REGION}",
        f"resource:{NS}/sqs-refunds-{OTHER_REGION}",
        f"resource:{NS}/sqs-invoices-{OTHER_REGION}",
    }
    assert (run.stats["regionsRead"], run.stats["regionsFailed"]) == (1, 1)
    assert run.stats["retries"] >= 1  # the unreachable endpoint was tried twice


async def test_throttled_calls_are_retried_until_they_succeed(
    store: GraphStore, moto: Moto
) -> None:
    moto.queue("orders", {"owner": "team-a"})

    with throttling_proxy(moto.url, throttle=2) as proxy:
        run = await _ingest(store, _source(moto, endpointUrls={REGION: proxy.url}))

    assert (run.status, run.errors) == ("SUCCEEDED", [])
    assert (proxy.throttled, run.stats["retries"]) == (2, 2)
    assert proxy.forwarded > 0
    assert set(await _resources(store)) == {f"resource:{NS}/sqs-orders-{REGION}"}


async def test_a_call_still_throttled_after_max_attempts_fails_its_region(
    store: GraphStore, moto: Moto
) -> None:
    moto.queue("orders", {"owner": "team-a"})

    with throttling_proxy(moto.url, throttle=2) as proxy:
        run = await _ingest(store, _source(moto, endpointUrls={REGION: proxy.url}, maxAttempts=2))

    assert run.status == "PARTIAL"  # S3 (a global endpoint, not throttled) was read
    assert [e.file for e in run.errors] == [f"aws/{ACCOUNT}/{REGION}"]
    assert "GetResources failed with ThrottlingException: Rate exceeded" in run.errors[0].message
    assert proxy.throttled == 2


async def test_a_denied_service_keeps_only_its_own_resources(store: GraphStore, moto: Moto) -> None:
    for name in ("orders", "refunds"):
        moto.queue(name, {"owner": "team-a"})
    for name in ("ledger", "archive"):
        moto.table(name, {"owner": "team-a"})
    await _ingest(store, _source(moto))
    moto.delete_queue("refunds")
    moto.client("dynamodb").delete_table(TableName="archive")

    # The role lost its SQS permissions: every SQS call answers AccessDenied.
    with throttling_proxy(moto.url, throttle=0, deny="sqs") as proxy:
        run = await _ingest(store, _source(moto, endpointUrls={REGION: proxy.url}))

    assert run.status == "PARTIAL"
    assert proxy.denied >= 1
    assert [e.file for e in run.errors] == [f"aws/{ACCOUNT}/{REGION}"]
    message = run.errors[0].message
    assert "sqs: ListQueues failed with AccessDeniedException" in message
    assert "kept services: sqs" in message
    assert run.cleanup == "done: 1 stale entities deleted"
    assert set(await _resources(store)) == {
        f"resource:{NS}/sqs-orders-{REGION}",
        f"resource:{NS}/sqs-refunds-{REGION}",  # kept: SQS could not be read
        f"resource:{NS}/dynamodb-ledger-{REGION}",  # archive, deleted, is cleaned up
    }


async def test_nothing_readable_fails_the_run_and_deletes_nothing(
    store: GraphStore, moto: Moto
) -> None:
    moto.queue("orders", {"owner": "team-a"})
    await _ingest(store, _source(moto))
    unreachable = f"http://127.0.0.1:{free_port()}"

    run = await _ingest(store, _source(moto, endpointUrl=unreachable, maxAttempts=1))

    assert run.status == "FAILED"
    assert run.errors[0].message.startswith(
        "cannot read source aws: nothing could be read from AWS: AWS: could not read the "
        "caller identity: Could not connect to the endpoint URL"
    )
    assert set(await _resources(store)) == {f"resource:{NS}/sqs-orders-{REGION}"}


async def test_pagination_is_followed_to_the_last_page(store: GraphStore, moto: Moto) -> None:
    # moto answers ListTopics 100 topics a page, as AWS does.
    for number in range(105):
        moto.topic(f"events-{number:03}", {})

    run = await _ingest(store, _source(moto))

    topics = {
        r for r, d in (await _resources(store)).items() if d["spec"]["type"] == "aws-sns-topic"
    }
    assert len(topics) == 105
    assert f"resource:{NS}/sns-events-104-{REGION}" in topics
    assert run.status == "SUCCEEDED"


async def test_assumed_roles_read_one_account_each(store: GraphStore, moto: Moto) -> None:
    roles = ["arn:aws:iam::111111111111:role/reader", "arn:aws:iam::222222222222:role/reader"]
    moto.assume(roles[0]).queue("billing", {"owner": "team-a"})
    moto.assume(roles[1]).queue("search", {"owner": "team-b"})
    moto.queue("not-read", {})  # the credentials' own account: not configured

    run = await _ingest(
        store,
        _source(moto, assumeRole=roles, accountAlias={"222222222222": "search-prod"}),
    )

    assert run.status == "SUCCEEDED"
    assert set(await _resources(store)) == {
        f"resource:aws-111111111111/sqs-billing-{REGION}",
        f"resource:aws-222222222222/sqs-search-{REGION}",
    }
    accounts = await store.list_entities(EntityFilter(kinds=("cloudaccount",)), 10, None)
    assert {(e.ref, e.document["spec"].get("alias")) for e in accounts.entities} == {
        ("cloudaccount:default/aws-111111111111", None),
        ("cloudaccount:default/aws-222222222222", "search-prod"),
    }
    assert ("partOf", "cloudaccount:default/aws-222222222222") in await _out(
        store, f"resource:aws-222222222222/sqs-search-{REGION}"
    )
