"""Pipelines, builds, deployments, environments and cloud resources over GraphQL, on both
stores: seeded through the runner (relations derived from spec fields, as sources do)."""

from __future__ import annotations

from typing import Any

from catalog.errors import SourceLocation
from catalog.validation import validate_entity
from graph.port import GraphStore
from ingestors.runner import run_ingestion
from ingestors.snapshot import Descriptor, Snapshot
from tests.factories import record, rel
from tests.schema.conftest import Client

SG = "stagegraph.dev/v1alpha1"
BS = "backstage.io/v1alpha1"
ARN = "arn:aws:rds:eu-west-1:123456789012:db:payments"


def _doc(api: str, kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def _build(pipeline: str, number: int, started: str | None, **spec: Any) -> dict[str, Any]:
    fields = {"pipeline": pipeline, "status": "completed", "number": number, **spec}
    if started:
        fields["startedAt"] = started
    return _doc(SG, "Build", f"{pipeline}-{number}", fields)


def _deployment(name: str, component: str, environment: str, created: str) -> dict[str, Any]:
    spec = {"component": component, "environment": environment, "createdAt": created}
    return _doc(SG, "Deployment", name, {**spec, "status": "success", "ref": "main"})


CATALOG: list[dict[str, Any]] = [
    _doc(BS, "Group", "team-pay", {"type": "team", "children": []}),
    _doc(
        BS,
        "Component",
        "payments",
        {
            "type": "service",
            "lifecycle": "production",
            "owner": "team-pay",
            "dependsOn": ["resource:payments-db", "component:worker"],
        },
    ),
    _doc(BS, "Component", "worker", {"type": "service", "lifecycle": "production", "owner": "x"}),
    _doc(
        SG,
        "Pipeline",
        "payments-ci",
        {
            "type": "github-actions",
            "components": ["payments"],
            "repository": "acme/payments",
            "path": ".github/workflows/ci.yml",
            "url": "https://github.com/acme/payments/actions/workflows/ci.yml",
            "owner": "team-pay",
        },
        title="CI",
    ),
    _doc(SG, "Pipeline", "payments-release", {"type": "jenkins", "components": ["payments"]}),
    _build(
        "payments-ci",
        1,
        "2026-01-01T10:00:00Z",
        conclusion="failure",
        branch="main",
        commit="aaa111",
        durationSeconds=61.5,
        url="https://ci/1",
    ),
    _build("payments-ci", 2, "2026-01-03T10:00:00Z", conclusion="success"),
    _build("payments-ci", 3, None),
    _build("payments-release", 7, "2026-01-02T10:00:00+00:00", conclusion="success"),
    _doc(SG, "Environment", "production", {"type": "production", "url": "https://pay.example"}),
    _doc(SG, "Environment", "staging", {"type": "staging", "components": ["worker"]}),
    _deployment("payments-production-1", "payments", "production", "2026-01-01T00:00:00Z"),
    _deployment("payments-production-2", "payments", "production", "2026-01-05T00:00:00Z"),
    _deployment("payments-staging-3", "payments", "staging", "2026-01-06T00:00:00Z"),
    _doc(
        SG,
        "CloudAccount",
        "aws-123456789012",
        {"provider": "aws", "accountId": "123456789012", "alias": "prod"},
    ),
    _doc(
        BS,
        "Resource",
        "payments-db",
        {
            "type": "database",
            "owner": "team-pay",
            "account": "cloudaccount:aws-123456789012",
            "environment": "environment:production",
        },
        annotations={"aws.amazon.com/arn": ARN},
    ),
    _doc(
        BS,
        "Resource",
        "queue",
        {"type": "queue", "owner": "team-pay", "account": "cloudaccount:aws-123456789012"},
        annotations={"aws.amazon.com/region": "us-east-1", "aws.amazon.com/account-id": "42"},
    ),
    _doc(BS, "Resource", "on-prem-db", {"type": "database", "owner": "team-pay"}),
]


async def _seed(store: GraphStore) -> None:
    descriptors = [Descriptor(validate_entity(raw), SourceLocation("seed")) for raw in CATALOG]

    async def fetch() -> Snapshot:
        return Snapshot(source_type="test", descriptors=descriptors)

    run = await run_ingestion(store, source="seed", source_type="test", fetch=fetch)
    assert (run.status, run.errors) == ("SUCCEEDED", [])


COMPONENT = """query ($ref: String!) {
  entity(ref: $ref) { ... on Component {
    pipelines { ref title type repository path url owner { ref } components { ref } }
    builds(first: 3) {
      ref number status conclusion branch commit startedAt durationSeconds url pipeline { ref }
    }
    deployments { ref status gitRef createdAt component { ref } environment { ref } }
    environments { ref }
    prod: latestDeployment(environment: "production") { ref }
    staging: latestDeployment(environment: "environment:default/staging") { ref }
    none: latestDeployment(environment: "qa") { ref }
    resources { ref }
  } }
}"""


async def test_component_pipelines_builds_deployments_environments(client: Client) -> None:
    await _seed(client.store)

    data = (await client.query(COMPONENT, ref="component:default/payments"))["entity"]

    assert data["pipelines"] == [
        {
            "ref": "pipeline:default/payments-ci",
            "title": "CI",
            "type": "github-actions",
            "repository": "acme/payments",
            "path": ".github/workflows/ci.yml",
            "url": "https://github.com/acme/payments/actions/workflows/ci.yml",
            "owner": {"ref": "group:default/team-pay"},
            "components": [{"ref": "component:default/payments"}],
        },
        {
            "ref": "pipeline:default/payments-release",
            "title": None,
            "type": "jenkins",
            "repository": None,
            "path": None,
            "url": None,
            "owner": None,
            "components": [{"ref": "component:default/payments"}],
        },
    ]
    builds = data["builds"]
    assert [b["ref"] for b in builds] == [
        "build:default/payments-ci-2",
        "build:default/payments-release-7",
        "build:default/payments-ci-1",
    ]
    assert builds[2] == {
        "ref": "build:default/payments-ci-1",
        "number": 1,
        "status": "completed",
        "conclusion": "failure",
        "branch": "main",
        "commit": "aaa111",
        "startedAt": "2026-01-01T10:00:00+00:00",
        "durationSeconds": 61.5,
        "url": "https://ci/1",
        "pipeline": {"ref": "pipeline:default/payments-ci"},
    }
    assert [d["ref"] for d in data["deployments"]] == [
        "deployment:default/payments-staging-3",
        "deployment:default/payments-production-2",
        "deployment:default/payments-production-1",
    ]
    assert data["deployments"][1] == {
        "ref": "deployment:default/payments-production-2",
        "status": "success",
        "gitRef": "main",
        "createdAt": "2026-01-05T00:00:00+00:00",
        "component": {"ref": "component:default/payments"},
        "environment": {"ref": "environment:default/production"},
    }
    assert data["environments"] == [
        {"ref": "environment:default/production"},
        {"ref": "environment:default/staging"},
    ]
    assert data["prod"] == {"ref": "deployment:default/payments-production-2"}
    assert data["staging"] == {"ref": "deployment:default/payments-staging-3"}
    assert data["none"] is None
    assert data["resources"] == [{"ref": "resource:default/payments-db"}]


PIPELINE = """{
  entity(ref: "pipeline:default/payments-ci") { ... on Pipeline {
    builds(first: 2) { number }
    all: builds { number }
    latestBuild { ref startedAt }
  } }
  idle: entity(ref: "pipeline:default/payments-release") { ... on Pipeline { latestBuild { ref } } }
}"""


async def test_pipeline_builds_newest_first_and_latest_build(client: Client) -> None:
    await _seed(client.store)

    data = await client.query(PIPELINE)

    assert data["entity"]["builds"] == [{"number": 2}, {"number": 1}]
    assert data["entity"]["all"] == [{"number": 2}, {"number": 1}, {"number": 3}]
    assert data["entity"]["latestBuild"] == {
        "ref": "build:default/payments-ci-2",
        "startedAt": "2026-01-03T10:00:00+00:00",
    }
    assert data["idle"]["latestBuild"] == {"ref": "build:default/payments-release-7"}


ENVIRONMENTS = """{
  production: entity(ref: "environment:default/production") { ... on Environment {
    type url components { ref } deployments(first: 1) { ref } resources { ref }
  } }
  staging: entity(ref: "environment:default/staging") { ... on Environment {
    type url components { ref } deployments { ref } resources { ref }
  } }
}"""


async def test_environment_components_deployments_and_resources(client: Client) -> None:
    await _seed(client.store)

    data = await client.query(ENVIRONMENTS)

    assert data["production"] == {
        "type": "production",
        "url": "https://pay.example",
        "components": [],
        "deployments": [{"ref": "deployment:default/payments-production-2"}],
        "resources": [{"ref": "resource:default/payments-db"}],
    }
    assert data["staging"] == {
        "type": "staging",
        "url": None,
        "components": [{"ref": "component:default/worker"}],
        "deployments": [{"ref": "deployment:default/payments-staging-3"}],
        "resources": [],
    }


RESOURCES = """{
  db: entity(ref: "resource:default/payments-db") { ... on Resource {
    cloud { provider account region arn }
    account { ref provider accountId alias resources { ref } first: resources(first: 1) { ref } }
    environments { ref }
  } }
  queue: entity(ref: "resource:default/queue") { ... on Resource {
    cloud { provider account region arn } account { ref } environments { ref }
  } }
  onPrem: entity(ref: "resource:default/on-prem-db") { ... on Resource {
    cloud { provider } account { ref } environments { ref }
  } }
}"""


async def test_resource_cloud_account_and_environments(client: Client) -> None:
    await _seed(client.store)

    data = await client.query(RESOURCES)

    assert data["db"] == {
        "cloud": {"provider": "aws", "account": "123456789012", "region": "eu-west-1", "arn": ARN},
        "account": {
            "ref": "cloudaccount:default/aws-123456789012",
            "provider": "aws",
            "accountId": "123456789012",
            "alias": "prod",
            "resources": [
                {"ref": "resource:default/payments-db"},
                {"ref": "resource:default/queue"},
            ],
            "first": [{"ref": "resource:default/payments-db"}],
        },
        "environments": [{"ref": "environment:default/production"}],
    }
    assert data["queue"] == {
        "cloud": {"provider": "aws", "account": "42", "region": "us-east-1", "arn": None},
        "account": {"ref": "cloudaccount:default/aws-123456789012"},
        "environments": [],
    }
    assert data["onPrem"] == {"cloud": None, "account": None, "environments": []}


async def test_bad_arguments_say_what_to_give(client: Client) -> None:
    await _seed(client.store)

    bad_env = await client.errors(
        '{ entity(ref: "component:payments") { ... on Component { '
        'latestDeployment(environment: "a:b:c/") { ref } } } }'
    )
    bad_first = await client.errors(
        '{ entity(ref: "component:payments") { ... on Component { builds(first: 0) { ref } } } }'
    )

    assert "environment:" in bad_env[0]["message"]
    assert "give an environment name" in bad_env[0]["message"]
    assert bad_first[0]["message"] == "first must be between 1 and 100, got 0"


LATEST_BY_NAME = """{ entity(ref: "component:shop/cart") { ... on Component {
  byName: latestDeployment(environment: "Production") { ref }
  byDefaultRef: latestDeployment(environment: "environment:default/production") { ref }
  byOwnNamespace: latestDeployment(environment: "shop/production") { ref }
} } }"""


async def test_latest_deployment_matches_a_plain_name_in_any_namespace(client: Client) -> None:
    # Environments are shared, in namespace default, while the component is in "shop".
    catalog = [
        _doc(
            BS,
            "Component",
            "cart",
            {"type": "service", "lifecycle": "production", "owner": "x"},
            namespace="shop",
        ),
        _doc(SG, "Environment", "production", {"type": "production"}),
        {
            **_deployment(
                "cart-production-1",
                "component:shop/cart",
                "environment:default/production",
                "2026-03-01T10:00:00Z",
            ),
        },
    ]
    catalog[2]["metadata"]["namespace"] = "shop"
    descriptors = [Descriptor(validate_entity(raw), SourceLocation("seed")) for raw in catalog]

    async def fetch() -> Snapshot:
        return Snapshot(source_type="test", descriptors=descriptors)

    run = await run_ingestion(client.store, source="shop", source_type="test", fetch=fetch)
    assert (run.status, run.errors) == ("SUCCEEDED", [])

    data = (await client.query(LATEST_BY_NAME))["entity"]

    assert data == {
        "byName": {"ref": "deployment:shop/cart-production-1"},
        "byDefaultRef": {"ref": "deployment:shop/cart-production-1"},
        "byOwnNamespace": None,  # a ref with a namespace matches exactly
    }


# --- N+1 -----------------------------------------------------------------------------------

PAGE = """query ($first: Int!) {
  entities(kind: "component", first: $first) { edges { node { ref ... on Component {
    pipelines { ref builds(first: 3) { ref number } latestBuild { ref } }
    builds(first: 2) { ref }
    deployments { ref environment { ref } }
    environments { ref deployments(first: 1) { ref } }
    latestDeployment(environment: "production") { ref }
    resources { ref cloud { arn } account { ref } environments { ref } }
  } } } }
}"""


DEPTH_COST = 10


async def _delivery_catalog(store: GraphStore, size: int) -> None:
    records = [record("environment:default/production"), record("environment:default/staging")]
    records.append(record("cloudaccount:default/aws-1", spec={"provider": "aws", "accountId": "1"}))
    relations = []
    for i in range(size):
        svc = f"component:default/svc-{i:03d}"
        db = f"resource:default/db-{i:03d}"
        records += [
            record(svc),
            record(db, annotations={"aws.amazon.com/arn": f"arn:aws:rds:eu-west-1:1:db:{i}"}),
        ]
        relations += [
            rel(svc, "dependsOn", db),
            rel(db, "partOf", "cloudaccount:default/aws-1"),
            rel(db, "deployedTo", "environment:default/production"),
            rel(svc, "deployedTo", "environment:default/staging"),
        ]
        for p in range(2):
            pipeline = f"pipeline:default/svc-{i:03d}-p{p}"
            records.append(record(pipeline, spec={"type": "github-actions"}))
            relations.append(rel(svc, "builtBy", pipeline))
            for n in range(4):
                build = f"build:default/svc-{i:03d}-p{p}-{n}"
                started = f"2026-01-0{n + 1}T00:00:00Z"
                records.append(record(build, spec={"number": n, "startedAt": started}))
                relations.append(rel(build, "runOf", pipeline))
        for d, environment in enumerate(("production", "staging", "production")):
            deployment = f"deployment:default/svc-{i:03d}-{d}"
            env_ref = f"environment:default/{environment}"
            spec = {"environment": env_ref, "createdAt": f"2026-02-0{d + 1}T00:00:00Z"}
            records.append(record(deployment, spec=spec))
            relations += [rel(deployment, "deploys", svc), rel(deployment, "deployedTo", env_ref)]
    await store.upsert_entities("test", "r1", records)
    await store.upsert_relations("test", "r1", relations)


async def test_delivery_fields_cost_the_same_queries_for_10_and_100(client: Client) -> None:
    await _delivery_catalog(client.store, 110)

    before = client.store.query_count
    small = await client.query(PAGE, first=10)
    cost_10 = client.store.query_count - before
    before = client.store.query_count
    large = await client.query(PAGE, first=100)
    cost_100 = client.store.query_count - before

    assert len(large["entities"]["edges"]) == 100
    node = large["entities"]["edges"][42]["node"]
    assert node["ref"] == "component:default/svc-042"
    assert [len(p["builds"]) for p in node["pipelines"]] == [3, 3]
    assert node["pipelines"][0]["builds"][0]["number"] == 3
    assert node["pipelines"][0]["latestBuild"] == {"ref": "build:default/svc-042-p0-3"}
    assert len(node["builds"]) == 2
    assert [d["ref"] for d in node["deployments"]] == [
        "deployment:default/svc-042-2",
        "deployment:default/svc-042-1",
        "deployment:default/svc-042-0",
    ]
    assert node["latestDeployment"] == {"ref": "deployment:default/svc-042-2"}
    assert [e["ref"] for e in node["environments"]] == [
        "environment:default/production",
        "environment:default/staging",
    ]
    assert node["resources"][0]["account"] == {"ref": "cloudaccount:default/aws-1"}
    assert len(small["entities"]["edges"]) == 10
    # One query per loader per level of the selection (list, count, then 8 levels of loads),
    # whatever the page size. Not asserted equal: when two levels' loads of one loader land
    # in the same event-loop tick they go out as one batch, which depends on timing, so a
    # request costs at most this many, sometimes one less.
    assert cost_10 <= DEPTH_COST
    assert cost_100 <= DEPTH_COST
