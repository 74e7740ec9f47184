"""``transform``: an account's payload (what :mod:`.get` read) -> catalog entities. Pure.

An account payload reads::

    {"accountId": "123456789012",
     "regions": {"eu-west-1": {"tagging": {...}, "lambda": {...}, "ecs": {...}, ...}},
     "s3": {"buckets": [{"Name": ..., "Region": ..., "TagSet": [...]}]}}

A service missing from a region (its calls failed) yields nothing; so do the Lambda
functions, queues, topics and tables of a region whose tag listing failed (their owner is
unknown). The fetcher keeps those scopes' last known entities.

Every resource is a ``Resource`` in namespace ``aws-<accountId>`` (see :mod:`.names`) with
``spec.account`` (partOf the CloudAccount), ``spec.owner`` (owner tag, else the source's
``defaultOwner``), ``spec.system``, ``spec.environment`` and ``spec.dependencyOf`` (the
component tag: the Component dependsOn the resource) from tags, and ``spec.dependsOn`` for
what the resource itself uses (an event source of a function, the function behind an API,
the cluster of an ECS service or RDS instance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.delivery import API_VERSION
from catalog.errors import InvalidRefError, SourceLocation
from ingestors.aws import names, tags
from ingestors.aws.config import AwsSource
from ingestors.aws.names import ResourceType
from ingestors.runner import SOURCE_PATH_ANNOTATION
from ingestors.snapshot import Snapshot

Payload = Mapping[str, Any]

#: Services whose tags come from the region's tag listing (``tagging``), not their own calls.
TAGGED_BY_LISTING = frozenset({"lambda", "sqs", "sns", "dynamodb"})


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass
class Found:
    """One AWS resource, read: what the entity is built from."""

    kind: ResourceType
    name: str
    arn: str
    region: str
    tags: tags.Tags
    service: str = ""
    depends_on: set[str] = field(default_factory=set)
    description: str | None = None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


class _Region:
    """The resources of one region's payload."""

    def __init__(self, account_id: str, region: str, payload: Payload) -> None:
        self.account_id = account_id
        self.region = region
        self.payload = payload
        self.partition = partition(region)
        self.tagged = {
            _str(item.get("ResourceARN")): tags.normalize(item.get("Tags"))
            for item in payload.get("tagging", {}).get("resources", [])
        }
        self.found: list[Found] = []
        self.service = ""

    def has(self, service: str) -> bool:
        if service not in self.payload:
            return False
        return service not in TAGGED_BY_LISTING or "tagging" in self.payload

    def add(self, kind: ResourceType, name: str, arn: str, inline: object = None) -> Found:
        item = Found(
            kind,
            name,
            arn,
            self.region,
            {**self.tagged.get(arn, {}), **tags.normalize(inline)},
            service=self.service,
        )
        self.found.append(item)
        return item

    def ref(self, kind: ResourceType, name: str) -> str:
        return names.resource_ref(kind, self.account_id, self.region, name)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def read(self) -> list[Found]:
        for service, reader in (
            ("lambda", self.lambdas),
            ("ecs", self.ecs),
            ("eks", self.eks),
            ("rds", self.rds),
            ("dynamodb", self.dynamodb),
            ("sqs", self.sqs),
            ("sns", self.sns),
            ("apigateway", self.rest_apis),
            ("apigatewayv2", self.http_apis),
        ):
            if self.has(service):
                self.service = service
                reader(self.payload[service])
        return self.found

    def lambdas(self, payload: Payload) -> None:
        by_arn: dict[str, Found] = {}
        for fn in payload.get("functions", []):
            item = self.add(names.LAMBDA_FUNCTION, fn["FunctionName"], fn["FunctionArn"])
            item.description = _str(fn.get("Description")) or None
            by_arn[fn["FunctionArn"]] = item
        for mapping in payload.get("eventSourceMappings", []):
            function = by_arn.get(_unqualified(_str(mapping.get("FunctionArn"))))
            source = names.ref_for_arn(_str(mapping.get("EventSourceArn")), self.account_id)
            if function is not None and source is not None:
                function.depends_on.add(source)

    def ecs(self, payload: Payload) -> None:
        for cluster in payload.get("clusters", []):
            self.add(
                names.ECS_CLUSTER,
                cluster["clusterName"],
                cluster["clusterArn"],
                cluster.get("tags"),
            )
        for service in payload.get("services", []):
            cluster = _str(service.get("clusterArn")).rsplit("/", 1)[-1]
            item = self.add(
                names.ECS_SERVICE,
                f"{cluster}.{service['serviceName']}",
                service["serviceArn"],
                service.get("tags"),
            )
            if cluster:
                item.depends_on.add(self.ref(names.ECS_CLUSTER, cluster))

    def eks(self, payload: Payload) -> None:
        for cluster in payload.get("clusters", []):
            self.add(names.EKS_CLUSTER, cluster["name"], cluster["arn"], cluster.get("tags"))

    def rds(self, payload: Payload) -> None:
        for cluster in payload.get("clusters", []):
            self.add(
                names.RDS_CLUSTER,
                cluster["DBClusterIdentifier"],
                cluster["DBClusterArn"],
                cluster.get("TagList"),
            )
        for db in payload.get("instances", []):
            item = self.add(
                names.RDS_INSTANCE,
                db["DBInstanceIdentifier"],
                db["DBInstanceArn"],
                db.get("TagList"),
            )
            if db.get("DBClusterIdentifier"):
                item.depends_on.add(self.ref(names.RDS_CLUSTER, db["DBClusterIdentifier"]))

    def dynamodb(self, payload: Payload) -> None:
        for table in payload.get("tables", []):
            self.add(names.DYNAMODB_TABLE, table, self.arn("dynamodb", f"table/{table}"))

    def sqs(self, payload: Payload) -> None:
        for url in payload.get("queues", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            self.add(names.SQS_QUEUE, name, self.arn("sqs", name))

    def sns(self, payload: Payload) -> None:
        for topic in payload.get("topics", []):
            arn = topic["TopicArn"]
            self.add(names.SNS_TOPIC, arn.rsplit(":", 1)[-1], arn)

    def rest_apis(self, payload: Payload) -> None:
        for api in payload.get("restApis", []):
            arn = f"arn:{self.partition}:apigateway:{self.region}::/restapis/{api['id']}"
            item = self.add(names.REST_API, f"{api['name']}-{api['id']}", arn, api.get("tags"))
            item.description = _str(api.get("description")) or None
            uris = (
                _str(method.get("methodIntegration", {}).get("uri"))
                for resource in api.get("resources", [])
                for method in (resource.get("resourceMethods") or {}).values()
            )
            item.depends_on.update(self._lambda_targets(uris))

    def http_apis(self, payload: Payload) -> None:
        for api in payload.get("apis", []):
            kind = names.WEBSOCKET_API if api.get("ProtocolType") == "WEBSOCKET" else names.HTTP_API
            arn = f"arn:{self.partition}:apigateway:{self.region}::/apis/{api['ApiId']}"
            item = self.add(kind, f"{api['Name']}-{api['ApiId']}", arn, api.get("Tags"))
            item.description = _str(api.get("Description")) or None
            uris = (_str(i.get("IntegrationUri")) for i in api.get("integrations", []))
            item.depends_on.update(self._lambda_targets(uris))

    def _lambda_targets(self, uris: Iterable[str]) -> set[str]:
        refs = set()
        for uri in uris:
            function = names.lambda_arn_in(uri)
            if function is None or "$" in function:  # a stage variable: not a fixed target
                continue
            ref = names.ref_for_arn(_unqualified(function), self.account_id)
            if ref is not None:
                refs.add(ref)
        return refs


def _unqualified(function_arn: str) -> str:
    """``arn:...:function:name:alias`` -> ``arn:...:function:name``."""
    parts = function_arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else function_arn


def _buckets(account_id: str, payload: Payload) -> list[Found]:
    found = []
    for bucket in payload.get("buckets", []):
        name = bucket["Name"]
        region = _str(bucket.get("Region")) or "us-east-1"
        arn = f"arn:{partition(region)}:s3:::{name}"
        found.append(
            Found(names.S3_BUCKET, name, arn, region, tags.normalize(bucket.get("TagSet")))
        )
    return found


class _Builder:
    """Turns :class:`Found` resources into validated entities, collecting problems."""

    def __init__(self, source: AwsSource, account_id: str) -> None:
        self.source = source
        self.account_id = account_id
        self.snapshot = Snapshot(source_type="aws")

    def warn(self, item: Found, message: str) -> None:
        self.snapshot.warnings.append(f"{item.arn}: {message}")

    def _role(self, item: Found, role: str) -> tuple[str, str] | None:
        return tags.pick(item.tags, self.source.tag_keys[role])

    def spec(self, item: Found) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "type": item.kind.spec_type,
            "owner": self.source.default_owner,
            "account": names.account_ref(self.account_id),
        }
        readers = (
            ("owner", "owner", tags.owner_ref),
            ("system", "system", tags.system_ref),
            ("environment", "environment", tags.environment_ref),
            ("component", "dependencyOf", tags.component_refs),
        )
        for role, key, reader in readers:
            tagged = self._role(item, role)
            if tagged is None:
                continue
            try:
                spec[key] = reader(tagged[1])
            except InvalidRefError as exc:
                fallback = " (the owner is defaultOwner)" if role == "owner" else ""
                self.warn(
                    item,
                    f"tag {tagged[0]}={tagged[1]!r} is not a valid {role} ref ({exc.reason}); "
                    f"ignored{fallback}",
                )
        if item.depends_on:
            spec["dependsOn"] = sorted(item.depends_on)
        return spec

    def resource(self, item: Found) -> None:
        if item.kind.regional:
            path = names.scope(self.account_id, item.region, item.service)
        else:
            path = names.scope(self.account_id, names.GLOBAL_SCOPE)
        annotations = {
            names.ARN_ANNOTATION: item.arn,
            names.REGION_ANNOTATION: item.region,
            names.ACCOUNT_ANNOTATION: self.account_id,
            SOURCE_PATH_ANNOTATION: path,
        }
        if item.tags:
            annotations[names.TAGS_ANNOTATION] = tags.as_annotation(item.tags)
        metadata: dict[str, Any] = {
            "name": names.resource_name(item.kind, item.region, item.name),
            "namespace": names.namespace(self.account_id),
            "title": item.name,
            "labels": tags.labels(item.tags),
            "annotations": annotations,
        }
        if item.description:
            metadata["description"] = item.description
        raw = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": metadata,
            "spec": self.spec(item),
        }
        self.snapshot.add(raw, SourceLocation(item.arn))

    def account(self) -> None:
        alias = self.source.alias_of(self.account_id)
        spec: dict[str, Any] = {
            "provider": names.PROVIDER,
            "accountId": self.account_id,
            "owner": self.source.default_owner,
        }
        if alias:
            spec["alias"] = alias
        raw = {
            "apiVersion": API_VERSION,
            "kind": "CloudAccount",
            "metadata": {
                "name": names.account_name(self.account_id),
                "title": alias or f"AWS account {self.account_id}",
                "annotations": {
                    names.ACCOUNT_ANNOTATION: self.account_id,
                    SOURCE_PATH_ANNOTATION: names.scope(self.account_id),
                },
            },
            "spec": spec,
        }
        self.snapshot.add(raw, SourceLocation(names.scope(self.account_id)))


def transform_account(payload: Payload, source: AwsSource) -> Snapshot:
    """The CloudAccount and every resource of one account's payload."""
    account_id = str(payload["accountId"])
    builder = _Builder(source, account_id)
    builder.account()
    for region, region_payload in sorted(payload.get("regions", {}).items()):
        for item in _Region(account_id, region, region_payload).read():
            builder.resource(item)
    if "s3" in payload:
        for item in _buckets(account_id, payload["s3"]):
            builder.resource(item)
    return builder.snapshot
