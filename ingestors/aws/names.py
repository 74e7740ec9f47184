"""How AWS resources are named in the catalog, and how an ARN finds its entity's ref.

Every resource of an account lives in namespace ``aws-<accountId>``. Its name is a type
prefix, the AWS name and, where AWS names are only unique per region, the region:
``lambda-checkout-eu-west-1``, ``ecs-service-main.web-eu-west-1``, ``s3-acme-logs``. The
names go through :func:`catalog.delivery.sanitize_name` (readable, hashed past 63
characters), so the same ARN always yields the same ref: an event source mapping or an API
integration read in one place points at the entity read in another.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.delivery import sanitize_name

PROVIDER = "aws"
ARN_ANNOTATION = "aws.amazon.com/arn"
REGION_ANNOTATION = "aws.amazon.com/region"
ACCOUNT_ANNOTATION = "aws.amazon.com/account-id"
TAGS_ANNOTATION = "aws.amazon.com/tags"
GLOBAL_SCOPE = "s3"


@dataclass(frozen=True)
class ResourceType:
    """A kind of AWS resource: its ``spec.type`` and the prefix of its entity names."""

    spec_type: str
    prefix: str
    regional: bool = True


LAMBDA_FUNCTION = ResourceType("aws-lambda-function", "lambda")
ECS_CLUSTER = ResourceType("aws-ecs-cluster", "ecs-cluster")
ECS_SERVICE = ResourceType("aws-ecs-service", "ecs-service")
EKS_CLUSTER = ResourceType("aws-eks-cluster", "eks")
RDS_INSTANCE = ResourceType("aws-rds-instance", "rds-db")
RDS_CLUSTER = ResourceType("aws-rds-cluster", "rds-cluster")
DYNAMODB_TABLE = ResourceType("aws-dynamodb-table", "dynamodb")
S3_BUCKET = ResourceType("aws-s3-bucket", "s3", regional=False)
SQS_QUEUE = ResourceType("aws-sqs-queue", "sqs")
SNS_TOPIC = ResourceType("aws-sns-topic", "sns")
REST_API = ResourceType("aws-apigateway-rest-api", "apigw-rest")
HTTP_API = ResourceType("aws-apigateway-http-api", "apigw-http")
WEBSOCKET_API = ResourceType("aws-apigateway-websocket-api", "apigw-websocket")

ALL_TYPES = (
    LAMBDA_FUNCTION,
    ECS_CLUSTER,
    ECS_SERVICE,
    EKS_CLUSTER,
    RDS_INSTANCE,
    RDS_CLUSTER,
    DYNAMODB_TABLE,
    S3_BUCKET,
    SQS_QUEUE,
    SNS_TOPIC,
    REST_API,
    HTTP_API,
    WEBSOCKET_API,
)


def namespace(account_id: str) -> str:
    """``aws-123456789012``: one namespace per account."""
    return f"aws-{account_id}"


def account_name(account_id: str) -> str:
    """The CloudAccount's name (in namespace ``default``): ``aws-123456789012``."""
    return f"aws-{account_id}"


def account_ref(account_id: str) -> str:
    return f"cloudaccount:default/{account_name(account_id)}"


def scope(account_id: str, region: str | None = None, service: str | None = None) -> str:
    """The source path of what one read produced: ``aws/<account>`` (the account entity),
    ``aws/<account>/<region>/<service>`` (one service's resources in a region, ``service``
    a key of :data:`ingestors.aws.get.SERVICES`) or ``aws/<account>/s3`` (buckets, listed
    once per account)."""
    parts = [part for part in ("aws", account_id, region, service) if part is not None]
    return "/".join(parts)


def resource_name(kind: ResourceType, region: str, name: str) -> str:
    if not kind.regional:
        return sanitize_name(f"{kind.prefix}-{name}")
    return sanitize_name(f"{kind.prefix}-{name}-{region}")


def resource_ref(kind: ResourceType, account_id: str, region: str, name: str) -> str:
    return f"resource:{namespace(account_id)}/{resource_name(kind, region, name)}"


@dataclass(frozen=True)
class Arn:
    """``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return cls(*parts[1:])


def ref_for_arn(text: str, default_account: str = "") -> str | None:
    """The ref of the entity an ARN names, for the types this source reads; else None.

    A DynamoDB stream ARN names its table; a qualified Lambda ARN (version or alias) its
    function. S3 ARNs carry no account: ``default_account`` is used.
    """
    arn = Arn.parse(text)
    if arn is None:
        return None
    account, region, resource = arn.account or default_account, arn.region, arn.resource
    found: tuple[ResourceType, str] | None = None
    if arn.service == "lambda" and resource.startswith("function:"):
        found = LAMBDA_FUNCTION, resource.split(":")[1]
    elif arn.service == "sqs":
        found = SQS_QUEUE, resource
    elif arn.service == "sns" and ":" not in resource:
        found = SNS_TOPIC, resource
    elif arn.service == "dynamodb" and resource.startswith("table/"):
        found = DYNAMODB_TABLE, resource.split("/")[1]
    elif arn.service == "s3" and resource and "/" not in resource:
        found = S3_BUCKET, resource
    elif arn.service == "ecs" and resource.startswith("cluster/"):
        found = ECS_CLUSTER, resource.split("/", 1)[1]
    elif arn.service == "ecs" and resource.count("/") == 2 and resource.startswith("service/"):
        _, cluster, service = resource.split("/")
        found = ECS_SERVICE, f"{cluster}.{service}"
    elif arn.service == "eks" and resource.startswith("cluster/"):
        found = EKS_CLUSTER, resource.split("/", 1)[1]
    elif arn.service == "rds" and resource.startswith("db:"):
        found = RDS_INSTANCE, resource[3:]
    elif arn.service == "rds" and resource.startswith("cluster:"):
        found = RDS_CLUSTER, resource[8:]
    if found is None or not account or (found[0].regional and not region) or not found[1]:
        return None
    return resource_ref(found[0], account, region, found[1])


def lambda_arn_in(uri: str) -> str | None:
    """The Lambda function ARN an API Gateway integration URI invokes, if any.

    ``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations``
    (REST APIs) or the function ARN itself (HTTP APIs).
    """
    marker = "/functions/"
    if marker in uri and ":lambda:path/" in uri:
        inner = uri.split(marker, 1)[1]
        return inner.removesuffix("/invocations")
    arn = Arn.parse(uri)
    if arn is not None and arn.service == "lambda":
        return uri
    return None
