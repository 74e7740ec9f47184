"""``get``: every AWS call the source makes (blocking boto3; the fetcher runs it in threads).

Each ``get_*`` returns plain payloads shaped like the API's answers (paginators followed to
the last page, child calls nested under their parent), so :mod:`.transform` can be tested on
recorded JSON. A region is read service by service: a service whose calls fail is left out
of the payload and its error recorded, so the rest of the region still comes through; when
the endpoint cannot be reached at all, the region stops at the first failure.

Credentials come from the standard chain (environment, profile, SSO, instance role, ...);
an ``assumeRole`` ARN is assumed with them. Every client retries in botocore's adaptive
mode (throttling backs off and slows the client), and counts its calls for the run stats.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as UnreachableError

from ingestors.aws.config import AwsSource, role_account

Payload = dict[str, Any]

#: Errors after which no further call to the same endpoint or account can succeed.
FATAL = (
    UnreachableError,
    NoCredentialsError,
    PartialCredentialsError,
    NoRegionError,
)


class CallCounter:
    """Counts API calls (``before-call``) and HTTP attempts (``before-send``: a retried call
    makes several) across every client and thread of one fetch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.attempts = 0

    def _on_call(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._on_call)
        client.meta.events.register("before-send", self._on_send)
        return client


@dataclass(frozen=True)
class Account:
    """How to reach one account: its id, and the assumed role's keys (None: the chain's)."""

    account_id: str
    credentials: dict[str, str] | None = None


@dataclass
class Read:
    """What one scope (a region, or an account's buckets) gave: the payload of the services
    that answered, one message per service that did not, and the keys (of
    :data:`SERVICES`) of those that were not read."""

    payload: Payload = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Clients:
    """boto3 clients for one account, with the source's endpoint, retries and counter.

    One per thread: boto3 sessions are not thread-safe, so each thread opens its own.
    """

    def __init__(self, source: AwsSource, account: Account | None, counter: CallCounter) -> None:
        keys = account.credentials if account is not None else None
        self._session = boto3.session.Session(**(keys or {}))
        self._source = source
        self._counter = counter
        self._config = Config(
            retries={"mode": "adaptive", "total_max_attempts": source.max_attempts},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="stagegraph",
        )

    def regional(self, service: str, region: str) -> Any:
        client = self._session.client(
            service,
            region_name=region,
            endpoint_url=self._source.endpoint_for(region),
            config=self._config,
        )
        return self._counter.attach(client)

    def global_service(self, service: str) -> Any:
        """A client of a global service (STS, S3 listing): the first region, endpointUrl."""
        client = self._session.client(
            service,
            region_name=self._source.regions[0],
            endpoint_url=self._source.endpoint_url,
            config=self._config,
        )
        return self._counter.attach(client)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key) or [])
    return items


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_account(source: AwsSource, role: str | None, counter: CallCounter) -> Account:
    """The account of ``role`` (assumed) or, without one, of the credentials themselves."""
    sts = Clients(source, None, counter).global_service("sts")
    if role is None:
        return Account(str(sts.get_caller_identity()["Account"]))
    session_name = f"stagegraph-{source.name}"[:64]
    keys = sts.assume_role(RoleArn=role, RoleSessionName=session_name)["Credentials"]
    return Account(
        role_account(role),
        {
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        },
    )


def get_lambda(client: Any) -> Payload:
    return {
        "functions": _pages(client, "list_functions", "Functions"),
        "eventSourceMappings": _pages(client, "list_event_source_mappings", "EventSourceMappings"),
    }


def get_ecs(client: Any) -> Payload:
    arns = _pages(client, "list_clusters", "clusterArns")
    clusters: list[Any] = []
    services: list[Any] = []
    for chunk in _chunks(arns, 100):
        clusters.extend(client.describe_clusters(clusters=chunk, include=["TAGS"])["clusters"])
    for cluster in arns:
        names = _pages(client, "list_services", "serviceArns", cluster=cluster)
        for chunk in _chunks(names, 10):
            answer = client.describe_services(cluster=cluster, services=chunk, include=["TAGS"])
            services.extend(answer["services"])
    return {"clusters": clusters, "services": services}


def get_eks(client: Any) -> Payload:
    clusters = []
    for name in _pages(client, "list_clusters", "clusters"):
        try:
            clusters.append(client.describe_cluster(name=name)["cluster"])
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":  # deleted since it was listed
                raise
    return {"clusters": clusters}


def get_rds(client: Any) -> Payload:
    return {
        "instances": _pages(client, "describe_db_instances", "DBInstances"),
        "clusters": _pages(client, "describe_db_clusters", "DBClusters"),
    }


def get_dynamodb(client: Any) -> Payload:
    return {"tables": _pages(client, "list_tables", "TableNames")}


def get_sqs(client: Any) -> Payload:
    # Without MaxResults, ListQueues stops at 1000 queues and gives no token to go on.
    return {
        "queues": _pages(client, "list_queues", "QueueUrls", PaginationConfig={"PageSize": 1000})
    }


def get_sns(client: Any) -> Payload:
    return {"topics": _pages(client, "list_topics", "Topics")}


def get_apigateway(client: Any) -> Payload:
    apis = _pages(client, "get_rest_apis", "items")
    for api in apis:
        api["resources"] = _pages(
            client, "get_resources", "items", restApiId=api["id"], embed=["methods"]
        )
    return {"restApis": apis}


def get_apigatewayv2(client: Any) -> Payload:
    apis = _pages(client, "get_apis", "Items")
    for api in apis:
        api["integrations"] = _pages(client, "get_integrations", "Items", ApiId=api["ApiId"])
    return {"apis": apis}


def get_tagging(client: Any) -> Payload:
    """Tags of the region's Lambda functions, queues, topics and tables, in one listing."""
    return {"resources": _pages(client, "get_resources", "ResourceTagMappingList")}


#: payload key -> (boto3 service name, getter), read in this order.
SERVICES: dict[str, tuple[str, Callable[[Any], Payload]]] = {
    "tagging": ("resourcegroupstaggingapi", get_tagging),
    "lambda": ("lambda", get_lambda),
    "ecs": ("ecs", get_ecs),
    "eks": ("eks", get_eks),
    "rds": ("rds", get_rds),
    "dynamodb": ("dynamodb", get_dynamodb),
    "sqs": ("sqs", get_sqs),
    "sns": ("sns", get_sns),
    "apigateway": ("apigateway", get_apigateway),
    "apigatewayv2": ("apigatewayv2", get_apigatewayv2),
}


def describe_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "a call")
        return (
            f"{operation} failed with {error.get('Code', 'an error')}: {error.get('Message', exc)}"
        )
    return str(exc) or type(exc).__name__


def get_region(source: AwsSource, account: Account, region: str, counter: CallCounter) -> Read:
    """Every service of one region of one account (see :data:`SERVICES`)."""
    clients = Clients(source, account, counter)
    read = Read()
    for key, (service, getter) in SERVICES.items():
        try:
            read.payload[key] = getter(clients.regional(service, region))
        except FATAL as exc:  # the endpoint or the credentials: no other call would answer
            read.errors.append(f"{service}: {describe_error(exc)}")
            read.failed = list(SERVICES)
            break
        except (BotoCoreError, ClientError) as exc:
            read.errors.append(f"{service}: {describe_error(exc)}")
            read.failed.append(key)
    return read


def _bucket_region(s3: Any, name: str) -> str:
    constraint = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def get_buckets(source: AwsSource, account: Account, counter: CallCounter) -> Read:
    """The account's S3 buckets (listed once: S3 is global), each with its region and tags.

    A bucket whose location or tags cannot be read makes the listing incomplete (its error
    is recorded); a bucket deleted while being read is left out.
    """
    s3 = Clients(source, account, counter).global_service("s3")
    read = Read()
    try:
        listed = _pages(s3, "list_buckets", "Buckets")
    except (BotoCoreError, ClientError) as exc:
        read.errors.append(f"s3: {describe_error(exc)}")
        return read
    buckets: list[Any] = []
    for bucket in listed:
        name = bucket["Name"]
        try:
            bucket["Region"] = _bucket_region(s3, name)
            bucket["TagSet"] = _bucket_tags(s3, name)
        except ClientError as exc:
            if _code(exc) == "NoSuchBucket":  # deleted since it was listed
                continue
            read.errors.append(f"s3 bucket {name}: {describe_error(exc)}")
            continue
        except BotoCoreError as exc:
            read.errors.append(f"s3 bucket {name}: {describe_error(exc)}")
            if isinstance(exc, FATAL):
                break
            continue
        buckets.append(bucket)
    read.payload["buckets"] = buckets
    return read


def _bucket_tags(s3: Any, name: str) -> list[Any]:
    try:
        return list(s3.get_bucket_tagging(Bucket=name).get("TagSet") or [])
    except ClientError as exc:
        if _code(exc) == "NoSuchTagSet":
            return []
        raise
